// OpenSSL cipher objects for the SRTP code: a context that frees itself (and
// cleanses its key schedule), and the AES ciphers fetched once per process,
// since a fetch by name per session would cost every handshake a provider
// lookup.
#ifndef DTLS_SRTP_SRTP_EVP_CIPHER_H_
#define DTLS_SRTP_SRTP_EVP_CIPHER_H_

#include <openssl/evp.h>

#include <cstddef>
#include <memory>

namespace dtls::srtp {

struct EvpCipherCtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using EvpCipherCtx = std::unique_ptr<EVP_CIPHER_CTX, EvpCipherCtxFree>;

// The bytes of an OpenSSL cipher context a call reads, for fetching them
// ahead (dtls::FetchList). The type is opaque; OpenSSL 3.0's
// evp_cipher_ctx_st is 168 bytes on 64-bit targets, and a call reads its
// start (the cipher, the IV) and its end (the provider's context).
inline constexpr size_t kEvpCipherContextBytes = 168;

// AES-128-GCM or AES-256-GCM by key length (16 or 32); nullptr for another
// length or when OpenSSL has none.
const EVP_CIPHER* aes_gcm_cipher(size_t key_length);
// AES-128-CTR or AES-256-CTR likewise.
const EVP_CIPHER* aes_ctr_cipher(size_t key_length);

}  // namespace dtls::srtp

#endif  // DTLS_SRTP_SRTP_EVP_CIPHER_H_
