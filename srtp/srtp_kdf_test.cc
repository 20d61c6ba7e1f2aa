#include "srtp/srtp_kdf.h"

#include <gtest/gtest.h>

#include <random>

#include "tests/testing/srtp_reference.h"

namespace dtls::srtp {
namespace {

using testing::Bytes;
using testing::from_hex;
using testing::to_hex;

Bytes derive(const Bytes& key, const Bytes& salt, KdfLabel label,
             size_t length) {
  Bytes out(length);
  EXPECT_TRUE(srtp_kdf(key, salt, label, out));
  return out;
}

// RFC 3711 Appendix B.3.
TEST(SrtpKdf, Rfc3711B3) {
  const Bytes key = from_hex("E1F97A0D3E018BE0D64FA32C06DE4139");
  const Bytes salt = from_hex("0EC675AD498AFEEBB6960B3AABE6");
  EXPECT_EQ(to_hex(derive(key, salt, KdfLabel::kRtpEncryption, 16)),
            "c61e7a93744f39ee10734afe3ff7a087");
  EXPECT_EQ(to_hex(derive(key, salt, KdfLabel::kRtpSalt, 14)),
            "30cbbc08863d8c85d49db34a9ae1");
  EXPECT_EQ(to_hex(derive(key, salt, KdfLabel::kRtpAuthentication, 20)),
            "cebe321f6ff7716b6fd4ab49af256a156d38baa4");
}

// AES-256 master keys and the 12-octet AEAD salts (RFC 7714 §11) against the
// independent reference.
TEST(SrtpKdf, AeadSaltsAndAes256AsTheReference) {
  std::mt19937 rng(1);
  for (size_t key_length : {16u, 32u}) {
    Bytes key(key_length), salt(12);
    for (auto& b : key) b = static_cast<std::uint8_t>(rng());
    for (auto& b : salt) b = static_cast<std::uint8_t>(rng());
    for (KdfLabel label : {KdfLabel::kRtpEncryption, KdfLabel::kRtpSalt}) {
      const size_t n = label == KdfLabel::kRtpSalt ? 12 : key_length;
      EXPECT_EQ(to_hex(derive(key, salt, label, n)),
                to_hex(testing::srtp_kdf(key, salt,
                                         static_cast<std::uint8_t>(label), n)));
    }
  }
}

TEST(SrtpKdf, RefusesWrongSizes) {
  Bytes out(16);
  EXPECT_FALSE(srtp_kdf(Bytes(24, 1), Bytes(14, 1), KdfLabel::kRtpSalt, out));
  EXPECT_FALSE(srtp_kdf(Bytes(16, 1), Bytes(15, 1), KdfLabel::kRtpSalt, out));
  Bytes big(33);
  EXPECT_FALSE(srtp_kdf(Bytes(16, 1), Bytes(14, 1), KdfLabel::kRtpSalt, big));
}

}  // namespace
}  // namespace dtls::srtp
