// Endpoints that carry more than one listen(): ICE-lite sessions, client
// sessions beside server ones on one socket, and workers sharing a port.
#include <gtest/gtest.h>

#include <atomic>
#include <vector>

#include "tests/testing/failing_random.h"
#include "tests/testing/ice_check.h"
#include "tests/testing/rtp_packets.h"
#include "tests/testing/udp_relay.h"
#include "transport/dtls_api.h"
#include "transport/dtls_api_test_support.h"

namespace dtls {
namespace {

using std::chrono::milliseconds;
using testing_support::connect_options;
using testing_support::listen_options;
using testing_support::Loop;
using testing_support::pem;
using testing_support::ready;
using testing_support::rtp;

// Two listen() calls on one port, each on its own EventLoop (a worker per
// core), sharing a cookie secret.
TEST(DtlsApi, WorkersOnOnePort) {
  auto loop_a = std::move(EventLoop::start()).value();
  auto loop_b = std::move(EventLoop::start()).value();
  std::atomic<int> on_a{0}, on_b{0};
  ListenOptions lo = listen_options();
  lo.reuse_port = true;
  lo.cookie_secret.assign(32, 0x42);
  auto a = listen(
      *loop_a, [&](Session) { ++on_a; }, lo);
  ASSERT_TRUE(a.ok()) << a.error().to_string();
  lo.port = a->address().port;
  auto b = listen(
      *loop_b, [&](Session) { ++on_b; }, lo);
  ASSERT_TRUE(b.ok()) << b.error().to_string();
  auto client_loop = std::move(EventLoop::start()).value();
  std::vector<Session> clients;
  for (int i = 0; i < 24; ++i) {
    auto s =
        connect(*client_loop, "127.0.0.1", lo.port.value(), connect_options());
    ASSERT_TRUE(s.ok());
    clients.push_back(*s);
  }
  for (auto& c : clients) {
    ASSERT_EQ(c.opened().wait_for(std::chrono::seconds(10)),
              std::future_status::ready);
    EXPECT_TRUE(c.opened().get().ok());
  }
  EXPECT_EQ(on_a + on_b, 24);
  EXPECT_GT(on_a, 0);  // (1/2)^23 that one worker got every client
  EXPECT_GT(on_b, 0);

  ListenOptions bad = listen_options();
  bad.cookie_secret.assign(16, 1);
  auto e = listen(
      *loop_a, [](Session) {}, bad);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code, "ERR_INVALID_ARG_VALUE");
}

TEST(DtlsApiIce, AnIceSessionOpensAfterACheckAndCarriesMedia) {
  Loop loop;
  auto o = listen_options();
  o.ice_lite = true;
  o.fingerprints.clear();  // ICE sessions pin their own
  bool on_session_called = false;
  auto endpoint = listen(
      loop.get(), [&](Session) { on_session_called = true; }, o);
  ASSERT_TRUE(endpoint.ok()) << endpoint.error().to_string();
  IceSessionConfig config;
  config.remote_ufrag = "brws";
  config.fingerprints = {pem(1).fingerprint};
  auto ice = endpoint->add_ice_session(config);
  ASSERT_TRUE(ice.ok()) << ice.error().to_string();
  const IceCredentials creds = ice->ice_credentials();
  EXPECT_TRUE(validate_ice_credentials(creds).ok());  // generated
  EXPECT_EQ(ice->remote_address().port, 0);           // no peer yet
  EXPECT_EQ(ice->send_rtp(testing::make_rtp(1, 1, 10)).error().code,
            "ERR_DTLS_SESSION_NOT_OPEN");
  std::vector<std::vector<std::uint8_t>> got;
  ice->on_rtp([&](std::span<const std::uint8_t> p) {
    got.emplace_back(p.begin(), p.end());
  });
  testing::UdpRelay relay(
      loop.get(),
      PeerAddress::parse("127.0.0.1", endpoint->address().port).value());
  relay.inject(testing::UdpRelay::Direction::kToTarget,
               testing::ice_check(creds.ufrag + ":brws", creds.pwd, true, 3));
  auto browser = connect(loop.get(), "127.0.0.1", relay.address().port(),
                         connect_options());
  ASSERT_TRUE(browser.ok());
  auto opened = ice->opened();
  ASSERT_TRUE(loop.run_until([&] {
    return opened.wait_for(std::chrono::seconds(0)) ==
           std::future_status::ready;
  }));
  ASSERT_TRUE(opened.get().ok()) << opened.get().error().to_string();
  EXPECT_EQ(ice->srtp_profile(), "SRTP_AEAD_AES_128_GCM");
  EXPECT_EQ(ice->remote_address().port, relay.address().port());
  EXPECT_FALSE(on_session_called);
  ASSERT_TRUE(browser->send_rtp(testing::make_rtp(7, 1, 100)).ok());
  ASSERT_TRUE(loop.run_until([&] { return got.size() == 1; }));
  EXPECT_EQ(got[0], testing::make_rtp(7, 1, 100));
  // A second session may not take the same ufrag.
  IceSessionConfig dup = config;
  dup.local = creds;
  EXPECT_EQ(endpoint->add_ice_session(dup).error().code,
            "ERR_ICE_UFRAG_IN_USE");
  ice->close();
  ASSERT_TRUE(loop.run_until([&] { return ready(browser->closed()); }));
  endpoint->close();
  ASSERT_TRUE(loop.run_until([&] { return ready(endpoint->closed()); }));
}

TEST(DtlsApiIce, WaitingSessionsEndCleanly) {
  Loop loop;
  auto o = listen_options();
  o.ice_lite = true;
  auto endpoint = listen(
      loop.get(), [](Session) {}, o);
  ASSERT_TRUE(endpoint.ok());
  IceSessionConfig config;
  config.fingerprints = {pem(1).fingerprint};
  config.consent_timeout = milliseconds(30);
  // No check ever comes: consent expires.
  auto lonely = endpoint->add_ice_session(config);
  ASSERT_TRUE(lonely.ok());
  ASSERT_TRUE(loop.run_until([&] { return ready(lonely->closed()); }));
  EXPECT_EQ(lonely->closed().get().error().code, "ERR_ICE_CONSENT_EXPIRED");
  EXPECT_EQ(lonely->opened().get().error().code, "ERR_ICE_CONSENT_EXPIRED");
  // Closed before any check: ends with OK, and its ufrag is free again.
  config.consent_timeout = std::chrono::seconds(30);
  config.local = generate_ice_credentials().value();
  auto waiting = endpoint->add_ice_session(config);
  ASSERT_TRUE(waiting.ok());
  waiting->close();
  ASSERT_TRUE(ready(waiting->closed()));
  EXPECT_TRUE(waiting->closed().get().ok());
  EXPECT_TRUE(endpoint->add_ice_session(config).ok());
  // Bad configurations.
  IceSessionConfig bad = config;
  bad.fingerprints.clear();
  EXPECT_EQ(endpoint->add_ice_session(bad).error().code,
            "ERR_INVALID_ARG_VALUE");
  bad = config;
  bad.fingerprints = {"sha-256 nothex"};
  EXPECT_EQ(endpoint->add_ice_session(bad).error().code,
            "ERR_SDP_FINGERPRINT_INVALID");
  bad = config;
  bad.local = {"abcd", "short"};
  EXPECT_EQ(endpoint->add_ice_session(bad).error().code,
            "ERR_INVALID_ARG_VALUE");
  {
    // Local credentials to generate, and no random bytes for them.
    testing::FailingRandom no_random;
    bad = config;
    bad.local = {};
    auto refused = endpoint->add_ice_session(bad);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, "ERR_RANDOM");
  }
  // Not an ICE-lite endpoint.
  auto plain = listen(
      loop.get(), [](Session) {}, listen_options());
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->add_ice_session(config).error().code, "ERR_INVALID_STATE");
  // The endpoint closing ends the sessions still waiting.
  auto left = endpoint->add_ice_session(IceSessionConfig{
      {}, "", {pem(1).fingerprint}, false, std::chrono::seconds(30)});
  ASSERT_TRUE(left.ok());
  endpoint->close();
  plain->close();
  ASSERT_TRUE(loop.run_until(
      [&] { return ready(endpoint->closed()) && ready(plain->closed()); }));
  ASSERT_TRUE(ready(left->closed()));
}

// Endpoint::connect: a client session on a listening endpoint's socket,
// beside its server sessions (node:dtls's one socket, many peers). Endpoint
// B accepts a client and connects to endpoint A from the same port; media
// flows both ways on B's client session; B counts one session of each kind.
TEST(DtlsApiEndpointConnect, ClientAndServerSessionsShareOnePort) {
  Loop loop;
  std::vector<Session> at_a, at_b;
  long rtp_at_a = 0, rtp_back = 0;
  ListenOptions la = listen_options();
  la.fingerprints = {pem(0).fingerprint, pem(1).fingerprint};
  SessionListener a_each;
  a_each.on_created = [&](Session& s) { at_a.push_back(s); };
  a_each.on_rtp = [&](Session& s, std::span<const std::uint8_t> p) {
    ++rtp_at_a;
    EXPECT_TRUE(s.send_rtp(p).ok());  // echo
  };
  auto a = listen(loop.get(), a_each, la);
  ASSERT_TRUE(a.ok());
  auto b = listen(
      loop.get(), [&](Session s) { at_b.push_back(s); }, listen_options());
  ASSERT_TRUE(b.ok());
  // B -> A from B's port; B presents its own certificate (pem 0).
  ConnectOptions co;
  co.fingerprints = {pem(0).fingerprint};
  SessionListener mine;
  mine.on_rtp = [&](Session&, std::span<const std::uint8_t>) { ++rtp_back; };
  auto up = b->connect("127.0.0.1", a->address().port, co, mine);
  ASSERT_TRUE(up.ok()) << up.error().to_string();
  // And a plain client of B at the same time.
  auto down =
      connect(loop.get(), "127.0.0.1", b->address().port, connect_options());
  ASSERT_TRUE(down.ok());
  ASSERT_TRUE(loop.run_until([&] {
    return ready(up->opened()) && ready(down->opened()) && at_a.size() == 1 &&
           at_b.size() == 1;
  }));
  ASSERT_TRUE(up->opened().get().ok())
      << up->opened().get().error().to_string();
  ASSERT_TRUE(down->opened().get().ok());
  // A sees B's listening port as the peer: one socket for both roles.
  EXPECT_EQ(at_a[0].remote_address().port, b->address().port);
  EXPECT_EQ(up->srtp_side(), srtp::Side::kClient);
  for (std::uint16_t i = 0; i < 10; ++i)
    ASSERT_TRUE(up->send_rtp(rtp(9, i, 50)).ok());
  ASSERT_TRUE(loop.run_until([&] { return rtp_at_a == 10 && rtp_back == 10; }));
  const EndpointStats sb = b->stats();
  EXPECT_EQ(sb.client_sessions, 1u);
  EXPECT_EQ(sb.server_sessions, 1u);
  EXPECT_EQ(b->state().session_count, 2u);
  // Errors: a second session to the same address, a name, a closed endpoint.
  EXPECT_EQ(b->connect("127.0.0.1", a->address().port, co).error().code,
            "ERR_DTLS_SESSION_EXISTS");
  // A name resolves on the loop; this one is the same address as `up`'s,
  // so once resolved the session ends with ERR_DTLS_SESSION_EXISTS.
  auto by_name = b->connect("localhost", a->address().port, co);
  ASSERT_TRUE(by_name.ok()) << by_name.error().to_string();
  ASSERT_TRUE(loop.run_until([&] { return ready(by_name->closed()); }));
  EXPECT_EQ(by_name->closed().get().error().code, "ERR_DTLS_SESSION_EXISTS");
  auto nowhere = b->connect("no-such-host.invalid", 5004, co);
  ASSERT_TRUE(nowhere.ok());
  ASSERT_TRUE(loop.run_until([&] { return ready(nowhere->closed()); }));
  EXPECT_EQ(nowhere->closed().get().error().code, "ERR_DTLS_HOST_NOT_FOUND");
  EXPECT_EQ(Endpoint().connect("127.0.0.1", 1, co).error().code,
            "ERR_INVALID_STATE");
  up->close();
  ASSERT_TRUE(loop.run_until([&] { return ready(at_a[0].closed()); }));
  b->close();
  a->close();
  ASSERT_TRUE(loop.run_until(
      [&] { return b->state().destroyed && a->state().destroyed; }));
  EXPECT_EQ(b->connect("127.0.0.1", 9, co).error().code, "ERR_INVALID_STATE");
}

}  // namespace
}  // namespace dtls
