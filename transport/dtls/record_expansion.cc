#include "transport/dtls/record_expansion.h"

#include <openssl/evp.h>
#include <openssl/objects.h>

#include <algorithm>
#include <cstring>
#include <limits>

namespace dtls {

size_t min_protected_record_length(const SSL_CIPHER* cipher) {
  if (cipher == nullptr) return 0;
  const int cipher_nid = SSL_CIPHER_get_cipher_nid(cipher);
  if (SSL_CIPHER_is_aead(cipher)) {
    // RFC 7905 §2: ChaCha20-Poly1305 has no explicit nonce, a 16-byte tag.
    if (cipher_nid == NID_chacha20_poly1305) return 16;
    // RFC 5288 §3 (GCM), RFC 6655 §3 (CCM), RFC 6209 (ARIA-GCM): an 8-byte
    // explicit nonce and a 16-byte tag; CCM_8 has an 8-byte tag.
    const char* name = SSL_CIPHER_get_name(cipher);
    const bool short_tag = name != nullptr && std::strstr(name, "CCM8");
    return 8 + (short_tag ? 8 : 16);
  }
  size_t mac = 0;
  if (const EVP_MD* md = EVP_get_digestbynid(SSL_CIPHER_get_digest_nid(cipher)))
    mac = static_cast<size_t>(std::max(EVP_MD_get_size(md), 0));
  if (cipher_nid == NID_undef) return mac;  // NULL encryption (PSK-NULL)
  const EVP_CIPHER* evp = EVP_get_cipherbynid(cipher_nid);
  if (evp == nullptr) return mac;
  const size_t block = static_cast<size_t>(EVP_CIPHER_get_block_size(evp));
  const size_t iv = static_cast<size_t>(EVP_CIPHER_get_iv_length(evp));
  if (block <= 1) return iv + mac;
  // RFC 5246 §6.2.3.2 (DTLS 1.0 and 1.2 alike carry an explicit IV): IV, then
  // MAC and at least one padding-length byte, padded to whole blocks.
  return iv + (mac + 1 + block - 1) / block * block;
}

size_t min_protected_record_length(const SSL* ssl) {
  // The suite this handshake chose, once it has. Not SSL_get_current_cipher:
  // until then that is the cipher of the session a client offers to resume,
  // and the server may decline it and choose another.
  if (const SSL_CIPHER* chosen = SSL_get_pending_cipher(ssl))
    return min_protected_record_length(chosen);
  // No suite yet (a client before the ServerHello, a server before the whole
  // ClientHello). The protected records OpenSSL buffers now are decrypted
  // later with whichever suite is chosen, and OpenSSL 3.0 ends the handshake
  // on an AEAD record shorter than that suite's nonce and tag (a CBC or NULL
  // record too short for its suite is discarded silently). So the bound is the
  // largest minimum among the AEAD suites that may be chosen (the least of all
  // when there is none). A correct peer's protected record comes before the
  // suite is known only as a Finished that overtook the ServerHello: 24 bytes
  // of plaintext (RFC 6347 §4.2.2 header and verify_data) plus the expansion,
  // more than any AEAD minimum.
  STACK_OF(SSL_CIPHER)* list = SSL_get_ciphers(ssl);
  const int n = list ? sk_SSL_CIPHER_num(list) : 0;
  size_t least = std::numeric_limits<size_t>::max();
  size_t largest_aead = 0;
  for (int i = 0; i < n; ++i) {
    const SSL_CIPHER* c = sk_SSL_CIPHER_value(list, i);
    // TLS 1.3 suites (OpenSSL lists them for DTLS too) have no key exchange of
    // their own and are never used by DTLS 1.2.
    if (SSL_CIPHER_get_kx_nid(c) == NID_kx_any) continue;
    const size_t m = min_protected_record_length(c);
    least = std::min(least, m);
    if (SSL_CIPHER_is_aead(c)) largest_aead = std::max(largest_aead, m);
  }
  if (least == std::numeric_limits<size_t>::max()) return 0;
  return std::max(least, largest_aead);
}

}  // namespace dtls
