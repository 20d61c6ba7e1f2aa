// The SRTP protection profiles DTLS-SRTP negotiates (RFC 5764 §4.1.2, RFC 7714
// §14.2) and what each needs from the keying material.
#ifndef DTLS_SRTP_SRTP_SRTP_PROFILE_H_
#define DTLS_SRTP_SRTP_SRTP_PROFILE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace dtls::srtp {

enum class Profile {
  kAes128CmSha1_80,
  kAes128CmSha1_32,
  kAeadAes128Gcm,
  kAeadAes256Gcm,
};

struct ProfileInfo {
  Profile profile;
  std::string_view name;  // OpenSSL's: "SRTP_AES128_CM_SHA1_80"
  // RFC 5764 §4.1.2 / RFC 7714 §14.2: "SRTP_AES128_CM_HMAC_SHA1_80".
  std::string_view rfc_name;
  // The SRTP crypto suite (RFC 4568 §6.2.1, RFC 7714 §14.1), as SDES and
  // libsrtp name it: "AES_CM_128_HMAC_SHA1_80", "AEAD_AES_128_GCM".
  std::string_view suite_name;
  std::uint16_t id;    // SRTPProtectionProfile in use_srtp (RFC 5764 §4.1.2)
  size_t key_length;   // master key
  size_t salt_length;  // master salt
  size_t rtp_tag_length;
  size_t rtcp_tag_length;  // SRTCP keeps the 80-bit tag for _32 (RFC 5764)
  bool aead;
};

const ProfileInfo& profile_info(Profile p);
// By OpenSSL's name (what DtlsAssociation::srtp_profile() returns).
std::optional<Profile> profile_from_name(std::string_view name);
// By any of its three names (what users may write in options).
std::optional<Profile> profile_from_any_name(std::string_view name);
// By its use_srtp identifier.
std::optional<Profile> profile_from_id(std::uint16_t id);
std::span<const ProfileInfo> all_profiles();

// What SRTCP adds after the payload: E flag and index (4 bytes), then the tag.
constexpr size_t kSrtcpIndexLength = 4;
// The most any profile here adds to a packet (RTCP with a 16-byte tag).
constexpr size_t kMaxTrailer = kSrtcpIndexLength + 16;

}  // namespace dtls::srtp

#endif  // DTLS_SRTP_SRTP_SRTP_PROFILE_H_
