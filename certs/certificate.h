// X.509 certificates and private keys: parsing, serialising, validity.
#ifndef DTLS_SRTP_CERTS_CERTIFICATE_H_
#define DTLS_SRTP_CERTS_CERTIFICATE_H_

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "certs/openssl_ptr.h"
#include "transport/base/error.h"

namespace dtls::certs {

using Clock = std::chrono::system_clock;

// One X.509 certificate. Copies share the underlying X509 (reference counted,
// immutable).
class Certificate {
 public:
  // The first certificate in `pem`. ERR_CERT_PEM_INVALID when there is none or
  // it is malformed.
  static Result<Certificate> from_pem(std::string_view pem);
  // Every certificate in `pem`, in order; at least one. ERR_CERT_PEM_INVALID
  // otherwise.
  static Result<std::vector<Certificate>> chain_from_pem(std::string_view pem);
  static Result<Certificate> from_der(std::span<const std::uint8_t> der);

  // Takes ownership; `x509` must not be null.
  explicit Certificate(ossl::X509Ptr x509);
  Certificate(const Certificate& other);
  Certificate& operator=(const Certificate& other);
  Certificate(Certificate&&) noexcept = default;
  Certificate& operator=(Certificate&&) noexcept = default;

  X509* get() const { return x509_.get(); }
  std::string to_pem() const;
  std::vector<std::uint8_t> to_der() const;

  Clock::time_point not_before() const;
  Clock::time_point not_after() const;
  // ERR_CERT_NOT_YET_VALID or ERR_CERT_HAS_EXPIRED when `now` is outside the
  // validity period.
  Status check_validity(Clock::time_point now) const;

  bool operator==(const Certificate& other) const;

 private:
  ossl::X509Ptr x509_;
};

// A private key (ECDSA or RSA). Copies share the underlying EVP_PKEY.
class PrivateKey {
 public:
  // Reads an unencrypted or encrypted PEM key (PKCS#8, or traditional EC/RSA).
  // ERR_KEY_PASSPHRASE when the key is encrypted and the passphrase is missing
  // or wrong; ERR_KEY_PEM_INVALID when there is no readable key at all.
  static Result<PrivateKey> from_pem(std::string_view pem,
                                     std::string_view passphrase = {});

  explicit PrivateKey(ossl::EvpPkeyPtr pkey);
  PrivateKey(const PrivateKey& other);
  PrivateKey& operator=(const PrivateKey& other);
  PrivateKey(PrivateKey&&) noexcept = default;
  PrivateKey& operator=(PrivateKey&&) noexcept = default;

  EVP_PKEY* get() const { return pkey_.get(); }
  // PKCS#8 PEM; encrypted with AES-256-CBC when `passphrase` is not empty.
  std::string to_pem(std::string_view passphrase = {}) const;

 private:
  ossl::EvpPkeyPtr pkey_;
};

// Seconds-resolution conversion used for certificate times.
Clock::time_point from_asn1_time(const ASN1_TIME* t);

}  // namespace dtls::certs

#endif  // DTLS_SRTP_CERTS_CERTIFICATE_H_
