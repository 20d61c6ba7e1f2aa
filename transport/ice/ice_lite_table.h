// The ICE-lite sessions of one endpoint (RFC 8445 §2.5): each WebRTC peer by
// its local ufrag, the addresses its checks validated (so that DTLS and media
// from any of them find it), its consent deadline (RFC 7675 §5.1), and the
// ClientHellos that arrived before their address's first check, held for a
// while and handed back once the check succeeds.
//
// Sans-I/O bookkeeping: the endpoint core answers the checks (through each
// session's IceLiteResponder), starts and ends the DTLS associations and
// reports the events.
#ifndef DTLS_SRTP_TRANSPORT_ICE_ICE_LITE_TABLE_H_
#define DTLS_SRTP_TRANSPORT_ICE_ICE_LITE_TABLE_H_

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "transport/base/deadline_queue.h"
#include "transport/base/error.h"
#include "transport/base/peer_address.h"
#include "transport/base/time.h"
#include "transport/dtls/dtls_association.h"
#include "transport/ice/ice_lite.h"

namespace dtls {

// One WebRTC peer on an ICE-lite endpoint (RFC 8445 §2.5): the credentials
// from the offer/answer, which side starts DTLS, and how its certificate is
// checked.
struct IceSessionOptions {
  IceCredentials local;      // our a=ice-ufrag / a=ice-pwd
  std::string remote_ufrag;  // the peer's a=ice-ufrag; empty accepts any
  // a=setup:active on our side (RFC 5763 §5): we send the ClientHello once a
  // check has succeeded. Otherwise (passive) the peer does.
  bool dtls_client = false;
  // Usually peer_fingerprints from the offer's a=fingerprint.
  AssociationOptions association;
  // RFC 7675 §5.1: the session ends (ERR_ICE_CONSENT_EXPIRED) when no valid
  // check has refreshed consent for this long; counted from creation until
  // the first check.
  std::chrono::milliseconds consent_timeout{30000};
  size_t max_addresses = 8;  // valid peer addresses remembered
};

struct IceEvent {
  enum class Type {
    kChecked,         // first valid check from `address`
    kNominated,       // `address` is the selected pair now (USE-CANDIDATE)
    kSessionStarted,  // the DTLS association exists, keyed by `address`
    kFailed,          // consent expired before any DTLS association (`error`)
  };
  Type type = Type::kChecked;
  PeerAddress address;
  Error error;
};

// ERR_INVALID_ARG_VALUE for bad credentials or association options,
// ERR_OUT_OF_RANGE for consent_timeout (1 ms..1 h) or max_addresses (1..64).
Status validate_ice_session_options(const IceSessionOptions& options);

class IceLiteTable {
 public:
  struct Session {
    IceSessionOptions options;
    IceLiteResponder responder;
    TimePoint created{};
    std::optional<PeerAddress> key;  // of its DTLS association, once made
    DeadlineQueue::Id consent_id = 0;
  };
  using Sessions = std::unordered_map<std::string, std::unique_ptr<Session>>;

  // ClientHellos from addresses without a valid check are held for
  // `hold_time`, at most `hold_datagrams` across all peers (oldest dropped
  // first).
  IceLiteTable(Duration hold_time, size_t hold_datagrams)
      : hold_time_(hold_time), hold_datagrams_(hold_datagrams) {}

  // Validates `options` (validate_ice_session_options) and adds the session;
  // its consent is counted from `now`. ERR_ICE_UFRAG_IN_USE when its local
  // ufrag is taken.
  Status add(IceSessionOptions options, TimePoint now);
  // Forgets `session` (when it is still in the table): its addresses and its
  // consent deadline go with it.
  void remove(const Session* session);
  Session* find(std::string_view ufrag);
  const Session* find(std::string_view ufrag) const;
  // The session whose check validated `address`, or null.
  Session* by_address(const PeerAddress& address);
  // Whether any address is validated (so a lookup by address can find
  // anything).
  bool has_addresses() const { return !by_address_.empty(); }
  size_t size() const { return sessions_.size(); }

  // A valid check of `session` from `from`: the address leads to it from now
  // on (`evicted`, which its responder forgot to make room, no longer does),
  // and consent runs from the check (RFC 7675 §5.1).
  void checked(Session& session, const PeerAddress& from,
               const std::optional<PeerAddress>& evicted);

  // The earliest consent deadline.
  std::optional<TimePoint> next_deadline() const { return consent_.next(); }
  // A session whose consent has run out at `now` (still in the table: the
  // caller ends it), or null when none has. Sessions refreshed since their
  // deadline was set get their new one.
  Session* pop_expired(TimePoint now);

  // Holds an epoch-0 handshake record from an address without a valid check
  // (the peer's ClientHello racing its first check); anything else is not
  // held. True when held.
  bool hold(std::span<const std::uint8_t> datagram, const PeerAddress& from,
            TimePoint now);
  // What is held from `from` and still fresh at `now`, oldest first; all of
  // it is forgotten.
  std::vector<std::vector<std::uint8_t>> take_held(const PeerAddress& from,
                                                   TimePoint now);
  void clear_held() { held_.clear(); }
  size_t held_count() const { return held_.size(); }

  // Empties the table; the sessions are handed over, so that they outlive
  // the callbacks of their associations.
  Sessions take_all();

 private:
  struct Held {
    PeerAddress from;
    TimePoint at;
    std::vector<std::uint8_t> data;
  };

  Duration hold_time_;
  size_t hold_datagrams_;
  Sessions sessions_;
  std::unordered_map<PeerAddress, Session*, PeerAddressHash> by_address_;
  std::unordered_map<DeadlineQueue::Id, Session*> by_consent_id_;
  DeadlineQueue consent_;
  DeadlineQueue::Id next_id_ = 1;
  std::deque<Held> held_;
};

}  // namespace dtls

#endif  // DTLS_SRTP_TRANSPORT_ICE_ICE_LITE_TABLE_H_
