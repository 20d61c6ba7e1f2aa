#include "srtp/gcm_rtp_cipher.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <array>
#include <string>

#include "srtp/evp_cipher.h"
#include "srtp/srtp_kdf.h"

namespace dtls::srtp {
namespace {

constexpr size_t kIvLength = 12;    // RFC 7714 §8.1
constexpr size_t kSaltLength = 12;  // RFC 7714 §11
constexpr size_t kSsrcOffset = 8;   // RFC 3550 §5.1

class GcmRtpCipher final : public RtpCipher {
 public:
  GcmRtpCipher(const ProfileInfo& info, bool outbound)
      : RtpCipher(info.rtp_tag_length),
        cipher_(aes_gcm_cipher(info.key_length)),
        outbound_(outbound) {}
  ~GcmRtpCipher() override {
    OPENSSL_cleanse(key_.data(), key_.size());
    OPENSSL_cleanse(salt_.data(), salt_.size());
  }

  bool derive(std::span<const std::uint8_t> master, size_t key_length) {
    const auto key = master.first(key_length);
    const auto salt = master.subspan(key_length);
    return cipher_ != nullptr &&
           srtp_kdf(key, salt, KdfLabel::kRtpEncryption,
                    std::span(key_).first(key_length)) &&
           srtp_kdf(key, salt, KdfLabel::kRtpSalt, salt_);
  }

  bool start() override {
    if (ctx_) return true;
    EvpCipherCtx ctx(EVP_CIPHER_CTX_new());
    // The key schedule once; per packet only the IV.
    if (ctx == nullptr ||
        EVP_CipherInit_ex(ctx.get(), cipher_, nullptr, key_.data(), nullptr,
                          outbound_) != 1) {
      return false;
    }
    ctx_ = std::move(ctx);
    OPENSSL_cleanse(key_.data(), key_.size());  // the context holds it now
    return true;
  }

  bool seal(std::uint8_t* packet, size_t length, size_t header,
            std::uint64_t index) override {
    std::uint8_t nonce[kIvLength];
    iv(packet, index, nonce);
    EVP_CIPHER_CTX* c = ctx_.get();
    std::uint8_t* payload = packet + header;
    const int payload_length = static_cast<int>(length - header);
    int out = 0;
    // RFC 7714 §9.1: the whole header, CSRCs and extension, is the AAD.
    return EVP_EncryptInit_ex(c, nullptr, nullptr, nullptr, nonce) == 1 &&
           EVP_EncryptUpdate(c, nullptr, &out, packet,
                             static_cast<int>(header)) == 1 &&
           (payload_length == 0 || EVP_EncryptUpdate(c, payload, &out, payload,
                                                     payload_length) == 1) &&
           EVP_EncryptFinal_ex(c, nullptr, &out) == 1 &&
           EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, static_cast<int>(tag()),
                               packet + length) == 1;
  }

  PacketStatus open(std::uint8_t* packet, size_t length, size_t header,
                    std::uint64_t index, KeyCharge charge) override {
    if (!charge()) return PacketStatus::kKeyLimit;
    std::uint8_t nonce[kIvLength];
    iv(packet, index, nonce);
    EVP_CIPHER_CTX* c = ctx_.get();
    std::uint8_t* payload = packet + header;
    const size_t text = length - tag();
    const int payload_length = static_cast<int>(text - header);
    int out = 0;
    // RFC 7714 §9.2.
    if (EVP_DecryptInit_ex(c, nullptr, nullptr, nullptr, nonce) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, static_cast<int>(tag()),
                            packet + text) != 1 ||
        EVP_DecryptUpdate(c, nullptr, &out, packet, static_cast<int>(header)) !=
            1 ||
        (payload_length != 0 &&
         EVP_DecryptUpdate(c, payload, &out, payload, payload_length) != 1)) {
      return PacketStatus::kFailed;
    }
    return EVP_DecryptFinal_ex(c, nullptr, &out) == 1
               ? PacketStatus::kOk
               : PacketStatus::kAuthFailed;
  }

  void add_seal_lines(FetchList& out) const override {
    out.add(this, sizeof(*this));
    add_context_lines(out, ctx_.get());
  }

 private:
  // RFC 7714 §8.1: (0x0000 || SSRC || ROC || SEQ) XOR the session salt.
  void iv(const std::uint8_t* header, std::uint64_t index,
          std::uint8_t out[kIvLength]) const {
    out[0] = salt_[0];
    out[1] = salt_[1];
    for (size_t i = 0; i < 4; ++i)
      out[2 + i] = header[kSsrcOffset + i] ^ salt_[2 + i];
    for (size_t i = 0; i < 6; ++i) {
      out[6 + i] =
          static_cast<std::uint8_t>(index >> (40 - 8 * i)) ^ salt_[6 + i];
    }
  }

  const EVP_CIPHER* const cipher_;
  const int outbound_;
  // The session key (16 or 32 octets used) until start(), and the salt.
  std::array<std::uint8_t, 32> key_{};
  std::array<std::uint8_t, kSaltLength> salt_{};
  EvpCipherCtx ctx_;
};

}  // namespace

Result<std::unique_ptr<RtpCipher>> make_gcm_rtp_cipher(
    Profile profile, std::span<const std::uint8_t> master, bool outbound) {
  const ProfileInfo& info = profile_info(profile);
  if (!info.aead || info.salt_length != kSaltLength ||
      master.size() != info.key_length + info.salt_length) {
    return make_error(
        "ERR_SRTP_INIT",
        std::string(info.name) + ": not an AEAD profile with these key sizes");
  }
  auto c = std::make_unique<GcmRtpCipher>(info, outbound);
  if (!c->derive(master, info.key_length)) {
    return make_error(
        "ERR_SRTP_INIT",
        "OpenSSL refused the key derivation for " + std::string(info.name));
  }
  return std::unique_ptr<RtpCipher>(std::move(c));
}

}  // namespace dtls::srtp
