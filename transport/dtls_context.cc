#include "transport/dtls_context.h"

#include <openssl/err.h>

#include <algorithm>
#include <array>

namespace dtls {
namespace {

constexpr std::array<std::string_view, 4> kSrtpProfiles = {
    "SRTP_AES128_CM_SHA1_80",
    "SRTP_AES128_CM_SHA1_32",
    "SRTP_AEAD_AES_128_GCM",
    "SRTP_AEAD_AES_256_GCM",
};

Error invalid(std::string message) {
  return make_error("ERR_INVALID_ARG_VALUE", std::move(message));
}

SslEventSink* sink(const SSL* ssl) {
  return static_cast<SslEventSink*>(SSL_get_app_data(ssl));
}

void keylog_cb(const SSL* ssl, const char* line) {
  if (auto* s = sink(ssl)) s->on_keylog_line(line);
}

void info_cb(const SSL* ssl, int where, int ret) {
  if ((where & SSL_CB_ALERT) == 0) return;
  if (auto* s = sink(ssl))
    s->on_alert((where & SSL_CB_WRITE) != 0, ret >> 8, ret & 0xff);
}

int cert_verify_cb(X509_STORE_CTX* store, void* /*arg*/) {
  SSL* ssl = static_cast<SSL*>(
      X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* s = ssl ? sink(ssl) : nullptr;
  return s ? s->on_verify_certificate(store) : 0;
}

int client_hello_cb(SSL* ssl, int* alert, void* /*arg*/) {
  auto* s = sink(ssl);
  return s ? s->on_client_hello(alert) : SSL_CLIENT_HELLO_SUCCESS;
}

int verify_cookie_cb(SSL* ssl, const unsigned char* cookie, unsigned int len) {
  auto* s = sink(ssl);
  return s && s->on_verify_cookie({cookie, len}) ? 1 : 0;
}

int generate_cookie_cb(SSL* /*ssl*/, unsigned char* /*cookie*/,
                       unsigned int* /*len*/) {
  // Cookies are issued by the CookieGate before any SSL object exists; an SSL
  // object that asks for one has been handed a ClientHello the gate did not
  // accept.
  return 0;
}

// Server side of ALPN (RFC 7301 §3.2): our preference order; no overlap is a
// fatal no_application_protocol alert, as node's server does.
int alpn_select_cb(SSL* /*ssl*/, const unsigned char** out,
                   unsigned char* outlen, const unsigned char* in,
                   unsigned int inlen, void* arg) {
  const auto* ctx = static_cast<const DtlsContext*>(arg);
  std::span<const std::uint8_t> ours = ctx->alpn_wire();
  for (size_t i = 0; i < ours.size(); i += 1 + ours[i]) {
    for (unsigned int j = 0; j < inlen; j += 1u + in[j]) {
      if (ours[i] == in[j] && j + 1u + in[j] <= inlen &&
          std::equal(ours.begin() + i + 1, ours.begin() + i + 1 + ours[i],
                     in + j + 1)) {
        *out = in + j + 1;
        *outlen = in[j];
        return SSL_TLSEXT_ERR_OK;
      }
    }
  }
  return SSL_TLSEXT_ERR_ALERT_FATAL;
}

Result<int> parse_version(std::string_view name, const char* which) {
  if (name == "DTLSv1" || name == "DTLSv1.0") return DTLS1_VERSION;
  if (name == "DTLSv1.2") return DTLS1_2_VERSION;
  if (name == "DTLSv1.3") {
    return make_error("ERR_DTLS_VERSION_UNSUPPORTED",
                      std::string(which) +
                          " DTLSv1.3 is not supported by the linked " +
                          OpenSSL_version(OPENSSL_VERSION));
  }
  return invalid(std::string(which) +
                 " must be \"DTLSv1\" or \"DTLSv1.2\", got \"" +
                 std::string(name) + "\"");
}

}  // namespace

std::span<const std::string_view> supported_srtp_profiles() {
  return kSrtpProfiles;
}

Result<std::vector<std::string>> parse_srtp_profiles(std::string_view list) {
  std::vector<std::string> out;
  if (list.empty()) return out;
  size_t start = 0;
  while (true) {
    size_t colon = list.find(':', start);
    std::string_view name = list.substr(start, colon - start);
    if (std::find(kSrtpProfiles.begin(), kSrtpProfiles.end(), name) ==
        kSrtpProfiles.end()) {
      return invalid("srtp: unknown profile \"" + std::string(name) +
                     "\" (SRTP_AES128_CM_SHA1_80, SRTP_AES128_CM_SHA1_32, "
                     "SRTP_AEAD_AES_128_GCM, SRTP_AEAD_AES_256_GCM)");
    }
    if (std::find(out.begin(), out.end(), name) != out.end()) {
      return invalid("srtp: profile \"" + std::string(name) +
                     "\" is listed twice");
    }
    out.emplace_back(name);
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  return out;
}

Result<std::shared_ptr<const DtlsContext>> DtlsContext::create(
    DtlsContextOptions options) {
  std::shared_ptr<DtlsContext> self(new DtlsContext());
  auto min_v = parse_version(options.min_version, "min_version:");
  if (!min_v.ok()) return min_v.error();
  auto max_v = parse_version(options.max_version, "max_version:");
  if (!max_v.ok()) return max_v.error();
  // DTLS version numbers count down (1.0 = 0xFEFF, 1.2 = 0xFEFD).
  if (*min_v < *max_v) return invalid("min_version is above max_version");

  auto profiles = parse_srtp_profiles(options.srtp_profiles);
  if (!profiles.ok()) return profiles.error();
  if (options.require_srtp && profiles->empty()) {
    return invalid("require_srtp needs a non-empty srtp profile list");
  }
  for (const std::string& p : options.alpn_protocols) {
    // RFC 7301 §3.1: ProtocolName<1..2^8-1>, ProtocolNameList<2..2^16-1>.
    if (p.empty() || p.size() > 255) {
      return invalid("alpn: protocol names must be 1..255 bytes");
    }
    self->alpn_wire_.push_back(static_cast<std::uint8_t>(p.size()));
    self->alpn_wire_.insert(self->alpn_wire_.end(), p.begin(), p.end());
  }
  if (self->alpn_wire_.size() > 65535)
    return invalid("alpn: the list is too long");

  self->ctx_.reset(SSL_CTX_new(DTLS_method()));
  SSL_CTX* ctx = self->ctx_.get();
  if (ctx == nullptr)
    return make_error("ERR_DTLS_INTERNAL",
                      "SSL_CTX_new: " + drain_openssl_errors());
  SSL_CTX_set_min_proto_version(ctx, *min_v);
  SSL_CTX_set_max_proto_version(ctx, *max_v);
  // The MTU is ours to set (SSL_set_mtu per association), never probed;
  // renegotiation is refused (a DoS vector with nothing to gain for media).
  SSL_CTX_set_options(ctx, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_RENEGOTIATION);
  if (!options.session_tickets) SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);

  if (!options.ciphers.empty() &&
      SSL_CTX_set_cipher_list(ctx, options.ciphers.c_str()) != 1) {
    drain_openssl_errors();
    return invalid("ciphers: no usable cipher in \"" + options.ciphers + "\"");
  }
  if (!profiles->empty()) {
    std::string list;
    for (const auto& p : *profiles) list += (list.empty() ? "" : ":") + p;
    // Returns 0 on success (sic).
    if (SSL_CTX_set_tlsext_use_srtp(ctx, list.c_str()) != 0) {
      return invalid("srtp: OpenSSL refused \"" + list +
                     "\": " + drain_openssl_errors());
    }
  }
  if (options.credentials) {
    const certs::Credentials& c = *options.credentials;
    if (SSL_CTX_use_certificate(ctx, c.leaf().get()) != 1 ||
        SSL_CTX_use_PrivateKey(ctx, c.key.get()) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
      drain_openssl_errors();
      return make_error("ERR_CERT_KEY_MISMATCH",
                        "the key does not belong to the certificate");
    }
    for (size_t i = 1; i < c.chain.size(); ++i)
      SSL_CTX_add1_chain_cert(ctx, c.chain[i].get());
  }
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  if (options.ca.empty()) {
    // The hashed directory ($SSL_CERT_DIR or OpenSSL's default) is read lazily,
    // per issuer looked up. SSL_CTX_set_default_verify_paths would also parse
    // the whole CA bundle file up front: 31 ms per context here, wasted on
    // every pinning (WebRTC) context.
    SSL_CTX_set_default_verify_dir(ctx);
  } else {
    for (const auto& cert : options.ca) X509_STORE_add_cert(store, cert.get());
  }
  drain_openssl_errors();

  SSL_CTX_set_keylog_callback(ctx, keylog_cb);
  SSL_CTX_set_info_callback(ctx, info_cb);
  SSL_CTX_set_cert_verify_callback(ctx, cert_verify_cb, nullptr);
  SSL_CTX_set_client_hello_cb(ctx, client_hello_cb, nullptr);
  SSL_CTX_set_cookie_generate_cb(ctx, generate_cookie_cb);
  SSL_CTX_set_cookie_verify_cb(ctx, verify_cookie_cb);
  if (!self->alpn_wire_.empty()) {
    SSL_CTX_set_alpn_select_cb(ctx, alpn_select_cb, self.get());
  }
  self->options_ = std::move(options);
  return std::shared_ptr<const DtlsContext>(std::move(self));
}

}  // namespace dtls
