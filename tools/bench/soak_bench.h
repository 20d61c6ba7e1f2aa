// The churn soak (`--soak SECONDS`): sessions join and leave continuously
// while media flows, and the process's RSS, open descriptors and the server
// endpoint's deadlines are sampled over time. Flat is the goal: what a
// session takes is given back when it leaves.
#ifndef DTLS_SRTP_TOOLS_BENCH_SOAK_BENCH_H_
#define DTLS_SRTP_TOOLS_BENCH_SOAK_BENCH_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "transport/base/error.h"
#include "transport/dtls_api.h"

namespace dtls::bench {

struct SoakOptions {
  double seconds = 0;
  int sessions = 100;         // held open at once
  double churn_per_s = 20;    // sessions closed and replaced each second
  int packets_per_s = 50;     // RTP each open session sends each second
  size_t payload = 200;       // RTP payload bytes
  double sample_every_s = 0;  // 0: seconds / 20, at least 1
};

struct SoakSample {
  double t = 0;  // seconds since the start
  int open = 0;  // client sessions open
  std::uint64_t server_sessions = 0;
  std::uint64_t joined = 0, left = 0, failures = 0;
  std::uint64_t sent = 0, received = 0;  // RTP packets
  double rss_kib = 0;
  double heap_kib = 0;  // malloc's bytes in use (heap_in_use_kib)
  int descriptors = 0;
  std::uint64_t deadlines = 0;  // the server endpoint's
};

struct SoakResult {
  SoakOptions options;
  std::vector<SoakSample> samples;
  // From the sample a quarter of the way in (allocator and caches warm) to
  // the last one.
  double rss_growth_kib() const;
  double heap_growth_kib() const;
  int descriptor_growth() const;
  // The most deadlines the server held beyond one per session.
  std::int64_t max_extra_deadlines() const;
  // RSS grew by at most 5 % + 4 MiB after the warm-up, the heap in use by
  // at most 2 % + 2 MiB, descriptors by at most the sessions a second of
  // churn has mid-handshake + 16, and no
  // sample held more than one deadline per session plus the endpoint's own
  // (cookie rotation, half-open table, ICE consent).
  bool flat() const;
};

struct SoakSetup {
  EventLoop* server = nullptr;
  const Endpoint* endpoint = nullptr;
  EventLoop* client = nullptr;
  std::uint16_t port = 0;
  ConnectOptions connect;
  // RTP packets the server's sessions delivered so far (any thread).
  std::function<std::uint64_t()> received;
  // Each sample as it is taken.
  std::function<void(const SoakSample&)> on_sample;
};

Result<SoakResult> run_soak(const SoakOptions& options, const SoakSetup& setup);

// One line per sample, with a header.
std::string format_soak(const SoakResult& r);

}  // namespace dtls::bench

#endif  // DTLS_SRTP_TOOLS_BENCH_SOAK_BENCH_H_
