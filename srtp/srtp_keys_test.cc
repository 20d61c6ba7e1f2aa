#include "srtp/srtp_keys.h"

#include <gtest/gtest.h>

#include <numeric>

namespace dtls::srtp {
namespace {

std::vector<std::uint8_t> counting(size_t n) {
  std::vector<std::uint8_t> v(n);
  std::iota(v.begin(), v.end(), std::uint8_t{0});
  return v;
}

// RFC 5764 §4.2: client key | server key | client salt | server salt.
TEST(SrtpKeys, SplitsInTheRfc5764Order) {
  struct Case {
    Profile p;
    size_t key, salt;
  };
  for (const Case& c : {Case{Profile::kAes128CmSha1_80, 16, 14},
                        Case{Profile::kAes128CmSha1_32, 16, 14},
                        Case{Profile::kAeadAes128Gcm, 16, 12},
                        Case{Profile::kAeadAes256Gcm, 32, 12}}) {
    SCOPED_TRACE(std::string(profile_info(c.p).name));
    const size_t total = 2 * (c.key + c.salt);
    EXPECT_EQ(SrtpKeys::material_length(c.p), total);
    auto material = counting(total);
    auto k = SrtpKeys::split(c.p, material);
    ASSERT_TRUE(k.ok());
    EXPECT_EQ(k->client_key.front(), 0);
    EXPECT_EQ(k->client_key.size(), c.key);
    EXPECT_EQ(k->server_key.front(), c.key);
    EXPECT_EQ(k->client_salt.front(), 2 * c.key);
    EXPECT_EQ(k->client_salt.size(), c.salt);
    EXPECT_EQ(k->server_salt.front(), 2 * c.key + c.salt);
    EXPECT_EQ(k->server_salt.back(), total - 1);
    // The client sends with the client's key; the server receives with it.
    auto client_out = k->outbound_master(Side::kClient);
    EXPECT_EQ(client_out.size(), c.key + c.salt);
    EXPECT_EQ(client_out, k->inbound_master(Side::kServer));
    EXPECT_EQ(k->outbound_master(Side::kServer),
              k->inbound_master(Side::kClient));
    EXPECT_NE(client_out, k->outbound_master(Side::kServer));
    auto wrong = SrtpKeys::split(c.p, counting(total - 1));
    ASSERT_FALSE(wrong.ok());
    EXPECT_EQ(wrong.error().code, "ERR_SRTP_KEY_LENGTH");
  }
}

// The exported material the library splits for its own contexts is wiped
// once split; the keys live on in SecretBytes only.
TEST(SrtpKeys, SplitAndWipeLeavesNothingInTheMaterial) {
  const Profile p = Profile::kAeadAes256Gcm;
  auto material = counting(SrtpKeys::material_length(p));
  auto k = SrtpKeys::split_and_wipe(p, material);
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k->server_salt.back(), material.size() - 1);
  EXPECT_EQ(material, std::vector<std::uint8_t>(material.size(), 0));
}

}  // namespace
}  // namespace dtls::srtp
