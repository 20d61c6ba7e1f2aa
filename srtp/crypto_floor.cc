#include "srtp/crypto_floor.h"

#include <openssl/crypto.h>

#include <cstring>
#include <string>
#include <vector>

namespace dtls::srtp {
namespace {

constexpr size_t kHeader = 12;

const EVP_CIPHER* cipher_for(const ProfileInfo& info) {
  if (!info.aead) return EVP_aes_128_ctr();
  return info.key_length == 16 ? EVP_aes_128_gcm() : EVP_aes_256_gcm();
}

}  // namespace

CryptoFloor::CryptoFloor(Profile p)
    : aead_(profile_info(p).aead),
      tag_(profile_info(p).rtp_tag_length),
      seal_(EVP_CIPHER_CTX_new()),
      open_(aead_ ? EVP_CIPHER_CTX_new() : nullptr) {
  // RFC 3711 §4.2: HMAC-SHA1 under a 160-bit session key.
  if (!aead_) auth_.emplace(std::vector<std::uint8_t>(20, 0x22));
}

Result<std::unique_ptr<CryptoFloor>> CryptoFloor::create(Profile p) {
  std::unique_ptr<CryptoFloor> f(new CryptoFloor(p));
  const ProfileInfo& info = profile_info(p);
  const std::vector<std::uint8_t> key(info.key_length, 0x11);
  const EVP_CIPHER* cipher = cipher_for(info);
  bool ok = f->seal_ && EVP_CipherInit_ex(f->seal_.get(), cipher, nullptr,
                                          key.data(), nullptr, 1) == 1;
  if (f->aead_) {
    ok = ok && f->open_ &&
         EVP_CipherInit_ex(f->open_.get(), cipher, nullptr, key.data(), nullptr,
                           0) == 1;
  }
  if (!ok) {
    return make_error(Errc::kSrtpInit, "the crypto floor: OpenSSL refused " +
                                           std::string(profile_info(p).name));
  }
  return f;
}

void CryptoFloor::set_index(std::uint32_t index) {
  // RFC 7714 §8.1 takes a 12-octet IV, RFC 3711 §4.1.1 a 16-octet counter
  // block whose last two octets count blocks: the index sits before them.
  std::memcpy(iv_ + (aead_ ? 8 : 10), &index, 4);
}

bool CryptoFloor::keystream(std::uint8_t* packet, size_t length) {
  int out = 0;
  return EVP_EncryptInit_ex(seal_.get(), nullptr, nullptr, nullptr, iv_) == 1 &&
         EVP_EncryptUpdate(seal_.get(), packet + kHeader, &out,
                           packet + kHeader,
                           static_cast<int>(length - kHeader)) == 1;
}

crypto::HmacSha1::Digest CryptoFloor::mac(const std::uint8_t* packet,
                                          size_t length) {
  // RFC 3711 §4.2: the authenticated portion and the ROC.
  static constexpr std::uint8_t roc[4] = {};
  crypto::HmacSha1::Mac m(*auth_);
  m.update({packet, length});
  m.update(roc);
  return m.finish();
}

size_t CryptoFloor::protect(std::uint8_t* packet, size_t length,
                            std::uint32_t index) {
  if (length < kHeader) return 0;
  set_index(index);
  if (aead_) {
    // RFC 7714 §7: the header is the AAD, the payload the plaintext.
    EVP_CIPHER_CTX* c = seal_.get();
    int out = 0;
    if (EVP_EncryptInit_ex(c, nullptr, nullptr, nullptr, iv_) != 1 ||
        EVP_EncryptUpdate(c, nullptr, &out, packet, kHeader) != 1 ||
        EVP_EncryptUpdate(c, packet + kHeader, &out, packet + kHeader,
                          static_cast<int>(length - kHeader)) != 1 ||
        EVP_EncryptFinal_ex(c, nullptr, &out) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, static_cast<int>(tag_),
                            packet + length) != 1) {
      return 0;
    }
  } else {
    if (!keystream(packet, length)) return 0;
    const auto d = mac(packet, length);
    std::memcpy(packet + length, d.data(), tag_);
  }
  return length + tag_;
}

bool CryptoFloor::unprotect(std::uint8_t* packet, size_t length,
                            std::uint32_t index) {
  if (length < kHeader + tag_) return false;
  const size_t body = length - tag_;
  set_index(index);
  if (aead_) {
    EVP_CIPHER_CTX* c = open_.get();
    int out = 0;
    return EVP_DecryptInit_ex(c, nullptr, nullptr, nullptr, iv_) == 1 &&
           EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, static_cast<int>(tag_),
                               packet + body) == 1 &&
           EVP_DecryptUpdate(c, nullptr, &out, packet, kHeader) == 1 &&
           EVP_DecryptUpdate(c, packet + kHeader, &out, packet + kHeader,
                             static_cast<int>(body - kHeader)) == 1 &&
           EVP_DecryptFinal_ex(c, nullptr, &out) == 1;
  }
  const auto d = mac(packet, body);
  if (CRYPTO_memcmp(d.data(), packet + body, tag_) != 0) return false;
  return keystream(packet, body);
}

}  // namespace dtls::srtp
