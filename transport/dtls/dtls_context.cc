#include "transport/dtls/dtls_context.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>

#include "srtp/srtp_profile.h"

namespace dtls {
namespace {

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
  auto* s = sink(ssl);
  if (s == nullptr) return;
  if ((where & SSL_CB_LOOP) != 0) s->on_handshake_step();
  if ((where & SSL_CB_ALERT) != 0)
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

int servername_cb(SSL* ssl, int* alert, void* /*arg*/) {
  auto* s = sink(ssl);
  return s ? s->on_servername(alert) : SSL_TLSEXT_ERR_NOACK;
}

int new_session_cb(SSL* ssl, SSL_SESSION* session) {
  if (auto* s = sink(ssl)) s->on_new_session(session);
  return 0;  // not kept: the sink serialized what it wanted
}

int ticket_key_cb(SSL* ssl, unsigned char* name, unsigned char* iv,
                  EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac, int enc) {
  auto* s = sink(ssl);
  return s ? s->on_ticket_key(name, iv, cipher, mac, enc) : -1;
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

// Loads the certificate chains, one per key type (OpenSSL keeps one per slot;
// chain certificates go to the slot of the certificate set last).
Status use_credentials(SSL_CTX* ctx, const DtlsContextOptions& o) {
  std::vector<const certs::Credentials*> all;
  if (o.credentials) all.push_back(&*o.credentials);
  for (const auto& c : o.extra_credentials) all.push_back(&c);
  std::vector<int> types;
  for (const certs::Credentials* c : all) {
    int type = EVP_PKEY_get_base_id(c->key.get());
    if (std::find(types.begin(), types.end(), type) != types.end()) {
      return invalid(std::string("two certificates with ") + OBJ_nid2sn(type) +
                     " keys: give one per key type (RSA, ECDSA, Ed25519...)");
    }
    types.push_back(type);
    if (SSL_CTX_use_certificate(ctx, c->leaf().get()) != 1 ||
        SSL_CTX_use_PrivateKey(ctx, c->key.get()) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
      std::string detail = drain_openssl_errors();
      return make_error(
          "ERR_CERT_KEY_MISMATCH",
          "the key does not belong to the certificate (" + detail + ")");
    }
    for (size_t i = 1; i < c->chain.size(); ++i)
      SSL_CTX_add1_chain_cert(ctx, c->chain[i].get());
  }
  return {};
}

// A certificate given without its chain is completed from the trust store
// (node's `ca`, else the system's hashed directory). OpenSSL does that at every
// handshake (ssl_add_cert_chain: an X509_verify_cert of our own certificate
// and a failed stat per issuer looked up in the directory, at each end). Built
// here once, the same chain goes out each time; a self-signed WebRTC
// certificate gets an empty one. A build that fails (the store's CA below the
// security level) leaves the handshake to fail as before.
void build_chains(SSL_CTX* ctx) {
  X509* current = SSL_CTX_get0_certificate(ctx);  // the slot set last
  for (long op = SSL_CERT_SET_FIRST; SSL_CTX_set_current_cert(ctx, op) == 1;
       op = SSL_CERT_SET_NEXT) {
    STACK_OF(X509)* given = nullptr;
    SSL_CTX_get0_chain_certs(ctx, &given);
    if (given == nullptr)
      SSL_CTX_build_cert_chain(ctx, SSL_BUILD_CHAIN_FLAG_IGNORE_ERROR);
  }
  if (current != nullptr) SSL_CTX_select_current_cert(ctx, current);
}

Status use_crls(SSL_CTX* ctx, const std::vector<std::string>& crls) {
  if (crls.empty()) return {};
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  for (size_t i = 0; i < crls.size(); ++i) {
    ossl::BioPtr bio(
        BIO_new_mem_buf(crls[i].data(), static_cast<int>(crls[i].size())));
    int count = 0;
    while (X509_CRL* crl =
               PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr)) {
      X509_STORE_add_crl(store, crl);
      X509_CRL_free(crl);
      ++count;
    }
    drain_openssl_errors();  // the end of the PEM text reads as an error
    if (count == 0) {
      return make_error("ERR_CRL_PEM_INVALID",
                        "crl[" + std::to_string(i) + "]: no PEM X509 CRL");
    }
  }
  // node's crl: every certificate of the chain must not be revoked.
  X509_STORE_set_flags(store,
                       X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
  return {};
}

Status use_dhparam(SSL_CTX* ctx, const std::string& dhparam) {
  if (dhparam.empty()) return {};
  if (dhparam == "auto") {
    SSL_CTX_set_dh_auto(ctx, 1);
    return {};
  }
  ossl::BioPtr bio(
      BIO_new_mem_buf(dhparam.data(), static_cast<int>(dhparam.size())));
  ossl::EvpPkeyPtr params(PEM_read_bio_Parameters(bio.get(), nullptr));
  if (!params || EVP_PKEY_get_base_id(params.get()) != EVP_PKEY_DH) {
    drain_openssl_errors();
    return invalid("dhparam: not \"auto\" nor PEM DH parameters");
  }
  if (int bits = EVP_PKEY_get_bits(params.get()); bits < 2048) {
    return invalid("dhparam: " + std::to_string(bits) +
                   "-bit DH parameters are too small (at least 2048)");
  }
  if (SSL_CTX_set0_tmp_dh_pkey(ctx, params.get()) != 1) {
    return invalid("dhparam: OpenSSL refused the parameters: " +
                   drain_openssl_errors());
  }
  params.release();  // owned by the context now
  return {};
}

}  // namespace

TicketKeys::TicketKeys() {
  drawn_ = RAND_bytes(current_.data(), kSize) == 1;
  if (!drawn_) OPENSSL_cleanse(current_.data(), kSize);
}

std::array<std::uint8_t, TicketKeys::kSize> TicketKeys::get() const {
  std::lock_guard lock(mutex_);
  return current_;
}

Status TicketKeys::set(std::span<const std::uint8_t> keys) {
  if (keys.size() != kSize) {
    return invalid("ticket_keys must be 48 bytes, got " +
                   std::to_string(keys.size()));
  }
  std::lock_guard lock(mutex_);
  previous_ = current_;
  std::copy(keys.begin(), keys.end(), current_.begin());
  return {};
}

int TicketKeys::apply(unsigned char* name, unsigned char* iv,
                      EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac,
                      bool encrypt) const {
  std::array<std::uint8_t, kSize> key;
  int result = 1;
  {
    std::lock_guard lock(mutex_);
    if (encrypt) {
      key = current_;
    } else if (std::memcmp(name, current_.data(), 16) == 0) {
      key = current_;
    } else if (previous_ && std::memcmp(name, previous_->data(), 16) == 0) {
      key = *previous_;
      result = 2;  // decrypts, but issue a ticket under the current key
    } else {
      return 0;  // unknown key: a full handshake
    }
  }
  if (encrypt) {
    std::memcpy(name, key.data(), 16);
    if (RAND_bytes(iv, EVP_MAX_IV_LENGTH) != 1) return -1;
  }
  // node's layout: name, HMAC key, AES key, 16 bytes each (RFC 5077 §4's
  // recommended ticket construction).
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, key.data() + 16,
                                        16),
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end()};
  int ok = EVP_MAC_CTX_set_params(mac, params) == 1 &&
           (encrypt ? EVP_EncryptInit_ex(cipher, EVP_aes_128_cbc(), nullptr,
                                         key.data() + 32, iv)
                    : EVP_DecryptInit_ex(cipher, EVP_aes_128_cbc(), nullptr,
                                         key.data() + 32, iv)) == 1;
  OPENSSL_cleanse(key.data(), key.size());
  return ok ? result : -1;
}

std::vector<std::string> get_ciphers() {
  ossl::SslCtxPtr ctx(SSL_CTX_new(DTLS_method()));
  ossl::SslPtr ssl(ctx ? SSL_new(ctx.get()) : nullptr);
  std::vector<std::string> out;
  if (!ssl) return out;
  SSL_set_max_proto_version(ssl.get(), DTLS1_2_VERSION);
  SSL_set_cipher_list(ssl.get(), "ALL");
  // PSK suites count only where a PSK callback exists.
  SSL_set_psk_client_callback(
      ssl.get(),
      [](SSL*, const char*, char*, unsigned int, unsigned char*,
         unsigned int) -> unsigned int { return 0; });
  STACK_OF(SSL_CIPHER)* list = SSL_get1_supported_ciphers(ssl.get());
  for (int i = 0; list && i < sk_SSL_CIPHER_num(list); ++i) {
    std::string name = SSL_CIPHER_get_name(sk_SSL_CIPHER_value(list, i));
    for (char& c : name)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.push_back(std::move(name));
  }
  sk_SSL_CIPHER_free(list);
  drain_openssl_errors();
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

const std::vector<std::string>& root_certificates() {
  static const std::vector<std::string> roots = [] {
    std::vector<std::string> out;
    // Where OpenSSL's default trust store reads its bundle ($SSL_CERT_FILE
    // first, as OpenSSL does).
    const char* env = std::getenv(X509_get_default_cert_file_env());
    const char* file = env && *env ? env : X509_get_default_cert_file();
    ossl::BioPtr in(BIO_new_file(file, "r"));
    if (!in) {
      drain_openssl_errors();
      return out;
    }
    while (X509* x = PEM_read_bio_X509(in.get(), nullptr, nullptr, nullptr)) {
      ossl::X509Ptr cert(x);
      ossl::BioPtr mem(BIO_new(BIO_s_mem()));
      if (PEM_write_bio_X509(mem.get(), cert.get()) == 1) {
        char* data = nullptr;
        long len = BIO_get_mem_data(mem.get(), &data);
        out.emplace_back(data, static_cast<size_t>(len));
      }
    }
    drain_openssl_errors();
    return out;
  }();
  return roots;
}

std::span<const std::string_view> supported_srtp_profiles() {
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> v;
    for (const srtp::ProfileInfo& p : srtp::all_profiles()) v.push_back(p.name);
    return v;
  }();
  return names;
}

Result<std::vector<std::string>> parse_srtp_profiles(std::string_view list) {
  std::vector<std::string> out;
  if (list.empty()) return out;
  size_t start = 0;
  while (true) {
    size_t colon = list.find(':', start);
    std::string_view written = list.substr(start, colon - start);
    const auto profile = srtp::profile_from_any_name(written);
    if (!profile) {
      std::string known;
      for (std::string_view n : supported_srtp_profiles())
        known += (known.empty() ? "" : ", ") + std::string(n);
      return invalid("srtp: unknown profile \"" + std::string(written) +
                     "\" (" + known +
                     ", or their RFC 5764 and crypto-suite names)");
    }
    // OpenSSL's name, whichever was written.
    const std::string_view name = srtp::profile_info(*profile).name;
    if (std::find(out.begin(), out.end(), name) != out.end()) {
      return invalid("srtp: profile \"" + std::string(written) +
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
  if (!self->ticket_keys_.drawn()) return random_failure("session ticket keys");
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
  // Encrypt-then-MAC (RFC 7366) is off: OpenSSL 3.0 answers a DTLS record
  // that fails its encrypt-then-MAC check with a fatal bad_record_mac, so one
  // forged record would end a CBC session. Without it, a record that fails its
  // MAC is silently discarded (RFC 6347 §4.1.2.7), and the record guard knows
  // a CBC record's smallest size. The default cipher list has no CBC suites.
  SSL_CTX_set_options(ctx, SSL_OP_NO_ENCRYPT_THEN_MAC);
  if (options.honor_cipher_order)
    SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);

  // Resumption. Servers keep no session cache (memory per session for 300 s
  // on a server holding thousands): RFC 5077 tickets carry the state instead.
  // Clients hand sessions out through on_new_session and keep none.
  if (options.session_timeout < std::chrono::seconds(1) ||
      options.session_timeout > std::chrono::hours(24 * 7)) {
    return make_error("ERR_OUT_OF_RANGE",
                      "session_timeout must be 1 s..7 days, got " +
                          std::to_string(options.session_timeout.count()) +
                          " s");
  }
  if (!options.ticket_keys.empty()) {
    if (Status st = self->ticket_keys_.set(options.ticket_keys); !st.ok())
      return st.error();
  }
  SSL_CTX_set_session_cache_mode(
      ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx, new_session_cb);
  SSL_CTX_set_timeout(ctx, static_cast<long>(options.session_timeout.count()));
  // Resuming a session whose client was verified needs a session id context
  // (else OpenSSL fails such a resumption outright).
  static constexpr unsigned char kSessionIdContext[] = "dtls-srtp";
  SSL_CTX_set_session_id_context(ctx, kSessionIdContext,
                                 sizeof(kSessionIdContext) - 1);
  if (options.session_tickets) {
    SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_key_cb);
  } else {
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  }

  const std::string ciphers =
      options.ciphers.empty() ? std::string(kDefaultCiphers) : options.ciphers;
  if (SSL_CTX_set_cipher_list(ctx, ciphers.c_str()) != 1) {
    drain_openssl_errors();
    return invalid("ciphers: no usable cipher in \"" + options.ciphers + "\"");
  }
  if (options.ecdh_curve.empty()) {
    return invalid("ecdh_curve: empty (\"auto\" or a list like \"P-256\")");
  }
  if (options.ecdh_curve != "auto" &&
      SSL_CTX_set1_groups_list(ctx, options.ecdh_curve.c_str()) != 1) {
    drain_openssl_errors();
    return invalid("ecdh_curve: unknown curve in \"" + options.ecdh_curve +
                   "\"");
  }
  if (!options.sig_algs.empty() &&
      SSL_CTX_set1_sigalgs_list(ctx, options.sig_algs.c_str()) != 1) {
    drain_openssl_errors();
    return invalid("sig_algs: not a signature algorithm list: \"" +
                   options.sig_algs + "\"");
  }
  if (Status st = use_dhparam(ctx, options.dhparam); !st.ok())
    return st.error();
  if (!profiles->empty()) {
    std::string list;
    for (const auto& p : *profiles) list += (list.empty() ? "" : ":") + p;
    // Returns 0 on success (sic).
    if (SSL_CTX_set_tlsext_use_srtp(ctx, list.c_str()) != 0) {
      return invalid("srtp: OpenSSL refused \"" + list +
                     "\": " + drain_openssl_errors());
    }
  }
  if (Status st = use_credentials(ctx, options); !st.ok()) return st.error();
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
  if (Status st = use_crls(ctx, options.crl); !st.ok()) return st.error();
  build_chains(ctx);
  drain_openssl_errors();

  SSL_CTX_set_keylog_callback(ctx, keylog_cb);
  SSL_CTX_set_tlsext_servername_callback(ctx, servername_cb);
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
