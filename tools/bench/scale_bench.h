// The benchmark's many-sessions phase: N established idle sessions on one
// server endpoint (the clients in child processes, so the server's RSS is its
// own), beside the floor an OpenSSL-based session cannot go below; the
// server's CPU while they idle; the handshake rate of the endpoint holding
// them against an empty endpoint on the same loop; then half-open
// handshakes.
#ifndef DTLS_SRTP_TOOLS_BENCH_SCALE_BENCH_H_
#define DTLS_SRTP_TOOLS_BENCH_SCALE_BENCH_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tools/bench/bench_support.h"
#include "transport/base/error.h"
#include "transport/dtls_api.h"

namespace dtls::bench {

struct MemoryResult {
  int sessions = 0;  // idle sessions that opened
  int failures = 0;
  int client_processes = 0;
  double rss_before_kib = 0, rss_after_kib = 0;
  double kib_per_session = 0;       // RSS growth per session
  double heap_kib_per_session = 0;  // heap in use, the floor's measure
  // openssl_session_floor() in this process, over floor_sessions sessions.
  int floor_sessions = 0;
  double floor_kib_per_session = 0;
  // The server loop's CPU while the sessions idle, per second of wall time,
  // and the deadlines its endpoint holds then (one timer serves them all).
  double idle_cpu_ms_per_s = 0;
  std::uint64_t idle_deadlines = 0;
  // Handshakes/s against the endpoint holding the idle sessions and against
  // an empty endpoint on the same loop, in alternating slices; the ratio is
  // the median of the slices' (issue 22's goal: 0.95).
  struct Slice {
    double idle_per_s = 0, empty_per_s = 0;
  };
  std::vector<Slice> slices;
  double handshake_ratio() const;
  // Half-open handshakes held at once, those that did not reach the server,
  // and the server's RSS growth per one.
  int half_open = 0;
  int half_open_failures = 0;
  double kib_per_half_open = 0;
};

struct ScaleSetup {
  EventLoop* server = nullptr;
  const Endpoint* endpoint = nullptr;  // listening on 127.0.0.1:port
  std::uint16_t port = 0;
  // An endpoint on the same loop with the same options and no sessions.
  std::uint16_t empty_port = 0;
  Identity client;  // the idle clients' certificate
  std::string server_fingerprint;
  // Handshakes/s of the handshake phase's load against a port.
  std::function<Result<double>(std::uint16_t port)> handshake_rate;
  int idle_sessions = 0;
  int floor_sessions = 0;  // 0 skips the floor
  int slices = 3;
  std::string self_path;  // this binary, for the children
};

// The idle sessions, the floor, idle CPU and the handshake slices.
Result<MemoryResult> idle_sessions_phase(const ScaleSetup& setup);

// `count` peers on this thread that answer the server's cookie (RFC 6347
// §4.2.1) and go silent; fills the half-open fields of `m`. The server ends
// them after its half_open_timeout.
void half_open_phase(int count, EventLoop& server, const Endpoint& endpoint,
                     std::uint16_t port, MemoryResult& m);

// Idle clients one child process holds: each session has a socket of its
// own, so at most 8,000 and what the hard RLIMIT_NOFILE leaves (the child
// raises its soft limit to it), less a margin for the loop's own.
int idle_clients_per_process();

// `dtls-srtp bench-idle-clients`: connects `count` sessions to 127.0.0.1:port
// with the certificate and key in the given PEM files, pinning the server's
// fingerprint; prints "ready <opened> <failed>" and holds them until its
// standard input closes.
int run_idle_clients(std::uint16_t port, int count,
                     const std::string& cert_file, const std::string& key_file,
                     const std::string& server_fingerprint);

}  // namespace dtls::bench

#endif  // DTLS_SRTP_TOOLS_BENCH_SCALE_BENCH_H_
