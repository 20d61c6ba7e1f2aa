#include "transport/dtls_api_test_support.h"

#include <gtest/gtest.h>

#include <span>
#include <utility>

#include "certs/fingerprint.h"
#include "certs/generate.h"
#include "tests/testing/rtp_packets.h"

namespace dtls::testing_support {

const Pem& pem(int i) {
  static const std::vector<Pem> all = [] {
    std::vector<Pem> v;
    for (int k = 0; k < 2; ++k) {
      auto c = std::move(certs::generate_certificate()).value();
      v.push_back(
          {c.leaf().to_pem(), c.key.to_pem(),
           certs::Fingerprint::of(c.leaf(), certs::HashAlgorithm::kSha256)
               .to_sdp()});
    }
    return v;
  }();
  return all[static_cast<size_t>(i)];
}

ListenOptions listen_options(std::string host) {
  ListenOptions o;
  o.cert = pem(0).cert;
  o.key = pem(0).key;
  o.fingerprints = {pem(1).fingerprint};
  o.srtp = "SRTP_AES128_CM_SHA1_80:SRTP_AEAD_AES_128_GCM";
  o.host = std::move(host);
  o.port = 0;
  return o;
}

ConnectOptions connect_options() {
  ConnectOptions o;
  o.cert = pem(1).cert;
  o.key = pem(1).key;
  o.fingerprints = {pem(0).fingerprint};
  o.srtp = "SRTP_AEAD_AES_128_GCM";
  return o;
}

Bytes rtp(std::uint32_t ssrc, std::uint16_t seq, size_t payload) {
  return testing::make_rtp(ssrc, seq, payload);
}

void MediaPair::start(const std::string& profile, const testing::UdpRelay* via,
                      std::optional<PeerAddress>* server_address) {
  ListenOptions lo = listen_options();
  lo.srtp = profile;
  endpoint = listen(
      loop.get(),
      [&](Session s) {
        server_sessions.push_back(s);
        s.on_rtp([&](std::span<const std::uint8_t> p) {
          server_rtp.emplace_back(p.begin(), p.end());
        });
        s.on_rtcp([&](std::span<const std::uint8_t> p) {
          server_rtcp.emplace_back(p.begin(), p.end());
        });
      },
      lo);
  ASSERT_TRUE(endpoint.ok()) << endpoint.error().to_string();
  if (server_address) {
    *server_address =
        std::move(PeerAddress::parse("127.0.0.1", endpoint->address().port))
            .value();
    return;
  }
  connect_to(profile, via ? via->address().port() : endpoint->address().port);
}

void MediaPair::connect_to(const std::string& profile, std::uint16_t port) {
  ConnectOptions co = connect_options();
  co.srtp = profile;
  client = connect(loop.get(), "127.0.0.1", port, co);
  ASSERT_TRUE(client.ok());
  client->on_rtp([&](std::span<const std::uint8_t> p) {
    client_rtp.emplace_back(p.begin(), p.end());
  });
  client->on_rtcp([&](std::span<const std::uint8_t> p) {
    client_rtcp.emplace_back(p.begin(), p.end());
  });
  ASSERT_TRUE(loop.run_until([&] {
    return ready(client->opened()) && !server_sessions.empty() &&
           ready(server_sessions[0].opened());
  }));
  ASSERT_TRUE(client->opened().get().ok());
}

}  // namespace dtls::testing_support
