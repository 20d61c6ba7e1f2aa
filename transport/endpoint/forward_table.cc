#include "transport/endpoint/forward_table.h"

#include <algorithm>

namespace dtls {

ForwardTable::ForwardTable(Duration ttl, size_t capacity)
    : ttl_(ttl), capacity_(std::max<size_t>(capacity, 1)) {}

void ForwardTable::set(const PeerAddress& from, Member member, TimePoint now) {
  // `ttl` is one value for all, so refreshing an entry moves it to the back
  // and the list stays in expiry order.
  if (auto it = by_address_.find(from); it != by_address_.end()) {
    it->second->member = member;
    it->second->expires = now + ttl_;
    order_.splice(order_.end(), order_, it->second);
    return;
  }
  if (by_address_.size() >= capacity_) {
    by_address_.erase(order_.front().from);
    order_.pop_front();
  }
  order_.push_back({from, member, now + ttl_});
  by_address_.emplace(from, std::prev(order_.end()));
}

std::optional<ForwardTable::Member> ForwardTable::find(
    const PeerAddress& from) const {
  auto it = by_address_.find(from);
  if (it == by_address_.end()) return std::nullopt;
  return it->second->member;
}

void ForwardTable::erase(const PeerAddress& from) {
  auto it = by_address_.find(from);
  if (it == by_address_.end()) return;
  order_.erase(it->second);
  by_address_.erase(it);
}

void ForwardTable::expire(TimePoint now) {
  while (!order_.empty() && order_.front().expires <= now) {
    by_address_.erase(order_.front().from);
    order_.pop_front();
  }
}

std::optional<TimePoint> ForwardTable::next_deadline() const {
  if (order_.empty()) return std::nullopt;
  return order_.front().expires;
}

}  // namespace dtls
