#include "tools/relay/impairment.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <sstream>
#include <vector>

namespace dtls::relay {
namespace {

using std::chrono::milliseconds;

Error out_of_range(const std::string& what) {
  return make_error("ERR_OUT_OF_RANGE", "impairment: " + what);
}

Error bad_spec(const std::string& what) {
  return make_error("ERR_INVALID_ARG_VALUE", "impairment: " + what);
}

// "25ms", "1.5s", "40" (milliseconds).
bool parse_duration(const std::string& v, Duration& out) {
  char* end = nullptr;
  const double x = std::strtod(v.c_str(), &end);
  if (end == v.c_str() || !(x >= 0) || !std::isfinite(x)) return false;
  const std::string unit(end);
  double ms = 0;
  if (unit.empty() || unit == "ms") {
    ms = x;
  } else if (unit == "s") {
    ms = x * 1000;
  } else if (unit == "us") {
    ms = x / 1000;
  } else {
    return false;
  }
  out = std::chrono::duration_cast<Duration>(
      std::chrono::duration<double, std::milli>(ms));
  return true;
}

// "2mbit", "500k", "1g", "64k" (sizes and rates share the suffixes).
bool parse_scaled(const std::string& v, double& out) {
  char* end = nullptr;
  const double x = std::strtod(v.c_str(), &end);
  if (end == v.c_str() || !(x >= 0) || !std::isfinite(x)) return false;
  std::string unit(end);
  if (unit.size() > 3 && unit.substr(unit.size() - 3) == "bit")
    unit.resize(unit.size() - 3);
  double scale = 1;
  if (unit == "k" || unit == "K") {
    scale = 1e3;
  } else if (unit == "m" || unit == "M") {
    scale = 1e6;
  } else if (unit == "g" || unit == "G") {
    scale = 1e9;
  } else if (!unit.empty()) {
    return false;
  }
  out = x * scale;
  return true;
}

bool parse_probability(const std::string& v, double& out) {
  char* end = nullptr;
  double x = std::strtod(v.c_str(), &end);
  if (end == v.c_str()) return false;
  if (std::string(end) == "%") {
    x /= 100;
  } else if (*end != '\0') {
    return false;
  }
  out = x;
  return true;
}

std::string ms_string(Duration d) {
  std::ostringstream s;
  s << std::chrono::duration<double, std::milli>(d).count() << "ms";
  return s.str();
}

}  // namespace

Status validate_impairment(const ImpairmentConfig& c) {
  auto probability = [](double p) { return p >= 0 && p <= 1; };
  if (!probability(c.loss)) return out_of_range("loss must be 0..1");
  if (!probability(c.reorder)) return out_of_range("reorder must be 0..1");
  if (!probability(c.duplicate)) return out_of_range("duplicate must be 0..1");
  const Duration limit = std::chrono::seconds(60);
  if (c.delay < Duration::zero() || c.delay > limit)
    return out_of_range("delay must be 0..60 s");
  if (c.jitter < Duration::zero() || c.jitter > limit)
    return out_of_range("jitter must be 0..60 s");
  if (c.reorder_delay < Duration::zero() || c.reorder_delay > limit)
    return out_of_range("reorder_delay must be 0..60 s");
  if (c.rate_bps != 0 && c.rate_bps < 1000)
    return out_of_range("rate must be 0 (unlimited) or at least 1 kbit/s");
  return {};
}

ImpairmentStats& ImpairmentStats::operator+=(const ImpairmentStats& o) {
  offered += o.offered;
  delivered += o.delivered;
  lost += o.lost;
  queue_dropped += o.queue_dropped;
  duplicated += o.duplicated;
  reordered += o.reordered;
  bytes_offered += o.bytes_offered;
  return *this;
}

Impairment::Impairment(ImpairmentConfig config, std::uint64_t seed)
    : config_(config), rng_(seed) {}

Impairment::Fate Impairment::offer(std::size_t bytes, TimePoint now) {
  stats_.offered++;
  stats_.bytes_offered += bytes;
  // Four draws per datagram, always, in this order (see the header).
  const double lose = uniform();
  const double dup = uniform();
  const double hold = uniform();
  const double jitter = uniform();
  Fate f;
  if (config_.loss > 0 && lose < config_.loss) {
    stats_.lost++;
    return f;
  }
  TimePoint leaves = now;
  if (config_.rate_bps > 0) {
    // The link sends one datagram after another: this one starts when the
    // ones queued before it have left.
    const TimePoint start = std::max(now, link_free_at_);
    const double queued_s = std::chrono::duration<double>(start - now).count();
    const double queued_bytes =
        queued_s * static_cast<double>(config_.rate_bps) / 8;
    if (config_.queue_bytes != 0 &&
        queued_bytes + static_cast<double>(bytes) >
            static_cast<double>(config_.queue_bytes)) {
      stats_.queue_dropped++;
      return f;
    }
    leaves = start +
             std::chrono::duration_cast<Duration>(std::chrono::duration<double>(
                 static_cast<double>(bytes) * 8 /
                 static_cast<double>(config_.rate_bps)));
    link_free_at_ = leaves;
  }
  Duration extra =
      std::chrono::duration_cast<Duration>(config_.jitter * jitter);
  if (config_.reorder > 0 && hold < config_.reorder) {
    stats_.reordered++;
    extra += config_.reorder_delay;
  }
  f.copies = 1;
  f.at[0] = leaves + config_.delay + extra;
  if (config_.duplicate > 0 && dup < config_.duplicate) {
    stats_.duplicated++;
    f.copies = 2;
    f.at[1] = f.at[0];
  }
  stats_.delivered += static_cast<std::uint64_t>(f.copies);
  return f;
}

Result<ImpairmentConfig> parse_impairment(const std::string& spec) {
  ImpairmentConfig c;
  std::stringstream in(spec);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (item.empty()) continue;
    const auto eq = item.find('=');
    if (eq == std::string::npos) return bad_spec("'" + item + "' has no '='");
    const std::string key = item.substr(0, eq), v = item.substr(eq + 1);
    bool ok = true;
    double x = 0;
    if (key == "loss") {
      ok = parse_probability(v, c.loss);
    } else if (key == "duplicate") {
      ok = parse_probability(v, c.duplicate);
    } else if (key == "reorder") {
      ok = parse_probability(v, c.reorder);
    } else if (key == "delay") {
      ok = parse_duration(v, c.delay);
    } else if (key == "jitter") {
      ok = parse_duration(v, c.jitter);
    } else if (key == "reorder_delay") {
      ok = parse_duration(v, c.reorder_delay);
    } else if (key == "rate") {
      ok = parse_scaled(v, x);
      c.rate_bps = static_cast<std::uint64_t>(x);
    } else if (key == "queue") {
      ok = parse_scaled(v, x);
      c.queue_bytes = static_cast<std::size_t>(x);
    } else {
      return bad_spec("unknown key '" + key + "'");
    }
    if (!ok) return bad_spec("cannot read " + key + "='" + v + "'");
  }
  if (Status s = validate_impairment(c); !s.ok()) return s.error();
  return c;
}

std::string to_string(const ImpairmentConfig& c) {
  std::ostringstream s;
  s << "loss=" << c.loss << ",delay=" << ms_string(c.delay)
    << ",jitter=" << ms_string(c.jitter) << ",reorder=" << c.reorder
    << ",reorder_delay=" << ms_string(c.reorder_delay)
    << ",duplicate=" << c.duplicate << ",rate=" << c.rate_bps
    << ",queue=" << c.queue_bytes;
  return s.str();
}

}  // namespace dtls::relay
