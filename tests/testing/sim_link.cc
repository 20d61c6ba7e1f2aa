#include "tests/testing/sim_link.h"

namespace dtls::testing {

SimLink::SimLink(std::uint64_t seed, LinkConfig a_to_b, LinkConfig b_to_a)
    : rng_(seed) {
  config_[0] = a_to_b;
  config_[1] = b_to_a;
}

void SimLink::send(Side from, std::vector<std::uint8_t> datagram, TimePoint now,
                   Duration extra_delay) {
  const int i = static_cast<int>(from);
  const LinkConfig& c = config_[i];
  Stats& s = stats_[i];
  s.sent++;
  s.largest = std::max(s.largest, datagram.size());
  if (datagram.size() > c.mtu) s.oversize++;
  if (chance(c.loss)) {
    s.dropped++;
    return;
  }
  Side to = from == Side::kA ? Side::kB : Side::kA;
  TimePoint at = now + c.delay + extra_delay;
  if (chance(c.reorder)) {
    s.reordered++;
    at += std::chrono::duration_cast<Duration>(
        c.reorder_delay * std::uniform_real_distribution<>(0, 1)(rng_));
  }
  if (chance(c.duplicate)) {
    s.duplicated++;
    queue_.push(
        InFlight{at + std::chrono::milliseconds(1), order_++, to, datagram});
  }
  queue_.push(InFlight{at, order_++, to, std::move(datagram)});
}

std::optional<TimePoint> SimLink::next_delivery() const {
  if (queue_.empty()) return std::nullopt;
  return queue_.top().at;
}

bool SimLink::pop_due(TimePoint now, Side& to,
                      std::vector<std::uint8_t>& datagram) {
  if (queue_.empty() || queue_.top().at > now) return false;
  // priority_queue::top is const; the element is moved out right before pop.
  InFlight& top = const_cast<InFlight&>(queue_.top());
  to = top.to;
  datagram = std::move(top.bytes);
  stats_[to == Side::kA ? 1 : 0].delivered++;
  queue_.pop();
  return true;
}

}  // namespace dtls::testing
