#include "srtp/srtp_kdf.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstring>
#include <memory>

namespace dtls::srtp {
namespace {

constexpr size_t kCmSaltLength = 14;  // RFC 3711 §4.3.1: 112 bits

// Fetched once per process: a fetch by name per session would cost every
// handshake a provider lookup.
const EVP_CIPHER* ctr_cipher(size_t key_length) {
  static EVP_CIPHER* const aes128 =
      EVP_CIPHER_fetch(nullptr, "AES-128-CTR", nullptr);
  static EVP_CIPHER* const aes256 =
      EVP_CIPHER_fetch(nullptr, "AES-256-CTR", nullptr);
  return key_length == 16 ? aes128 : key_length == 32 ? aes256 : nullptr;
}

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};

}  // namespace

bool srtp_kdf(std::span<const std::uint8_t> master_key,
              std::span<const std::uint8_t> master_salt, KdfLabel label,
              std::span<std::uint8_t> out) {
  const EVP_CIPHER* ctr = ctr_cipher(master_key.size());
  static constexpr std::uint8_t kZeros[32] = {};
  if (ctr == nullptr || master_salt.size() > kCmSaltLength ||
      out.size() > sizeof(kZeros)) {
    return false;
  }
  // x * 2^16 (§4.3.1): the padded salt, the label at octet 7, and two zero
  // octets that count blocks.
  std::uint8_t iv[16] = {};
  std::memcpy(iv, master_salt.data(), master_salt.size());
  iv[7] ^= static_cast<std::uint8_t>(label);
  // Frees the key schedule wiped (OpenSSL cleanses cipher contexts).
  std::unique_ptr<EVP_CIPHER_CTX, CtxFree> ctx(EVP_CIPHER_CTX_new());
  int written = 0;
  const bool ok =
      ctx != nullptr &&
      EVP_EncryptInit_ex(ctx.get(), ctr, nullptr, master_key.data(), iv) == 1 &&
      EVP_EncryptUpdate(ctx.get(), out.data(), &written, kZeros,
                        static_cast<int>(out.size())) == 1 &&
      static_cast<size_t>(written) == out.size();
  OPENSSL_cleanse(iv, sizeof(iv));
  return ok;
}

}  // namespace dtls::srtp
