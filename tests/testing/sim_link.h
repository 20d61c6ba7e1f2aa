// A simulated datagram link between two sides: loss, duplication, reordering,
// delay and an MTU check, all from one seed so that a failing run can be
// replayed exactly.
#ifndef DTLS_SRTP_TESTS_TESTING_SIM_LINK_H_
#define DTLS_SRTP_TESTS_TESTING_SIM_LINK_H_

#include <cstdint>
#include <optional>
#include <queue>
#include <random>
#include <vector>

#include "transport/base/time.h"

namespace dtls::testing {

struct LinkConfig {
  double loss = 0;       // probability a datagram is dropped
  double duplicate = 0;  // probability a datagram is delivered twice
  double reorder =
      0;  // probability a datagram is held back by up to `reorder_delay`
  Duration delay = std::chrono::milliseconds(10);
  Duration reorder_delay = std::chrono::milliseconds(50);
  size_t mtu = 65535;  // larger datagrams are counted in `oversize` (and still
                       // delivered)
  // A bottleneck (SimNetwork): bits per second (0: none) and the bytes that
  // may wait for it before the tail is dropped, with the relay's model
  // (tools/relay/impairment).
  std::uint64_t rate_bps = 0;
  size_t queue_bytes = 64 * 1024;
};

enum class Side { kA = 0, kB = 1 };

class SimLink {
 public:
  SimLink(std::uint64_t seed, LinkConfig a_to_b, LinkConfig b_to_a);

  // `from` sends a datagram at `now`; `extra_delay` holds this one back
  // further.
  void send(Side from, std::vector<std::uint8_t> datagram, TimePoint now,
            Duration extra_delay = Duration::zero());
  // When the next datagram arrives, if any is in flight.
  std::optional<TimePoint> next_delivery() const;
  // The next datagram due at or before `now`: its receiver and bytes.
  bool pop_due(TimePoint now, Side& to, std::vector<std::uint8_t>& datagram);

  struct Stats {
    std::uint64_t sent = 0, delivered = 0, dropped = 0, duplicated = 0,
                  reordered = 0, oversize = 0;
    size_t largest = 0;
  };
  const Stats& stats(Side from) const { return stats_[static_cast<int>(from)]; }

 private:
  struct InFlight {
    TimePoint at;
    std::uint64_t order;  // FIFO among equal times
    Side to;
    std::vector<std::uint8_t> bytes;
    bool operator>(const InFlight& o) const {
      return at != o.at ? at > o.at : order > o.order;
    }
  };

  bool chance(double p) {
    return p > 0 && std::uniform_real_distribution<>(0, 1)(rng_) < p;
  }

  std::mt19937_64 rng_;
  LinkConfig config_[2];
  Stats stats_[2];
  std::uint64_t order_ = 0;
  std::priority_queue<InFlight, std::vector<InFlight>, std::greater<>> queue_;
};

}  // namespace dtls::testing

#endif  // DTLS_SRTP_TESTS_TESTING_SIM_LINK_H_
