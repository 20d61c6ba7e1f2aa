#include "tests/testing/srtp_reference.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdio>
#include <stdexcept>

namespace dtls::testing {
namespace {

// AES in counter mode from a 16-byte initial counter block: the keystream.
Bytes aes_ctr(const Bytes& key, const Bytes& iv16, size_t length) {
  const EVP_CIPHER* cipher =
      key.size() == 32 ? EVP_aes_256_ctr() : EVP_aes_128_ctr();
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  Bytes zeros(length, 0), out(length + 16);
  int n = 0;
  if (EVP_EncryptInit_ex(ctx, cipher, nullptr, key.data(), iv16.data()) != 1 ||
      EVP_EncryptUpdate(ctx, out.data(), &n, zeros.data(),
                        static_cast<int>(length)) != 1) {
    EVP_CIPHER_CTX_free(ctx);
    throw std::runtime_error("AES-CTR failed");
  }
  EVP_CIPHER_CTX_free(ctx);
  out.resize(length);
  return out;
}

}  // namespace

Bytes from_hex(std::string_view hex) {
  Bytes out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(
        std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

std::string to_hex(const Bytes& b) {
  std::string s;
  char buf[3];
  for (std::uint8_t c : b) {
    std::snprintf(buf, sizeof(buf), "%02x", c);
    s += buf;
  }
  return s;
}

Bytes srtp_kdf(const Bytes& master_key, const Bytes& master_salt,
               std::uint8_t label, size_t length) {
  Bytes x(16, 0);  // x * 2^16: the salt in the first 14 bytes
  for (size_t i = 0; i < master_salt.size() && i < 14; ++i)
    x[i] = master_salt[i];
  // key_id = label || r (r = 0 as kdr = 0), 56 bits, right-aligned in 112.
  x[7] ^= label;
  return aes_ctr(master_key, x, length);
}

Bytes aes_cm_keystream(const Bytes& session_key, const Bytes& session_salt,
                       std::uint32_t ssrc, std::uint64_t index, size_t length) {
  Bytes iv(16, 0);
  for (size_t i = 0; i < session_salt.size() && i < 14; ++i)
    iv[i] = session_salt[i];
  for (int i = 0; i < 4; ++i)
    iv[4 + i] ^= static_cast<std::uint8_t>(ssrc >> (24 - 8 * i));
  for (int i = 0; i < 6; ++i)
    iv[8 + i] ^= static_cast<std::uint8_t>(index >> (40 - 8 * i));
  return aes_ctr(session_key, iv, length);
}

Bytes hmac_sha1(const Bytes& key, const Bytes& data) {
  Bytes out(20);
  unsigned len = 0;
  HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()), data.data(),
       data.size(), out.data(), &len);
  out.resize(len);
  return out;
}

Bytes aes_gcm_seal(const Bytes& key, const Bytes& iv, const Bytes& aad,
                   const Bytes& plaintext) {
  const EVP_CIPHER* cipher =
      key.size() == 32 ? EVP_aes_256_gcm() : EVP_aes_128_gcm();
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  Bytes out(plaintext.size() + 16);
  int n = 0, m = 0;
  bool ok =
      EVP_EncryptInit_ex(ctx, cipher, nullptr, nullptr, nullptr) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN,
                          static_cast<int>(iv.size()), nullptr) == 1 &&
      EVP_EncryptInit_ex(ctx, nullptr, nullptr, key.data(), iv.data()) == 1 &&
      EVP_EncryptUpdate(ctx, nullptr, &n, aad.data(),
                        static_cast<int>(aad.size())) == 1 &&
      EVP_EncryptUpdate(ctx, out.data(), &n, plaintext.data(),
                        static_cast<int>(plaintext.size())) == 1 &&
      EVP_EncryptFinal_ex(ctx, out.data() + n, &m) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16,
                          out.data() + plaintext.size()) == 1;
  EVP_CIPHER_CTX_free(ctx);
  if (!ok) throw std::runtime_error("AES-GCM failed");
  return out;
}

Bytes gcm_rtp_iv(const Bytes& session_salt, std::uint32_t ssrc,
                 std::uint32_t roc, std::uint16_t seq) {
  Bytes iv(12, 0);
  for (int i = 0; i < 4; ++i) {
    iv[2 + i] = static_cast<std::uint8_t>(ssrc >> (24 - 8 * i));
    iv[6 + i] = static_cast<std::uint8_t>(roc >> (24 - 8 * i));
  }
  iv[10] = static_cast<std::uint8_t>(seq >> 8);
  iv[11] = static_cast<std::uint8_t>(seq);
  for (size_t i = 0; i < 12; ++i) iv[i] ^= session_salt[i];
  return iv;
}

}  // namespace dtls::testing
