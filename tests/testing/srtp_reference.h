// An independent SRTP reference built directly on OpenSSL EVP, for checking
// what libsrtp (through our objects) produces. Test-only, slow, allocates.
#ifndef DTLS_SRTP_TESTS_TESTING_SRTP_REFERENCE_H_
#define DTLS_SRTP_TESTS_TESTING_SRTP_REFERENCE_H_

#include <cstdint>
#include <string_view>
#include <vector>

namespace dtls::testing {

using Bytes = std::vector<std::uint8_t>;

Bytes from_hex(std::string_view hex);
std::string to_hex(const Bytes& b);

// RFC 3711 §4.3.1 with key_derivation_rate 0: PRF_n(k_master, x), x = (label
// || 0^48) XOR master_salt, right-aligned; the PRF is AES-CM keyed with the
// master key (AES-128 or AES-256 by its length) over IV x * 2^16. A 96-bit
// (AEAD) master salt is taken as salt || 0x0000, as RFC 7714 §11 describes.
Bytes srtp_kdf(const Bytes& master_key, const Bytes& master_salt,
               std::uint8_t label, size_t length);

// RFC 3711 §4.3.1 labels.
enum Label : std::uint8_t {
  kRtpEncryption = 0,
  kRtpAuth = 1,
  kRtpSalt = 2,
  kRtcpEncryption = 3,
  kRtcpAuth = 4,
  kRtcpSalt = 5,
};

// RFC 3711 §4.1.1 AES-CM keystream: IV = (k_s * 2^16) XOR (SSRC * 2^64) XOR
// (i * 2^16), for the 48-bit packet index i.
Bytes aes_cm_keystream(const Bytes& session_key, const Bytes& session_salt,
                       std::uint32_t ssrc, std::uint64_t index, size_t length);

Bytes hmac_sha1(const Bytes& key, const Bytes& data);

// RFC 7714 §8.1/§9.1: AES-GCM with IV = (0x0000 || SSRC || ROC || SEQ) XOR
// salt and the RTP header as associated data; returns ciphertext || 16-byte
// tag.
Bytes aes_gcm_seal(const Bytes& key, const Bytes& iv, const Bytes& aad,
                   const Bytes& plaintext);
Bytes gcm_rtp_iv(const Bytes& session_salt, std::uint32_t ssrc,
                 std::uint32_t roc, std::uint16_t seq);

}  // namespace dtls::testing

#endif  // DTLS_SRTP_TESTS_TESTING_SRTP_REFERENCE_H_
