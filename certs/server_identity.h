// node:tls checkServerIdentity for our PeerCertificate.
#ifndef DTLS_SRTP_CERTS_SERVER_IDENTITY_H_
#define DTLS_SRTP_CERTS_SERVER_IDENTITY_H_

#include <string_view>

#include "certs/peer_certificate.h"

namespace dtls::certs {

// Whether `cert` is issued to `hostname`, with node:tls semantics (RFC 6125
// rules as node applies them): an IP address must be an IP SAN; a name is
// matched against DNS SANs, with single-label wildcards only in the left-most
// label and never "*.tld"; the subject CN is used only when there is no DNS
// SAN; URI SANs are never used (CVE-2021-44531). Fails with
// ERR_TLS_CERT_ALTNAME_INVALID and node's reason text.
Status check_server_identity(std::string_view hostname,
                             const PeerCertificate& cert);

}  // namespace dtls::certs

#endif  // DTLS_SRTP_CERTS_SERVER_IDENTITY_H_
