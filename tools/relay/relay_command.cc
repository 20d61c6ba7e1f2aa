#include "tools/relay/relay_command.h"

#include <uv.h>

#include <cstdlib>

#include "tools/relay/impairing_relay.h"
#include "transport/io/uv_run_until.h"

namespace dtls::relay {

const char kRelayUsage[] =
    "usage: dtls-srtp relay --target HOST:PORT [options]\n"
    "  --target IP:PORT    where client datagrams go (IPv4 literal, or "
    "[IPv6])\n"
    "  --listen IP:PORT    where clients send (default 127.0.0.1:0; the port\n"
    "                      chosen is printed)\n"
    "  --to-target SPEC    impairment toward the target, e.g.\n"
    "                      loss=10%,delay=25ms,jitter=5ms,reorder=0.02,\n"
    "                      "
    "reorder_delay=30ms,duplicate=0.01,rate=2mbit,queue=64k\n"
    "  --to-client SPEC    impairment back toward the clients\n"
    "  --both SPEC         the same impairment both ways\n"
    "  --seed N            the random seed (default 1)\n"
    "  --flow-idle SEC     close a client's flow after SEC quiet, as a NAT\n"
    "                      forgets a binding (default 0: never)\n"
    "  --duration SEC      how long to run (default 60, at most 3600)\n";

namespace {

// "127.0.0.1:5000", "[::1]:5000".
Result<PeerAddress> parse_host_port(const std::string& s) {
  std::string host;
  std::string port;
  if (!s.empty() && s[0] == '[') {
    const auto close = s.find(']');
    if (close == std::string::npos || close + 1 >= s.size() ||
        s[close + 1] != ':') {
      return make_error("ERR_INVALID_ARG_VALUE", "bad address '" + s + "'");
    }
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    const auto colon = s.rfind(':');
    if (colon == std::string::npos)
      return make_error("ERR_INVALID_ARG_VALUE", "no port in '" + s + "'");
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
  }
  char* end = nullptr;
  const long p = std::strtol(port.c_str(), &end, 10);
  if (port.empty() || *end != '\0' || p < 0 || p > 65535)
    return make_error("ERR_INVALID_ARG_VALUE", "bad port in '" + s + "'");
  return PeerAddress::parse(host, static_cast<std::uint16_t>(p));
}

void print_direction(std::ostream& out, const char* name,
                     const ImpairmentStats& s) {
  out << name << ": offered " << s.offered << ", delivered " << s.delivered
      << ", lost " << s.lost << ", queue-dropped " << s.queue_dropped
      << ", duplicated " << s.duplicated << ", reordered " << s.reordered
      << "\n";
}

}  // namespace

int run_relay_command(const std::vector<std::string>& args, std::ostream& out,
                      std::ostream& err) {
  auto bad = [&](const std::string& what) {
    err << "ERR_INVALID_ARG_VALUE: " << what << "\n" << kRelayUsage;
    return 2;
  };
  RelayConfig config;
  std::optional<PeerAddress> target;
  PeerAddress listen = *PeerAddress::parse("127.0.0.1", 0);
  double duration_s = 60;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      out << kRelayUsage;
      return 0;
    }
    if (i + 1 >= args.size()) return bad("option '" + a + "' needs a value");
    const std::string& v = args[++i];
    if (a == "--target" || a == "--listen") {
      auto addr = parse_host_port(v);
      if (!addr.ok()) return bad(std::string(addr.error().text()));
      if (a == "--target") {
        target = *addr;
      } else {
        listen = *addr;
      }
    } else if (a == "--to-target" || a == "--to-client" || a == "--both") {
      auto spec = parse_impairment(v);
      if (!spec.ok()) return bad(std::string(spec.error().text()));
      if (a != "--to-client") config.to_target = *spec;
      if (a != "--to-target") config.to_client = *spec;
    } else if (a == "--seed") {
      char* end = nullptr;
      config.seed = std::strtoull(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0') return bad("bad seed '" + v + "'");
    } else if (a == "--flow-idle") {
      char* end = nullptr;
      const double s = std::strtod(v.c_str(), &end);
      if (v.empty() || *end != '\0' || !(s >= 0 && s <= 3600))
        return bad("--flow-idle must be 0..3600 seconds");
      config.flow_idle =
          std::chrono::milliseconds(static_cast<long long>(s * 1000));
    } else if (a == "--duration") {
      char* end = nullptr;
      duration_s = std::strtod(v.c_str(), &end);
      if (v.empty() || *end != '\0' || !(duration_s > 0 && duration_s <= 3600))
        return bad("--duration must be 0..3600 seconds");
    } else {
      return bad("bad option '" + a + "'");
    }
  }
  if (!target) return bad("--target is required");
  uv_loop_t loop;
  uv_loop_init(&loop);
  int rc = 0;
  {
    auto relay = ImpairingRelay::create(&loop, listen, *target, config);
    if (!relay.ok()) {
      err << relay.error().to_string() << "\n";
      rc = 1;
    } else {
      out << "relay " << (*relay)->address().to_string() << " -> "
          << target->to_string() << " for " << duration_s << " s\n"
          << "to target: " << to_string(config.to_target) << "\n"
          << "to client: " << to_string(config.to_client) << "\n"
          << std::flush;
      uv_run_until(
          &loop, [] { return false; },
          std::chrono::milliseconds(static_cast<long long>(duration_s * 1000)),
          std::chrono::milliseconds(100));
      const RelayStats s = (*relay)->stats();
      out << "flows " << s.flows << ", refused " << s.refused_flows
          << ", expired " << s.expired_flows << ", send errors "
          << s.send_errors << "\n";
      print_direction(out, "to target", s.to_target);
      print_direction(out, "to client", s.to_client);
    }
  }
  // The relay's handles close in their callbacks.
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  return rc;
}

}  // namespace dtls::relay
