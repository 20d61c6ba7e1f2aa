#include "transport/dtls_association.h"

#include <gtest/gtest.h>

#include "tests/testing/dtls_pair.h"

namespace dtls {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::DtlsPair;
using testing::PairConfig;
using testing::test_credentials;

certs::Fingerprint fp(const certs::Credentials& c) {
  return certs::Fingerprint::of(c.leaf(), certs::HashAlgorithm::kSha256);
}

// WebRTC style: self-signed on both sides, each pinned by the other's
// fingerprint.
PairConfig webrtc_config(
    const std::string& profiles = "SRTP_AES128_CM_SHA1_80") {
  PairConfig c;
  c.client_context.credentials = test_credentials("client");
  c.server_context.credentials = test_credentials("server");
  c.client_context.srtp_profiles = profiles;
  c.server_context.srtp_profiles = profiles;
  c.client.peer_fingerprints = {fp(test_credentials("server"))};
  c.server.peer_fingerprints = {fp(test_credentials("client"))};
  return c;
}

std::vector<std::uint8_t> bytes(std::string_view s) {
  return {s.begin(), s.end()};
}

TEST(DtlsAssociation, WebRtcHandshakeExportsTheSameKeys) {
  DtlsPair p(webrtc_config());
  ASSERT_TRUE(p.start()) << p.setup_error->to_string();
  p.run_handshake();
  ASSERT_TRUE(p.both_open())
      << (p.client_error() ? p.client_error()->to_string() : "")
      << (p.server_error() ? p.server_error()->to_string() : "");
  EXPECT_EQ(p.hello_verify_requests, 1);
  EXPECT_EQ(p.client()->protocol(), "DTLSv1.2");
  EXPECT_EQ(p.client()->srtp_profile(), "SRTP_AES128_CM_SHA1_80");
  EXPECT_EQ(p.server()->srtp_profile(), "SRTP_AES128_CM_SHA1_80");
  auto ck = p.client()->export_keying_material(60, "EXTRACTOR-dtls_srtp");
  auto sk = p.server()->export_keying_material(60, "EXTRACTOR-dtls_srtp");
  ASSERT_TRUE(ck.ok() && sk.ok());
  EXPECT_EQ(*ck, *sk);
  EXPECT_EQ(p.client()->stats().retransmit_count, 0u);
  EXPECT_TRUE(p.client()->authorized());
  EXPECT_TRUE(p.server()->authorized());

  ASSERT_TRUE(p.client()->send(bytes("hello")).ok());
  ASSERT_TRUE(p.server()->send(bytes("world")).ok());
  p.run_for(seconds(1));
  EXPECT_EQ(p.received_by_server(), bytes("hello"));
  EXPECT_EQ(p.received_by_client(), bytes("world"));
}

}  // namespace
}  // namespace dtls
