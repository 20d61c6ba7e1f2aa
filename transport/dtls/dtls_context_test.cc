#include "transport/dtls/dtls_context.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <vector>

#include "certs/generate.h"
#include "tests/testing/dtls_pair.h"
#include "tests/testing/failing_random.h"

namespace dtls {
namespace {

using testing::test_credentials;

// Fail closed: no context whose session ticket keys came from a failed random
// draw. Only that 48-byte draw fails here; OpenSSL's own draws in SSL_CTX_new
// (16 and 32 bytes) succeed, so nothing else would have stopped it.
TEST(DtlsContext, CreationFailsWithoutRandomTicketKeys) {
  testing::FailingRandom no_random(TicketKeys::kSize);
  auto c = DtlsContext::create({});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, "ERR_RANDOM");
  EXPECT_EQ(no_random.refused(), 1);
}

TEST(DtlsContext, DefaultsBuild) {
  auto c = DtlsContext::create({});
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  EXPECT_NE((*c)->get(), nullptr);
  EXPECT_TRUE((*c)->alpn_wire().empty());
  EXPECT_EQ(SSL_CTX_get_min_proto_version((*c)->get()), DTLS1_2_VERSION);
  EXPECT_EQ(SSL_CTX_get_max_proto_version((*c)->get()), DTLS1_2_VERSION);
  EXPECT_TRUE(SSL_CTX_get_options((*c)->get()) & SSL_OP_NO_RENEGOTIATION);
  // node's default: tickets on; no server-side session cache.
  EXPECT_FALSE(SSL_CTX_get_options((*c)->get()) & SSL_OP_NO_TICKET);
  EXPECT_EQ(SSL_CTX_get_session_cache_mode((*c)->get()) & SSL_SESS_CACHE_SERVER,
            0);
  EXPECT_EQ(SSL_CTX_get_timeout((*c)->get()), 300);
}

TEST(DtlsContext, AlpnWireFormat) {
  DtlsContextOptions o;
  o.alpn_protocols = {"webrtc", "h"};
  auto c = DtlsContext::create(o);
  ASSERT_TRUE(c.ok());
  std::vector<std::uint8_t> want = {6, 'w', 'e', 'b', 'r', 't', 'c', 1, 'h'};
  EXPECT_EQ(std::vector<std::uint8_t>((*c)->alpn_wire().begin(),
                                      (*c)->alpn_wire().end()),
            want);
}

TEST(DtlsContext, SrtpProfileLists) {
  auto all = parse_srtp_profiles(
      "SRTP_AES128_CM_SHA1_80:SRTP_AES128_CM_SHA1_32:SRTP_AEAD_AES_128_GCM:"
      "SRTP_AEAD_AES_256_GCM");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 4u);
  EXPECT_EQ(supported_srtp_profiles().size(), 4u);
  auto none = parse_srtp_profiles("");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  // RFC 5764's and the crypto suites' names work too, and come out as
  // OpenSSL's.
  auto rfc = parse_srtp_profiles(
      "SRTP_AES128_CM_HMAC_SHA1_80:AEAD_AES_256_GCM:AES_CM_128_HMAC_SHA1_32");
  ASSERT_TRUE(rfc.ok()) << rfc.error().to_string();
  EXPECT_EQ(*rfc, (std::vector<std::string>{"SRTP_AES128_CM_SHA1_80",
                                            "SRTP_AEAD_AES_256_GCM",
                                            "SRTP_AES128_CM_SHA1_32"}));
  for (const char* bad : {"SRTP_NULL_SHA1_80",
                          "SRTP_AES128_CM_SHA1_80:", ":SRTP_AES128_CM_SHA1_80",
                          "SRTP_AES128_CM_SHA1_80:SRTP_AES128_CM_SHA1_80",
                          // the same profile under two names
                          "SRTP_AES128_CM_SHA1_80:AES_CM_128_HMAC_SHA1_80",
                          "srtp_aes128_cm_sha1_80"}) {
    auto r = parse_srtp_profiles(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, "ERR_INVALID_ARG_VALUE") << bad;
  }
}

TEST(DtlsContext, OptionErrors) {
  struct Case {
    const char* name;
    void (*mutate)(DtlsContextOptions&);
    const char* code;
  } cases[] = {
      {"bad srtp",
       [](DtlsContextOptions& o) { o.srtp_profiles = "SRTP_BOGUS"; },
       "ERR_INVALID_ARG_VALUE"},
      {"require srtp without profiles",
       [](DtlsContextOptions& o) { o.require_srtp = true; },
       "ERR_INVALID_ARG_VALUE"},
      {"empty alpn", [](DtlsContextOptions& o) { o.alpn_protocols = {""}; },
       "ERR_INVALID_ARG_VALUE"},
      {"long alpn",
       [](DtlsContextOptions& o) {
         o.alpn_protocols = {std::string(256, 'a')};
       },
       "ERR_INVALID_ARG_VALUE"},
      {"bad ciphers", [](DtlsContextOptions& o) { o.ciphers = "NOT-A-CIPHER"; },
       "ERR_INVALID_ARG_VALUE"},
      {"bad min version",
       [](DtlsContextOptions& o) { o.min_version = "TLSv1.2"; },
       "ERR_INVALID_ARG_VALUE"},
      {"bad max version",
       [](DtlsContextOptions& o) { o.max_version = "DTLSv2"; },
       "ERR_INVALID_ARG_VALUE"},
      {"dtls 1.3", [](DtlsContextOptions& o) { o.max_version = "DTLSv1.3"; },
       "ERR_DTLS_VERSION_UNSUPPORTED"},
      {"min above max",
       [](DtlsContextOptions& o) {
         o.min_version = "DTLSv1.2";
         o.max_version = "DTLSv1";
       },
       "ERR_INVALID_ARG_VALUE"},
      {"key mismatch",
       [](DtlsContextOptions& o) {
         o.credentials = certs::Credentials{{test_credentials("a").leaf()},
                                            test_credentials("b").key};
       },
       "ERR_CERT_KEY_MISMATCH"},
  };
  for (const Case& c : cases) {
    DtlsContextOptions o;
    c.mutate(o);
    auto r = DtlsContext::create(o);
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_EQ(r.error().code, c.code) << c.name << ": " << r.error().message;
  }
}

TEST(DtlsContext, DtlsOneZeroCanBeAllowed) {
  DtlsContextOptions o;
  o.min_version = "DTLSv1";
  auto c = DtlsContext::create(o);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(SSL_CTX_get_min_proto_version((*c)->get()), DTLS1_VERSION);
}

TEST(DtlsContext, SessionTicketsCanBeTurnedOff) {
  DtlsContextOptions o;
  o.session_tickets = false;
  auto c = DtlsContext::create(o);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(SSL_CTX_get_options((*c)->get()) & SSL_OP_NO_TICKET);
}

TEST(DtlsContext, ResumptionOptionErrors) {
  DtlsContextOptions o;
  o.ticket_keys = std::vector<std::uint8_t>(32);
  EXPECT_EQ(DtlsContext::create(o).error().code, "ERR_INVALID_ARG_VALUE");
  o.ticket_keys = std::vector<std::uint8_t>(48, 1);
  auto c = DtlsContext::create(o);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ((*c)->ticket_keys().get()[47], 1);
  o.session_timeout = std::chrono::seconds(0);
  EXPECT_EQ(DtlsContext::create(o).error().code, "ERR_OUT_OF_RANGE");
  o.session_timeout = std::chrono::hours(24 * 8);
  EXPECT_EQ(DtlsContext::create(o).error().code, "ERR_OUT_OF_RANGE");
  o.session_timeout = std::chrono::seconds(42);
  c = DtlsContext::create(o);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(SSL_CTX_get_timeout((*c)->get()), 42);
  // Random keys differ per context.
  auto a = DtlsContext::create({});
  auto b = DtlsContext::create({});
  EXPECT_NE((*a)->ticket_keys().get(), (*b)->ticket_keys().get());
}

TEST(DtlsContext, GetCiphersListsDtlsSuitesInLowerCase) {
  auto list = get_ciphers();
  ASSERT_GT(list.size(), 20u);
  for (const auto& name : list) {
    EXPECT_EQ(name.find_first_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
              std::string::npos)
        << name;
    EXPECT_NE(name.rfind("tls_", 0), 0u) << name;  // no TLS 1.3 suites
  }
  auto has = [&](const char* n) {
    return std::find(list.begin(), list.end(), n) != list.end();
  };
  EXPECT_TRUE(has("ecdhe-ecdsa-aes128-gcm-sha256"));
  EXPECT_TRUE(has("psk-aes128-gcm-sha256"));
  EXPECT_FALSE(has("rc4-md5"));
  // Each name, upper-cased, is accepted by the ciphers option (node's note).
  DtlsContextOptions o;
  o.ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256";
  EXPECT_TRUE(DtlsContext::create(o).ok());
}

TEST(DtlsContext, RootCertificatesAreTheSystemStoreReadOnce) {
  const auto& roots = root_certificates();
  ASSERT_GT(roots.size(), 50u);  // Debian's ca-certificates: ~140
  EXPECT_EQ(&roots, &root_certificates());
  for (const auto& pem : roots) {
    ASSERT_EQ(pem.rfind("-----BEGIN CERTIFICATE-----", 0), 0u);
    auto c = certs::Certificate::from_pem(pem);
    ASSERT_TRUE(c.ok());
  }
}

// OpenSSL completes a certificate given without its chain from the trust
// store, by default on every handshake (an X509_verify_cert of our own
// certificate, with a stat of the hashed CA directory per issuer looked up).
// The context does it once.
TEST(DtlsContext, ChainFromTheTrustStoreIsBuiltOnce) {
  certs::GenerateOptions r;
  r.is_ca = true;
  r.common_name = "Test Root";
  auto root = certs::generate_certificate(r);
  ASSERT_TRUE(root.ok());
  certs::GenerateOptions l;
  l.issuer = &*root;
  auto leaf = certs::generate_certificate(l);
  ASSERT_TRUE(leaf.ok());
  ASSERT_EQ(leaf->chain.size(), 1u);  // the root is left out
  // nullopt: no chain, so OpenSSL searches the store at every handshake.
  auto chain_of =
      [](const DtlsContext& c) -> std::optional<std::vector<X509*>> {
    STACK_OF(X509)* chain = nullptr;
    SSL_CTX_set_current_cert(c.get(), SSL_CERT_SET_FIRST);
    if (SSL_CTX_get0_chain_certs(c.get(), &chain) != 1 || chain == nullptr)
      return std::nullopt;
    std::vector<X509*> out;
    for (int i = 0; i < sk_X509_num(chain); ++i)
      out.push_back(sk_X509_value(chain, i));
    return out;
  };
  DtlsContextOptions o;
  o.credentials = *leaf;
  o.ca = {root->leaf()};
  auto c = DtlsContext::create(o);
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  auto chain = chain_of(**c);
  ASSERT_TRUE(chain.has_value());
  ASSERT_EQ(chain->size(), 1u);
  EXPECT_EQ(X509_cmp((*chain)[0], root->leaf().get()), 0);
  // Self-signed (WebRTC), nothing to add: an empty chain, not a search of
  // the store at each handshake.
  DtlsContextOptions w;
  w.credentials = test_credentials("webrtc");
  auto webrtc = DtlsContext::create(w);
  ASSERT_TRUE(webrtc.ok());
  EXPECT_EQ(chain_of(**webrtc), std::vector<X509*>{});
  // Not in the store: the leaf alone, as before.
  DtlsContextOptions u;
  u.credentials = *leaf;
  auto unknown = DtlsContext::create(u);
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(chain_of(**unknown), std::vector<X509*>{});
}

TEST(DtlsContext, DefaultCiphersAreEcdheWithAeadOnly) {
  DtlsContextOptions o;
  auto c = DtlsContext::create(o);
  ASSERT_TRUE(c.ok());
  ossl::SslPtr ssl(SSL_new((*c)->get()));
  std::vector<std::string> names;
  STACK_OF(SSL_CIPHER)* list = SSL_get_ciphers(ssl.get());
  for (int i = 0; i < sk_SSL_CIPHER_num(list); ++i) {
    const SSL_CIPHER* cipher = sk_SSL_CIPHER_value(list, i);
    std::string name = SSL_CIPHER_get_name(cipher);
    // SSL_get_ciphers lists TLS 1.3 suites too (unused by DTLS).
    if (name.rfind("TLS_", 0) == 0) continue;
    names.push_back(name);
    EXPECT_EQ(SSL_CIPHER_get_kx_nid(cipher), NID_kx_ecdhe) << name;
    const int auth = SSL_CIPHER_get_auth_nid(cipher);
    EXPECT_TRUE(auth == NID_auth_ecdsa || auth == NID_auth_rsa) << name;
    EXPECT_EQ(SSL_CIPHER_is_aead(cipher), 1) << name;
    for (const char* banned : {"CCM", "ARIA", "PSK"})
      EXPECT_EQ(name.find(banned), std::string::npos) << name;
    EXPECT_NE(name.rfind("DHE-", 0), 0u) << name;
  }
  EXPECT_EQ(names, (std::vector<std::string>{
                       "ECDHE-ECDSA-AES128-GCM-SHA256",
                       "ECDHE-RSA-AES128-GCM-SHA256",
                       "ECDHE-ECDSA-AES256-GCM-SHA384",
                       "ECDHE-RSA-AES256-GCM-SHA384",
                       "ECDHE-ECDSA-CHACHA20-POLY1305",
                       "ECDHE-RSA-CHACHA20-POLY1305",
                   }));
  // `ciphers` widens it.
  o.ciphers = std::string(kDefaultCiphers) + ":ECDHE-RSA-AES128-SHA256";
  auto wide = DtlsContext::create(o);
  ASSERT_TRUE(wide.ok());
  ossl::SslPtr wide_ssl(SSL_new((*wide)->get()));
  bool cbc = false;
  STACK_OF(SSL_CIPHER)* wide_list = SSL_get_ciphers(wide_ssl.get());
  for (int i = 0; i < sk_SSL_CIPHER_num(wide_list); ++i) {
    cbc = cbc ||
          std::string(SSL_CIPHER_get_name(sk_SSL_CIPHER_value(wide_list, i))) ==
              "ECDHE-RSA-AES128-SHA256";
  }
  EXPECT_TRUE(cbc);
}

}  // namespace
}  // namespace dtls
