#include "tools/bench/openssl_memory.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/srtp.h>
#include <openssl/ssl.h>
#include <srtp2/srtp.h>

#include <chrono>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "srtp/libsrtp_policy.h"
#include "srtp/srtp_context.h"
#include "srtp/srtp_keys.h"
#include "tools/bench/bench_support.h"

namespace dtls::bench {
namespace {

struct SslCtxFree {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;
struct SslFree {
  void operator()(SSL* s) const { SSL_free(s); }
};
using SslPtr = std::unique_ptr<SSL, SslFree>;
struct SrtpFree {
  void operator()(srtp_ctx_t_* s) const { srtp_dealloc(s); }
};
using SrtpPtr = std::unique_ptr<srtp_ctx_t_, SrtpFree>;

SslCtxPtr memory_ctx(bool server, const Identity& id) {
  SslCtxPtr ctx(
      SSL_CTX_new(server ? DTLS_server_method() : DTLS_client_method()));
  BIO* cb = BIO_new_mem_buf(id.cert.data(), static_cast<int>(id.cert.size()));
  BIO* kb = BIO_new_mem_buf(id.key.data(), static_cast<int>(id.key.size()));
  X509* cert = PEM_read_bio_X509(cb, nullptr, nullptr, nullptr);
  EVP_PKEY* key = PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr);
  SSL_CTX_use_certificate(ctx.get(), cert);
  SSL_CTX_use_PrivateKey(ctx.get(), key);
  X509_free(cert);
  EVP_PKEY_free(key);
  BIO_free(cb);
  BIO_free(kb);
  SSL_CTX_set_min_proto_version(ctx.get(), DTLS1_2_VERSION);
  // Mutual authentication with a self-signed peer, as WebRTC does (the
  // fingerprint check itself is a memcmp, left out).
  SSL_CTX_set_verify(ctx.get(),
                     SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                     [](int, X509_STORE_CTX*) { return 1; });
  SSL_CTX_set_tlsext_use_srtp(ctx.get(),
                              "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80");
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_QUERY_MTU | SSL_OP_NO_TICKET);
  return ctx;
}

// Moves what `from` wrote into `to`'s read BIO, one write at a time.
void pump(BIO* from, BIO* to) {
  char buf[4096];
  int n;
  while ((n = BIO_read(from, buf, sizeof(buf))) > 0) BIO_write(to, buf, n);
}

struct MemoryPair {
  SslPtr client, server;
};

// One full handshake over memory BIOs; nullopt when it does not finish.
std::optional<MemoryPair> memory_handshake(SSL_CTX* cctx, SSL_CTX* sctx) {
  MemoryPair p{SslPtr(SSL_new(cctx)), SslPtr(SSL_new(sctx))};
  SSL* c = p.client.get();
  SSL* s = p.server.get();
  BIO *c_in = BIO_new(BIO_s_mem()), *c_out = BIO_new(BIO_s_mem());
  BIO *s_in = BIO_new(BIO_s_mem()), *s_out = BIO_new(BIO_s_mem());
  BIO_set_mem_eof_return(c_in, -1);
  BIO_set_mem_eof_return(s_in, -1);
  SSL_set_bio(c, c_in, c_out);
  SSL_set_bio(s, s_in, s_out);
  DTLS_set_link_mtu(c, 1200);
  DTLS_set_link_mtu(s, 1200);
  SSL_set_connect_state(c);
  SSL_set_accept_state(s);
  for (int round = 0; round < 20; ++round) {
    SSL_do_handshake(c);
    pump(c_out, s_in);
    SSL_do_handshake(s);
    pump(s_out, c_in);
    if (SSL_is_init_finished(c) && SSL_is_init_finished(s)) return p;
  }
  ERR_clear_error();
  return std::nullopt;
}

}  // namespace

Result<double> openssl_memory_handshakes_per_second(int count, int cpu) {
  if (cpu >= 0) {
    return on_cpu(
        cpu, [&] { return openssl_memory_handshakes_per_second(count, -1); });
  }
  auto s_id = identity(), c_id = identity();
  if (!s_id.ok() || !c_id.ok()) return make_error("ERR_CERT_GENERATE", "cert");
  SslCtxPtr sctx = memory_ctx(true, *s_id), cctx = memory_ctx(false, *c_id);
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < count; ++i) {
    auto p = memory_handshake(cctx.get(), sctx.get());
    unsigned char keys[2][60];
    const bool ok = p &&
                    SSL_export_keying_material(p->client.get(), keys[0], 60,
                                               "EXTRACTOR-dtls_srtp", 19,
                                               nullptr, 0, 0) == 1 &&
                    SSL_export_keying_material(p->server.get(), keys[1], 60,
                                               "EXTRACTOR-dtls_srtp", 19,
                                               nullptr, 0, 0) == 1;
    if (!ok) {
      ERR_clear_error();
      return make_error("ERR_BENCH_HANDSHAKE", "in-memory handshake failed");
    }
  }
  const double s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count();
  return count / s;
}

Result<SessionFloor> openssl_session_floor(int count) {
  if (count < 1) return make_error("ERR_INVALID_ARG_VALUE", "count < 1");
  if (Status st = srtp::ensure_initialized(); !st.ok()) return st.error();
  auto s_id = identity(), c_id = identity();
  if (!s_id.ok() || !c_id.ok()) return make_error("ERR_CERT_GENERATE", "cert");
  SslCtxPtr sctx = memory_ctx(true, *s_id), cctx = memory_ctx(false, *c_id);
  struct Held {
    SslPtr ssl;
    SrtpPtr in, out;
  };
  std::vector<Held> held;
  std::vector<SslPtr> clients;
  held.reserve(static_cast<size_t>(count));
  clients.reserve(static_cast<size_t>(count));
  const double before = heap_in_use_kib();
  for (int i = 0; i < count; ++i) {
    auto p = memory_handshake(cctx.get(), sctx.get());
    if (!p) return make_error("ERR_BENCH_HANDSHAKE", "handshake failed");
    SSL* s = p->server.get();
    const SRTP_PROTECTION_PROFILE* chosen = SSL_get_selected_srtp_profile(s);
    auto profile =
        chosen ? srtp::profile_from_name(chosen->name) : std::nullopt;
    if (!profile)
      return make_error("ERR_SRTP_NOT_NEGOTIATED", "no SRTP profile agreed");
    std::vector<std::uint8_t> material(
        srtp::SrtpKeys::material_length(*profile));
    if (SSL_export_keying_material(
            s, material.data(), material.size(), srtp::kExporterLabel.data(),
            srtp::kExporterLabel.size(), nullptr, 0, 0) != 1) {
      ERR_clear_error();
      return make_error("ERR_BENCH_HANDSHAKE", "keying export failed");
    }
    auto keys = srtp::SrtpKeys::split_and_wipe(*profile, material);
    if (!keys.ok()) return keys.error();
    const auto out_master = keys->outbound_master(srtp::Side::kServer);
    const auto in_master = keys->inbound_master(srtp::Side::kServer);
    srtp_t in = nullptr, out = nullptr;
    if (srtp::create_libsrtp_session(&out, *profile, out_master, true, 1024,
                                     false) != srtp_err_status_ok ||
        srtp::create_libsrtp_session(&in, *profile, in_master, false, 1024,
                                     false) != srtp_err_status_ok) {
      if (out) srtp_dealloc(out);
      return make_error("ERR_SRTP_INIT", "libsrtp refused the session");
    }
    // What a stack must keep of an established session: no record buffers
    // (OpenSSL would hold ~18 KiB read and write buffers), no memory BIOs.
    SSL_free_buffers(s);
    SSL_set_bio(s, BIO_new(BIO_s_null()), BIO_new(BIO_s_null()));
    held.push_back({std::move(p->server), SrtpPtr(in), SrtpPtr(out)});
    clients.push_back(std::move(p->client));
  }
  clients.clear();
  SessionFloor f;
  f.sessions = count;
  f.kib_per_session = (heap_in_use_kib() - before) / count;
  return f;
}

}  // namespace dtls::bench
