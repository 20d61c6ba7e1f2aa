// AES-GCM for libsrtp's AEAD profiles (RFC 7714), at the cost of the cipher.
//
// libsrtp 2.5.0's OpenSSL GCM makes, per packet, calls that OpenSSL 3.0 turns
// into parameter lookups: it sets the IV length again (12 is GCM's default),
// and before decrypting it sets a dummy tag (OpenSSL 1.0.1 wanted the tag
// before the AAD). This one keeps one EVP context per cipher, keyed once, and
// per packet gives OpenSSL only the IV, the AAD, the bytes and the tag: what a
// bare EVP seal or open costs (tools/srtp_benchmark.sh measures both).
#ifndef DTLS_SRTP_SRTP_AES_GCM_H_
#define DTLS_SRTP_SRTP_AES_GCM_H_

#include "transport/base/error.h"

namespace dtls::srtp {

// Replaces libsrtp's SRTP_AES_GCM_128 and SRTP_AES_GCM_256 cipher types
// (srtp_replace_cipher_type: libsrtp runs this type's self-test, then checks
// it against the replaced type's own test vectors). Call after srtp_init().
Status install_aes_gcm();

}  // namespace dtls::srtp

#endif  // DTLS_SRTP_SRTP_AES_GCM_H_
