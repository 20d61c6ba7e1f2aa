// Half-open server handshakes: associations accepted after a valid cookie (so
// the peer's address is real: it answered our HelloVerifyRequest) whose
// handshake has not completed. Each holds a full OpenSSL handshake state
// (~45 KiB), and a peer that stops after the cookie (or after any message of
// its next flight, none of which is authenticated before its Finished) would
// hold it until handshake_timeout (node's 120 s): 10,000 of them from one host
// fill max_sessions and lock everyone out for two minutes.
//
// The table bounds them per source IP address and in total. When a bound is
// reached, a new valid hello replaces the oldest half-open handshake (of that
// address, or of all) rather than being refused, once that one has had
// `grace` to progress: a correct client answers our first flight within a
// round trip, so one silent for longer has most likely gone (if our flight
// was lost, its retransmitted hello passes the cookie again; if its own
// second flight was lost, it cannot recover: its retransmissions reach no
// session). While every half-open handshake is younger than that, the new
// hello is refused and its client retransmits it. A half-open handshake that
// takes no step (a message read or a flight written) within `timeout` is
// ended too. "Age" is the time since the last step.
//
// Sans-I/O: it keeps addresses and times; the endpoint ends the associations.
#ifndef DTLS_SRTP_TRANSPORT_ENDPOINT_HALF_OPEN_TABLE_H_
#define DTLS_SRTP_TRANSPORT_ENDPOINT_HALF_OPEN_TABLE_H_

#include <chrono>
#include <cstddef>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>

#include "transport/base/error.h"
#include "transport/base/peer_address.h"
#include "transport/base/time.h"

namespace dtls {

struct HalfOpenLimits {
  // Half-open handshakes from one IP address (any port; for IPv6, one /64).
  // 1..65535. Clients behind one NAT share it; so does a load test from one
  // host.
  size_t per_address = 32;
  // Half-open handshakes in all. 1..1,000,000.
  size_t total = 1024;
  // Between steps of the handshake (from the acceptance of the ClientHello
  // to the peer's next message, and so on). Much shorter than
  // handshake_timeout, which still bounds the whole handshake. 100 ms..1 h.
  std::chrono::milliseconds timeout{10000};
  // How long a half-open handshake is safe from replacement. 0..timeout.
  std::chrono::milliseconds grace{1000};
};

// ERR_OUT_OF_RANGE for a limit outside its range (the message names it).
Status validate_half_open_limits(const HalfOpenLimits& limits);

class HalfOpenTable {
 public:
  explicit HalfOpenTable(HalfOpenLimits limits = {}) : limits_(limits) {}

  // What to do with one more handshake from `peer` at `now`: admit it, admit
  // it once `victim` has ended (the oldest of its address when that address
  // is at its bound, else the oldest of all when the table is full, or when
  // `must_make_room`: the endpoint is at max_sessions), or refuse it (the
  // one to replace is still within its grace, or there is none to make room).
  struct Admission {
    enum class Verdict { kAdmit, kReplace, kRefuse };
    Verdict verdict = Verdict::kAdmit;
    PeerAddress victim;  // kReplace
  };
  Admission admit(const PeerAddress& peer, TimePoint now,
                  bool must_make_room = false) const;

  // A server association for `peer` was accepted, or its handshake took a
  // step, at `now` (it moves to the back of the order).
  void add(const PeerAddress& peer, TimePoint now);
  // `peer`'s handshake completed, or its association ended. No-op when it is
  // not in the table.
  void remove(const PeerAddress& peer);
  bool contains(const PeerAddress& peer) const {
    return by_peer_.count(peer) != 0;
  }

  // When the oldest half-open handshake runs out of time.
  std::optional<TimePoint> next_deadline() const;
  // The oldest one if its time is up at `now` (removed from the table).
  std::optional<PeerAddress> pop_expired(TimePoint now);

  size_t size() const { return order_.size(); }
  size_t count_for_address(const PeerAddress& peer) const;
  const HalfOpenLimits& limits() const { return limits_; }

 private:
  struct Entry;
  using Order = std::list<Entry>;
  struct Address {
    // This address's entries, oldest first.
    std::list<Order::iterator> entries;
  };
  struct Entry {
    PeerAddress peer;
    TimePoint accepted;
    std::string address;  // the IP without the port
    std::list<Order::iterator>::iterator in_address;
  };
  // The IP part of `peer` (family and address bytes, no port).
  static std::string address_of(const PeerAddress& peer);

  HalfOpenLimits limits_;
  // Oldest first. The timeout is the same for all, so this is also deadline
  // order.
  Order order_;
  std::unordered_map<PeerAddress, Order::iterator, PeerAddressHash> by_peer_;
  std::unordered_map<std::string, Address> by_address_;
};

}  // namespace dtls

#endif  // DTLS_SRTP_TRANSPORT_ENDPOINT_HALF_OPEN_TABLE_H_
