// RFC 5764 §4.2: the SRTP master keys and salts of a DTLS association.
#ifndef DTLS_SRTP_TRANSPORT_DTLS_SRTP_KEYING_H_
#define DTLS_SRTP_TRANSPORT_DTLS_SRTP_KEYING_H_

#include "srtp/srtp_keys.h"
#include "transport/base/error.h"
#include "transport/dtls/dtls_association.h"

namespace dtls {

// The RFC 5705 exporter with the label EXTRACTOR-dtls_srtp, split by the
// negotiated profile (the exported material is wiped once split).
// ERR_DTLS_SESSION_NOT_OPEN before the handshake completes;
// ERR_SRTP_NOT_NEGOTIATED when it agreed on no profile we support.
Result<srtp::SrtpKeys> export_srtp_keys(const DtlsAssociation& association);

}  // namespace dtls

#endif  // DTLS_SRTP_TRANSPORT_DTLS_SRTP_KEYING_H_
