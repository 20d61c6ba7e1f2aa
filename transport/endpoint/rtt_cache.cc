#include "transport/endpoint/rtt_cache.h"

#include <algorithm>

namespace dtls {

RttCache::RttCache(size_t capacity, Duration lifetime)
    : capacity_(std::max<size_t>(capacity, 1)), lifetime_(lifetime) {}

RttCache::Host RttCache::host_of(const PeerAddress& peer) {
  // PeerAddress::key() is family | address | port (2 bytes): drop the port.
  Host host{};
  auto key = peer.key();
  const size_t n = key.size() >= 2 ? key.size() - 2 : 0;
  std::copy_n(key.begin(), std::min(n, host.size()), host.begin());
  return host;
}

void RttCache::note(const PeerAddress& peer, Duration rtt, TimePoint now) {
  if (peer.empty() || rtt <= Duration::zero()) return;
  const Host host = host_of(peer);
  if (auto it = by_host_.find(host); it != by_host_.end()) {
    order_.erase(it->second);
    by_host_.erase(it);
  } else if (by_host_.size() >= capacity_) {
    by_host_.erase(order_.front().host);
    order_.pop_front();
  }
  order_.push_back(Entry{host, rtt, now});
  by_host_.emplace(host, std::prev(order_.end()));
}

std::optional<Duration> RttCache::find(const PeerAddress& peer, TimePoint now) {
  if (peer.empty()) return std::nullopt;
  auto it = by_host_.find(host_of(peer));
  if (it == by_host_.end()) return std::nullopt;
  if (now - it->second->noted > lifetime_) {
    order_.erase(it->second);
    by_host_.erase(it);
    return std::nullopt;
  }
  return it->second->rtt;
}

}  // namespace dtls
