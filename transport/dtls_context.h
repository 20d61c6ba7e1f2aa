// A DTLS configuration shared by many associations: one SSL_CTX with validated
// options.
#ifndef DTLS_SRTP_TRANSPORT_DTLS_CONTEXT_H_
#define DTLS_SRTP_TRANSPORT_DTLS_CONTEXT_H_

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "certs/credentials.h"
#include "certs/openssl_ptr.h"
#include "transport/error.h"

namespace dtls {

enum class Role { kClient, kServer };

struct DtlsContextOptions {
  // Our certificate chain and key (node `cert` + `key`). Required to act as a
  // server.
  std::optional<certs::Credentials> credentials;
  // Trusted CAs (node `ca`). Empty: the system's default trust store.
  std::vector<certs::Certificate> ca;
  // OpenSSL cipher list (node `ciphers`). Empty: OpenSSL's default.
  std::string ciphers;
  // ALPN protocol names (node `alpn`), in preference order.
  std::vector<std::string> alpn_protocols;
  // Colon-separated SRTP protection profiles in preference order (RFC 5764
  // use_srtp), e.g. "SRTP_AES128_CM_SHA1_80:SRTP_AEAD_AES_128_GCM". Empty:
  // use_srtp is not offered.
  std::string srtp_profiles;
  // Fail the handshake (ERR_DTLS_SRTP_NO_COMMON_PROFILE) when no SRTP profile
  // is agreed.
  bool require_srtp = false;
  // "DTLSv1.2" (default for both), or "DTLSv1" to allow DTLS 1.0 (it also needs
  // ciphers with
  // "@SECLEVEL=0" on OpenSSL 3). "DTLSv1.3" is ERR_DTLS_VERSION_UNSUPPORTED on
  // OpenSSL 3.0.
  std::string min_version = "DTLSv1.2";
  std::string max_version = "DTLSv1.2";
  // Issue RFC 5077 session tickets as a server. Off by default: WebRTC peers
  // never resume, and a ticket makes the server's last flight ~500 bytes (one
  // more datagram to lose) larger. Resumption is switched on here once it is
  // wanted.
  bool session_tickets = false;
};

// What the context's OpenSSL callbacks report to: the association owning the
// SSL object (SSL_get_app_data). Keeps OpenSSL's C callbacks in one place.
class SslEventSink {
 public:
  virtual ~SslEventSink() = default;
  virtual void on_keylog_line(const char* line) = 0;
  virtual void on_alert(bool sent, int level, int description) = 0;
  // Whole-chain certificate check; return 1 to continue the handshake, 0 to
  // fail it.
  virtual int on_verify_certificate(X509_STORE_CTX* store) = 0;
  // Server: the ClientHello arrived (SSL_CTX_set_client_hello_cb semantics).
  virtual int on_client_hello(int* alert) = 0;
  // Server: the ClientHello's cookie, already checked by the CookieGate before
  // this SSL existed.
  virtual bool on_verify_cookie(std::span<const std::uint8_t> cookie) = 0;
};

class DtlsContext {
 public:
  // Validates `options` and builds the SSL_CTX. Codes: ERR_INVALID_ARG_VALUE,
  // ERR_DTLS_VERSION_UNSUPPORTED, ERR_CERT_KEY_MISMATCH.
  static Result<std::shared_ptr<const DtlsContext>> create(
      DtlsContextOptions options);

  SSL_CTX* get() const { return ctx_.get(); }
  const DtlsContextOptions& options() const { return options_; }
  // The ALPN list in wire format (RFC 7301 §3.1), empty when none.
  std::span<const std::uint8_t> alpn_wire() const { return alpn_wire_; }

 private:
  DtlsContext() = default;

  DtlsContextOptions options_;
  ossl::SslCtxPtr ctx_;
  std::vector<std::uint8_t> alpn_wire_;
};

// The SRTP protection profiles this project supports (RFC 5764 §4.1.2, RFC 7714
// §14.2).
std::span<const std::string_view> supported_srtp_profiles();

// Parses and checks a colon-separated profile list. ERR_INVALID_ARG_VALUE.
Result<std::vector<std::string>> parse_srtp_profiles(std::string_view list);

}  // namespace dtls

#endif  // DTLS_SRTP_TRANSPORT_DTLS_CONTEXT_H_
