// All cores: one port served by 1 and by 2 EventLoops (a PortGroup), for
// handshakes, media and ICE peers handed over between loops, measured in
// alternating slices in one run.
//
// Each figure has two readings. Wall: what the server delivered per second.
// Capacity: what it delivered per second of its loops' CPU, times the loops:
// the rate it would reach with a core per loop. On a machine with as many
// cores as server loops plus the load's own, the two agree; on this 2-vCPU
// machine the load generator takes a core the second loop would need, so the
// wall figure cannot show the scaling and capacity says whether the loops
// cost each other anything (locks, shared lines, hand-overs).
#ifndef DTLS_SRTP_TOOLS_BENCH_CORES_BENCH_H_
#define DTLS_SRTP_TOOLS_BENCH_CORES_BENCH_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "transport/base/error.h"

namespace dtls::bench {

struct CoresOptions {
  bool enabled = true;
  // Media senders per setup. The kernel spreads them over the loops by a
  // hash of their addresses: with 64, the busier loop usually gets 50-60 %.
  int sessions = 64;
  int handshakes = 400;  // per slice and setup
  int concurrency = 32;
  double seconds = 0.5;  // media per slice and setup
  int repeats = 3;       // slices, the setups alternating in each
  size_t payload = 1200;
  std::string profile = "SRTP_AEAD_AES_128_GCM";
};

// One setup's totals over its slices.
struct CoresFigure {
  std::string name;  // "1 loop", "2 loops", "2 loops, ICE"
  int loops = 0;
  std::uint64_t count = 0;     // handshakes completed or packets received
  std::uint64_t sent = 0;      // media: packets the clients sent
  std::uint64_t failures = 0;  // handshakes that failed
  double seconds = 0;
  // CPU seconds of each of its loops, and the work each did (packets
  // received, or handshakes served).
  std::vector<double> loop_cpu_s;
  std::vector<std::uint64_t> per_loop;
  // Datagrams handed from one loop to another (stats().forwarded).
  std::uint64_t handed_over = 0;
  std::uint64_t hand_over_drops = 0;
  // recvmmsg calls that returned data, over all its loops: datagrams per
  // call is how full the receive batches were (emptier batches cost more
  // per packet, so a loop that is not saturated shows a lower per CPU s).
  std::uint64_t receive_calls = 0;
  std::uint64_t datagrams = 0;
  double per_second() const { return seconds > 0 ? count / seconds : 0; }
  // The rate at which its busiest loop would use a whole core: count per
  // CPU second of that loop.
  double capacity() const;
  // count per CPU second of all its loops: the cost of the work, whatever
  // its spread.
  double per_cpu_second() const;
};

// Fan-out across loops (an SFU room spanning loops): the publisher's loop
// sends one packet to the subscribers on its own loop, then to those on the
// other loop (dtls::send_rtp queues each copy for that loop, which protects
// and sends it). The CPU per packet on each loop.
struct CrossLoopFanOut {
  int local_subscribers = 0, remote_subscribers = 0;
  std::uint64_t local_sent = 0;     // protected and sent on the loop
  std::uint64_t remote_queued = 0;  // queued for the other loop
  std::uint64_t remote_sent = 0;    // sent by the other loop
  double local_ns = 0;              // publisher's loop, per packet sent
  double remote_queue_ns = 0;       // publisher's loop, per packet queued
  double remote_send_ns = 0;        // the other loop, per packet sent
  // Fan-out capacity with the subscribers split over 2 loops as measured,
  // over all of them on the publisher's loop: from the costs above, the
  // busier loop's share per packet against local_ns.
  double capacity_ratio() const;
};

struct CoresResult {
  CoresOptions options;
  CoresFigure handshakes_1, handshakes_2;
  CoresFigure media_1, media_2, media_ice_2;
  // Medians of the slices' ratios, 2 loops over 1.
  double handshake_wall_ratio = 0, handshake_capacity_ratio = 0;
  double media_wall_ratio = 0, media_capacity_ratio = 0;
  // Work per CPU second, 2 loops over 1: below 1.0 when two loops cost each
  // other something.
  double handshake_efficiency = 0, media_efficiency = 0;
  CrossLoopFanOut fanout;
  // WebRTC peers on 2 loops, their ICE sessions added to the loops in turn
  // and the peers landing where the kernel puts them, so about half are
  // handed over: capacity beside plain media on 2 loops.
  double ice_capacity_ratio = 0;
};

Result<CoresResult> run_cores_bench(const CoresOptions& options);

std::string to_cores_table(const CoresResult& r);
std::string cores_json(const CoresResult& r);

}  // namespace dtls::bench

#endif  // DTLS_SRTP_TOOLS_BENCH_CORES_BENCH_H_
