// What the public options (transport/dtls_options.h) mean for the layers
// below: a DTLS context, association options, UDP endpoint options. Pure
// functions: they load certificates and build OpenSSL contexts, but open no
// socket and need no loop, so every check is tested on its own
// (option_translation_test). Each check is made here once, before anything is
// built, so that a bad option fails at the call (DESIGN.md: "never later and
// silently"); the ranges themselves belong to the layer that uses the value.
#ifndef DTLS_SRTP_TRANSPORT_OPTION_TRANSLATION_H_
#define DTLS_SRTP_TRANSPORT_OPTION_TRANSLATION_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "certs/fingerprint.h"
#include "transport/base/error.h"
#include "transport/base/peer_address.h"
#include "transport/dtls/dtls_association.h"
#include "transport/dtls/dtls_context.h"
#include "transport/dtls_options.h"
#include "transport/io/udp_endpoint.h"

namespace dtls {

// The context inside a SecureContext (the handle keeps it private).
struct SecureContextAccess {
  static const std::shared_ptr<const DtlsContext>& get(const SecureContext& c) {
    return c.context_;
  }
};

namespace detail {

Error invalid_argument(std::string message);

// listen(): the address to bind and the endpoint, server associations
// included (endpoint.server_association, also the base of ICE sessions).
struct ListenPlan {
  PeerAddress bind;
  UdpEndpointOptions endpoint;
};
Result<ListenPlan> translate_listen(const ListenOptions& options);

// connect(): the client endpoint and the association to the server. Where
// the socket binds depends on the server's address family, known once a host
// name has resolved (client_bind_address).
struct ConnectPlan {
  UdpEndpointOptions endpoint;
  AssociationOptions association;
  std::string bind_host;
  std::uint16_t bind_port = 0;
};
Result<ConnectPlan> translate_connect(std::string_view host, std::uint16_t port,
                                      const ConnectOptions& options);
// The address a connect() socket binds for `remote`: bind_host, its IPv6
// equivalent for an IPv6 server when it is the default "0.0.0.0";
// ERR_INVALID_ARG_VALUE when the families differ.
Result<PeerAddress> client_bind_address(const ConnectPlan& plan,
                                        const PeerAddress& remote);
// Before the server's family is known (a socket shared by the connects of
// one endpoint): bind_host as given.
Result<PeerAddress> client_bind_address(const ConnectPlan& plan);

// Endpoint::add_ice_session(): everything but the association's base (the
// endpoint's, known on its loop); association.peer_fingerprints holds the
// peer's. Fresh local credentials when none are given (ERR_RANDOM).
Result<IceSessionOptions> translate_ice_session(IceSessionConfig config);

// SDP a=fingerprint values ("sha-256 AB:CD:...").
Result<std::vector<certs::Fingerprint>> parse_fingerprints(
    const std::vector<std::string>& sdp);

}  // namespace detail
}  // namespace dtls

#endif  // DTLS_SRTP_TRANSPORT_OPTION_TRANSLATION_H_
