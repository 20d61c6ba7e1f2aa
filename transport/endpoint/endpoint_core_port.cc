// The endpoint core as one member of a port several endpoints share, one per
// worker loop (SO_REUSEPORT). The kernel spreads peers over the members by
// their addresses, so a WebRTC peer's checks may reach a member other than
// the one its ICE session was added to. The member that receives an
// authentic check for a session another member owns (PortDirectory) hands it
// over, with the ClientHellos it held from that address, and remembers the
// address (ForwardTable), so that the peer's DTLS and SRTP follow. The owner
// answers from the same port, so the peer sees one transport address.
#include <string>

#include "transport/endpoint/endpoint_core.h"

namespace dtls {

bool EndpointCore::forwarded_elsewhere(const PeerAddress& from) const {
  const ForwardTable::Entry* e = forwards_.find(from);
  return e != nullptr && options_.port_directory->holder(e->ufrag) == e->member;
}

void EndpointCore::forward_check(PortDirectory::Member owner,
                                 std::string_view ufrag,
                                 std::span<const std::uint8_t> data,
                                 const PeerAddress& from, TimePoint now) {
  // The address belongs to the session first checked from it while that
  // one lasts: a check for another session from it (a spoofed source, with
  // the sender's own credentials) still reaches that session's owner, but
  // moves nothing, or anyone who has credentials could cut a peer off.
  if (const ForwardTable::Entry* e = forwards_.find(from);
      e != nullptr && e->ufrag != ufrag && forwarded_elsewhere(from)) {
    forward(owner, data, from);
    return;
  }
  forwards_.set(from, owner, ufrag, now);
  deadlines_.set(forward_id_, forwards_.next_deadline());
  forward(owner, data, from);
  // RFC 8445 §7.2.5.3: the ClientHello may race the check; held here, it
  // goes after the check, as it would have been replayed at the owner.
  for (const auto& d : ice_.take_held(from, now)) forward(owner, d, from);
}

void EndpointCore::forward(PortDirectory::Member to,
                           std::span<const std::uint8_t> data,
                           const PeerAddress& from) {
  if (sink_.forward(to, from, data) == 0) {
    stats_.forwarded++;
  } else {
    stats_.forward_drops++;
  }
}

void EndpointCore::release_ufrag(const std::string& ufrag) {
  if (options_.port_directory)
    options_.port_directory->release(ufrag, options_.port_member);
}

}  // namespace dtls
