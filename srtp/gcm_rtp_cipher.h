// RFC 7714's AEAD_AES_128_GCM and AEAD_AES_256_GCM for RTP: one EVP context
// keyed once with the session key, and per packet only the IV, the header as
// AAD, the payload and the tag: what a bare EVP seal or open costs.
#ifndef DTLS_SRTP_SRTP_GCM_RTP_CIPHER_H_
#define DTLS_SRTP_SRTP_GCM_RTP_CIPHER_H_

#include <cstdint>
#include <memory>
#include <span>

#include "srtp/rtp_cipher.h"
#include "srtp/srtp_profile.h"
#include "transport/base/error.h"

namespace dtls::srtp {

// `master` is the direction's master key || master salt. ERR_SRTP_INIT when
// the profile is not AEAD or the key derivation fails.
Result<std::unique_ptr<RtpCipher>> make_gcm_rtp_cipher(
    Profile profile, std::span<const std::uint8_t> master, bool outbound);

}  // namespace dtls::srtp

#endif  // DTLS_SRTP_SRTP_GCM_RTP_CIPHER_H_
