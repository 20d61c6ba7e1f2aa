// Certificate fingerprints: node's colon-hex form and the SDP attribute (RFC
// 8122 §5).
#ifndef DTLS_SRTP_CERTS_FINGERPRINT_H_
#define DTLS_SRTP_CERTS_FINGERPRINT_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "certs/certificate.h"

namespace dtls::certs {

enum class HashAlgorithm { kSha1, kSha256, kSha384, kSha512 };

// The RFC 8122 / IANA "Hash Function Textual Names" token: "sha-1", "sha-256",
// ...
std::string_view hash_name(HashAlgorithm algorithm);
Result<HashAlgorithm> parse_hash_name(std::string_view name);

class Fingerprint {
 public:
  // The digest of `cert`'s DER encoding.
  static Fingerprint of(const Certificate& cert, HashAlgorithm algorithm);
  // "sha-256 AB:CD:..." with an optional leading "a=fingerprint:" (RFC 8122 §5
  // grammar; the hash name is case-insensitive, hex digits of either case).
  // ERR_SDP_FINGERPRINT_INVALID.
  static Result<Fingerprint> parse_sdp(std::string_view text);
  // Colon-separated hex for a known algorithm. ERR_SDP_FINGERPRINT_INVALID.
  static Result<Fingerprint> parse(HashAlgorithm algorithm,
                                   std::string_view colon_hex);

  HashAlgorithm algorithm() const { return algorithm_; }
  std::span<const std::uint8_t> digest() const { return digest_; }

  // "AB:CD:..." (node's `fingerprint256` form).
  std::string colon_hex() const;
  // "sha-256 AB:CD:..." (the value of an SDP a=fingerprint attribute).
  std::string to_sdp() const;

  // Constant time in the digest bytes: a peer certificate is compared against a
  // pinned value.
  bool matches(const Certificate& cert) const;
  bool operator==(const Fingerprint& other) const;

 private:
  Fingerprint(HashAlgorithm algorithm, std::vector<std::uint8_t> digest)
      : algorithm_(algorithm), digest_(std::move(digest)) {}

  HashAlgorithm algorithm_;
  std::vector<std::uint8_t> digest_;
};

// Colon-separated uppercase hex of any bytes ("0A:FF").
std::string colon_hex(std::span<const std::uint8_t> bytes);

}  // namespace dtls::certs

#endif  // DTLS_SRTP_CERTS_FINGERPRINT_H_
