// What an endpoint remembers of the round trip to each peer host, so that a
// later handshake with that host times even its first flight by it.
//
// RFC 8489 §6.2.1 (STUN): the RTO "SHOULD be cached by a client after the
// completion of the transaction, and used as the starting value for RTO for
// the next transaction to the same server (based on equality of IP
// address). The value SHOULD be considered stale and discarded if no
// transactions have occurred to the same server in the last 10 minutes."
// Linux TCP keeps the same per-destination memory (tcp_metrics). Without it
// a first ClientHello, which knows nothing of the path, waits the whole
// initial timeout (400 ms for DTLS-SRTP) each time it or its
// HelloVerifyRequest is lost, and that wait is most of the tail of a lossy
// path's handshake times.
//
// Keyed by IP address alone: a client reconnects from a new port. Samples
// come only from client handshakes that completed, and only round trips they
// measured (EndpointCore): a server's first sample is the cookie's age, which
// the client chooses. At worst a path that got slower costs one early
// retransmission of the first flight, after which Karn's rule keeps the
// backed-off value, and the first measured sample replaces the remembered
// one (RetransmitTimer::remember).
// At most `capacity` hosts, the least recently noted making room.
// Sans-I/O; one endpoint's, used on its loop only.
#ifndef DTLS_SRTP_TRANSPORT_ENDPOINT_RTT_CACHE_H_
#define DTLS_SRTP_TRANSPORT_ENDPOINT_RTT_CACHE_H_

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <optional>
#include <string_view>
#include <unordered_map>

#include "transport/base/peer_address.h"
#include "transport/base/time.h"

namespace dtls {

class RttCache {
 public:
  // RFC 8489 §6.2.1's "last 10 minutes".
  static constexpr std::chrono::minutes kDefaultLifetime{10};
  static constexpr size_t kDefaultCapacity = 4096;

  explicit RttCache(size_t capacity = kDefaultCapacity,
                    Duration lifetime = kDefaultLifetime);

  // A handshake with `peer` measured `rtt` (its smoothed round trip) at `now`.
  void note(const PeerAddress& peer, Duration rtt, TimePoint now);
  // The last round trip noted for `peer`'s host within the lifetime before
  // `now`; a stale one is forgotten.
  std::optional<Duration> find(const PeerAddress& peer, TimePoint now);

  size_t size() const { return by_host_.size(); }

 private:
  // Family and address bytes, without the port.
  using Host = std::array<std::uint8_t, 17>;
  struct HostHash {
    size_t operator()(const Host& h) const {
      return std::hash<std::string_view>()(
          std::string_view(reinterpret_cast<const char*>(h.data()), h.size()));
    }
  };
  struct Entry {
    Host host;
    Duration rtt;
    TimePoint noted;
  };
  using Order = std::list<Entry>;  // least recently noted first

  static Host host_of(const PeerAddress& peer);

  size_t capacity_;
  Duration lifetime_;
  Order order_;
  std::unordered_map<Host, Order::iterator, HostHash> by_host_;
};

}  // namespace dtls

#endif  // DTLS_SRTP_TRANSPORT_ENDPOINT_RTT_CACHE_H_
