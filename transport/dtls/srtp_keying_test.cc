#include "transport/dtls/srtp_keying.h"

#include <gtest/gtest.h>

#include "tests/testing/dtls_pair.h"

namespace dtls {
namespace {

using testing::DtlsPair;
using testing::PairConfig;
using testing::test_credentials;

PairConfig webrtc(const std::string& client_profiles,
                  const std::string& server_profiles) {
  PairConfig c;
  c.client_context.credentials = test_credentials("client");
  c.server_context.credentials = test_credentials("server");
  c.client_context.srtp_profiles = client_profiles;
  c.server_context.srtp_profiles = server_profiles;
  auto fp = [](const certs::Credentials& cr) {
    return certs::Fingerprint::of(cr.leaf(), certs::HashAlgorithm::kSha256);
  };
  c.client.peer_fingerprints = {fp(test_credentials("server"))};
  c.server.peer_fingerprints = {fp(test_credentials("client"))};
  return c;
}

// Both ends derive the same keys, each sending with its own half (RFC 5764
// §4.2: client key | server key | client salt | server salt).
TEST(SrtpKeying, BothEndsExportTheSameSplitForEveryProfile) {
  for (const srtp::ProfileInfo& info : srtp::all_profiles()) {
    const std::string name(info.name);
    DtlsPair p(webrtc(name, name));
    ASSERT_TRUE(p.start());
    // Before the handshake: no keys yet.
    EXPECT_EQ(export_srtp_keys(*p.client()).error().code,
              "ERR_DTLS_SESSION_NOT_OPEN");
    p.run_handshake();
    ASSERT_TRUE(p.both_open()) << name;
    auto c = export_srtp_keys(*p.client());
    auto s = export_srtp_keys(*p.server());
    ASSERT_TRUE(c.ok()) << name;
    ASSERT_TRUE(s.ok()) << name;
    EXPECT_EQ(c->profile, info.profile);
    EXPECT_EQ(c->client_key, s->client_key) << name;
    EXPECT_EQ(c->server_salt, s->server_salt) << name;
    EXPECT_EQ(c->client_key.size(), info.key_length);
    EXPECT_EQ(c->client_salt.size(), info.salt_length);
    EXPECT_NE(c->client_key, c->server_key);
  }
}

TEST(SrtpKeying, NoProfileAgreedIsNotNegotiated) {
  PairConfig c = webrtc("", "");
  DtlsPair p(c);
  ASSERT_TRUE(p.start());
  p.run_handshake();
  ASSERT_TRUE(p.both_open());
  EXPECT_EQ(export_srtp_keys(*p.server()).error().code,
            "ERR_SRTP_NOT_NEGOTIATED");
}

}  // namespace
}  // namespace dtls
