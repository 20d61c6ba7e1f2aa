// HMAC-SHA1 (RFC 2104) for libsrtp's AES-CM profiles, without allocation.
//
// libsrtp 2.5.0's OpenSSL HMAC re-initialises an EVP_MAC_CTX for every
// packet, and OpenSSL 3.0 duplicates the digest context to do it: two heap
// allocations per protect and per unprotect. This one is crypto::HmacSha1,
// keyed once per session key, so a packet costs no allocation and less time.
#ifndef DTLS_SRTP_SRTP_HMAC_SHA1_H_
#define DTLS_SRTP_SRTP_HMAC_SHA1_H_

#include "transport/base/error.h"

namespace dtls::srtp {

// Replaces libsrtp's SRTP_HMAC_SHA1 auth type (srtp_replace_auth_type; libsrtp
// runs its self-test, RFC 2202 case 1, first). Call after srtp_init().
Status install_hmac_sha1();

}  // namespace dtls::srtp

#endif  // DTLS_SRTP_SRTP_HMAC_SHA1_H_
