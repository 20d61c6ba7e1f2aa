#include "transport/dtls/session_facts.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/srtp.h>
#include <openssl/x509.h>

#include <algorithm>

#include "certs/openssl_ptr.h"

namespace dtls {

std::optional<CipherInfo> cipher_info_of(const SSL* ssl) {
  const SSL_CIPHER* c = SSL_get_current_cipher(ssl);
  if (c == nullptr) return std::nullopt;
  const char* standard = SSL_CIPHER_standard_name(c);
  return CipherInfo{SSL_CIPHER_get_name(c), standard ? standard : "",
                    SSL_CIPHER_get_version(c)};
}

std::string srtp_profile_of(const SSL* ssl) {
  // OpenSSL 3.0 takes a non-const SSL here but only reads it.
  const SRTP_PROTECTION_PROFILE* p =
      SSL_get_selected_srtp_profile(const_cast<SSL*>(ssl));
  return p ? p->name : "";
}

std::string alpn_protocol_of(const SSL* ssl) {
  const unsigned char* data = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(ssl, &data, &len);
  return std::string(reinterpret_cast<const char*>(data), len);
}

std::string servername_of(const SSL* ssl) {
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  return name ? name : "";
}

std::optional<certs::Certificate> peer_certificate_of(const SSL* ssl) {
  X509* x = SSL_get1_peer_certificate(ssl);
  if (x == nullptr) return std::nullopt;
  return certs::Certificate(ossl::X509Ptr(x));
}

std::optional<certs::Certificate> certificate_of(const SSL* ssl) {
  X509* x = SSL_get_certificate(ssl);
  if (x == nullptr) return std::nullopt;
  X509_up_ref(x);
  return certs::Certificate(ossl::X509Ptr(x));
}

std::vector<std::uint8_t> finished_of(const SSL* ssl, bool peer) {
  std::array<std::uint8_t, EVP_MAX_MD_SIZE> buf{};
  const size_t n = peer ? SSL_get_peer_finished(ssl, buf.data(), buf.size())
                        : SSL_get_finished(ssl, buf.data(), buf.size());
  return {buf.begin(), buf.begin() + std::min(n, buf.size())};
}

std::vector<std::string> shared_sigalgs_of(const SSL* ssl) {
  // OpenSSL 3.0 takes a non-const SSL here but only reads it.
  SSL* s = const_cast<SSL*>(ssl);
  std::vector<std::string> out;
  int n =
      SSL_get_shared_sigalgs(s, 0, nullptr, nullptr, nullptr, nullptr, nullptr);
  for (int i = 0; i < n; ++i) {
    int sign = 0, hash = 0;
    SSL_get_shared_sigalgs(s, i, &sign, &hash, nullptr, nullptr, nullptr);
    std::string name;
    // node's spelling (TLSSocket.getSharedSigalgs).
    switch (sign) {
      case EVP_PKEY_RSA:
        name = "RSA";
        break;
      case EVP_PKEY_RSA_PSS:
        name = "RSA-PSS";
        break;
      case EVP_PKEY_EC:
        name = "ECDSA";
        break;
      case NID_ED25519:
        out.push_back("Ed25519");
        continue;
      case NID_ED448:
        out.push_back("Ed448");
        continue;
      default:
        name = OBJ_nid2ln(sign);
    }
    name += "+";
    name += hash == NID_undef ? "UNDEF" : OBJ_nid2sn(hash);
    out.push_back(std::move(name));
  }
  return out;
}

std::optional<EphemeralKeyInfo> peer_ephemeral_key_of(const SSL* ssl,
                                                      bool open) {
  EVP_PKEY* key = nullptr;
  if (SSL_get_peer_tmp_key(const_cast<SSL*>(ssl), &key) != 1) {
    ERR_clear_error();
    // Open without one: the key exchange was not ephemeral (plain PSK).
    if (open) return EphemeralKeyInfo{};
    return std::nullopt;
  }
  ossl::EvpPkeyPtr owned(key);
  EphemeralKeyInfo info;
  info.size = EVP_PKEY_get_bits(key);
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_DH:
      info.type = "DH";
      break;
    case EVP_PKEY_EC: {
      info.type = "ECDH";
      char group[64] = {};
      size_t len = 0;
      if (EVP_PKEY_get_group_name(key, group, sizeof(group), &len) == 1) {
        // node reports the short name of the curve ("prime256v1").
        int nid = OBJ_txt2nid(group);
        info.name = nid != NID_undef ? OBJ_nid2sn(nid) : group;
      }
      break;
    }
    case EVP_PKEY_X25519:
      info.type = "ECDH";
      info.name = "X25519";
      break;
    case EVP_PKEY_X448:
      info.type = "ECDH";
      info.name = "X448";
      break;
    default:
      break;
  }
  return info;
}

std::vector<std::uint8_t> encode_session(SSL_SESSION* session) {
  int len = session ? i2d_SSL_SESSION(session, nullptr) : 0;
  if (len <= 0) return {};
  std::vector<std::uint8_t> der(static_cast<size_t>(len));
  unsigned char* p = der.data();
  i2d_SSL_SESSION(session, &p);
  return der;
}

std::vector<std::uint8_t> tls_ticket_of(const SSL_SESSION* session) {
  if (session == nullptr || !SSL_SESSION_has_ticket(session)) return {};
  const unsigned char* tick = nullptr;
  size_t len = 0;
  SSL_SESSION_get0_ticket(session, &tick, &len);
  return {tick, tick + len};
}

SessionFacts SessionFacts::capture(const SSL* ssl, bool client) {
  SessionFacts f;
  f.protocol = SSL_get_version(ssl);
  f.cipher = cipher_info_of(ssl);
  f.srtp_profile = srtp_profile_of(ssl);
  f.alpn_protocol = alpn_protocol_of(ssl);
  f.servername = servername_of(ssl);
  f.peer_certificate = peer_certificate_of(ssl);
  f.certificate = certificate_of(ssl);
  f.reused = SSL_session_reused(ssl) == 1;
  f.finished = finished_of(ssl, false);
  f.peer_finished = finished_of(ssl, true);
  f.shared_sigalgs = shared_sigalgs_of(ssl);
  if (client) f.ephemeral_key = peer_ephemeral_key_of(ssl, true);
  f.session.reset(SSL_get1_session(const_cast<SSL*>(ssl)));
  SSL_get_client_random(ssl, f.randoms.data(), 32);
  SSL_get_server_random(ssl, f.randoms.data() + 32, 32);
  f.data_mtu = DTLS_get_data_mtu(ssl);
  return f;
}

}  // namespace dtls
