// A certificate chain with its private key, loaded from PEM or PKCS#12, and CA
// lists.
#ifndef DTLS_SRTP_CERTS_CREDENTIALS_H_
#define DTLS_SRTP_CERTS_CREDENTIALS_H_

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "certs/certificate.h"

namespace dtls::certs {

struct Credentials {
  std::vector<Certificate>
      chain;  // leaf first, then intermediates; never empty
  PrivateKey key;

  const Certificate& leaf() const { return chain.front(); }
};

struct LoadOptions {
  // For an encrypted private key or a PKCS#12 bundle.
  std::string_view passphrase;
  // Refuse a leaf certificate outside its validity period at this instant (our
  // own certificate being expired is a configuration error worth failing on at
  // load). nullopt skips the check.
  std::optional<Clock::time_point> now = Clock::now();
};

// `cert_pem` holds the leaf followed by any intermediates; `key_pem` the leaf's
// private key. Codes: ERR_CERT_PEM_INVALID, ERR_KEY_PEM_INVALID,
// ERR_KEY_PASSPHRASE, ERR_CERT_KEY_MISMATCH, ERR_CERT_HAS_EXPIRED,
// ERR_CERT_NOT_YET_VALID.
Result<Credentials> load_pem_credentials(std::string_view cert_pem,
                                         std::string_view key_pem,
                                         const LoadOptions& options = {});

// A PKCS#12 (pfx) bundle. Codes: ERR_PKCS12_INVALID, ERR_KEY_PASSPHRASE,
// ERR_PKCS12_NO_KEY, ERR_CERT_KEY_MISMATCH, and the validity codes above.
Result<Credentials> load_pkcs12(std::span<const std::uint8_t> pfx,
                                const LoadOptions& options = {});

// A PKCS#12 bundle of `credentials` (AES-256-CBC, PBKDF2, SHA-256 MAC: OpenSSL
// 3 defaults).
std::vector<std::uint8_t> to_pkcs12(
    const Credentials& credentials, std::string_view passphrase,
    std::string_view friendly_name = "dtls-srtp");

// Trusted CAs from several PEM texts, each holding one or more certificates
// (node:tls `ca`). ERR_CA_PEM_INVALID names the entry that failed.
Result<std::vector<Certificate>> load_ca_list(
    std::span<const std::string> pems);

}  // namespace dtls::certs

#endif  // DTLS_SRTP_CERTS_CREDENTIALS_H_
