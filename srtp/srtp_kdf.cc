#include "srtp/srtp_kdf.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstring>

#include "srtp/evp_cipher.h"

namespace dtls::srtp {
namespace {

constexpr size_t kCmSaltLength = 14;  // RFC 3711 §4.3.1: 112 bits

}  // namespace

bool srtp_kdf(std::span<const std::uint8_t> master_key,
              std::span<const std::uint8_t> master_salt, KdfLabel label,
              std::span<std::uint8_t> out) {
  const EVP_CIPHER* ctr = aes_ctr_cipher(master_key.size());
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
  EvpCipherCtx ctx(EVP_CIPHER_CTX_new());
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
