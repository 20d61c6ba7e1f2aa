// The SFU's hot path: one publisher's packet sent to N subscribers on one
// endpoint (dtls::send_rtp with a per-subscriber SSRC rewrite), beside the
// bound one core reaches doing only that work by hand: N SRTP protects and a
// sendmmsg per 32 datagrams to the same N destinations, measured on the same
// core in the same run. Subscribers are real DTLS-SRTP clients on another
// loop and core; a sample of what they receive is checked.
#ifndef DTLS_SRTP_TOOLS_BENCH_FANOUT_BENCH_H_
#define DTLS_SRTP_TOOLS_BENCH_FANOUT_BENCH_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "transport/base/error.h"

namespace dtls::bench {

struct FanOutOptions {
  std::vector<int> subscribers = {1, 10, 100, 1000};  // empty skips it
  std::vector<size_t> payloads = {200, 1200};
  std::vector<std::string> profiles = {"SRTP_AES128_CM_SHA1_80",
                                       "SRTP_AEAD_AES_128_GCM"};
  // Each of ours, the bound and the bare bound, in 7 slices.
  double seconds = 0.7;
};

struct FanOutPoint {
  std::string profile;
  size_t payload = 0;
  int subscribers = 0;
  // Packets out per second, one core sending (medians of the slices).
  double ours_pps = 0;
  // The bound's socket is in an epoll set, as ours is (it is read from);
  // the bare bound's is not.
  double bound_pps = 0;
  double bare_pps = 0;
  // Datagrams not sent: refused by our endpoint (its send queue full), and
  // pushed back by the kernel in the bounds' own sendmmsg.
  std::uint64_t failed = 0;
  std::uint64_t bound_refused = 0;
  std::string first_refusal;  // the error code of our first refusal
  // The median of the slices' ours/bound (each slice of ours measured
  // right before one of the bound).
  double slice_ratio = 0;
  double ratio() const { return slice_ratio; }
  double bare_ratio = 0;      // the same, ours/bare
  double gbit_per_s() const;  // ours, SRTP datagrams on the wire
};

struct FanOutBenchResult {
  std::vector<FanOutPoint> points;
  // Subscribers that received at least one packet, of those sent to, and
  // whether every packet a subscriber received was the publisher's payload
  // under an SSRC given to one of the subscribers.
  std::uint64_t subscribers_reached = 0, subscribers_sent_to = 0;
  bool sample_ok = true;
  int cpu_sender = -1, cpu_subscribers = -1;
};

Result<FanOutBenchResult> run_fanout_bench(
    const FanOutOptions& options,
    const std::function<void(const std::string&)>& progress);

}  // namespace dtls::bench

#endif  // DTLS_SRTP_TOOLS_BENCH_FANOUT_BENCH_H_
