// The fields of node:tls `PeerCertificate`, read from an X.509 certificate.
#ifndef DTLS_SRTP_CERTS_PEER_CERTIFICATE_H_
#define DTLS_SRTP_CERTS_PEER_CERTIFICATE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "certs/certificate.h"

namespace dtls::certs {

// A subject or issuer: entries in certificate order by OpenSSL short name ("C",
// "ST", "L", "O", "OU", "CN", ...). A name may repeat (several OU), which node
// shows as an array.
struct DistinguishedName {
  std::vector<std::pair<std::string, std::string>> entries;

  // The first value for `key`, or "" when absent.
  std::string get(std::string_view key) const;
  std::vector<std::string> get_all(std::string_view key) const;
  bool empty() const { return entries.empty(); }
};

struct PeerCertificate {
  DistinguishedName subject;
  DistinguishedName issuer;
  // node's form: "DNS:example.com, IP Address:127.0.0.1, URI:spiffe://x";
  // values that could be mistaken for separators are JSON-quoted, as node does.
  std::string subjectaltname;
  // The same names, structured, for checks that must not re-parse the string
  // above.
  std::vector<std::string> dns_names;
  std::vector<std::vector<std::uint8_t>> ip_addresses;  // 4 or 16 bytes each
  std::vector<std::string> uris;
  std::string valid_from;  // "Mar  4 12:00:00 2025 GMT", as node prints it
  std::string valid_to;
  Clock::time_point valid_from_time;
  Clock::time_point valid_to_time;
  std::string serial_number;      // uppercase hex
  std::string fingerprint;        // SHA-1, colon hex
  std::string fingerprint256;     // SHA-256, colon hex
  std::string fingerprint512;     // SHA-512, colon hex
  std::vector<std::uint8_t> raw;  // DER
  // RSA: DER SubjectPublicKeyInfo; EC: the uncompressed point (node's choices).
  std::vector<std::uint8_t> pubkey;
  int bits = 0;
  std::string asn1_curve;  // "prime256v1"
  std::string nist_curve;  // "P-256"
  std::string exponent;    // "0x10001"
  std::string modulus;     // uppercase hex
  bool ca = false;
  std::vector<std::string> ext_key_usage;  // dotted OIDs
};

PeerCertificate describe(const Certificate& cert);

}  // namespace dtls::certs

#endif  // DTLS_SRTP_CERTS_PEER_CERTIFICATE_H_
