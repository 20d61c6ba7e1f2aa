// The peer addresses whose datagrams another member of the port handles: a
// member that forwarded a peer's authentic check to the session's owner
// (PortDirectory) forwards the peer's DTLS and SRTP after it too. An entry
// lives `ttl` after the last check that set it; consent checks come every few
// seconds (RFC 7675 §5.1), so an address that stops checking is forgotten.
//
// An address belongs to the session (ufrag) first checked from it while that
// one lasts: a check for another session from the same address (a spoofed
// source, with credentials of the sender's own) does not move it
// (EndpointCore decides, with the directory). At most `per_session` entries
// per ufrag (the owner remembers no more valid addresses than that either)
// and `capacity` in all; the oldest of that ufrag, or of all, makes room.
// Sans-I/O. An entry is made per peer address, never per datagram.
#ifndef DTLS_SRTP_TRANSPORT_ENDPOINT_FORWARD_TABLE_H_
#define DTLS_SRTP_TRANSPORT_ENDPOINT_FORWARD_TABLE_H_

#include <cstddef>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "transport/base/peer_address.h"
#include "transport/base/time.h"
#include "transport/endpoint/port_directory.h"

namespace dtls {

class ForwardTable {
 public:
  using Member = PortDirectory::Member;
  struct Entry;
  using Order = std::list<Entry>;  // oldest check first
  struct Entry {
    PeerAddress from;
    Member member;
    std::string ufrag;  // the session's, on `member`
    TimePoint expires;
    // Its place among its session's entries (oldest first).
    std::list<Order::iterator>::iterator in_session;
  };

  ForwardTable(Duration ttl, size_t capacity, size_t per_session = 8);

  // Datagrams from `from` go to `member` (for the session `ufrag`) until ttl
  // after `now`.
  void set(const PeerAddress& from, Member member, std::string_view ufrag,
           TimePoint now);
  // The entry for `from`, or null.
  const Entry* find(const PeerAddress& from) const;
  void erase(const PeerAddress& from);
  // Forgets the entries whose time is up at `now`.
  void expire(TimePoint now);
  // When the oldest entry's time is up.
  std::optional<TimePoint> next_deadline() const;
  size_t size() const { return by_address_.size(); }
  bool empty() const { return by_address_.empty(); }
  // Entries of one session.
  size_t count(std::string_view ufrag) const;

 private:
  void remove(Order::iterator it);

  Duration ttl_;
  size_t capacity_;
  size_t per_session_;
  Order order_;
  std::unordered_map<PeerAddress, Order::iterator, PeerAddressHash> by_address_;
  std::unordered_map<std::string, std::list<Order::iterator>> per_ufrag_;
};

}  // namespace dtls

#endif  // DTLS_SRTP_TRANSPORT_ENDPOINT_FORWARD_TABLE_H_
