// What a network path does to datagrams, one direction: loss, a fixed and a
// jittered delay, reordering, duplication, and a link rate with a bounded
// queue (tail drop). Sans-I/O: it decides each datagram's fate from a seeded
// generator and "now"; whoever holds the bytes delivers them at the times it
// gives. This machine's kernel has no netem, so the impairing relay, the
// lossy benchmark and the simulated links use this instead.
//
// Every datagram draws the same random numbers in the same order whatever its
// fate, so the n-th datagram of a path meets the same fate under one seed in
// any run, whichever implementation sent it: two stacks compared through the
// same seeds see the same losses.
#ifndef DTLS_SRTP_TOOLS_RELAY_IMPAIRMENT_H_
#define DTLS_SRTP_TOOLS_RELAY_IMPAIRMENT_H_

#include <array>
#include <cstdint>
#include <random>
#include <string>

#include "transport/base/error.h"
#include "transport/base/time.h"

namespace dtls::relay {

struct ImpairmentConfig {
  double loss = 0;           // probability a datagram is dropped, 0..1
  Duration delay{};          // one-way delay every datagram takes
  Duration jitter{};         // plus a uniform extra delay in [0, jitter]
  double reorder = 0;        // probability a datagram is held back further...
  Duration reorder_delay{};  // ...by this much (later ones overtake it)
  double duplicate = 0;      // probability a datagram arrives twice
  // The link's rate in bits per second (0: unlimited). A datagram waits for
  // the ones before it to leave the link, as on a real bottleneck.
  std::uint64_t rate_bps = 0;
  // At a limited rate, the bytes that may wait for the link; a datagram that
  // would make the queue longer is dropped (tail drop). 0: unbounded.
  std::size_t queue_bytes = 64 * 1024;
};

// ERR_OUT_OF_RANGE naming the field.
Status validate_impairment(const ImpairmentConfig& config);

struct ImpairmentStats {
  std::uint64_t offered = 0;        // datagrams given to the path
  std::uint64_t delivered = 0;      // copies scheduled for delivery
  std::uint64_t lost = 0;           // dropped by `loss`
  std::uint64_t queue_dropped = 0;  // dropped at a full queue
  std::uint64_t duplicated = 0;     // delivered twice
  std::uint64_t reordered = 0;      // held back by reorder_delay
  std::uint64_t bytes_offered = 0;
  ImpairmentStats& operator+=(const ImpairmentStats& o);
};

class Impairment {
 public:
  Impairment(ImpairmentConfig config, std::uint64_t seed);

  // The fate of one datagram of `bytes` offered at `now`: `copies` (0, 1 or
  // 2) deliveries, at the given times.
  struct Fate {
    int copies = 0;
    std::array<TimePoint, 2> at{};
  };
  Fate offer(std::size_t bytes, TimePoint now);

  const ImpairmentConfig& config() const { return config_; }
  const ImpairmentStats& stats() const { return stats_; }

 private:
  double uniform() { return std::uniform_real_distribution<>(0, 1)(rng_); }

  ImpairmentConfig config_;
  std::mt19937_64 rng_;
  ImpairmentStats stats_;
  TimePoint link_free_at_{};  // when the link has sent what it holds
};

// "loss=0.1,delay=25ms,jitter=5ms,reorder=0.02,reorder_delay=30ms,
// duplicate=0.01,rate=2mbit,queue=64k": every key optional, durations in ms
// or s, rates in bit/s with k/m/g, sizes with k/m. ERR_INVALID_ARG_VALUE.
Result<ImpairmentConfig> parse_impairment(const std::string& spec);
std::string to_string(const ImpairmentConfig& config);

}  // namespace dtls::relay

#endif  // DTLS_SRTP_TOOLS_RELAY_IMPAIRMENT_H_
