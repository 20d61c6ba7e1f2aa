// RFC 3711's AES_CM_128 with HMAC-SHA1 (80- or 32-bit tags) for RTP: the
// counter-mode context keyed once, the HMAC key's inner and outer states kept
// (crypto::HmacSha1), and per packet only the counter block, the keystream
// and one MAC.
#ifndef DTLS_SRTP_SRTP_CM_RTP_CIPHER_H_
#define DTLS_SRTP_SRTP_CM_RTP_CIPHER_H_

#include <cstdint>
#include <memory>
#include <span>

#include "srtp/rtp_cipher.h"
#include "srtp/srtp_profile.h"
#include "transport/base/error.h"

namespace dtls::srtp {

// `master` is the direction's master key || master salt. ERR_SRTP_INIT when
// the profile is not AES-CM or the key derivation fails.
Result<std::unique_ptr<RtpCipher>> make_cm_rtp_cipher(
    Profile profile, std::span<const std::uint8_t> master);

}  // namespace dtls::srtp

#endif  // DTLS_SRTP_SRTP_CM_RTP_CIPHER_H_
