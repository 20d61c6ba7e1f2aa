// Media through the impairing relay on loopback: what the network does to
// SRTP reaches the SRTP layer as RFC 3711 §3.3.2 says it should. Every
// datagram the relay lost is missing, every one it duplicated is delivered
// once and counted as a replay, and packets it held back arrive late but are
// delivered (they stay inside the replay window). The relay's own counts are
// the expectation.
#include <gtest/gtest.h>

#include <set>

#include "certs/fingerprint.h"
#include "certs/generate.h"
#include "tests/testing/rtp_packets.h"
#include "tests/testing/uv_test_loop.h"
#include "tools/relay/impairing_relay.h"
#include "transport/dtls_api.h"

namespace dtls {
namespace {

using std::chrono::milliseconds;

struct Pem {
  std::string cert, key, fingerprint;
};

Pem make_pem() {
  auto c = std::move(certs::generate_certificate()).value();
  return {
      c.leaf().to_pem(), c.key.to_pem(),
      certs::Fingerprint::of(c.leaf(), certs::HashAlgorithm::kSha256).to_sdp()};
}

std::uint16_t sequence_of(std::span<const std::uint8_t> rtp) {
  return static_cast<std::uint16_t>(rtp[2] << 8 | rtp[3]);
}

TEST(ImpairedMedia, LossReorderingAndDuplicationReachSrtpAsExpected) {
  for (const char* profile :
       {"SRTP_AES128_CM_SHA1_80", "SRTP_AEAD_AES_128_GCM"}) {
    SCOPED_TRACE(profile);
    testing::UvTestLoop loop;
    const Pem server_id = make_pem(), client_id = make_pem();
    std::vector<std::uint16_t> arrived;
    std::optional<Session> server_session;
    ListenOptions lo;
    lo.cert = server_id.cert;
    lo.key = server_id.key;
    lo.fingerprints = {client_id.fingerprint};
    lo.host = "127.0.0.1";
    lo.port = 0;
    lo.srtp = profile;
    auto endpoint = listen(
        loop.get(),
        [&](Session s) {
          server_session = s;
          s.on_rtp([&](std::span<const std::uint8_t> p) {
            arrived.push_back(sequence_of(p));
          });
        },
        lo);
    ASSERT_TRUE(endpoint.ok()) << endpoint.error().to_string();

    // Client to server impaired; the handshake copes (retransmissions), and
    // the counting starts once it is over.
    relay::RelayConfig impaired;
    impaired.seed = 77;
    impaired.to_target.loss = 0.05;
    impaired.to_target.duplicate = 0.05;
    impaired.to_target.reorder = 0.10;
    impaired.to_target.reorder_delay = milliseconds(15);
    auto target = *PeerAddress::parse("127.0.0.1", endpoint->address().port);
    auto relay = relay::ImpairingRelay::create(
        loop.get(), *PeerAddress::parse("127.0.0.1", 0), target, impaired);
    ASSERT_TRUE(relay.ok()) << relay.error().to_string();

    ConnectOptions co;
    co.cert = client_id.cert;
    co.key = client_id.key;
    co.fingerprints = {server_id.fingerprint};
    co.srtp = profile;
    auto client =
        connect(loop.get(), "127.0.0.1", (*relay)->address().port(), co);
    ASSERT_TRUE(client.ok()) << client.error().to_string();
    auto opened = client->opened();
    ASSERT_TRUE(loop.run_until([&] {
      return opened.wait_for(std::chrono::seconds(0)) ==
                 std::future_status::ready &&
             server_session && server_session->stats().handshake_completed_at;
    }));
    ASSERT_TRUE(opened.get().ok());
    // Let any handshake retransmission drain before counting media.
    loop.run_until([] { return false; }, milliseconds(50));
    const relay::ImpairmentStats before = (*relay)->stats().to_target;

    // Paced, so that the kernel's socket buffers drop nothing the relay did
    // not choose to drop.
    constexpr int kPackets = 2000;
    for (int i = 0; i < kPackets; ++i) {
      ASSERT_TRUE(client
                      ->send_rtp(testing::make_rtp(
                          0x1234, static_cast<std::uint16_t>(i), 160))
                      .ok());
      if (i % 50 == 49) {
        ASSERT_TRUE(loop.run_until([&] {
          return (*relay)->stats().to_target.offered - before.offered ==
                 static_cast<std::uint64_t>(i + 1);
        }));
      }
    }
    ASSERT_TRUE(loop.run_until([&] {
      const auto now = (*relay)->stats().to_target;
      const std::uint64_t delivered = now.delivered - before.delivered;
      const auto m = server_session->stats().media;
      return (*relay)->in_flight() == 0 &&
             m.rtp_packets_unprotected + m.replay_failures == delivered;
    }));
    const relay::RelayStats after = (*relay)->stats();
    const std::uint64_t lost = after.to_target.lost - before.lost;
    const std::uint64_t duplicated =
        after.to_target.duplicated - before.duplicated;
    const std::uint64_t reordered =
        after.to_target.reordered - before.reordered;
    EXPECT_EQ(after.send_errors, 0u);
    EXPECT_GT(lost, 0u);
    EXPECT_GT(duplicated, 0u);
    EXPECT_GT(reordered, 0u);

    const srtp::MediaCounters m = server_session->stats().media;
    // Every packet not lost is delivered exactly once...
    EXPECT_EQ(arrived.size(), kPackets - lost);
    EXPECT_EQ(std::set<std::uint16_t>(arrived.begin(), arrived.end()).size(),
              arrived.size());
    // ...its second copy, if any, is a replay (RFC 3711 §3.3.2)...
    EXPECT_EQ(m.replay_failures, duplicated);
    EXPECT_EQ(m.auth_failures, 0u);
    // ...and held-back packets arrive after later ones, and are delivered.
    int late = 0;
    for (size_t i = 1; i < arrived.size(); ++i)
      if (arrived[i] < arrived[i - 1]) late++;
    EXPECT_GT(late, 0);
    client->close();
    endpoint->close();
    loop.run_until([] { return false; }, milliseconds(20));
  }
}

}  // namespace
}  // namespace dtls
