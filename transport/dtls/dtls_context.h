// A DTLS configuration shared by many associations: one SSL_CTX with validated
// options.
#ifndef DTLS_SRTP_TRANSPORT_DTLS_DTLS_CONTEXT_H_
#define DTLS_SRTP_TRANSPORT_DTLS_DTLS_CONTEXT_H_

#include <openssl/ssl.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "certs/credentials.h"
#include "certs/openssl_ptr.h"
#include "transport/base/error.h"

namespace dtls {

enum class Role { kClient, kServer };

struct DtlsContextOptions {
  // Our certificate chain and key (node `cert` + `key`). Required to act as a
  // server.
  std::optional<certs::Credentials> credentials;
  // More chains with their keys beside `credentials` (node's `cert`/`key`
  // arrays and several `pfx`), one per key type: an RSA and an ECDSA
  // certificate side by side, OpenSSL picking per handshake what the peer's
  // cipher suites and signature algorithms allow. Two of one key type is
  // ERR_INVALID_ARG_VALUE (OpenSSL would silently keep the last).
  std::vector<certs::Credentials> extra_credentials;
  // Trusted CAs (node `ca`). Empty: the system's default trust store.
  std::vector<certs::Certificate> ca;
  // PEM certificate revocation lists (node `crl`): when given, peer chains are
  // checked against them (every certificate of the chain, as node does).
  std::vector<std::string> crl;
  // OpenSSL cipher list (node `ciphers`). Empty: kDefaultCiphers.
  std::string ciphers;
  // Key exchange groups (node `ecdhCurve`): "auto" (OpenSSL's default list),
  // or a colon-separated list such as "P-384:P-256" or "X25519".
  std::string ecdh_curve = "auto";
  // Server: choose the cipher suite by our order rather than the client's
  // (node `honorCipherOrder`, SSL_OP_CIPHER_SERVER_PREFERENCE).
  bool honor_cipher_order = false;
  // Signature algorithms offered and accepted (node `sigalgs`), e.g.
  // "ECDSA+SHA256:RSA-PSS+SHA256". Empty: OpenSSL's default.
  std::string sig_algs;
  // Finite-field DHE (node `dhparam`): "" (DHE suites unavailable), "auto"
  // (built-in groups sized to the certificate), or PEM DH parameters of at
  // least 2048 bits.
  std::string dhparam;
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
  // RFC 5077 session tickets, both roles (node's default: on). A server
  // issues them to clients that ask and resumes from them; a client asks for
  // them. Off: full handshakes only (node's SSL_OP_NO_TICKET). The server keeps
  // no session cache: tickets are its only resumption state.
  bool session_tickets = true;
  // Server: 48 bytes of ticket keys (node `ticketKeys`: 16 bytes of key name,
  // 16 of HMAC-SHA256 key, 16 of AES-128-CBC key). Empty: random ones.
  std::vector<std::uint8_t> ticket_keys;
  // Server: seconds a session stays resumable (node `sessionTimeout`),
  // 1..86400*7.
  std::chrono::seconds session_timeout{300};
};

// What the context's OpenSSL callbacks report to: the association owning the
// SSL object (SSL_get_app_data). Keeps OpenSSL's C callbacks in one place.
class SslEventSink {
 public:
  virtual ~SslEventSink() = default;
  virtual void on_keylog_line(const char* line) = 0;
  virtual void on_alert(bool sent, int level, int description) = 0;
  // The handshake state machine moved (SSL_CB_LOOP): a message read or
  // written. A repeated flight, ours or the peer's, does not move it.
  virtual void on_handshake_step() = 0;
  // Whole-chain certificate check; return 1 to continue the handshake, 0 to
  // fail it.
  virtual int on_verify_certificate(X509_STORE_CTX* store) = 0;
  // Server: the ClientHello arrived (SSL_CTX_set_client_hello_cb semantics).
  virtual int on_client_hello(int* alert) = 0;
  // Server: the ClientHello's cookie, already checked by the CookieGate before
  // this SSL existed.
  virtual bool on_verify_cookie(std::span<const std::uint8_t> cookie) = 0;
  // Server: the ClientHello's server_name (RFC 6066 §3) is known; returns an
  // SSL_TLSEXT_ERR_* value.
  virtual int on_servername(int* alert) = 0;
  // Client: a session to hand out for later resumption (not kept).
  virtual void on_new_session(SSL_SESSION* session) = 0;
  // Server: encrypt (enc = 1) or decrypt a session ticket (RFC 5077 §4),
  // SSL_CTX_set_tlsext_ticket_key_evp_cb semantics.
  virtual int on_ticket_key(unsigned char* name, unsigned char* iv,
                            EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac,
                            int enc) = 0;
};

// A server's session ticket keys (RFC 5077 §4), replaceable while handshakes
// run on other threads. The key before the current one still decrypts, so
// tickets issued just before a rotation resume (and are renewed).
class TicketKeys {
 public:
  static constexpr size_t kSize = 48;
  // Random keys. When the random generator fails, drawn() is false and
  // DtlsContext::create fails: anyone could forge and read tickets under keys
  // that are not random.
  TicketKeys();
  bool drawn() const { return drawn_; }
  std::array<std::uint8_t, kSize> get() const;
  // ERR_INVALID_ARG_VALUE unless exactly 48 bytes.
  Status set(std::span<const std::uint8_t> keys);
  // The ticket callback: 1 (current key), 2 (previous key: renew), 0 (unknown
  // key name: full handshake), -1 (error).
  int apply(unsigned char* name, unsigned char* iv, EVP_CIPHER_CTX* cipher,
            EVP_MAC_CTX* mac, bool encrypt) const;

 private:
  bool drawn_ = false;
  mutable std::mutex mutex_;
  std::array<std::uint8_t, kSize> current_{};
  std::optional<std::array<std::uint8_t, kSize>> previous_;
};

// node's tls.DEFAULT_* values for DTLS.
// The default cipher suites of a DTLS-SRTP endpoint: ECDHE with an ECDSA or RSA
// certificate and an AEAD cipher, nothing else (no CBC, DHE, ARIA, CCM, PSK).
// Six suites keep a ClientHello small enough that, with a 32-byte cookie, it
// fits one datagram at an MTU of 300 (some servers, Mbed TLS 2.28 and wolfSSL
// 5.5 among them, refuse a fragmented second ClientHello); node's longer list
// made it 270 bytes before the cookie. `ciphers` widens it.
inline constexpr std::string_view kDefaultCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
inline constexpr std::string_view kDefaultEcdhCurve = "auto";
inline constexpr std::string_view kDefaultMinVersion = "DTLSv1.2";
// The highest the linked OpenSSL 3.0 speaks.
inline constexpr std::string_view kDefaultMaxVersion = "DTLSv1.2";

// node's tls.getCiphers(): the lower-case names of the cipher suites DTLS 1.2
// can use with the linked OpenSSL, PSK suites included.
std::vector<std::string> get_ciphers();

// node's tls.rootCertificates, from the system CA bundle (read once, on first
// use; empty when the system has none).
const std::vector<std::string>& root_certificates();

class DtlsContext {
 public:
  // Validates `options` and builds the SSL_CTX. Codes: ERR_INVALID_ARG_VALUE,
  // ERR_DTLS_VERSION_UNSUPPORTED, ERR_CERT_KEY_MISMATCH, ERR_CRL_PEM_INVALID,
  // ERR_OUT_OF_RANGE, ERR_RANDOM.
  static Result<std::shared_ptr<const DtlsContext>> create(
      DtlsContextOptions options);

  SSL_CTX* get() const { return ctx_.get(); }
  const DtlsContextOptions& options() const { return options_; }
  // The ALPN list in wire format (RFC 7301 §3.1), empty when none.
  std::span<const std::uint8_t> alpn_wire() const { return alpn_wire_; }
  // Shared by every endpoint using this context (node's server.getTicketKeys /
  // setTicketKeys act on the server's context alike).
  TicketKeys& ticket_keys() const { return ticket_keys_; }
  // Whether handshakes offer (client) or accept (server) use_srtp: DTLS-SRTP.
  bool offers_srtp() const { return !options_.srtp_profiles.empty(); }
  // Whether it can serve a certificate (credentials or extra_credentials).
  bool has_certificate() const {
    return options_.credentials || !options_.extra_credentials.empty();
  }

 private:
  DtlsContext() = default;

  DtlsContextOptions options_;
  ossl::SslCtxPtr ctx_;
  std::vector<std::uint8_t> alpn_wire_;
  // Internally synchronized: set through a shared const context.
  mutable TicketKeys ticket_keys_;
};

// The SRTP protection profiles this project supports (RFC 5764 §4.1.2, RFC 7714
// §14.2).
std::span<const std::string_view> supported_srtp_profiles();

// Parses and checks a colon-separated profile list. ERR_INVALID_ARG_VALUE.
Result<std::vector<std::string>> parse_srtp_profiles(std::string_view list);

}  // namespace dtls

#endif  // DTLS_SRTP_TRANSPORT_DTLS_DTLS_CONTEXT_H_
