#include "srtp/crypto_floor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace dtls::srtp {
namespace {

std::vector<std::uint8_t> packet(size_t payload) {
  std::vector<std::uint8_t> p = {0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0x12, 0x34};
  for (size_t i = 0; i < payload; ++i)
    p.push_back(static_cast<std::uint8_t>(i));
  return p;
}

class CryptoFloorTest : public ::testing::TestWithParam<Profile> {};

// The floor does the cipher's real work: what it protects changes the
// payload and opens again to the same bytes, under the same index only.
TEST_P(CryptoFloorTest, OpensWhatItSealedAndNothingElse) {
  auto seal = CryptoFloor::create(GetParam());
  auto open = CryptoFloor::create(GetParam());
  ASSERT_TRUE(seal.ok() && open.ok());
  const auto plain = packet(200);
  std::vector<std::uint8_t> buf = plain;
  buf.resize(plain.size() + (*seal)->tag());
  ASSERT_EQ((*seal)->protect(buf.data(), plain.size(), 7), buf.size());
  EXPECT_EQ((*seal)->tag(), profile_info(GetParam()).rtp_tag_length);
  EXPECT_TRUE(std::equal(plain.begin(), plain.begin() + 12, buf.begin()));
  EXPECT_FALSE(std::equal(plain.begin() + 12, plain.end(), buf.begin() + 12));

  std::vector<std::uint8_t> copy = buf;
  ASSERT_TRUE((*open)->unprotect(copy.data(), copy.size(), 7));
  EXPECT_TRUE(std::equal(plain.begin(), plain.end(), copy.begin()));

  // Under another index, GCM refuses (the index is in its IV); AES-CM
  // authenticates the header, not the index, so only its keystream differs.
  copy = buf;
  const bool opened = (*open)->unprotect(copy.data(), copy.size(), 8);
  EXPECT_EQ(opened, !profile_info(GetParam()).aead);
  if (opened) {
    EXPECT_FALSE(
        std::equal(plain.begin() + 12, plain.end(), copy.begin() + 12));
  }
  copy = buf;  // a flipped payload bit
  copy[40] ^= 1;
  EXPECT_FALSE((*open)->unprotect(copy.data(), copy.size(), 7));
  copy = buf;  // a flipped header bit (authenticated, not encrypted)
  copy[11] ^= 1;
  EXPECT_FALSE((*open)->unprotect(copy.data(), copy.size(), 7));
  EXPECT_FALSE((*open)->unprotect(copy.data(), 12, 7));  // too short
  EXPECT_EQ((*seal)->protect(copy.data(), 11, 7), 0u);   // no header
}

INSTANTIATE_TEST_SUITE_P(Profiles, CryptoFloorTest,
                         ::testing::Values(Profile::kAes128CmSha1_80,
                                           Profile::kAes128CmSha1_32,
                                           Profile::kAeadAes128Gcm,
                                           Profile::kAeadAes256Gcm));

}  // namespace
}  // namespace dtls::srtp
