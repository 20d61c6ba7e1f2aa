#include "srtp/srtp_profile.h"

#include <array>

namespace dtls::srtp {
namespace {

// RFC 5764 §4.1.2 (AES-CM: 128-bit key, 112-bit salt; 80- or 32-bit RTP tag)
// and RFC 7714 §12 (AEAD: 96-bit salt, 128-bit tag).
constexpr std::array<ProfileInfo, 4> kProfiles = {{
    {Profile::kAes128CmSha1_80, "SRTP_AES128_CM_SHA1_80", 16, 14, 10, 10,
     false},
    {Profile::kAes128CmSha1_32, "SRTP_AES128_CM_SHA1_32", 16, 14, 4, 10, false},
    {Profile::kAeadAes128Gcm, "SRTP_AEAD_AES_128_GCM", 16, 12, 16, 16, true},
    {Profile::kAeadAes256Gcm, "SRTP_AEAD_AES_256_GCM", 32, 12, 16, 16, true},
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

std::span<const ProfileInfo> all_profiles() { return kProfiles; }

}  // namespace dtls::srtp
