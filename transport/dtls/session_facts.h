// What node's session getters report of an established association (cipher,
// certificates, Finished messages, ...): read from its SSL while OpenSSL
// holds the association, and kept as SessionFacts once the SSL is let go
// (ReleasedSession), so that the getters answer the same either way.
#ifndef DTLS_SRTP_TRANSPORT_DTLS_SESSION_FACTS_H_
#define DTLS_SRTP_TRANSPORT_DTLS_SESSION_FACTS_H_

#include <openssl/ssl.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "certs/certificate.h"

namespace dtls {

struct CipherInfo {
  std::string name;  // OpenSSL's name, "ECDHE-ECDSA-AES128-GCM-SHA256"
  std::string
      standard_name;    // IETF name, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
  std::string version;  // "TLSv1.2"
};

// node's getEphemeralKeyInfo(): { type: "ECDH"/"DH", name, size }; `type` is
// empty when the key exchange was not ephemeral.
struct EphemeralKeyInfo {
  std::string type;
  std::string name;  // ECDH only: "prime256v1", "X25519"
  int size = 0;      // bits
};

// Each reads the live SSL.
std::optional<CipherInfo> cipher_info_of(const SSL* ssl);
std::string srtp_profile_of(const SSL* ssl);  // "" when none was agreed
std::string alpn_protocol_of(const SSL* ssl);
std::string servername_of(const SSL* ssl);
std::optional<certs::Certificate> peer_certificate_of(const SSL* ssl);
std::optional<certs::Certificate> certificate_of(const SSL* ssl);
// Ours (peer = false) or the peer's Finished verify_data.
std::vector<std::uint8_t> finished_of(const SSL* ssl, bool peer);
// node's spelling: "ECDSA+SHA256", "RSA-PSS+SHA256", ...
std::vector<std::string> shared_sigalgs_of(const SSL* ssl);
// The server's ephemeral key as its client saw it; nullopt when there is
// none yet, an empty type when the key exchange had none (plain PSK) and
// `open`.
std::optional<EphemeralKeyInfo> peer_ephemeral_key_of(const SSL* ssl,
                                                      bool open);
// DER of a session (node's session blobs); empty when OpenSSL cannot encode
// it.
std::vector<std::uint8_t> encode_session(SSL_SESSION* session);
// The ticket a client holds in `session`; empty when none.
std::vector<std::uint8_t> tls_ticket_of(const SSL_SESSION* session);

struct SslSessionFree {
  void operator()(SSL_SESSION* s) const { SSL_SESSION_free(s); }
};

// All of the above for a finished handshake, kept. About 1 KiB beside the
// SSL_SESSION, which also holds the peer's certificate.
struct SessionFacts {
  std::string protocol;
  std::optional<CipherInfo> cipher;
  std::string srtp_profile;
  std::string alpn_protocol;
  std::string servername;
  std::optional<certs::Certificate> peer_certificate;
  std::optional<certs::Certificate> certificate;
  bool reused = false;
  std::vector<std::uint8_t> finished;
  std::vector<std::uint8_t> peer_finished;
  std::vector<std::string> shared_sigalgs;
  std::optional<EphemeralKeyInfo> ephemeral_key;  // a client's only
  std::unique_ptr<SSL_SESSION, SslSessionFree> session;
  // RFC 5705 §4's seed: client_random + server_random.
  std::array<std::uint8_t, 64> randoms{};
  // What one record of application data may hold at the MTU
  // (DTLS_get_data_mtu).
  size_t data_mtu = 0;

  // `client`: whether ssl is the client end (the ephemeral key is kept for
  // a client only, as node reports it).
  static SessionFacts capture(const SSL* ssl, bool client);
};

}  // namespace dtls

#endif  // DTLS_SRTP_TRANSPORT_DTLS_SESSION_FACTS_H_
