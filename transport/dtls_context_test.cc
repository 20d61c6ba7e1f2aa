#include "transport/dtls_context.h"

#include <gtest/gtest.h>

#include "tests/testing/dtls_pair.h"

namespace dtls {
namespace {

using testing::test_credentials;

TEST(DtlsContext, DefaultsBuild) {
  auto c = DtlsContext::create({});
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  EXPECT_NE((*c)->get(), nullptr);
  EXPECT_TRUE((*c)->alpn_wire().empty());
  EXPECT_EQ(SSL_CTX_get_min_proto_version((*c)->get()), DTLS1_2_VERSION);
  EXPECT_EQ(SSL_CTX_get_max_proto_version((*c)->get()), DTLS1_2_VERSION);
  EXPECT_TRUE(SSL_CTX_get_options((*c)->get()) & SSL_OP_NO_RENEGOTIATION);
  EXPECT_TRUE(SSL_CTX_get_options((*c)->get()) & SSL_OP_NO_TICKET);
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
  for (const char* bad : {"SRTP_NULL_SHA1_80",
                          "SRTP_AES128_CM_SHA1_80:", ":SRTP_AES128_CM_SHA1_80",
                          "SRTP_AES128_CM_SHA1_80:SRTP_AES128_CM_SHA1_80",
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

TEST(DtlsContext, SessionTicketsAreOptIn) {
  DtlsContextOptions o;
  o.session_tickets = true;
  auto c = DtlsContext::create(o);
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(SSL_CTX_get_options((*c)->get()) & SSL_OP_NO_TICKET);
}

}  // namespace
}  // namespace dtls
