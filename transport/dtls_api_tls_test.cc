// node:tls parity through the API: the TLS options users bring from node
// (keys, PFX, PSK, SNI, tickets, identity checks) behave as they do there.
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "certs/credentials.h"
#include "certs/generate.h"
#include "transport/dtls_api.h"
#include "transport/dtls_api_test_support.h"

namespace dtls {
namespace {

using testing_support::Loop;
using testing_support::pem;
using testing_support::ready;

// Connects and waits for the handshake; the Session (open or failed).
Session open_session(Loop& loop, std::uint16_t port, ConnectOptions o) {
  auto s = connect(loop.get(), "127.0.0.1", port, std::move(o));
  EXPECT_TRUE(s.ok()) << s.error().to_string();
  if (!s.ok()) return {};
  auto opened = s->opened();
  EXPECT_TRUE(loop.run_until([&] { return ready(opened); }));
  return *s;
}

// A CA-less client: the server's self-signed certificate does not verify,
// which reject_unauthorized = false reports and accepts (node's behaviour).
ConnectOptions plain_client() {
  ConnectOptions o;
  o.reject_unauthorized = false;
  return o;
}

ListenOptions plain_server() {
  ListenOptions o;
  o.cert = pem(0).cert;
  o.key = pem(0).key;
  o.host = "127.0.0.1";
  o.port = 0;
  return o;
}

struct RsaPem {
  certs::Credentials creds;
  std::string cert, key;
};

const RsaPem& rsa_pem() {
  static const RsaPem r = [] {
    certs::GenerateOptions g;
    g.key_type = certs::KeyType::kRsa;
    auto c = std::move(certs::generate_certificate(g)).value();
    std::string cert = c.leaf().to_pem(), key = c.key.to_pem();
    return RsaPem{std::move(c), std::move(cert), std::move(key)};
  }();
  return r;
}

bool peer_is(const Session& s, const std::string& cert_pem) {
  auto peer = s.peer_certificate();
  return peer && peer->to_pem() == cert_pem;
}

TEST(DtlsApiTls, TlsOptionErrorsFailAtTheCall) {
  Loop loop;
  struct Case {
    const char* name;
    std::function<void(ListenOptions&)> mutate;
    const char* code;
  } cases[] = {
      {"tls version name", [](ListenOptions& o) { o.min_version = "TLSv1.2"; },
       "ERR_INVALID_ARG_VALUE"},
      {"dtls 1.3", [](ListenOptions& o) { o.max_version = "DTLSv1.3"; },
       "ERR_DTLS_VERSION_UNSUPPORTED"},
      {"min above max", [](ListenOptions& o) { o.max_version = "DTLSv1"; },
       "ERR_INVALID_ARG_VALUE"},
      {"key without cert",
       [](ListenOptions& o) {
         o.extra_keys = {{rsa_pem().key, {}}};
       },
       "ERR_INVALID_ARG_VALUE"},
      {"key for no cert",
       [](ListenOptions& o) {
         o.extra_certs = {rsa_pem().cert};
         o.extra_keys = {{pem(1).key, {}}};
       },
       "ERR_CERT_KEY_MISMATCH"},
      {"two ec certs",
       [](ListenOptions& o) {
         o.extra_certs = {pem(1).cert};
         o.extra_keys = {{pem(1).key, {}}};
       },
       "ERR_INVALID_ARG_VALUE"},
      {"pfx garbage",
       [](ListenOptions& o) {
         o.pfx = {{{1, 2, 3}, {}}};
       },
       "ERR_PKCS12_INVALID"},
      {"pfx passphrase",
       [](ListenOptions& o) {
         o.cert.clear();
         o.key.clear();
         o.pfx = {{certs::to_pkcs12(rsa_pem().creds, "right"), "wrong"}};
       },
       "ERR_KEY_PASSPHRASE"},
      {"crl garbage", [](ListenOptions& o) { o.crl = {"junk"}; },
       "ERR_CRL_PEM_INVALID"},
      {"ecdh curve", [](ListenOptions& o) { o.ecdh_curve = "P-123"; },
       "ERR_INVALID_ARG_VALUE"},
      {"sigalgs", [](ListenOptions& o) { o.sig_algs = "FOO+SHA256"; },
       "ERR_INVALID_ARG_VALUE"},
      {"dhparam", [](ListenOptions& o) { o.dhparam = "junk"; },
       "ERR_INVALID_ARG_VALUE"},
      {"ticket keys",
       [](ListenOptions& o) {
         o.ticket_keys = {1, 2, 3};
       },
       "ERR_INVALID_ARG_VALUE"},
      {"session timeout",
       [](ListenOptions& o) { o.session_timeout = std::chrono::seconds(0); },
       "ERR_OUT_OF_RANGE"},
      {"psk hint",
       [](ListenOptions& o) { o.psk_identity_hint = std::string(129, 'h'); },
       "ERR_INVALID_ARG_VALUE"},
      {"no cert, no psk",
       [](ListenOptions& o) {
         o.cert.clear();
         o.key.clear();
       },
       "ERR_INVALID_ARG_VALUE"},
  };
  for (const Case& c : cases) {
    ListenOptions o = plain_server();
    c.mutate(o);
    auto e = listen(
        loop.get(), [](Session) {}, o);
    ASSERT_FALSE(e.ok()) << c.name;
    EXPECT_EQ(e.error().code, c.code) << c.name << ": " << e.error().message;
    auto ctx = create_secure_context(o);
    if (std::string_view(c.name) != "psk hint" &&
        std::string_view(c.name) != "no cert, no psk") {
      ASSERT_FALSE(ctx.ok()) << c.name;
      EXPECT_EQ(ctx.error().code, c.code) << c.name;
    }
  }
  ConnectOptions bad_session = plain_client();
  bad_session.session = {1, 2, 3};
  auto s = connect(loop.get(), "127.0.0.1", 9, bad_session);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "ERR_INVALID_ARG_VALUE");
}

TEST(DtlsApiTls, SeveralKeysAndPfx) {
  Loop loop;
  // Keys in another order than their chains: matched by public key. The RSA
  // key is encrypted under its own passphrase, the other under the shared
  // one (node's {pem, passphrase} form).
  ListenOptions o = plain_server();
  o.passphrase = "shared";
  o.cert = rsa_pem().cert;
  o.key = certs::PrivateKey::from_pem(pem(0).key)->to_pem("shared");
  o.extra_certs = {pem(0).cert};
  o.extra_keys = {{rsa_pem().creds.key.to_pem("own"), "own"}};
  ListenOptions wrong = o;
  wrong.extra_keys[0].passphrase = "shared";
  auto refused = listen(
      loop.get(), [](Session) {}, wrong);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "ERR_KEY_PASSPHRASE");
  auto endpoint = listen(
      loop.get(), [](Session) {}, o);
  ASSERT_TRUE(endpoint.ok()) << endpoint.error().to_string();
  const std::uint16_t port = endpoint->address().port;
  ConnectOptions rsa = plain_client();
  rsa.ciphers = "ECDHE-RSA-AES128-GCM-SHA256";
  Session a = open_session(loop, port, rsa);
  ASSERT_TRUE(a.opened().get().ok()) << a.opened().get().error().to_string();
  EXPECT_TRUE(peer_is(a, rsa_pem().cert));
  ConnectOptions ec = plain_client();
  ec.ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256";
  Session b = open_session(loop, port, ec);
  ASSERT_TRUE(b.opened().get().ok());
  EXPECT_TRUE(peer_is(b, pem(0).cert));
  EXPECT_FALSE(b.authorized());  // self-signed, no CA: node's semantics
  EXPECT_EQ(b.authorization_error(), "DEPTH_ZERO_SELF_SIGNED_CERT");
  endpoint->close();

  // The same server from a PKCS#12 bundle (with its passphrase).
  ListenOptions p = plain_server();
  p.cert.clear();
  p.key.clear();
  p.passphrase = "s3cret";
  p.pfx = {{certs::to_pkcs12(rsa_pem().creds, "s3cret"), std::nullopt}};
  auto e2 = listen(
      loop.get(), [](Session) {}, p);
  ASSERT_TRUE(e2.ok()) << e2.error().to_string();
  Session c = open_session(loop, e2->address().port, plain_client());
  ASSERT_TRUE(c.opened().get().ok());
  EXPECT_TRUE(peer_is(c, rsa_pem().cert));
  e2->close();
}

TEST(DtlsApiTls, SetSecureContextRotatesCertificatesForNewSessionsOnly) {
  Loop loop;
  std::vector<Session> accepted;
  auto endpoint = listen(
      loop.get(),
      [&](Session s) {
        accepted.push_back(s);
        s.on_message([s](std::span<const std::uint8_t> m) mutable {
          ASSERT_TRUE(s.send(m).ok());
        });
      },
      plain_server());
  ASSERT_TRUE(endpoint.ok());
  const std::uint16_t port = endpoint->address().port;
  Session old_one = open_session(loop, port, plain_client());
  ASSERT_TRUE(old_one.opened().get().ok());
  EXPECT_TRUE(peer_is(old_one, pem(0).cert));

  SecureOptions next;
  next.cert = pem(1).cert;
  next.key = pem(1).key;
  auto ctx = create_secure_context(next);
  ASSERT_TRUE(ctx.ok());
  EXPECT_EQ(endpoint->set_secure_context(SecureContext()).error().code,
            "ERR_INVALID_ARG_VALUE");
  auto no_cert = create_secure_context(SecureOptions());
  ASSERT_TRUE(no_cert.ok());
  EXPECT_EQ(endpoint->set_secure_context(*no_cert).error().code,
            "ERR_INVALID_ARG_VALUE");
  ASSERT_TRUE(endpoint->set_secure_context(*ctx).ok());

  Session new_one = open_session(loop, port, plain_client());
  ASSERT_TRUE(new_one.opened().get().ok());
  EXPECT_TRUE(peer_is(new_one, pem(1).cert));
  // The session from before the rotation carries on, undisturbed.
  std::string echoed;
  old_one.on_message([&](std::span<const std::uint8_t> m) {
    echoed.assign(m.begin(), m.end());
  });
  ASSERT_TRUE(old_one.send("still here").ok());
  ASSERT_TRUE(loop.run_until([&] { return echoed == "still here"; }));
  EXPECT_TRUE(peer_is(old_one, pem(0).cert));
  EXPECT_TRUE(*accepted[0].certificate() ==
              *certs::Certificate::from_pem(pem(0).cert));
  EXPECT_TRUE(*accepted[1].certificate() ==
              *certs::Certificate::from_pem(pem(1).cert));
  endpoint->close();
  ASSERT_TRUE(loop.run_until([&] { return ready(endpoint->closed()); }));
  EXPECT_EQ(endpoint->set_secure_context(*ctx).error().code,
            "ERR_INVALID_STATE");
}

TEST(DtlsApiTls, SessionResumptionWithTicketKeys) {
  Loop loop;
  std::vector<Session> accepted;
  ListenOptions lo = plain_server();
  lo.ticket_keys = std::vector<std::uint8_t>(48, 3);
  auto endpoint = listen(
      loop.get(), [&](Session s) { accepted.push_back(s); }, lo);
  ASSERT_TRUE(endpoint.ok());
  EXPECT_EQ(endpoint->ticket_keys(), std::vector<std::uint8_t>(48, 3));
  const std::uint16_t port = endpoint->address().port;

  std::vector<std::uint8_t> blob;
  auto first = connect(loop.get(), "127.0.0.1", port, plain_client());
  ASSERT_TRUE(first.ok());
  first->on_session([&](std::span<const std::uint8_t> s) {
    blob.assign(s.begin(), s.end());
  });
  ASSERT_TRUE(loop.run_until([&] { return ready(first->opened()); }));
  ASSERT_TRUE(first->opened().get().ok());
  ASSERT_FALSE(blob.empty());
  EXPECT_FALSE(first->is_session_reused());
  EXPECT_FALSE(first->tls_ticket().empty());
  EXPECT_EQ(first->session().empty(), false);
  first->close();

  ConnectOptions again = plain_client();
  again.session = blob;
  Session second = open_session(loop, port, again);
  ASSERT_TRUE(second.opened().get().ok());
  EXPECT_TRUE(second.is_session_reused());
  ASSERT_EQ(accepted.size(), 2u);
  EXPECT_TRUE(accepted[1].is_session_reused());
  // node: the resumed session keeps the first handshake's verdict.
  EXPECT_FALSE(second.authorized());
  EXPECT_EQ(second.authorization_error(), "DEPTH_ZERO_SELF_SIGNED_CERT");
  // Unlike the keys: a fresh handshake's randoms.
  auto ka = second.export_keying_material(32, "EXPORTER-test");
  auto kb = accepted[1].export_keying_material(32, "EXPORTER-test");
  ASSERT_TRUE(ka.ok() && kb.ok());
  EXPECT_EQ(*ka, *kb);

  // Rotated twice: the ticket no longer decrypts, a full handshake follows.
  EXPECT_EQ(
      endpoint->set_ticket_keys(std::vector<std::uint8_t>(47)).error().code,
      "ERR_INVALID_ARG_VALUE");
  ASSERT_TRUE(endpoint->set_ticket_keys(std::vector<std::uint8_t>(48, 4)).ok());
  ASSERT_TRUE(endpoint->set_ticket_keys(std::vector<std::uint8_t>(48, 5)).ok());
  EXPECT_EQ(endpoint->ticket_keys(), std::vector<std::uint8_t>(48, 5));
  Session third = open_session(loop, port, again);
  ASSERT_TRUE(third.opened().get().ok());
  EXPECT_FALSE(third.is_session_reused());
  endpoint->close();
}

TEST(DtlsApiTls, PskWithoutCertificates) {
  Loop loop;
  const std::vector<std::uint8_t> key = {0x1a, 0x2b, 0x3c, 0x4d, 0x5e, 0x6f,
                                         0x70, 0x81, 0x92, 0xa3, 0xb4, 0xc5};
  ListenOptions lo;
  lo.host = "127.0.0.1";
  lo.port = 0;
  lo.ciphers = "PSK-AES128-GCM-SHA256:ECDHE-PSK-CHACHA20-POLY1305";
  lo.psk_identity_hint = "coap";
  lo.srtp = "SRTP_AES128_CM_SHA1_80";
  std::vector<std::string> identities;
  lo.psk_callback =
      [&](std::string_view id) -> std::optional<std::vector<std::uint8_t>> {
    identities.emplace_back(id);
    if (id == "node-1") return key;
    return std::nullopt;
  };
  std::vector<Session> accepted;
  auto endpoint = listen(
      loop.get(), [&](Session s) { accepted.push_back(s); }, lo);
  ASSERT_TRUE(endpoint.ok()) << endpoint.error().to_string();
  ConnectOptions co;
  co.ciphers = "ECDHE-PSK-CHACHA20-POLY1305";
  co.srtp = "SRTP_AES128_CM_SHA1_80";
  std::string hint_seen;
  co.psk_callback = [&](std::string_view hint)
      -> std::optional<AssociationOptions::PskIdentity> {
    hint_seen = hint;
    return AssociationOptions::PskIdentity{"node-1", key};
  };
  Session s = open_session(loop, endpoint->address().port, co);
  ASSERT_TRUE(s.opened().get().ok()) << s.opened().get().error().to_string();
  EXPECT_EQ(hint_seen, "coap");
  EXPECT_EQ(identities, std::vector<std::string>{"node-1"});
  EXPECT_EQ(s.cipher()->name, "ECDHE-PSK-CHACHA20-POLY1305");
  EXPECT_TRUE(s.authorized());
  EXPECT_FALSE(s.peer_certificate().has_value());
  EXPECT_EQ(s.ephemeral_key_info()->type, "ECDH");  // ECDHE-PSK
  EXPECT_EQ(s.srtp_profile(), "SRTP_AES128_CM_SHA1_80");
  ASSERT_TRUE(s.srtp_keys().ok());
  // A wrong identity fails on both sides with clear codes.
  co.psk_callback =
      [&](std::string_view) -> std::optional<AssociationOptions::PskIdentity> {
    return AssociationOptions::PskIdentity{"node-2", key};
  };
  Session bad = open_session(loop, endpoint->address().port, co);
  ASSERT_FALSE(bad.opened().get().ok());
  EXPECT_EQ(bad.opened().get().error().code,
            "ERR_DTLS_ALERT_UNKNOWN_PSK_IDENTITY");
  endpoint->close();
}

TEST(DtlsApiTls, SniCallbackServesTheNamedContext) {
  Loop loop;
  SecureOptions b;
  b.cert = pem(1).cert;
  b.key = pem(1).key;
  auto b_ctx = create_secure_context(b);
  ASSERT_TRUE(b_ctx.ok());
  ListenOptions lo = plain_server();
  lo.sni_callback = [&](std::string_view name) -> Result<SecureContext> {
    if (name == "b.example") return *b_ctx;
    if (name == "nope.example")
      return make_error("ERR_UNKNOWN_SITE", "no such site");
    return SecureContext();
  };
  std::vector<Session> accepted;
  auto endpoint = listen(
      loop.get(), [&](Session s) { accepted.push_back(s); }, lo);
  ASSERT_TRUE(endpoint.ok());
  const std::uint16_t port = endpoint->address().port;
  ConnectOptions co = plain_client();
  co.servername = "b.example";
  Session s = open_session(loop, port, co);
  ASSERT_TRUE(s.opened().get().ok());
  EXPECT_TRUE(peer_is(s, pem(1).cert));
  EXPECT_EQ(s.servername(), "b.example");
  ASSERT_EQ(accepted.size(), 1u);
  EXPECT_EQ(accepted[0].servername(), "b.example");
  co.servername = "a.example";
  Session d = open_session(loop, port, co);
  ASSERT_TRUE(d.opened().get().ok());
  EXPECT_TRUE(peer_is(d, pem(0).cert));
  co.servername = "nope.example";
  Session x = open_session(loop, port, co);
  ASSERT_FALSE(x.opened().get().ok());
  EXPECT_EQ(x.opened().get().error().code, "ERR_DTLS_ALERT_UNRECOGNIZED_NAME");
  endpoint->close();
}

TEST(DtlsApiTls, SessionExtrasAndHelpers) {
  Loop loop;
  std::vector<Session> accepted;
  auto endpoint = listen(
      loop.get(), [&](Session s) { accepted.push_back(s); }, plain_server());
  ASSERT_TRUE(endpoint.ok());
  ConnectOptions co = plain_client();
  co.ecdh_curve = "X25519:P-256";
  Session s = open_session(loop, endpoint->address().port, co);
  ASSERT_TRUE(s.opened().get().ok());
  ASSERT_EQ(accepted.size(), 1u);
  EXPECT_EQ(s.finished(), accepted[0].peer_finished());
  EXPECT_EQ(s.peer_finished(), accepted[0].finished());
  EXPECT_EQ(s.finished().size(), 12u);
  // OpenSSL knows shared signature algorithms on the side that chose one: the
  // server (a client only after a CertificateRequest).
  EXPECT_FALSE(accepted[0].shared_sigalgs().empty());
  EXPECT_TRUE(s.shared_sigalgs().empty());
  auto eph = s.ephemeral_key_info();
  ASSERT_TRUE(eph.has_value());
  EXPECT_EQ(eph->type, "ECDH");
  EXPECT_EQ(eph->name, "X25519");
  EXPECT_FALSE(accepted[0].ephemeral_key_info().has_value());
  EXPECT_FALSE(s.set_max_send_fragment(100));
  EXPECT_TRUE(s.set_max_send_fragment(512));
  EXPECT_EQ(s.send(std::string(600, 'x')).error().code,
            "ERR_DTLS_MESSAGE_TOO_LARGE");
  EXPECT_TRUE(s.send(std::string(512, 'x')).ok());
  EXPECT_FALSE(get_ciphers().empty());
  EXPECT_FALSE(root_certificates().empty());
  EXPECT_EQ(SecureOptions().min_version, kDefaultMinVersion);
  EXPECT_EQ(SecureOptions().ecdh_curve, kDefaultEcdhCurve);
  s.close();
  ASSERT_TRUE(loop.run_until([&] { return ready(s.closed()); }));
  // After the end: empty answers, never a crash.
  EXPECT_TRUE(s.finished().empty());
  EXPECT_FALSE(s.is_session_reused());
  EXPECT_FALSE(s.set_max_send_fragment(1024));
  endpoint->close();
}

// ConnectOptions::check_server_identity (node's checkServerIdentity): called
// in CA mode with servername and the server's certificate; its error fails
// the handshake, and with reject_unauthorized false is reported instead.
TEST(DtlsApiTls, CheckServerIdentityIsTheCallersWhenGiven) {
  certs::GenerateOptions r;
  r.is_ca = true;
  r.common_name = "Test Root";
  const certs::Credentials root =
      std::move(certs::generate_certificate(r)).value();
  certs::GenerateOptions so;
  so.common_name = "sfu.example";
  so.subject_alt_names = {"DNS:sfu.example"};
  so.issuer = &root;
  const certs::Credentials server =
      std::move(certs::generate_certificate(so)).value();
  Loop loop;
  ListenOptions lo;
  lo.cert = server.leaf().to_pem();
  lo.key = server.key.to_pem();
  lo.host = "127.0.0.1";
  lo.port = 0;
  auto e = listen(
      loop.get(), [](Session) {}, lo);
  ASSERT_TRUE(e.ok()) << e.error().to_string();
  auto attempt = [&](bool refuse, bool reject_unauthorized) {
    ConnectOptions co;
    co.ca = {root.leaf().to_pem()};
    co.servername = "anything.example";  // the default check would refuse
    co.reject_unauthorized = reject_unauthorized;
    auto seen = std::make_shared<std::string>();
    co.check_server_identity = [seen, refuse](
                                   std::string_view host,
                                   const certs::PeerCertificate& cert) {
      *seen = std::string(host) + "/" + cert.subject.get("CN");
      return refuse ? Status(make_error("ERR_TLS_CERT_ALTNAME_INVALID",
                                        "not the one"))
                    : Status();
    };
    auto c = connect(loop.get(), "127.0.0.1", e->address().port, co);
    EXPECT_TRUE(c.ok());
    EXPECT_TRUE(loop.run_until([&] { return ready(c->opened()); }));
    EXPECT_EQ(*seen, "anything.example/sfu.example");
    return *c;
  };
  Session ok = attempt(false, true);
  EXPECT_TRUE(ok.opened().get().ok());
  EXPECT_TRUE(ok.authorized());
  Session refused = attempt(true, true);
  ASSERT_FALSE(refused.opened().get().ok());
  EXPECT_EQ(refused.opened().get().error().code,
            "ERR_TLS_CERT_ALTNAME_INVALID");
  Session reported = attempt(true, false);
  EXPECT_TRUE(reported.opened().get().ok());
  EXPECT_FALSE(reported.authorized());
  EXPECT_EQ(reported.authorization_error(), "ERR_TLS_CERT_ALTNAME_INVALID");
  ok.close();
  reported.close();
  e->close();
  ASSERT_TRUE(loop.run_until([&] { return e->state().destroyed; }));
}

}  // namespace
}  // namespace dtls
