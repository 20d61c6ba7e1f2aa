#include "srtp/srtp_profile.h"

#include <gtest/gtest.h>

namespace dtls::srtp {
namespace {

TEST(SrtpProfile, NamesIdsAndLengthsPerRfc5764And7714) {
  EXPECT_EQ(profile_from_name("SRTP_AES128_CM_SHA1_80"),
            Profile::kAes128CmSha1_80);
  EXPECT_EQ(profile_from_name("SRTP_AEAD_AES_256_GCM"),
            Profile::kAeadAes256Gcm);
  EXPECT_FALSE(profile_from_name("SRTP_NULL_SHA1_80").has_value());
  EXPECT_EQ(all_profiles().size(), 4u);
  const ProfileInfo& cm32 = profile_info(Profile::kAes128CmSha1_32);
  EXPECT_EQ(cm32.rtp_tag_length, 4u);
  EXPECT_EQ(cm32.rtcp_tag_length, 10u);  // SRTCP keeps 80 bits
  EXPECT_EQ(profile_info(Profile::kAeadAes128Gcm).salt_length, 12u);
  // use_srtp's SRTPProtectionProfile values.
  EXPECT_EQ(profile_info(Profile::kAes128CmSha1_80).id, 0x0001);
  EXPECT_EQ(profile_info(Profile::kAes128CmSha1_32).id, 0x0002);
  EXPECT_EQ(profile_info(Profile::kAeadAes128Gcm).id, 0x0007);
  EXPECT_EQ(profile_info(Profile::kAeadAes256Gcm).id, 0x0008);
  EXPECT_EQ(profile_from_id(0x0008), Profile::kAeadAes256Gcm);
  EXPECT_FALSE(profile_from_id(0x0005).has_value());  // NULL_HMAC_SHA1_80
  for (const ProfileInfo& p : all_profiles()) {
    EXPECT_EQ(profile_from_id(p.id), p.profile);
    EXPECT_EQ(profile_from_name(p.name), p.profile);
    EXPECT_EQ(profile_from_any_name(p.name), p.profile);
    EXPECT_EQ(profile_from_any_name(p.rfc_name), p.profile);
    EXPECT_EQ(profile_from_any_name(p.suite_name), p.profile);
  }
}

// RFC 5764 §4.1.2 spells the AES-CM profiles with HMAC; RFC 4568 §6.2.1 and
// RFC 7714 §14.1 name the crypto suites.
TEST(SrtpProfile, OtherNames) {
  EXPECT_EQ(profile_info(Profile::kAes128CmSha1_80).rfc_name,
            "SRTP_AES128_CM_HMAC_SHA1_80");
  EXPECT_EQ(profile_info(Profile::kAes128CmSha1_32).suite_name,
            "AES_CM_128_HMAC_SHA1_32");
  EXPECT_EQ(profile_info(Profile::kAeadAes128Gcm).suite_name,
            "AEAD_AES_128_GCM");
  // Only OpenSSL's is what profile_from_name (OpenSSL's answers) takes.
  EXPECT_FALSE(profile_from_name("AEAD_AES_128_GCM").has_value());
  EXPECT_FALSE(profile_from_any_name("aead_aes_128_gcm").has_value());
}

}  // namespace
}  // namespace dtls::srtp
