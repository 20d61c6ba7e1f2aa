// How much a cipher suite adds to a record at least: the smallest protected
// record it can produce (an empty plaintext). The record guard drops anything
// shorter before OpenSSL decrypts it.
#ifndef DTLS_SRTP_TRANSPORT_RECORD_EXPANSION_H_
#define DTLS_SRTP_TRANSPORT_RECORD_EXPANSION_H_

#include <openssl/ssl.h>

#include <cstddef>

namespace dtls {

// The smallest protected record `cipher` produces (0 for null). Assumes
// MAC-then-encrypt for CBC suites: DtlsContext turns encrypt-then-MAC off.
size_t min_protected_record_length(const SSL_CIPHER* cipher);

// The smallest over every suite `ssl` may still agree on: the chosen one once
// known (pending or current), else the least of its enabled list.
size_t min_protected_record_length(const SSL* ssl);

}  // namespace dtls

#endif  // DTLS_SRTP_TRANSPORT_RECORD_EXPANSION_H_
