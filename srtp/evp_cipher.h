// OpenSSL cipher objects for the SRTP code: a context that frees itself (and
// cleanses its key schedule), and the AES ciphers fetched once per process,
// since a fetch by name per session would cost every handshake a provider
// lookup.
#ifndef DTLS_SRTP_SRTP_EVP_CIPHER_H_
#define DTLS_SRTP_SRTP_EVP_CIPHER_H_

#include <openssl/evp.h>

#include <cstddef>
#include <memory>

#include "transport/base/prefetch.h"

namespace dtls::srtp {

struct EvpCipherCtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using EvpCipherCtx = std::unique_ptr<EVP_CIPHER_CTX, EvpCipherCtxFree>;

// Adds an OpenSSL cipher context's lines to `out`, for fetching them ahead.
// Only the context's own: the provider's context it points to (the key
// schedule, GCM's table) is another allocation whose address OpenSSL does
// not give.
void add_context_lines(FetchList& out, const EVP_CIPHER_CTX* ctx);

// AES-128-GCM or AES-256-GCM by key length (16 or 32); nullptr for another
// length or when OpenSSL has none.
const EVP_CIPHER* aes_gcm_cipher(size_t key_length);
// AES-128-CTR or AES-256-CTR likewise.
const EVP_CIPHER* aes_ctr_cipher(size_t key_length);
// AES-128-ECB or AES-256-ECB likewise: the block function alone, for a
// counter mode that lays out its own counter blocks.
const EVP_CIPHER* aes_ecb_cipher(size_t key_length);

}  // namespace dtls::srtp

#endif  // DTLS_SRTP_SRTP_EVP_CIPHER_H_
