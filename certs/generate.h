// Certificate generation: self-signed (WebRTC style) or signed by a given
// issuer (test CAs).
#ifndef DTLS_SRTP_CERTS_GENERATE_H_
#define DTLS_SRTP_CERTS_GENERATE_H_

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "certs/credentials.h"

namespace dtls::certs {

enum class KeyType {
  kEcdsaP256,  // what browsers generate for WebRTC (RFC 8827 §6.5 recommends
               // ECDSA P-256)
  kRsa,
};

struct GenerateOptions {
  KeyType key_type = KeyType::kEcdsaP256;
  int rsa_bits = 2048;  // kRsa only; 2048..8192
  std::string common_name = "WebRTC";
  // Further subject entries by short name, e.g. {"O", "Example"}, {"C", "SE"}.
  std::vector<std::pair<std::string, std::string>> subject;
  // "DNS:example.com", "IP:127.0.0.1", "IP:::1", "URI:spiffe://x", "email:a@b".
  std::vector<std::string> subject_alt_names;
  // Extended key usage names as OpenSSL spells them ("serverAuth",
  // "clientAuth").
  std::vector<std::string> extended_key_usage;
  // Backdated by a day by default so that a peer's slightly slow clock still
  // accepts it.
  std::chrono::seconds not_before_offset = -std::chrono::hours(24);
  std::chrono::seconds validity = std::chrono::hours(24 * 30);
  bool is_ca = false;
  // Signs with this issuer's key (and names it as issuer) instead of
  // self-signing. The result's chain is the new leaf followed by the issuer's
  // chain without its self-signed root.
  const Credentials* issuer = nullptr;
};

// Codes: ERR_OUT_OF_RANGE (rsa_bits, validity), ERR_INVALID_ARG_VALUE (names,
// SANs, usages), ERR_CERT_GENERATE (OpenSSL failed).
Result<Credentials> generate_certificate(const GenerateOptions& options = {},
                                         Clock::time_point now = Clock::now());

}  // namespace dtls::certs

#endif  // DTLS_SRTP_CERTS_GENERATE_H_
