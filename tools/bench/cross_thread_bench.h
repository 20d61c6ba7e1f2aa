// The cost of a send made from a thread that is not the session's loop (an
// SFU forwarding between loops, an application thread producing media):
// send_rtp from outside, which copies into the loop's queue and returns,
// beside the same sends made on the loop's own thread (protect and send,
// corked per window), in the same run.
#ifndef DTLS_SRTP_TOOLS_BENCH_CROSS_THREAD_BENCH_H_
#define DTLS_SRTP_TOOLS_BENCH_CROSS_THREAD_BENCH_H_

#include <cstddef>
#include <cstdint>

#include "transport/base/error.h"

namespace dtls::bench {

struct CrossThreadOptions {
  int packets = 200000;  // each way of sending (0 skips the phase)
  size_t payload = 200;  // RTP payload bytes (GCM-128)
  // Packets sent before waiting for the receiver to catch up: below the
  // queue's bound and what a socket buffer takes in one burst.
  int window = 200;
  // Questions asked of the loop from the bench's thread (Session::ask of
  // stats()), each waited for before the next.
  int asks = 2000;
};

struct CrossThreadResult {
  int packets = 0;
  // Nanoseconds per send_rtp, only the time spent inside the calls.
  double foreign_ns = 0;  // from another thread: queued
  double loop_ns = 0;     // on the loop: protected and sent
  std::uint64_t foreign_delivered = 0, loop_delivered = 0;
  // The loop's CPU per packet (it also runs the receiving end: receive,
  // unprotect, deliver) when fed from the other thread (drain, protect,
  // send) and when sending itself: the difference is what the queue costs
  // the loop.
  double loop_cpu_ns_when_fed = 0;
  double loop_cpu_ns_inline = 0;
  // A read of the session's stats from the bench's thread, which never
  // waits for the loop: what ask() costs inside the call (it posts and
  // returns a future), and the round trip until the loop's answer is there
  // (median and 99th percentile; an idle loop, so mostly its wakeup).
  int asks = 0;
  double ask_ns = 0;
  // The same asks made in bursts of a window before waiting for the
  // answers: they share the loop's wakeups, as queued sends do.
  double ask_burst_ns = 0;
  double ask_round_trip_us_p50 = 0, ask_round_trip_us_p99 = 0;
};

Result<CrossThreadResult> run_cross_thread_bench(
    const CrossThreadOptions& options);

}  // namespace dtls::bench

#endif  // DTLS_SRTP_TOOLS_BENCH_CROSS_THREAD_BENCH_H_
