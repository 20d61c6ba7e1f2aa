#include "tools/bench/soak_bench.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <thread>
#include <utility>

#include "tools/bench/bench_support.h"

namespace dtls::bench {
namespace {

// The client side: `target` sessions, the oldest replaced at the churn rate,
// each open one sending RTP at its rate under an SSRC of its own. Client
// loop only; callbacks hold it weakly, so it may go before they run.
class Churner : public std::enable_shared_from_this<Churner> {
 public:
  Churner(const SoakOptions& o, const SoakSetup& s)
      : options_(o),
        loop_(s.client),
        port_(s.port),
        connect_(s.connect),
        packet_(rtp_packet(o.payload, 0)) {}

  void tick(double dt) {
    churn_debt_ += options_.churn_per_s * dt;
    while (churn_debt_ >= 1) {
      churn_debt_ -= 1;
      leave_oldest();
    }
    // Refills what left or failed; a join refused at once (no socket) is
    // counted as a failure and retried next tick, not in a loop here.
    const size_t target = static_cast<size_t>(options_.sessions);
    for (size_t tries = 0; members_.size() < target && tries < target; ++tries)
      join();
    packet_debt_ += options_.packets_per_s * dt;
    const int n = static_cast<int>(packet_debt_);
    packet_debt_ -= n;
    for (auto& [key, m] : members_) {
      if (!m.open) continue;
      for (int i = 0; i < n; ++i) {
        RtpRewrite{.ssrc = m.ssrc, .sequence = m.seq++}.apply(packet_);
        if (m.session.send_rtp(packet_).ok()) ++sent_;
      }
    }
  }

  void end() {
    // Closing a session still in its handshake runs its on_opened with the
    // failure at once, which erases it from members_: close them out of it.
    auto members = std::move(members_);
    members_.clear();
    for (auto& [key, m] : members) m.session.close();
  }

  SoakSample counts() const {
    SoakSample s;
    for (const auto& [key, m] : members_) s.open += m.open ? 1 : 0;
    s.joined = joined_;
    s.left = left_;
    s.failures = failures_;
    s.sent = sent_;
    return s;
  }

 private:
  struct Member {
    Session session;
    std::uint32_t ssrc = 0;
    std::uint16_t seq = 0;
    bool open = false;
  };

  void join() {
    const std::uint64_t key = next_key_++;
    auto s = connect(*loop_, "127.0.0.1", port_, connect_);
    if (!s.ok()) {
      ++failures_;
      return;
    }
    Member& m = members_[key];
    m.session = *s;
    m.ssrc = static_cast<std::uint32_t>(0x10000000u + key);
    s->on_opened([weak = weak_from_this(), key](const Result<std::string>& r) {
      auto self = weak.lock();
      if (!self) return;
      auto it = self->members_.find(key);
      if (it == self->members_.end()) return;
      if (r.ok()) {
        it->second.open = true;
        ++self->joined_;
      } else {
        ++self->failures_;
        self->members_.erase(it);
      }
    });
  }

  void leave_oldest() {
    for (auto it = members_.begin(); it != members_.end(); ++it) {
      if (!it->second.open) continue;
      it->second.session.close();
      members_.erase(it);
      ++left_;
      return;
    }
  }

  SoakOptions options_;
  EventLoop* loop_;
  std::uint16_t port_;
  ConnectOptions connect_;
  std::vector<std::uint8_t> packet_;
  std::map<std::uint64_t, Member> members_;  // oldest first
  std::uint64_t next_key_ = 1;
  std::uint64_t joined_ = 0, left_ = 0, failures_ = 0, sent_ = 0;
  double churn_debt_ = 0, packet_debt_ = 0;
};

// The sample a quarter of the way in.
const SoakSample& warm(const std::vector<SoakSample>& v) {
  return v[v.size() / 4];
}

}  // namespace

double SoakResult::rss_growth_kib() const {
  if (samples.size() < 2) return 0;
  return samples.back().rss_kib - warm(samples).rss_kib;
}

double SoakResult::heap_growth_kib() const {
  if (samples.size() < 2) return 0;
  return samples.back().heap_kib - warm(samples).heap_kib;
}

int SoakResult::descriptor_growth() const {
  if (samples.size() < 2) return 0;
  return samples.back().descriptors - warm(samples).descriptors;
}

std::int64_t SoakResult::max_extra_deadlines() const {
  std::int64_t most = 0;
  for (const SoakSample& s : samples) {
    most = std::max(most, static_cast<std::int64_t>(s.deadlines) -
                              static_cast<std::int64_t>(s.server_sessions));
  }
  return most;
}

bool SoakResult::flat() const {
  if (samples.size() < 4) return false;
  const double rss_slack = warm(samples).rss_kib * 0.05 + 4096;
  const int fd_slack = static_cast<int>(std::ceil(options.churn_per_s)) + 16;
  const double heap_slack = warm(samples).heap_kib * 0.02 + 2048;
  return rss_growth_kib() <= rss_slack && heap_growth_kib() <= heap_slack &&
         descriptor_growth() <= fd_slack && max_extra_deadlines() <= 3;
}

Result<SoakResult> run_soak(const SoakOptions& o, const SoakSetup& setup) {
  if (o.seconds <= 0 || o.sessions < 1 || o.churn_per_s < 0 ||
      o.packets_per_s < 0 || o.payload < 1 || o.payload > 1200) {
    return make_error("ERR_INVALID_ARG_VALUE",
                      "soak: seconds and sessions must be positive, rates "
                      "not negative, payload 1..1200 bytes");
  }
  SoakResult r;
  r.options = o;
  const double every =
      o.sample_every_s > 0 ? o.sample_every_s : std::max(1.0, o.seconds / 20);
  auto churner = std::make_shared<Churner>(o, setup);
  EventLoop& client = *setup.client;
  const auto t0 = std::chrono::steady_clock::now();
  auto last = t0;
  double next_sample = 0;
  auto sample = [&](double t) {
    SoakSample s = client.dispatcher()->call([&] { return churner->counts(); });
    s.t = t;
    const EndpointStats es = stats_of(*setup.endpoint);
    s.deadlines = es.deadlines;
    s.server_sessions = state_of(*setup.endpoint).session_count;
    s.received = setup.received ? setup.received() : 0;
    s.rss_kib = rss_kib();
    s.heap_kib = heap_in_use_kib();
    s.descriptors = open_descriptors();
    r.samples.push_back(s);
    if (setup.on_sample) setup.on_sample(s);
  };
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const auto now = std::chrono::steady_clock::now();
    const double dt = std::chrono::duration<double>(now - last).count();
    last = now;
    const double t = seconds_since(t0);
    if (t >= o.seconds) break;
    client.dispatcher()->call([&] { churner->tick(dt); });
    if (t >= next_sample) {
      sample(t);
      next_sample += every;
    }
  }
  sample(seconds_since(t0));
  client.dispatcher()->call([&] {
    churner->end();
    churner.reset();
  });
  return r;
}

std::string format_soak(const SoakResult& r) {
  std::string out =
      "     t_s  open  server  joined    left  failed       sent   "
      "received    rss_kib   heap_kib  fds  deadlines\n";
  char line[200];
  for (const SoakSample& s : r.samples) {
    std::snprintf(
        line, sizeof(line),
        "%8.1f %5d %7llu %7llu %7llu %7llu %10llu %10llu %10.0f "
        "%10.0f %4d %10llu\n",
        s.t, s.open, static_cast<unsigned long long>(s.server_sessions),
        static_cast<unsigned long long>(s.joined),
        static_cast<unsigned long long>(s.left),
        static_cast<unsigned long long>(s.failures),
        static_cast<unsigned long long>(s.sent),
        static_cast<unsigned long long>(s.received), s.rss_kib, s.heap_kib,
        s.descriptors, static_cast<unsigned long long>(s.deadlines));
    out += line;
  }
  std::snprintf(line, sizeof(line),
                "after the warm-up: RSS %+.0f KiB, heap in use %+.0f KiB, "
                "descriptors %+d, at most %lld deadlines beyond one per "
                "session: %s\n",
                r.rss_growth_kib(), r.heap_growth_kib(), r.descriptor_growth(),
                static_cast<long long>(r.max_extra_deadlines()),
                r.flat() ? "flat" : "NOT flat");
  out += line;
  return out;
}

}  // namespace dtls::bench
