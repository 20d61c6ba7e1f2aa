// How much a cipher suite adds to a record at least: the smallest protected
// record it can produce (an empty plaintext). The record guard drops anything
// shorter before OpenSSL decrypts it.
#ifndef DTLS_SRTP_TRANSPORT_DTLS_RECORD_EXPANSION_H_
#define DTLS_SRTP_TRANSPORT_DTLS_RECORD_EXPANSION_H_

#include <openssl/ssl.h>

#include <cstddef>

namespace dtls {

// The smallest protected record `cipher` produces (0 for null). Assumes
// MAC-then-encrypt for CBC suites: DtlsContext turns encrypt-then-MAC off.
size_t min_protected_record_length(const SSL_CIPHER* cipher);

// What the record guard requires of a protected record during `ssl`'s
// handshake: the chosen suite's smallest record once it is known (the pending
// cipher; a resuming client's session cipher may yet be declined). Before, a
// bound no suite that may be chosen makes fatal: the largest smallest record
// among the enabled AEAD suites (OpenSSL 3.0 ends the handshake on a buffered
// AEAD record too short for the suite chosen later), else the least of the
// enabled suites. TLS 1.3 suites are left out.
size_t min_protected_record_length(const SSL* ssl);

}  // namespace dtls

#endif  // DTLS_SRTP_TRANSPORT_DTLS_RECORD_EXPANSION_H_
