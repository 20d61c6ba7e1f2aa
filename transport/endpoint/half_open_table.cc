#include "transport/endpoint/half_open_table.h"

namespace dtls {

Status validate_half_open_limits(const HalfOpenLimits& l) {
  if (l.per_address < 1 || l.per_address > 65535) {
    return make_error("ERR_OUT_OF_RANGE",
                      "max_half_open_per_address must be 1..65535, got " +
                          std::to_string(l.per_address));
  }
  if (l.total < 1 || l.total > 1'000'000) {
    return make_error(
        "ERR_OUT_OF_RANGE",
        "max_half_open must be 1..1000000, got " + std::to_string(l.total));
  }
  if (l.timeout < std::chrono::milliseconds(100) ||
      l.timeout > std::chrono::hours(1)) {
    return make_error("ERR_OUT_OF_RANGE",
                      "half_open_timeout must be 100 ms..1 h, got " +
                          std::to_string(l.timeout.count()) + " ms");
  }
  if (l.grace < std::chrono::milliseconds(0) || l.grace > l.timeout) {
    return make_error("ERR_OUT_OF_RANGE",
                      "half_open_grace must be 0..half_open_timeout, got " +
                          std::to_string(l.grace.count()) + " ms");
  }
  return {};
}

std::string HalfOpenTable::address_of(const PeerAddress& peer) {
  // key() is family (1 byte) | address (4 or 16) | port (2). An IPv6 host
  // usually holds a whole /64 (RFC 4291 §2.5.1 interface identifiers), so a
  // /64 counts as one address; an IPv4 address as itself.
  auto k = peer.key();
  const size_t address = k.size() >= 3 ? k.size() - 3 : 0;
  const size_t kept = address == 16 ? 8 : address;
  return std::string(reinterpret_cast<const char*>(k.data()), 1 + kept);
}

size_t HalfOpenTable::count_for_address(const PeerAddress& peer) const {
  auto it = by_address_.find(address_of(peer));
  return it == by_address_.end() ? 0 : it->second.entries.size();
}

HalfOpenTable::Admission HalfOpenTable::admit(const PeerAddress& peer,
                                              TimePoint now,
                                              bool must_make_room) const {
  const Entry* oldest = nullptr;
  if (auto it = by_address_.find(address_of(peer));
      it != by_address_.end() &&
      it->second.entries.size() >= limits_.per_address) {
    oldest = &*it->second.entries.front();
  } else if (order_.size() >= limits_.total || must_make_room) {
    if (order_.empty()) return {Admission::Verdict::kRefuse, {}};
    oldest = &order_.front();
  }
  if (oldest == nullptr) return {};
  if (now - oldest->accepted < limits_.grace)
    return {Admission::Verdict::kRefuse, {}};
  return {Admission::Verdict::kReplace, oldest->peer};
}

void HalfOpenTable::add(const PeerAddress& peer, TimePoint now) {
  remove(peer);
  std::string address = address_of(peer);
  Address& a = by_address_[address];
  auto it =
      order_.insert(order_.end(), Entry{peer, now, std::move(address), {}});
  it->in_address = a.entries.insert(a.entries.end(), it);
  by_peer_[peer] = it;
}

void HalfOpenTable::remove(const PeerAddress& peer) {
  auto found = by_peer_.find(peer);
  if (found == by_peer_.end()) return;
  Order::iterator it = found->second;
  auto a = by_address_.find(it->address);
  a->second.entries.erase(it->in_address);
  if (a->second.entries.empty()) by_address_.erase(a);
  order_.erase(it);
  by_peer_.erase(found);
}

std::optional<TimePoint> HalfOpenTable::next_deadline() const {
  if (order_.empty()) return std::nullopt;
  return order_.front().accepted + limits_.timeout;
}

std::optional<PeerAddress> HalfOpenTable::pop_expired(TimePoint now) {
  if (order_.empty() || order_.front().accepted + limits_.timeout > now)
    return std::nullopt;
  PeerAddress peer = order_.front().peer;
  remove(peer);
  return peer;
}

}  // namespace dtls
