// Endpoints beyond one listen(): ICE-lite sessions, client sessions beside
// server ones on one socket, workers sharing a port, and endpoints made
// before they have a socket (Endpoint::create).
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
using testing_support::stats_of;

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

// A port group: two workers on one port for ICE, DTLS and SRTP alike. The
// ICE sessions are all added on worker A; the kernel brings each browser
// (a relay with a port of its own) to A or B by its address, and those on B
// are handed over to A from their first check on.
TEST(DtlsApiIce, APortGroupServesEachPeerWhicheverWorkerItLandsOn) {
  auto group = std::move(PortGroup::create()).value();
  auto loop_a = std::move(EventLoop::start("worker-a")).value();
  auto loop_b = std::move(EventLoop::start("worker-b")).value();
  ListenOptions lo = listen_options();
  lo.ice_lite = true;
  lo.fingerprints.clear();
  lo.port_group = group;
  auto a = listen(
      *loop_a, [](Session) {}, lo);
  ASSERT_TRUE(a.ok()) << a.error().to_string();
  lo.port = a->address().port;
  auto b = listen(
      *loop_b, [](Session) {}, lo);
  ASSERT_TRUE(b.ok()) << b.error().to_string();
  EXPECT_EQ(group->members(), 2u);

  std::atomic<int> received{0};
  std::vector<Session> sessions;
  Loop loop;
  const PeerAddress port =
      PeerAddress::parse("127.0.0.1", a->address().port).value();
  std::vector<std::unique_ptr<testing::UdpRelay>> relays;
  std::vector<Session> browsers;
  // A browser: its session on A, its relay a port of its own that the
  // kernel brings to A or B.
  auto add_peer = [&] {
    IceSessionConfig config;
    config.remote_ufrag = "brws";
    config.fingerprints = {pem(1).fingerprint};
    SessionListener l;
    l.on_rtp = [&](Session&, std::span<const std::uint8_t>) { ++received; };
    auto s =
        a->ask([&](Endpoint& e) { return e.add_ice_session(config, l); }).get();
    ASSERT_TRUE(s.ok()) << s.error().to_string();
    sessions.push_back(*s);
    relays.push_back(std::make_unique<testing::UdpRelay>(loop.get(), port));
    const IceCredentials creds = s->ice_credentials();
    relays.back()->inject(
        testing::UdpRelay::Direction::kToTarget,
        testing::ice_check(creds.ufrag + ":brws", creds.pwd, true, 1));
    auto c = connect(loop.get(), "127.0.0.1", relays.back()->address().port(),
                     connect_options());
    ASSERT_TRUE(c.ok());
    browsers.push_back(*c);
  };
  auto all_open = [&] {
    return loop.run_until([&] {
      for (auto& s : sessions) {
        if (!ready(s.opened())) return false;
      }
      return true;
    });
  };
  for (int i = 0; i < 12; ++i) add_peer();
  ASSERT_TRUE(all_open());
  // Until one landed on B, so that the hand-over is always exercised
  // ((1/2)^12 that none did; then at most 40 more).
  for (int i = 0; i < 40 && stats_of(*b).forwarded == 0; ++i) {
    add_peer();
    ASSERT_TRUE(all_open());
  }
  const int kPeers = static_cast<int>(sessions.size());
  EXPECT_EQ(group->sessions(), static_cast<size_t>(kPeers));
  // A ufrag is the port's, not one worker's.
  IceSessionConfig taken;
  taken.local = sessions[0].ice_credentials();
  taken.fingerprints = {pem(1).fingerprint};
  EXPECT_EQ(b->ask([&](Endpoint& e) { return e.add_ice_session(taken); })
                .get()
                .error()
                .code,
            "ERR_ICE_UFRAG_IN_USE");
  for (auto& s : sessions) ASSERT_TRUE(s.opened().get().ok());
  for (auto& c : browsers) ASSERT_TRUE(c.send_rtp(rtp(5, 1, 100)).ok());
  ASSERT_TRUE(loop.run_until([&] { return received == kPeers; }));
  // And back, from A's socket on the shared port.
  std::atomic<int> answered{0};
  for (auto& c : browsers) {
    c.on_rtp([&](std::span<const std::uint8_t>) { ++answered; });
  }
  for (auto& s : sessions) ASSERT_TRUE(s.send_rtp(rtp(6, 1, 100)).ok());
  ASSERT_TRUE(loop.run_until([&] { return answered == kPeers; }));

  const EndpointStats sa = stats_of(*a), sb = stats_of(*b);
  EXPECT_EQ(sb.server_sessions, 0u);
  // (1/2)^12 that the kernel brought every browser to A.
  EXPECT_GT(sb.forwarded, 0u);
  EXPECT_EQ(sa.forwarded_in, sb.forwarded);
  EXPECT_EQ(sb.forward_drops, 0u);
  EXPECT_EQ(sa.stun_checks, static_cast<std::uint64_t>(kPeers));
  EXPECT_EQ(sb.stun_errors, 0u);

  for (auto& c : browsers) c.close();
  ASSERT_TRUE(loop.run_until([&] {
    for (auto& s : sessions) {
      if (!ready(s.closed())) return false;
    }
    return true;
  }));
  EXPECT_EQ(group->sessions(), 0u);
  relays.clear();
  loop.run_until([] { return false; }, milliseconds(10));
  loop_b->stop();
  EXPECT_EQ(group->members(), 1u);
  loop_a->stop();
  EXPECT_EQ(group->members(), 0u);
}

TEST(DtlsApiIce, APortGroupNeedsEventLoopsAndItsOwnSecret) {
  auto group = std::move(PortGroup::create()).value();
  Loop loop;
  ListenOptions lo = listen_options();
  lo.port_group = group;
  auto e = listen(
      loop.get(), [](Session) {}, lo);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code, "ERR_INVALID_ARG_VALUE");
  auto worker = std::move(EventLoop::start()).value();
  // Not even from an EventLoop's thread onto another loop: hand-overs
  // arrive on the EventLoop's own.
  e = worker->dispatcher()->call([&] {
    return listen(
        loop.get(), [](Session) {}, lo);
  });
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code, "ERR_INVALID_ARG_VALUE");
  lo.cookie_secret.assign(32, 0x42);
  e = listen(
      *worker, [](Session) {}, lo);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code, "ERR_INVALID_ARG_VALUE");
  lo.cookie_secret.assign(group->cookie_secret().begin(),
                          group->cookie_secret().end());
  e = listen(
      *worker, [](Session) {}, lo);
  ASSERT_TRUE(e.ok()) << e.error().to_string();
  EXPECT_EQ(group->members(), 1u);
  worker->stop();
  EXPECT_EQ(group->members(), 0u);
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

// Made while the network is denied: no socket, no I/O. listen and connect on
// it are refused with the permission named until the network is allowed;
// then listen binds it and serves a client.
TEST(DtlsApiCreate, AnEndpointWithoutASocketListensOnceAllowed) {
  Loop loop;
  NetworkPolicy::set_allowed(false);
  auto e = Endpoint::create(loop.get());
  ASSERT_TRUE(e.ok()) << e.error().to_string();
  const Status denied_listen = e->listen(listen_options());
  auto denied_connect = e->connect("127.0.0.1", 9, connect_options());
  NetworkPolicy::set_allowed(true);
  ASSERT_FALSE(denied_listen.ok());
  EXPECT_EQ(denied_listen.error().errc, Errc::kAccessDenied);
  EXPECT_NE(denied_listen.error().message.find("permission: Net"),
            std::string::npos);
  ASSERT_FALSE(denied_connect.ok());
  EXPECT_EQ(denied_connect.error().errc, Errc::kAccessDenied);

  // Nothing bound yet, and the members that need a socket say so.
  EXPECT_TRUE(static_cast<bool>(*e));
  EXPECT_FALSE(e->state().bound);
  EXPECT_FALSE(e->state().listening);
  EXPECT_FALSE(e->state().destroyed);
  EXPECT_EQ(e->address().port, 0);
  EXPECT_NE(e->stats().created_at, TimePoint{});
  EXPECT_FALSE(e->recv_buffer_size().ok());
  EXPECT_EQ(e->set_ticket_keys(std::vector<std::uint8_t>(48, 1)).error().errc,
            Errc::kInvalidState);
  EXPECT_FALSE(ready(e->closed()));

  // A bad option fails at the call and leaves it unbound.
  ListenOptions bad = listen_options();
  bad.key.clear();
  EXPECT_FALSE(e->listen(bad).ok());
  EXPECT_FALSE(e->state().bound);

  std::vector<Session> accepted;
  SessionListener each;
  each.on_created = [&](Session& s) { accepted.push_back(s); };
  each.on_message = [](Session& s, std::span<const std::uint8_t> m) {
    EXPECT_TRUE(s.send(m).ok());  // echo
  };
  ASSERT_TRUE(e->listen(listen_options(), each).ok());
  EXPECT_TRUE(e->state().bound);
  EXPECT_TRUE(e->state().listening);
  ASSERT_NE(e->address().port, 0);
  EXPECT_EQ(e->listen(listen_options()).error().errc, Errc::kInvalidState);

  std::string echoed;
  SessionListener mine;
  mine.on_message = [&](Session&, std::span<const std::uint8_t> m) {
    echoed.assign(m.begin(), m.end());
  };
  auto c = connect(loop.get(), "127.0.0.1", e->address().port,
                   connect_options(), mine);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(loop.run_until([&] { return ready(c->opened()); }));
  ASSERT_TRUE(c->opened().get().ok());
  ASSERT_TRUE(c->send("ping").ok());
  ASSERT_TRUE(loop.run_until([&] { return echoed == "ping"; }));
  EXPECT_EQ(accepted.size(), 1u);
  EXPECT_EQ(e->stats().server_sessions, 1u);
  c->close();
  e->close();
  ASSERT_TRUE(loop.run_until([&] { return e->state().destroyed; }));
}

// The first connect binds the socket from its options; later connects share
// it: two servers see the same client port. The endpoint never listens.
TEST(DtlsApiCreate, ConnectBindsOneSocketForManyPeers) {
  Loop loop;
  std::vector<Session> at_a, at_b;
  auto a = listen(
      loop.get(), [&](Session s) { at_a.push_back(s); }, listen_options());
  auto b = listen(
      loop.get(), [&](Session s) { at_b.push_back(s); }, listen_options());
  ASSERT_TRUE(a.ok() && b.ok());
  auto e = Endpoint::create(loop.get());
  ASSERT_TRUE(e.ok());
  long rtp_at_a = 0;
  auto to_a = e->connect("127.0.0.1", a->address().port, connect_options());
  ASSERT_TRUE(to_a.ok()) << to_a.error().to_string();
  EXPECT_TRUE(e->state().bound);
  EXPECT_FALSE(e->state().listening);
  // A name, resolved on the loop, on the same socket.
  auto to_b = e->connect("localhost", b->address().port, connect_options());
  ASSERT_TRUE(to_b.ok()) << to_b.error().to_string();
  ASSERT_TRUE(loop.run_until([&] {
    return ready(to_a->opened()) && ready(to_b->opened()) && at_a.size() == 1 &&
           at_b.size() == 1;
  }));
  ASSERT_TRUE(to_a->opened().get().ok())
      << to_a->opened().get().error().to_string();
  ASSERT_TRUE(to_b->opened().get().ok())
      << to_b->opened().get().error().to_string();
  EXPECT_EQ(at_a[0].remote_address().port, e->address().port);
  EXPECT_EQ(at_b[0].remote_address().port, e->address().port);
  EXPECT_EQ(e->stats().client_sessions, 2u);
  EXPECT_EQ(e->state().session_count, 2u);
  EXPECT_EQ(e->listen(listen_options()).error().errc, Errc::kInvalidState);
  // The socket is IPv4 (bind_host's family): an IPv6 peer is refused at
  // once rather than left to time out.
  auto v6 = e->connect("::1", b->address().port, connect_options());
  ASSERT_FALSE(v6.ok());
  EXPECT_EQ(v6.error().errc, Errc::kInvalidArgValue);

  at_a[0].on_rtp([&](std::span<const std::uint8_t>) { ++rtp_at_a; });
  for (std::uint16_t i = 0; i < 5; ++i)
    ASSERT_TRUE(to_a->send_rtp(rtp(7, i, 100)).ok());
  ASSERT_TRUE(loop.run_until([&] { return rtp_at_a == 5; }));

  // One session ending leaves the socket to the other.
  to_a->close();
  ASSERT_TRUE(loop.run_until([&] { return ready(at_a[0].closed()); }));
  EXPECT_TRUE(e->state().bound);
  EXPECT_TRUE(to_b->send("still here").ok());
  e->close();
  ASSERT_TRUE(loop.run_until(
      [&] { return e->state().destroyed && ready(at_b[0].closed()); }));
  a->close();
  b->close();
  ASSERT_TRUE(loop.run_until(
      [&] { return a->state().destroyed && b->state().destroyed; }));
}

// Closing or destroying an endpoint that never bound ends it at once; a
// client session still resolving its name ends with its endpoint.
TEST(DtlsApiCreate, EndingAnUnboundOrResolvingEndpoint) {
  Loop loop;
  auto closed = Endpoint::create(loop.get());
  ASSERT_TRUE(closed.ok());
  auto done = closed->close();
  ASSERT_TRUE(ready(done));
  EXPECT_TRUE(done.get().ok());
  EXPECT_TRUE(closed->state().destroyed);
  EXPECT_EQ(closed->listen(listen_options()).error().errc, Errc::kInvalidState);
  EXPECT_EQ(closed->connect("127.0.0.1", 9, connect_options()).error().errc,
            Errc::kInvalidState);

  auto destroyed = Endpoint::create(loop.get());
  ASSERT_TRUE(destroyed.ok());
  destroyed->destroy(make_error(Errc::kInvalidState, "stopped by the test"));
  ASSERT_TRUE(ready(destroyed->closed()));
  EXPECT_EQ(destroyed->closed().get().error().message, "stopped by the test");

  // Resolving: the session is there, and the endpoint's socket is bound
  // by this first call (not by whichever name resolves first). Closing the
  // endpoint ends the session now.
  auto e = Endpoint::create(loop.get());
  ASSERT_TRUE(e.ok());
  auto s = e->connect("localhost", 9, connect_options());
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  EXPECT_TRUE(e->state().bound);
  e->close();
  ASSERT_TRUE(loop.run_until(
      [&] { return ready(s->closed()) && e->state().destroyed; }));
  EXPECT_EQ(s->closed().get().error().code, "ERR_DTLS_SESSION_CLOSED");
  // The lookup still completes (the loop's end waits for it) and finds the
  // session ended.
}

TEST(DtlsApiCreate, OnAnEventLoop) {
  auto started = EventLoop::start();
  ASSERT_TRUE(started.ok());
  EventLoop& loop = **started;
  auto e = Endpoint::create(loop);
  ASSERT_TRUE(e.ok());
  EXPECT_FALSE(e->ask([](Endpoint& e) { return e.state(); }).get().bound);
  ASSERT_TRUE(e->ask([](Endpoint& e) { return e.listen(listen_options()); })
                  .get()
                  .ok());
  EXPECT_TRUE(e->ask([](Endpoint& e) { return e.state(); }).get().listening);
  auto c = connect(loop, "127.0.0.1", e->address().port, connect_options());
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(c->opened().wait_for(std::chrono::seconds(10)),
            std::future_status::ready);
  EXPECT_TRUE(c->opened().get().ok());
  EXPECT_EQ(Endpoint::create(nullptr).error().errc, Errc::kInvalidArgValue);
}

}  // namespace
}  // namespace dtls
