#include "srtp/srtp_profile.h"

#include <array>

namespace dtls::srtp {
namespace {

// RFC 5764 §4.1.2 (AES-CM: 128-bit key, 112-bit salt; 80- or 32-bit RTP tag;
// ids 0x0001, 0x0002) and RFC 7714 §12, §14.2 (AEAD: 96-bit salt, 128-bit
// tag; ids 0x0007, 0x0008).
constexpr std::array<ProfileInfo, 4> kProfiles = {{
    {Profile::kAes128CmSha1_80, "SRTP_AES128_CM_SHA1_80",
     "SRTP_AES128_CM_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_80", 0x0001, 16, 14,
     10, 10, false},
    {Profile::kAes128CmSha1_32, "SRTP_AES128_CM_SHA1_32",
     "SRTP_AES128_CM_HMAC_SHA1_32", "AES_CM_128_HMAC_SHA1_32", 0x0002, 16, 14,
     4, 10, false},
    {Profile::kAeadAes128Gcm, "SRTP_AEAD_AES_128_GCM", "SRTP_AEAD_AES_128_GCM",
     "AEAD_AES_128_GCM", 0x0007, 16, 12, 16, 16, true},
    {Profile::kAeadAes256Gcm, "SRTP_AEAD_AES_256_GCM", "SRTP_AEAD_AES_256_GCM",
     "AEAD_AES_256_GCM", 0x0008, 32, 12, 16, 16, true},
}};

}  // namespace

const ProfileInfo& profile_info(Profile p) {
  return kProfiles[static_cast<size_t>(p)];
}

std::optional<Profile> profile_from_name(std::string_view name) {
  for (const ProfileInfo& i : kProfiles) {
    if (i.name == name) return i.profile;
  }
  return std::nullopt;
}

std::optional<Profile> profile_from_any_name(std::string_view name) {
  for (const ProfileInfo& i : kProfiles) {
    if (i.name == name || i.rfc_name == name || i.suite_name == name)
      return i.profile;
  }
  return std::nullopt;
}

std::optional<Profile> profile_from_id(std::uint16_t id) {
  for (const ProfileInfo& i : kProfiles) {
    if (i.id == id) return i.profile;
  }
  return std::nullopt;
}

std::span<const ProfileInfo> all_profiles() { return kProfiles; }

}  // namespace dtls::srtp
