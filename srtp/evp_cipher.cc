#include "srtp/evp_cipher.h"

namespace dtls::srtp {

const EVP_CIPHER* aes_gcm_cipher(size_t key_length) {
  static EVP_CIPHER* const aes128 =
      EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr);
  static EVP_CIPHER* const aes256 =
      EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  return key_length == 16 ? aes128 : key_length == 32 ? aes256 : nullptr;
}

const EVP_CIPHER* aes_ctr_cipher(size_t key_length) {
  static EVP_CIPHER* const aes128 =
      EVP_CIPHER_fetch(nullptr, "AES-128-CTR", nullptr);
  static EVP_CIPHER* const aes256 =
      EVP_CIPHER_fetch(nullptr, "AES-256-CTR", nullptr);
  return key_length == 16 ? aes128 : key_length == 32 ? aes256 : nullptr;
}

}  // namespace dtls::srtp
