// The lossy phase: DTLS handshakes through the impairing relay, at a few
// round trips and loss rates, with fixed retransmission schedules and the
// adaptive one, beside openssl s_client / s_server through the same relay
// with the same seeds (the n-th handshake of a point meets the same losses in
// all of them). Reports handshake time percentiles and datagrams per handshake.
#ifndef DTLS_SRTP_TOOLS_BENCH_LOSSY_BENCH_H_
#define DTLS_SRTP_TOOLS_BENCH_LOSSY_BENCH_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "transport/base/error.h"

namespace dtls::bench {

struct LossyOptions {
  // Per point, for each of our schedules (0 skips). A p99 is then the 10th
  // worst: with 300 it was the 3rd, and moved 0.30-0.44 of fixed's from one
  // seed to the next at the point (RTT 50 ms, 10 %).
  int handshakes = 1000;
  // openssl s_client/s_server pairs per point (two processes each; 0 skips).
  int openssl_handshakes = 100;
  std::vector<int> rtts_ms = {50, 150};
  std::vector<double> losses = {0, 0.05, 0.10, 0.20};  // each way
  // Every point's handshakes start evenly over this many seconds (all points
  // at once, so they share the machine's conditions; ours, then openssl's);
  // a handshake still running `timeout_s` after its start counts as failed.
  // The defaults keep the machine below a core busy (an openssl pair costs
  // ~15 ms of CPU, one of ours ~1.5 ms): latency measured on a loaded
  // machine would be the load's.
  double spread_s = 100;
  double timeout_s = 20;
  std::uint64_t seed = 1;
  std::string openssl = "openssl";  // the binary for the reference
};

struct LossyPoint {
  // Ours: "fixed" (1 s, doubling: OpenSSL's schedule), "fixed400" (the
  // DTLS-SRTP default initial value, 400 ms, without adaptation),
  // "adapt-1st" (400 ms, adaptive_retransmit, every connect a first contact:
  // use_rtt_cache false) and "adaptive" (the defaults: the same, each connect
  // starting from the round trip the loop's last handshake with that host
  // measured); "openssl" (s_client / s_server).
  std::string stack;
  int rtt_ms = 0;
  double loss = 0;
  int count = 0;
  int failures = 0;  // not done within timeout_s (or an error)
  // Over all `count`, a failure counting as timeout_s: a p99 at timeout_s
  // means at least 1 % did not finish.
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, max_ms = 0;
  // Datagrams the relay was given, both ways, per handshake (the handshake,
  // its retransmissions and the closing alert).
  double datagrams_per_handshake = 0;
  // Timer-driven flight retransmissions per handshake, both sides (ours
  // only: OpenSSL's processes do not tell).
  double retransmits_per_handshake = 0;
};

struct LossyResult {
  std::vector<LossyPoint> points;
  double timeout_s = 0;
  std::string openssl_version;  // empty when the reference did not run
  // p's p99 / the fixed schedule's p99 at the same (rtt, loss); 0 when that
  // is missing.
  double p99_over_fixed(const LossyPoint& p) const;
};

using LossyProgress = std::function<void(const std::string&)>;

Result<LossyResult> run_lossy_bench(const LossyOptions& options,
                                    const LossyProgress& progress);

}  // namespace dtls::bench

#endif  // DTLS_SRTP_TOOLS_BENCH_LOSSY_BENCH_H_
