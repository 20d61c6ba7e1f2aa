// SRTP's key derivation (RFC 3711 §4.3) with key_derivation_rate 0 and the
// AES-CM PRF (§4.3.3), as libsrtp 2.5 derives every profile's session keys,
// GCM's included (RFC 7714 §11).
#ifndef DTLS_SRTP_SRTP_SRTP_KDF_H_
#define DTLS_SRTP_SRTP_SRTP_KDF_H_

#include <cstddef>
#include <cstdint>
#include <span>

namespace dtls::srtp {

// RFC 3711 §4.3.2 (SRTP's three; SRTCP stays with libsrtp).
enum class KdfLabel : std::uint8_t {
  kRtpEncryption = 0x00,
  kRtpAuthentication = 0x01,
  kRtpSalt = 0x02,
};

// Fills `out` (at most 32 octets) with PRF(master_key, x): the AES-CM
// keystream of the master key (16 or 32 octets) at IV x || 0x0000, x being
// the master salt XOR the label at octet 7. A 12-octet AEAD master salt is
// padded with two zero octets to AES-CM's 14, as libsrtp does. False when
// the sizes are wrong or OpenSSL fails.
bool srtp_kdf(std::span<const std::uint8_t> master_key,
              std::span<const std::uint8_t> master_salt, KdfLabel label,
              std::span<std::uint8_t> out);

}  // namespace dtls::srtp

#endif  // DTLS_SRTP_SRTP_SRTP_KDF_H_
