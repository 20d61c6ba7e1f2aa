// An ICE-lite responder for one session (RFC 8445 §2.5, §7.3): answers the
// full agent's connectivity checks, learns which of its addresses are valid,
// follows its nomination (USE-CANDIDATE) and tracks consent (RFC 7675).
// Sans-I/O: requests, source addresses and "now" in; responses and outcomes
// out. A lite agent never sends requests of its own.
#ifndef DTLS_SRTP_TRANSPORT_ICE_ICE_LITE_H_
#define DTLS_SRTP_TRANSPORT_ICE_ICE_LITE_H_

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "transport/base/error.h"
#include "transport/base/peer_address.h"
#include "transport/base/time.h"
#include "transport/ice/stun_message.h"

namespace dtls {

struct IceCredentials {
  std::string ufrag;
  std::string pwd;
};

// RFC 8445 §5.3: ice-ufrag 4..256 and ice-pwd 22..256 characters of
// ALPHA / DIGIT / "+" / "/". ERR_INVALID_ARG_VALUE otherwise. A remote pwd is
// not needed by a lite agent (it sends no checks), so it may be empty.
Status validate_ice_credentials(const IceCredentials& credentials,
                                bool require_pwd = true);
// Fresh random credentials (8-character ufrag, 24-character pwd).
// ERR_RANDOM when the random generator fails: credentials an attacker could
// guess would let anyone pass the session's checks.
Result<IceCredentials> generate_ice_credentials();

// The local ufrag of a check: USERNAME is "<receiver ufrag>:<sender ufrag>"
// (RFC 8445 §7.2.2), so the part before the colon picks the session.
std::optional<std::string_view> local_ufrag(const stun::Message& request);

class IceLiteResponder {
 public:
  struct Options {
    IceCredentials local;
    // The full agent's ufrag from its SDP; empty accepts any.
    std::string remote_ufrag;
    // Valid addresses remembered per session; beyond it the oldest that is
    // not selected is forgotten.
    size_t max_addresses = 8;
  };

  enum class Outcome {
    kDrop,     // not answered (not a check, or FINGERPRINT wrong)
    kError,    // answered with an error response
    kSuccess,  // answered with a success response: the address is valid
  };

  struct Reply {
    Outcome outcome = Outcome::kDrop;
    std::optional<stun::MessageBuilder> response;
    int error_code = 0;        // kError: 400, 401, 420 or 487
    bool new_address = false;  // kSuccess: first valid check from `from`
    bool nominated = false;    // kSuccess: USE-CANDIDATE selected `from`
    // kSuccess: a valid address forgotten to make room for `from`.
    std::optional<PeerAddress> evicted;
  };

  explicit IceLiteResponder(Options options);

  // One Binding request from `from`.
  Reply handle(const stun::Message& request, const PeerAddress& from,
               TimePoint now);

  // An error response with no integrity, for a request that no session owns
  // (unknown ufrag: 401) or that is malformed (400). RFC 8489 §6.3.4.
  static std::optional<stun::MessageBuilder> reject(
      const stun::Message& request, int code);

  bool is_valid(const PeerAddress& address) const;
  const std::vector<PeerAddress>& valid_addresses() const {
    return valid_order_;
  }
  // The nominated address (RFC 8445 §8.1.1: the latest USE-CANDIDATE wins,
  // so a full agent can move the session to another pair), or nullopt.
  const std::optional<PeerAddress>& selected() const { return selected_; }
  // RFC 7675 §5.1: when consent was last refreshed (a valid check from the
  // selected address, or from any valid address before a nomination).
  std::optional<TimePoint> last_consent() const { return last_consent_; }
  const Options& options() const { return options_; }

 private:
  Options options_;
  std::vector<PeerAddress> valid_order_;  // oldest first
  std::optional<PeerAddress> selected_;
  std::optional<TimePoint> last_consent_;
};

}  // namespace dtls

#endif  // DTLS_SRTP_TRANSPORT_ICE_ICE_LITE_H_
