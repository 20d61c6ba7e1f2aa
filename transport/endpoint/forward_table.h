// The peer addresses whose datagrams another member of the port handles: a
// member that forwarded a peer's authentic check to the session's owner
// (PortDirectory) forwards the peer's DTLS and SRTP after it too. An entry
// lives `ttl` after the last check that set it; consent checks come every few
// seconds (RFC 7675 §5.1), so an address that stops checking is forgotten.
// At most `capacity` entries: the one checked longest ago makes room.
// Sans-I/O. An entry is made per peer address, never per datagram.
#ifndef DTLS_SRTP_TRANSPORT_ENDPOINT_FORWARD_TABLE_H_
#define DTLS_SRTP_TRANSPORT_ENDPOINT_FORWARD_TABLE_H_

#include <cstddef>
#include <list>
#include <optional>
#include <unordered_map>

#include "transport/base/peer_address.h"
#include "transport/base/time.h"
#include "transport/endpoint/port_directory.h"

namespace dtls {

class ForwardTable {
 public:
  using Member = PortDirectory::Member;

  ForwardTable(Duration ttl, size_t capacity);

  // Datagrams from `from` go to `member` until ttl after `now`.
  void set(const PeerAddress& from, Member member, TimePoint now);
  // Where datagrams from `from` go, or nothing.
  std::optional<Member> find(const PeerAddress& from) const;
  void erase(const PeerAddress& from);
  // Forgets the entries whose time is up at `now`.
  void expire(TimePoint now);
  // When the oldest entry's time is up.
  std::optional<TimePoint> next_deadline() const;
  size_t size() const { return by_address_.size(); }
  bool empty() const { return by_address_.empty(); }

 private:
  struct Entry {
    PeerAddress from;
    Member member;
    TimePoint expires;
  };
  using Order = std::list<Entry>;  // oldest check first

  Duration ttl_;
  size_t capacity_;
  Order order_;
  std::unordered_map<PeerAddress, Order::iterator, PeerAddressHash> by_address_;
};

}  // namespace dtls

#endif  // DTLS_SRTP_TRANSPORT_ENDPOINT_FORWARD_TABLE_H_
