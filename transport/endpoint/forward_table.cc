#include "transport/endpoint/forward_table.h"

#include <algorithm>

namespace dtls {

ForwardTable::ForwardTable(Duration ttl, size_t capacity, size_t per_session)
    : ttl_(ttl),
      capacity_(std::max<size_t>(capacity, 1)),
      per_session_(std::max<size_t>(per_session, 1)) {}

void ForwardTable::remove(Order::iterator it) {
  if (auto u = per_ufrag_.find(it->ufrag); u != per_ufrag_.end()) {
    u->second.erase(it->in_session);
    if (u->second.empty()) per_ufrag_.erase(u);
  }
  by_address_.erase(it->from);
  order_.erase(it);
}

void ForwardTable::set(const PeerAddress& from, Member member,
                       std::string_view ufrag, TimePoint now) {
  if (auto it = by_address_.find(from); it != by_address_.end())
    remove(it->second);
  // The session's oldest address makes room first: one session's
  // credentials, sent from many spoofed sources, can push out only its own.
  auto& mine = per_ufrag_[std::string(ufrag)];
  if (mine.size() >= per_session_) remove(mine.front());
  if (by_address_.size() >= capacity_) remove(order_.begin());
  // remove() may have taken the session's list away with its last entry.
  auto& session = per_ufrag_[std::string(ufrag)];
  // `ttl` is one value for all, so the list stays in expiry order.
  order_.push_back({from, member, std::string(ufrag), now + ttl_, {}});
  const auto it = std::prev(order_.end());
  it->in_session = session.insert(session.end(), it);
  by_address_.emplace(from, it);
}

const ForwardTable::Entry* ForwardTable::find(const PeerAddress& from) const {
  auto it = by_address_.find(from);
  return it == by_address_.end() ? nullptr : &*it->second;
}

void ForwardTable::erase(const PeerAddress& from) {
  if (auto it = by_address_.find(from); it != by_address_.end())
    remove(it->second);
}

size_t ForwardTable::count(std::string_view ufrag) const {
  auto it = per_ufrag_.find(std::string(ufrag));
  return it == per_ufrag_.end() ? 0 : it->second.size();
}

void ForwardTable::expire(TimePoint now) {
  while (!order_.empty() && order_.front().expires <= now)
    remove(order_.begin());
}

std::optional<TimePoint> ForwardTable::next_deadline() const {
  if (order_.empty()) return std::nullopt;
  return order_.front().expires;
}

}  // namespace dtls
