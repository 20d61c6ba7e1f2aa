// SRTP master keys from DTLS-SRTP keying material (RFC 5764 §4.2), for our
// libsrtp contexts or for applications that run their own SRTP.
#ifndef DTLS_SRTP_SRTP_SRTP_KEYS_H_
#define DTLS_SRTP_SRTP_SRTP_KEYS_H_

#include <cstdint>
#include <span>
#include <vector>

#include "srtp/secret_bytes.h"
#include "srtp/srtp_profile.h"
#include "transport/base/error.h"

namespace dtls::srtp {

// Which end of the DTLS handshake we are: the client's keys protect what the
// client sends (RFC 5764 §4.2).
enum class Side { kClient, kServer };

// The RFC 5705 exporter label RFC 5764 §4.2 defines.
inline constexpr std::string_view kExporterLabel = "EXTRACTOR-dtls_srtp";

// Wiped when dropped (SecretBytes), copies included.
struct SrtpKeys {
  Profile profile = Profile::kAes128CmSha1_80;
  SecretBytes client_key, server_key, client_salt, server_salt;

  // 2 * (key + salt): how much keying material to export for `p`.
  static size_t material_length(Profile p);
  // Splits exported material: client key | server key | client salt | server
  // salt (RFC 5764 §4.2). ERR_SRTP_KEY_LENGTH when the length is not
  // material_length(p).
  static Result<SrtpKeys> split(Profile p,
                                std::span<const std::uint8_t> material);
  // split(), then wipes `material`: for keying material exported only to be
  // split, whose buffer the caller holds in a container that would not.
  static Result<SrtpKeys> split_and_wipe(Profile p,
                                         std::span<std::uint8_t> material);

  // Master key followed by master salt (libsrtp's layout), for what `side`
  // sends and for what it receives.
  SecretBytes outbound_master(Side side) const;
  SecretBytes inbound_master(Side side) const;
};

}  // namespace dtls::srtp

#endif  // DTLS_SRTP_SRTP_SRTP_KEYS_H_
