// The endpoints that share one UDP port, one per worker loop (SO_REUSEPORT).
// The kernel picks the member that receives a peer's datagrams from the
// peer's address, and that need not be the member the application added the
// peer's ICE session to. The directory says which member owns each ICE
// session, so that a member receiving a check for a session it does not own
// hands the check (and everything after it from that address) to the owner,
// which answers from the same port.
//
// An interface: the I/O layer's PortGroup implements it across threads, and
// tests implement it in one.
#ifndef DTLS_SRTP_TRANSPORT_ENDPOINT_PORT_DIRECTORY_H_
#define DTLS_SRTP_TRANSPORT_ENDPOINT_PORT_DIRECTORY_H_

#include <cstdint>
#include <optional>
#include <string_view>

#include "transport/ice/stun_message.h"

namespace dtls {

class PortDirectory {
 public:
  using Member = std::uint32_t;

  virtual ~PortDirectory() = default;
  // Takes the local ufrag `ufrag` (whose password is `pwd`) for `member`;
  // false when any member holds it already: a ufrag names one session on the
  // whole port.
  virtual bool claim(std::string_view ufrag, std::string_view pwd,
                     Member member) = 0;
  // Gives it back (only the member that holds it can).
  virtual void release(std::string_view ufrag, Member member) = 0;
  // The member owning the session a binding request names, when the request
  // is authentic: its MESSAGE-INTEGRITY verifies with that session's
  // password (RFC 8445 §7.3: a check without it is not answered). So a
  // stranger who knows a ufrag cannot steer anyone's datagrams.
  virtual std::optional<Member> owner(const stun::Message& request) const = 0;
  // Who holds `ufrag` now, without a check: whether a session an address
  // was handed over for still exists.
  virtual std::optional<Member> holder(std::string_view ufrag) const = 0;
};

}  // namespace dtls

#endif  // DTLS_SRTP_TRANSPORT_ENDPOINT_PORT_DIRECTORY_H_
