#include "transport/dtls_api.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "certs/fingerprint.h"
#include "certs/generate.h"
#include "tests/testing/cookie_exchange.h"
#include "tests/testing/failing_random.h"
#include "tests/testing/ice_check.h"
#include "tests/testing/rtp_packets.h"
#include "tests/testing/udp_relay.h"
#include "tests/testing/uv_test_loop.h"
#include "transport/dtls/dtls_record.h"

namespace dtls {
namespace {

using std::chrono::milliseconds;

struct Pem {
  std::string cert, key, fingerprint;
};

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

ListenOptions listen_options(std::string host = "127.0.0.1") {
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

using Loop = testing::UvTestLoop;

TEST(DtlsApi, ListenConnectRoundTripWithExactStats) {
  Loop loop;
  std::vector<Session> server_sessions;
  std::string server_got;
  auto endpoint = listen(
      loop.get(),
      [&](Session s) {
        server_sessions.push_back(s);
        s.on_message([&, s](std::span<const std::uint8_t> m) mutable {
          server_got.assign(m.begin(), m.end());
          ASSERT_TRUE(s.send("pong").ok());
        });
      },
      listen_options());
  ASSERT_TRUE(endpoint.ok()) << endpoint.error().to_string();
  AddressInfo addr = endpoint->address();
  EXPECT_EQ(addr.address, "127.0.0.1");
  EXPECT_EQ(addr.family, "IPv4");
  ASSERT_NE(addr.port, 0);
  EndpointState st = endpoint->state();
  EXPECT_TRUE(st.bound && st.listening && !st.closing && !st.destroyed);

  auto session = connect(loop.get(), "127.0.0.1", addr.port, connect_options());
  ASSERT_TRUE(session.ok()) << session.error().to_string();
  std::string client_got, handshake_protocol;
  std::vector<std::string> keylog;
  session->on_message([&](std::span<const std::uint8_t> m) {
    client_got.assign(m.begin(), m.end());
  });
  session->on_handshake([&](const std::string& p) { handshake_protocol = p; });
  session->on_keylog([&](std::string_view l) { keylog.emplace_back(l); });
  auto opened = session->opened();
  ASSERT_TRUE(loop.run_until([&] {
    return opened.wait_for(std::chrono::seconds(0)) ==
           std::future_status::ready;
  }));
  ASSERT_TRUE(opened.get().ok()) << opened.get().error().to_string();
  EXPECT_EQ(*opened.get(), "DTLSv1.2");
  EXPECT_EQ(handshake_protocol, "DTLSv1.2");
  EXPECT_EQ(session->protocol(), "DTLSv1.2");
  EXPECT_EQ(session->srtp_profile(), "SRTP_AEAD_AES_128_GCM");
  EXPECT_EQ(session->remote_address().port, addr.port);
  ASSERT_TRUE(session->cipher());
  ASSERT_TRUE(session->peer_certificate());
  EXPECT_EQ(keylog.size(), 1u);
  ASSERT_EQ(server_sessions.size(), 1u);
  auto ck = session->export_keying_material(56, "EXTRACTOR-dtls_srtp");
  auto sk =
      server_sessions[0].export_keying_material(56, "EXTRACTOR-dtls_srtp");
  ASSERT_TRUE(ck.ok() && sk.ok());
  EXPECT_EQ(*ck, *sk);

  ASSERT_TRUE(session->send("ping").ok());
  ASSERT_TRUE(loop.run_until([&] { return client_got == "pong"; }));
  EXPECT_EQ(server_got, "ping");
  SessionStats cs = session->stats();
  EXPECT_TRUE(cs.is_connected);
  EXPECT_EQ(cs.messages_sent, 1u);
  EXPECT_EQ(cs.bytes_sent, 4u);
  EXPECT_EQ(cs.messages_received, 1u);
  EXPECT_EQ(cs.bytes_received, 4u);
  EXPECT_TRUE(cs.handshake_completed_at.has_value());
  EndpointStats es = endpoint->stats();
  EXPECT_EQ(es.server_sessions, 1u);
  EXPECT_EQ(es.client_sessions, 0u);
  EXPECT_TRUE(es.is_connected);
  EXPECT_EQ(endpoint->state().session_count, 1u);

  // The client closes: the server session ends with a clean close; stats become
  // snapshots.
  session->close();
  ASSERT_TRUE(loop.run_until([&] {
    return server_sessions[0].closed().wait_for(std::chrono::seconds(0)) ==
           std::future_status::ready;
  }));
  SessionStats after = server_sessions[0].stats();
  EXPECT_FALSE(after.is_connected);
  EXPECT_TRUE(after.destroyed_at.has_value());
  EXPECT_EQ(after.messages_received, 1u);
  auto late =
      server_sessions[0].export_keying_material(56, "EXTRACTOR-dtls_srtp");
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, "ERR_DTLS_SESSION_DESTROYED");
  auto late_send = server_sessions[0].send("x");
  ASSERT_FALSE(late_send.ok());
  EXPECT_EQ(late_send.error().code, "ERR_DTLS_SESSION_DESTROYED");
  EXPECT_TRUE(session->closed().valid());

  endpoint->close();
  ASSERT_TRUE(loop.run_until([&] {
    return endpoint->closed().wait_for(std::chrono::seconds(0)) ==
           std::future_status::ready;
  }));
  EXPECT_TRUE(endpoint->state().destroyed);
  EXPECT_FALSE(endpoint->stats().is_connected);
  EXPECT_EQ(endpoint->stats().server_sessions, 1u);
}

// close() on the endpoint sends close_notify to every peer: each client session
// closes.
TEST(DtlsApi, EndpointCloseReachesEverySession) {
  Loop loop;
  auto endpoint = listen(
      loop.get(), [](Session) {}, listen_options());
  ASSERT_TRUE(endpoint.ok());
  std::vector<Session> clients;
  for (int i = 0; i < 10; ++i) {
    auto s = connect(loop.get(), "127.0.0.1", endpoint->address().port,
                     connect_options());
    ASSERT_TRUE(s.ok());
    clients.push_back(*s);
  }
  auto all = [&](auto pick) {
    for (auto& c : clients) {
      if (pick(c).wait_for(std::chrono::seconds(0)) !=
          std::future_status::ready)
        return false;
    }
    return true;
  };
  ASSERT_TRUE(loop.run_until(
      [&] { return all([](Session& s) { return s.opened(); }); }));
  EXPECT_EQ(endpoint->state().session_count, 10u);
  endpoint->close();
  ASSERT_TRUE(loop.run_until(
      [&] { return all([](Session& s) { return s.closed(); }); }));
  for (auto& c : clients) EXPECT_FALSE(c.stats().is_connected);
}

TEST(DtlsApi, HandshakeFailureRejectsOpened) {
  Loop loop;
  auto endpoint = listen(
      loop.get(), [](Session) {}, listen_options());
  ASSERT_TRUE(endpoint.ok());
  ConnectOptions o = connect_options();
  o.fingerprints = {pem(1).fingerprint};  // not the server's
  auto s = connect(loop.get(), "127.0.0.1", endpoint->address().port, o);
  ASSERT_TRUE(s.ok());
  Error seen;
  s->on_error([&](const Error& e) { seen = e; });
  auto opened = s->opened();
  ASSERT_TRUE(loop.run_until([&] {
    return opened.wait_for(std::chrono::seconds(0)) ==
           std::future_status::ready;
  }));
  ASSERT_FALSE(opened.get().ok());
  EXPECT_EQ(opened.get().error().code, "ERR_DTLS_CERT_FINGERPRINT_MISMATCH");
  EXPECT_EQ(seen.code, "ERR_DTLS_CERT_FINGERPRINT_MISMATCH");
  endpoint->close();
}

TEST(DtlsApi, OptionErrorsFailAtTheCall) {
  Loop loop;
  struct Case {
    const char* name;
    void (*mutate)(ListenOptions&);
    const char* code;
  } cases[] = {
      {"no port", [](ListenOptions& o) { o.port.reset(); },
       "ERR_INVALID_ARG_VALUE"},
      {"no cert", [](ListenOptions& o) { o.cert.clear(); },
       "ERR_INVALID_ARG_VALUE"},
      {"no key", [](ListenOptions& o) { o.key.clear(); },
       "ERR_INVALID_ARG_VALUE"},
      {"cert garbage", [](ListenOptions& o) { o.cert = "nope"; },
       "ERR_CERT_PEM_INVALID"},
      {"mtu low", [](ListenOptions& o) { o.mtu = 100; }, "ERR_OUT_OF_RANGE"},
      {"mtu high", [](ListenOptions& o) { o.mtu = 70000; }, "ERR_OUT_OF_RANGE"},
      {"bad srtp", [](ListenOptions& o) { o.srtp = "SRTP_X"; },
       "ERR_INVALID_ARG_VALUE"},
      {"bad fingerprint",
       [](ListenOptions& o) { o.fingerprints = {"sha-256 zz"}; },
       "ERR_SDP_FINGERPRINT_INVALID"},
      {"bad ca", [](ListenOptions& o) { o.ca = {"junk"}; },
       "ERR_CA_PEM_INVALID"},
      {"bad host", [](ListenOptions& o) { o.host = "not a host name!"; },
       "ERR_INVALID_ARG_VALUE"},
      {"no sessions", [](ListenOptions& o) { o.max_sessions = 0; },
       "ERR_OUT_OF_RANGE"},
      {"recv buffer", [](ListenOptions& o) { o.recv_buffer_size = 1u << 30; },
       "ERR_OUT_OF_RANGE"},
      {"send buffer", [](ListenOptions& o) { o.send_buffer_size = 1u << 30; },
       "ERR_OUT_OF_RANGE"},
      {"no half-open", [](ListenOptions& o) { o.max_half_open = 0; },
       "ERR_OUT_OF_RANGE"},
      {"no half-open per address",
       [](ListenOptions& o) { o.max_half_open_per_address = 0; },
       "ERR_OUT_OF_RANGE"},
      {"half-open timeout",
       [](ListenOptions& o) { o.half_open_timeout = milliseconds(10); },
       "ERR_OUT_OF_RANGE"},
      {"retransmit initial",
       [](ListenOptions& o) { o.retransmit_initial = milliseconds(5); },
       "ERR_OUT_OF_RANGE"},
      {"retransmit max below initial",
       [](ListenOptions& o) {
         o.retransmit_initial = milliseconds(1000);
         o.retransmit_max = milliseconds(500);
       },
       "ERR_OUT_OF_RANGE"},
      {"half-open grace",
       [](ListenOptions& o) { o.half_open_grace = milliseconds(-1); },
       "ERR_OUT_OF_RANGE"},
  };
  for (const Case& c : cases) {
    ListenOptions o = listen_options();
    c.mutate(o);
    auto e = listen(
        loop.get(), [](Session) {}, o);
    ASSERT_FALSE(e.ok()) << c.name;
    EXPECT_EQ(e.error().code, c.code) << c.name << ": " << e.error().message;
  }
  auto bad_port = connect(loop.get(), "127.0.0.1", 0, connect_options());
  ASSERT_FALSE(bad_port.ok());
  EXPECT_EQ(bad_port.error().code, "ERR_OUT_OF_RANGE");
  ConnectOptions half = connect_options();
  half.key.clear();
  auto c = connect(loop.get(), "127.0.0.1", 9, half);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, "ERR_INVALID_ARG_VALUE");
  ConnectOptions mixed = connect_options();
  mixed.bind_host = "::1";
  auto m = connect(loop.get(), "127.0.0.1", 9, mixed);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().code, "ERR_INVALID_ARG_VALUE");
}

TEST(DtlsApi, NetworkPolicyDeniesListenAndConnect) {
  Loop loop;
  NetworkPolicy::set_allowed(false);
  auto e = listen(
      loop.get(), [](Session) {}, listen_options());
  auto s = connect(loop.get(), "127.0.0.1", 9, connect_options());
  NetworkPolicy::set_allowed(true);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code, "ERR_ACCESS_DENIED");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "ERR_ACCESS_DENIED");
  EXPECT_EQ(s.error().errc, Errc::kAccessDenied);
  EXPECT_NE(s.error().message.find("permission: Net"), std::string::npos);
  // Options and handles without I/O are fine while denied.
  Endpoint none;
  EXPECT_FALSE(static_cast<bool>(none));
  EXPECT_FALSE(none.state().bound);
}

TEST(DtlsApi, BusyEndpointCountsRefusals) {
  Loop loop;
  auto endpoint = listen(
      loop.get(), [](Session) {}, listen_options());
  ASSERT_TRUE(endpoint.ok());
  endpoint->set_busy(true);
  EXPECT_TRUE(endpoint->busy());
  ConnectOptions o = connect_options();
  o.handshake_timeout = milliseconds(300);
  auto s = connect(loop.get(), "127.0.0.1", endpoint->address().port, o);
  ASSERT_TRUE(s.ok());
  auto opened = s->opened();
  ASSERT_TRUE(loop.run_until([&] {
    return opened.wait_for(std::chrono::seconds(0)) ==
           std::future_status::ready;
  }));
  ASSERT_FALSE(opened.get().ok());
  EXPECT_EQ(opened.get().error().code, "ERR_DTLS_HANDSHAKE_TIMEOUT");
  EXPECT_GE(endpoint->stats().server_busy_count, 1u);
  endpoint->close();
}

TEST(DtlsApi, Ipv6Loopback) {
  Loop loop;
  auto endpoint = listen(
      loop.get(), [](Session) {}, listen_options("::1"));
  if (!endpoint.ok() && endpoint.error().code == "ERR_SOCKET_BIND") {
    GTEST_SKIP() << "no IPv6 loopback here: " << endpoint.error().message;
  }
  ASSERT_TRUE(endpoint.ok()) << endpoint.error().to_string();
  EXPECT_EQ(endpoint->address().family, "IPv6");
  auto s =
      connect(loop.get(), "::1", endpoint->address().port, connect_options());
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  auto opened = s->opened();
  ASSERT_TRUE(loop.run_until([&] {
    return opened.wait_for(std::chrono::seconds(0)) ==
           std::future_status::ready;
  }));
  EXPECT_TRUE(opened.get().ok());
  EXPECT_EQ(s->remote_address().family, "IPv6");
  endpoint->close();
}

// Dropping the last handle of a connected session closes it gracefully.
TEST(DtlsApi, DroppingTheLastHandleCloses) {
  Loop loop;
  std::vector<Session> server_sessions;
  auto endpoint = listen(
      loop.get(), [&](Session s) { server_sessions.push_back(s); },
      listen_options());
  ASSERT_TRUE(endpoint.ok());
  {
    auto s = connect(loop.get(), "127.0.0.1", endpoint->address().port,
                     connect_options());
    ASSERT_TRUE(s.ok());
    auto opened = s->opened();
    ASSERT_TRUE(loop.run_until([&] {
      return opened.wait_for(std::chrono::seconds(0)) ==
             std::future_status::ready;
    }));
  }
  ASSERT_EQ(server_sessions.size(), 1u);
  ASSERT_TRUE(loop.run_until([&] {
    return server_sessions[0].closed().wait_for(std::chrono::seconds(0)) ==
           std::future_status::ready;
  }));
  endpoint->close();
}

}  // namespace
}  // namespace dtls

namespace dtls {
namespace {

// Callbacks that capture their own Session (to reply) must not keep it alive
// after it ends.
TEST(DtlsApi, EndedSessionsReleaseTheirCallbacks) {
  testing::UvTestLoop loop;
  auto token = std::make_shared<int>(0);
  std::vector<Session> server_sessions;
  auto endpoint = listen(
      loop.get(),
      [&, token](Session s) {
        server_sessions.push_back(s);
        s.on_message([s, token](std::span<const std::uint8_t>) mutable {
          EXPECT_TRUE(s.send("pong").ok());
        });
        s.on_error([s, token](const Error&) {});
      },
      listen_options());
  ASSERT_TRUE(endpoint.ok());
  {
    auto c = connect(loop.get(), "127.0.0.1", endpoint->address().port,
                     connect_options());
    ASSERT_TRUE(c.ok());
    auto opened = c->opened();
    ASSERT_TRUE(loop.run_until([&] {
      return opened.wait_for(std::chrono::seconds(0)) ==
             std::future_status::ready;
    }));
    ASSERT_TRUE(c->send("ping").ok());
    c->close();
    ASSERT_TRUE(loop.run_until([&] {
      return server_sessions[0].closed().wait_for(std::chrono::seconds(0)) ==
             std::future_status::ready;
    }));
  }
  EXPECT_EQ(token.use_count(),
            2);  // ours + listen's on_session; the session's are gone
  endpoint->close();
  ASSERT_TRUE(loop.run_until([&] { return endpoint->state().destroyed; }));
  EXPECT_EQ(token.use_count(),
            1);  // on_session released when the endpoint closed
}

}  // namespace
}  // namespace dtls

namespace dtls {
namespace {

template <class T>
bool ready(const std::shared_future<T>& f) {
  return f.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
}

// One half-open peer by hand: a first ClientHello from `fd`, the cookie back,
// the ClientHello with it. True once the server has the session.
bool half_open_from(Loop& loop, int fd, const sockaddr_in& to,
                    const std::function<bool()>& accepted) {
  std::vector<std::uint8_t> hello;
  auto ctx = DtlsContext::create({});
  auto probe = DtlsAssociation::connect(*ctx, {}, Clock::now());
  if (!probe.ok() || !(*probe)->pop_datagram(hello)) return false;
  const auto* dest = reinterpret_cast<const sockaddr*>(&to);
  if (sendto(fd, hello.data(), hello.size(), 0, dest, sizeof(to)) <= 0)
    return false;
  std::vector<std::uint8_t> hvr(2048);
  ssize_t n = -1;
  if (!loop.run_until([&] {
        n = recv(fd, hvr.data(), hvr.size(), 0);
        return n > 0;
      })) {
    return false;
  }
  hvr.resize(static_cast<size_t>(n));
  auto second = testing::client_hello_with_cookie(
      hello, testing::hello_verify_cookie(hvr));
  if (sendto(fd, second.data(), second.size(), 0, dest, sizeof(to)) <= 0)
    return false;
  return loop.run_until(accepted);
}

// Peers that answer the cookie and go silent: at max_half_open_per_address
// the oldest is replaced (its session ends with ERR_DTLS_HANDSHAKE_EVICTED),
// and the rest end after half_open_timeout (ERR_DTLS_HANDSHAKE_TIMEOUT);
// the endpoint's stats count both.
TEST(DtlsApi, HalfOpenHandshakesAreBoundedAndExpire) {
  Loop loop;
  std::vector<Session> sessions;
  ListenOptions lo = listen_options();
  lo.max_half_open_per_address = 2;
  lo.half_open_timeout = milliseconds(200);
  lo.half_open_grace = milliseconds(0);
  auto endpoint = listen(
      loop.get(), [&](Session s) { sessions.push_back(s); }, lo);
  ASSERT_TRUE(endpoint.ok());
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  to.sin_port = htons(endpoint->address().port);
  std::vector<int> fds;
  for (size_t i = 0; i < 3; ++i) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    ASSERT_GE(fd, 0);
    fds.push_back(fd);
    ASSERT_TRUE(
        half_open_from(loop, fd, to, [&] { return sessions.size() == i + 1; }));
  }
  EXPECT_EQ(endpoint->stats().half_open, 2u);
  EXPECT_EQ(endpoint->stats().half_open_evicted, 1u);
  ASSERT_TRUE(loop.run_until([&] { return ready(sessions[0].closed()); }));
  EXPECT_EQ(sessions[0].closed().get().error().code,
            "ERR_DTLS_HANDSHAKE_EVICTED");
  ASSERT_TRUE(loop.run_until([&] {
    return ready(sessions[1].closed()) && ready(sessions[2].closed());
  }));
  for (int i : {1, 2}) {
    EXPECT_EQ(sessions[size_t(i)].closed().get().error().code,
              "ERR_DTLS_HANDSHAKE_TIMEOUT");
  }
  EXPECT_EQ(endpoint->stats().half_open, 0u);
  EXPECT_EQ(endpoint->stats().half_open_expired, 2u);
  EXPECT_EQ(endpoint->stats().server_busy_count, 0u);
  for (int fd : fds) close(fd);
  endpoint->close();
  ASSERT_TRUE(loop.run_until([&] { return endpoint->state().destroyed; }));
}

// A replaced half-open handshake's callback closes the endpoint: the hello
// that replaced it makes no session, and nothing is touched after.
TEST(DtlsApi, ACallbackOfAReplacedHandshakeMayCloseTheEndpoint) {
  Loop loop;
  std::vector<Session> sessions;
  ListenOptions lo = listen_options();
  lo.max_half_open_per_address = 1;
  lo.half_open_grace = milliseconds(0);
  Result<Endpoint> endpoint = make_error("ERR_TEST", "not yet");
  endpoint = listen(
      loop.get(),
      [&](Session s) {
        if (sessions.empty()) {
          s.on_error([&](const Error&) { endpoint->close(); });
        }
        sessions.push_back(s);
      },
      lo);
  ASSERT_TRUE(endpoint.ok());
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  to.sin_port = htons(endpoint->address().port);
  int a = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  int b = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  ASSERT_TRUE(
      half_open_from(loop, a, to, [&] { return sessions.size() == 1; }));
  // The second replaces the first, whose on_error closes the endpoint.
  half_open_from(loop, b, to, [&] { return endpoint->state().destroyed; });
  ASSERT_TRUE(loop.run_until([&] { return endpoint->state().destroyed; }));
  EXPECT_EQ(sessions.size(), 1u);
  EXPECT_EQ(sessions[0].closed().get().error().code,
            "ERR_DTLS_HANDSHAKE_EVICTED");
  close(a);
  close(b);
}

// A client that sends part of its next flight (here its Certificate) and
// stops is still half-open: nothing before its Finished is authenticated. It
// ends after half_open_timeout, measured from that last step.
TEST(DtlsApi, AHandshakeThatStopsMidFlightStaysHalfOpen) {
  Loop loop;
  std::vector<Session> sessions;
  ListenOptions lo = listen_options();
  lo.half_open_timeout = milliseconds(300);
  lo.half_open_grace = milliseconds(100);
  auto endpoint = listen(
      loop.get(), [&](Session s) { sessions.push_back(s); }, lo);
  ASSERT_TRUE(endpoint.ok());
  auto server = PeerAddress::parse("127.0.0.1", endpoint->address().port);
  testing::UdpRelay relay(loop.get(), *server);
  int to_server = 0;
  relay.set_hook(
      [&](testing::UdpRelay::Direction d, std::vector<std::uint8_t>& dg) {
        if (d != testing::UdpRelay::Direction::kToTarget) return true;
        ++to_server;
        if (to_server <= 2) return true;  // the two ClientHellos
        if (to_server > 3) return false;  // nothing more
        // The last flight's first record only (the Certificate).
        auto h = parse_record_header(dg);
        if (!h) return false;
        dg.resize(kRecordHeaderSize + h->length);
        return true;
      });
  ConnectOptions co = connect_options();
  co.handshake_timeout = std::chrono::seconds(5);
  auto s = connect(loop.get(), "127.0.0.1", relay.address().port(), co);
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(
      loop.run_until([&] { return to_server >= 3 && sessions.size() == 1; }));
  loop.run_until([] { return false; }, milliseconds(50));
  EXPECT_EQ(endpoint->stats().half_open, 1u);
  ASSERT_TRUE(loop.run_until([&] { return ready(sessions[0].closed()); },
                             std::chrono::seconds(3)));
  EXPECT_EQ(sessions[0].closed().get().error().code,
            "ERR_DTLS_HANDSHAKE_TIMEOUT");
  EXPECT_EQ(endpoint->stats().half_open_expired, 1u);
  EXPECT_EQ(endpoint->stats().half_open, 0u);
  s->destroy();
  endpoint->close();
  ASSERT_TRUE(loop.run_until([&] { return endpoint->state().destroyed; }));
}

// retransmit_initial / adaptive_retransmit reach the handshake: the client's
// last flight is lost once; with adaptation it goes again after the 100 ms
// floor (loopback's round trip is far below it), without it after
// retransmit_initial (here 800 ms).
TEST(DtlsApi, RetransmitOptionsReachTheHandshake) {
  for (bool adaptive : {true, false}) {
    Loop loop;
    auto endpoint = listen(
        loop.get(), [](Session) {}, listen_options());
    ASSERT_TRUE(endpoint.ok());
    auto server = PeerAddress::parse("127.0.0.1", endpoint->address().port);
    testing::UdpRelay relay(loop.get(), *server);
    int to_server = 0;
    relay.set_hook(
        [&](testing::UdpRelay::Direction d, std::vector<std::uint8_t>&) {
          if (d != testing::UdpRelay::Direction::kToTarget) return true;
          return ++to_server != 3;  // hello, hello with cookie, *last flight*
        });
    ConnectOptions co = connect_options();
    co.retransmit_initial = milliseconds(800);
    co.adaptive_retransmit = adaptive;
    auto s = connect(loop.get(), "127.0.0.1", relay.address().port(), co);
    ASSERT_TRUE(s.ok());
    const auto t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(loop.run_until([&] { return ready(s->opened()); }));
    const auto took = std::chrono::steady_clock::now() - t0;
    ASSERT_TRUE(s->opened().get().ok());
    EXPECT_EQ(s->stats().retransmit_count, 1u);
    // The cookie exchange and the server's flight gave samples.
    EXPECT_TRUE(s->stats().smoothed_rtt.has_value());
    if (adaptive) {
      EXPECT_LT(took, milliseconds(600)) << "adaptive";
    } else {
      EXPECT_GE(took, milliseconds(800)) << "fixed";
    }
    endpoint->close();
    s->close();
    loop.run_until([] { return false; }, milliseconds(20));
  }
}

// initial_rtt times even the first flight: the first ClientHello, lost, goes
// again after 3 x 40 ms instead of retransmit_initial.
TEST(DtlsApi, AKnownRoundTripReachesTheFirstFlight) {
  Loop loop;
  auto endpoint = listen(
      loop.get(), [](Session) {}, listen_options());
  ASSERT_TRUE(endpoint.ok());
  auto server = PeerAddress::parse("127.0.0.1", endpoint->address().port);
  testing::UdpRelay relay(loop.get(), *server);
  int to_server = 0;
  relay.set_hook(
      [&](testing::UdpRelay::Direction d, std::vector<std::uint8_t>&) {
        return d != testing::UdpRelay::Direction::kToTarget || ++to_server != 1;
      });
  ConnectOptions co = connect_options();
  co.retransmit_initial = milliseconds(800);
  co.adaptive_retransmit = true;
  co.initial_rtt = milliseconds(40);
  auto s = connect(loop.get(), "127.0.0.1", relay.address().port(), co);
  ASSERT_TRUE(s.ok());
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(loop.run_until([&] { return ready(s->opened()); }));
  ASSERT_TRUE(s->opened().get().ok());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, milliseconds(600));
  EXPECT_EQ(s->stats().retransmit_count, 1u);
  co.initial_rtt = milliseconds(60001);
  auto bad = connect(loop.get(), "127.0.0.1", relay.address().port(), co);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "ERR_OUT_OF_RANGE");
  endpoint->close();
  s->close();
  loop.run_until([] { return false; }, milliseconds(20));
}

// Names are looked up on the loop (uv_getaddrinfo): the session comes back at
// once and its handshake starts when the address is known.
TEST(DtlsApi, HostNamesResolveOnTheLoop) {
  testing::UvTestLoop loop;
  auto endpoint = listen(
      loop.get(), [](Session) {}, listen_options());
  ASSERT_TRUE(endpoint.ok());
  auto s = connect(loop.get(), "localhost", endpoint->address().port,
                   connect_options());
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  EXPECT_EQ(s->remote_address().port, 0);  // not known yet
  auto early = s->send("too early");
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.error().code, "ERR_DTLS_SESSION_NOT_OPEN");
  auto opened = s->opened();
  ASSERT_TRUE(loop.run_until([&] { return ready(opened); }));
  ASSERT_TRUE(opened.get().ok()) << opened.get().error().to_string();
  EXPECT_EQ(s->remote_address().address, "127.0.0.1");  // IPv4 first
  EXPECT_EQ(s->remote_address().port, endpoint->address().port);
  endpoint->close();
  ASSERT_TRUE(loop.run_until([&] { return ready(s->closed()); }));
  EXPECT_TRUE(s->closed().get().ok());
}

TEST(DtlsApi, UnresolvableHostEndsTheSession) {
  testing::UvTestLoop loop;
  // RFC 6761 §6.4: names under .invalid never resolve.
  auto s = connect(loop.get(), "no-such-host.invalid", 4433, connect_options());
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  Error seen;
  s->on_error([&](const Error& e) { seen = e; });
  ASSERT_TRUE(loop.run_until([&] { return ready(s->closed()); },
                             std::chrono::seconds(30)));
  ASSERT_FALSE(s->opened().get().ok());
  EXPECT_EQ(s->opened().get().error().code, "ERR_DTLS_HOST_NOT_FOUND");
  ASSERT_FALSE(s->closed().get().ok());
  EXPECT_EQ(s->closed().get().error().code, "ERR_DTLS_HOST_NOT_FOUND");
  EXPECT_EQ(seen.code, "ERR_DTLS_HOST_NOT_FOUND");
  EXPECT_FALSE(s->stats().is_connected);
  auto late = s->send("x");
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, "ERR_DTLS_SESSION_DESTROYED");
}

// Closing a session whose name is still being looked up ends it at once.
TEST(DtlsApi, CloseWhileResolvingEndsTheSession) {
  testing::UvTestLoop loop;
  auto s = connect(loop.get(), "localhost", 9, connect_options());
  ASSERT_TRUE(s.ok());
  s->close();
  ASSERT_TRUE(ready(s->closed()));
  EXPECT_TRUE(s->closed().get().ok());
  EXPECT_EQ(s->opened().get().error().code, "ERR_DTLS_SESSION_CLOSED");
  // The lookup still finishes on the loop, finds the session ended and starts
  // nothing (the loop's destructor fails the test on a handle left open).
  (void)loop.run_until([] { return false; }, milliseconds(50));
  EXPECT_TRUE(s->closed().get().ok());
  EXPECT_FALSE(s->stats().is_connected);
  EXPECT_EQ(s->remote_address().port, 0);
}

// The client's socket is connected to its server, so an ICMP port unreachable
// fails the handshake at once instead of after the handshake timeout.
TEST(DtlsApi, ClosedPortFailsFastWithConnectionRefused) {
  testing::UvTestLoop loop;
  std::uint16_t port = 0;
  {
    // A port that was free a moment ago: bound and released.
    auto probe = listen(
        loop.get(), [](Session) {}, listen_options());
    ASSERT_TRUE(probe.ok());
    port = probe->address().port;
    probe->destroy();
    ASSERT_TRUE(loop.run_until([&] { return probe->state().destroyed; }));
  }
  ConnectOptions o = connect_options();
  o.handshake_timeout = std::chrono::seconds(60);
  // The second refusal comes with the first retransmission.
  o.retransmit_initial = milliseconds(100);
  auto s = connect(loop.get(), "127.0.0.1", port, o);
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(loop.run_until([&] { return ready(s->closed()); },
                             std::chrono::seconds(5)));
  ASSERT_FALSE(s->opened().get().ok());
  EXPECT_EQ(s->opened().get().error().code, "ERR_DTLS_CONNECTION_REFUSED");
  EXPECT_EQ(s->closed().get().error().code, "ERR_DTLS_CONNECTION_REFUSED");
}

// destroy(error): no alert, and the error reaches on_error, opened (when still
// pending) and closed; the endpoint's closed carries it too.
TEST(DtlsApi, DestroyWithAnErrorEndsSessionsWithIt) {
  testing::UvTestLoop loop;
  std::vector<Session> server_sessions;
  std::vector<Error> server_errors;
  auto endpoint = listen(
      loop.get(),
      [&](Session s) {
        server_sessions.push_back(s);
        s.on_error([&](const Error& e) { server_errors.push_back(e); });
      },
      listen_options());
  ASSERT_TRUE(endpoint.ok());
  auto a = connect(loop.get(), "127.0.0.1", endpoint->address().port,
                   connect_options());
  auto b = connect(loop.get(), "127.0.0.1", endpoint->address().port,
                   connect_options());
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(loop.run_until([&] {
    return ready(a->opened()) && ready(b->opened()) &&
           server_sessions.size() == 2 && ready(server_sessions[0].opened()) &&
           ready(server_sessions[1].opened());
  }));
  // One session, by the application.
  a->destroy(make_error("ERR_APP_HANGUP", "the call ended"));
  ASSERT_TRUE(ready(a->closed()));
  EXPECT_EQ(a->closed().get().error().code, "ERR_APP_HANGUP");
  EXPECT_TRUE(a->opened().get().ok());  // it had opened; that stays
  // The whole endpoint.
  Status endpoint_closed;
  endpoint->on_closed([&](const Status& s) { endpoint_closed = s; });
  endpoint->destroy(make_error("ERR_APP_SHUTDOWN", "maintenance"));
  ASSERT_TRUE(loop.run_until([&] { return ready(endpoint->closed()); }));
  EXPECT_EQ(endpoint->closed().get().error().code, "ERR_APP_SHUTDOWN");
  ASSERT_FALSE(endpoint_closed.ok());
  EXPECT_EQ(endpoint_closed.error().code, "ERR_APP_SHUTDOWN");
  ASSERT_EQ(server_errors.size(), 2u);
  for (auto& s : server_sessions) {
    ASSERT_TRUE(ready(s.closed()));
    EXPECT_EQ(s.closed().get().error().code, "ERR_APP_SHUTDOWN");
  }
  for (const Error& e : server_errors) EXPECT_EQ(e.code, "ERR_APP_SHUTDOWN");
  // No alert went out: b's session is still open until we end it.
  EXPECT_FALSE(ready(b->closed()));
  b->destroy();
  ASSERT_TRUE(ready(b->closed()));
  EXPECT_TRUE(b->closed().get().ok());
}

// A loop the library owns: every call from this (non-loop) thread crosses
// through the loop's uv_async; callbacks run on the loop thread; stop() closes
// what is left and handles stay safe afterwards.
TEST(DtlsApi, EventLoopRunsEverythingFromAnotherThread) {
  auto started = EventLoop::start();
  ASSERT_TRUE(started.ok());
  std::unique_ptr<EventLoop> loop = std::move(started).value();
  std::mutex mu;
  std::vector<Session> server_sessions;
  std::vector<std::string> received;
  std::atomic<bool> callbacks_on_loop{true};
  auto d = loop->dispatcher();
  auto endpoint = listen(
      *loop,
      [&](Session s) {
        callbacks_on_loop = callbacks_on_loop && d->on_loop_thread();
        s.on_message([&, s](std::span<const std::uint8_t> m) mutable {
          callbacks_on_loop = callbacks_on_loop && d->on_loop_thread();
          {
            std::lock_guard lock(mu);
            received.emplace_back(m.begin(), m.end());
          }
          EXPECT_TRUE(s.send("pong").ok());  // inline: we are on the loop
        });
        std::lock_guard lock(mu);
        server_sessions.push_back(s);
      },
      listen_options());
  ASSERT_TRUE(endpoint.ok()) << endpoint.error().to_string();
  auto client =
      connect(*loop, "127.0.0.1", endpoint->address().port, connect_options());
  ASSERT_TRUE(client.ok());
  std::promise<std::string> reply;
  client->on_message([&](std::span<const std::uint8_t> m) {
    reply.set_value(std::string(m.begin(), m.end()));
  });
  ASSERT_EQ(client->opened().wait_for(std::chrono::seconds(10)),
            std::future_status::ready);
  ASSERT_TRUE(client->opened().get().ok());
  auto sent = client->send("ping");
  ASSERT_TRUE(sent.ok());
  EXPECT_EQ(*sent, 4u);
  auto got = reply.get_future();
  ASSERT_EQ(got.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(got.get(), "pong");
  EXPECT_EQ(client->srtp_profile(), "SRTP_AEAD_AES_128_GCM");
  EXPECT_EQ(client->stats().messages_sent, 1u);
  EXPECT_EQ(endpoint->state().session_count, 1u);
  EXPECT_TRUE(callbacks_on_loop);
  {
    std::lock_guard lock(mu);
    ASSERT_EQ(received.size(), 1u);
    EXPECT_EQ(received[0], "ping");
  }
  loop->stop();  // closes the endpoint and the client gracefully
  ASSERT_TRUE(ready(client->closed()));
  ASSERT_TRUE(ready(endpoint->closed()));
  EXPECT_TRUE(endpoint->state().destroyed);
  EXPECT_FALSE(client->stats().is_connected);
  EXPECT_EQ(client->stats().messages_sent, 1u);  // the snapshot
  auto late = client->send("late");
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, "ERR_DTLS_SESSION_DESTROYED");
  std::lock_guard lock(mu);
  server_sessions.clear();
}

}  // namespace
}  // namespace dtls

namespace dtls {
namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes rtp(std::uint32_t ssrc, std::uint16_t seq, size_t payload) {
  return testing::make_rtp(ssrc, seq, payload);
}

Bytes rtcp(std::uint32_t ssrc) { return testing::make_rtcp(ssrc); }

struct MediaPair {
  testing::UvTestLoop loop;
  std::vector<Session> server_sessions;
  std::vector<Bytes> server_rtp, server_rtcp, client_rtp, client_rtcp;
  Result<Endpoint> endpoint = make_error("ERR_TEST", "not yet");
  Result<Session> client = make_error("ERR_TEST", "not yet");

  // Listens; connects through `via` (a relay) when given.
  void start(const std::string& profile, const testing::UdpRelay* via = nullptr,
             std::optional<PeerAddress>* server_address = nullptr) {
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
  void connect_to(const std::string& profile, std::uint16_t port) {
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
};

// RTP and RTCP both ways for every profile; packets arrive as they were sent
// and the media counters are exact.
TEST(DtlsApiMedia, RtpAndRtcpBothWaysForEveryProfile) {
  for (const char* profile :
       {"SRTP_AES128_CM_SHA1_80", "SRTP_AES128_CM_SHA1_32",
        "SRTP_AEAD_AES_128_GCM", "SRTP_AEAD_AES_256_GCM"}) {
    SCOPED_TRACE(profile);
    MediaPair m;
    m.start(profile);
    Session& server = m.server_sessions[0];
    EXPECT_EQ(m.client->srtp_profile(), profile);
    constexpr int kPackets = 20;
    for (int i = 0; i < kPackets; ++i) {
      auto sent =
          m.client->send_rtp(rtp(0x1111, static_cast<std::uint16_t>(i), 1000));
      ASSERT_TRUE(sent.ok()) << sent.error().to_string();
      ASSERT_TRUE(
          server.send_rtp(rtp(0x2222, static_cast<std::uint16_t>(i), 200))
              .ok());
    }
    ASSERT_TRUE(m.client->send_rtcp(rtcp(0x1111)).ok());
    ASSERT_TRUE(server.send_rtcp(rtcp(0x2222)).ok());
    ASSERT_TRUE(m.loop.run_until([&] {
      return m.server_rtp.size() == kPackets &&
             m.client_rtp.size() == kPackets && m.server_rtcp.size() == 1 &&
             m.client_rtcp.size() == 1;
    }));
    for (int i = 0; i < kPackets; ++i) {
      EXPECT_EQ(m.server_rtp[static_cast<size_t>(i)],
                rtp(0x1111, static_cast<std::uint16_t>(i), 1000));
      EXPECT_EQ(m.client_rtp[static_cast<size_t>(i)],
                rtp(0x2222, static_cast<std::uint16_t>(i), 200));
    }
    EXPECT_EQ(m.server_rtcp[0], rtcp(0x1111));
    EXPECT_EQ(m.client_rtcp[0], rtcp(0x2222));
    const srtp::MediaCounters c = m.client->stats().media;
    EXPECT_EQ(c.rtp_packets_protected, static_cast<std::uint64_t>(kPackets));
    EXPECT_EQ(c.rtp_bytes_protected, kPackets * 1012u);
    EXPECT_EQ(c.rtp_packets_unprotected, static_cast<std::uint64_t>(kPackets));
    EXPECT_EQ(c.rtp_bytes_unprotected, kPackets * 212u);
    EXPECT_EQ(c.rtcp_packets_protected, 1u);
    EXPECT_EQ(c.rtcp_packets_unprotected, 1u);
    EXPECT_EQ(c.auth_failures + c.replay_failures + c.malformed + c.too_short,
              0u);
    // The keys an application would take for its own SRTP are ours.
    auto keys = m.client->srtp_keys();
    ASSERT_TRUE(keys.ok());
    EXPECT_EQ(m.client->srtp_side(), srtp::Side::kClient);
    EXPECT_EQ(server.srtp_side(), srtp::Side::kServer);
    auto server_keys = server.srtp_keys();
    ASSERT_TRUE(server_keys.ok());
    EXPECT_EQ(keys->client_key, server_keys->client_key);
    EXPECT_EQ(keys->server_salt, server_keys->server_salt);
    m.client->close();
    ASSERT_TRUE(m.loop.run_until([&] { return ready(m.client->closed()); }));
    // After the end: an error, and the counters stay as a snapshot.
    auto late = m.client->send_rtp(rtp(0x1111, 99, 10));
    ASSERT_FALSE(late.ok());
    EXPECT_EQ(late.error().code, "ERR_DTLS_SESSION_DESTROYED");
    EXPECT_EQ(m.client->stats().media.rtp_packets_protected,
              static_cast<std::uint64_t>(kPackets));
    m.endpoint->close();
  }
}

// Endpoint::cork: an SFU sends one packet to its subscribers and they leave
// together at uncork().
TEST(DtlsApiMedia, CorkedEndpointSendsAtUncork) {
  MediaPair m;
  m.start("SRTP_AEAD_AES_128_GCM");
  Session& server = m.server_sessions[0];
  const std::uint64_t sent0 = m.endpoint->stats().packets_sent;
  m.endpoint->cork();
  for (std::uint16_t i = 0; i < 5; ++i)
    ASSERT_TRUE(server.send_rtp(rtp(0x2222, i, 300)).ok());
  EXPECT_EQ(m.endpoint->stats().packets_sent, sent0);  // gathered, not sent
  m.endpoint->uncork();
  EXPECT_EQ(m.endpoint->stats().packets_sent, sent0 + 5);
  ASSERT_TRUE(m.loop.run_until([&] { return m.client_rtp.size() == 5; }));
  for (std::uint16_t i = 0; i < 5; ++i)
    EXPECT_EQ(m.client_rtp[i], rtp(0x2222, i, 300));
  // Handles of ended sessions and empty handles are no-ops.
  Session().cork();
  Endpoint().uncork();
  m.endpoint->close();
}

// Backpressure, both halves: ERR_SEND_QUEUE_FULL past the queue's bound, then
// on_drain (endpoint first, then the session) once it has emptied.
TEST(DtlsApiMedia, FullSendQueueRefusesMediaThenDrains) {
  testing::UvTestLoop loop;
  std::vector<Session> sessions;
  std::vector<std::string> drains;
  ListenOptions lo = listen_options();
  lo.srtp = "SRTP_AEAD_AES_128_GCM";
  lo.always_queue_sends = true;  // loopback never pushes back on its own
  lo.send_queue_limit = 4;
  auto endpoint = listen(
      loop.get(),
      [&](Session s) {
        s.on_drain([&] { drains.push_back("session"); });
        sessions.push_back(s);
      },
      lo);
  ASSERT_TRUE(endpoint.ok()) << endpoint.error().to_string();
  endpoint->on_drain([&] { drains.push_back("endpoint"); });
  ConnectOptions co = connect_options();
  co.srtp = lo.srtp;
  std::vector<Bytes> got;
  auto client = connect(loop.get(), "127.0.0.1", endpoint->address().port, co);
  ASSERT_TRUE(client.ok());
  client->on_rtp([&](std::span<const std::uint8_t> p) {
    got.emplace_back(p.begin(), p.end());
  });
  client->on_drain([&] { drains.push_back("client"); });
  ASSERT_TRUE(loop.run_until([&] {
    return ready(client->opened()) && !sessions.empty() &&
           ready(sessions[0].opened());
  }));
  ASSERT_TRUE(sessions[0].opened().get().ok());
  // The handshake's own queued flights never met a full queue: no drain.
  EXPECT_TRUE(drains.empty());
  int sent = 0, refused = 0;
  for (std::uint16_t i = 0; i < 10; ++i) {
    auto r = sessions[0].send_rtp(rtp(0x3333, i, 200));
    if (r.ok()) {
      ++sent;
    } else {
      EXPECT_EQ(r.error().code, "ERR_SEND_QUEUE_FULL");
      ++refused;
    }
  }
  EXPECT_EQ(sent, 4);
  EXPECT_EQ(refused, 6);
  EXPECT_TRUE(drains.empty());  // not before the queue has emptied
  ASSERT_TRUE(loop.run_until([&] { return drains.size() == 2; }));
  EXPECT_EQ(drains, (std::vector<std::string>{"endpoint", "session"}));
  ASSERT_TRUE(sessions[0].send_rtp(rtp(0x3333, 10, 200)).ok());
  ASSERT_TRUE(loop.run_until([&] { return got.size() == 5; }));
  for (std::uint16_t i = 0; i < 4; ++i) EXPECT_EQ(got[i], rtp(0x3333, i, 200));
  EXPECT_EQ(got[4], rtp(0x3333, 10, 200));
  EXPECT_EQ(drains.size(), 2u);  // the client's own socket never filled
  // The bound is checked at the call.
  ConnectOptions bad = co;
  bad.send_queue_limit = 0;
  auto b = connect(loop.get(), "127.0.0.1", 9, bad);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code, "ERR_OUT_OF_RANGE");
  // Handles of nothing take a callback and do nothing.
  Session().on_drain([] {});
  Endpoint().on_drain([] {});
  endpoint->close();
  ASSERT_TRUE(loop.run_until([&] { return ready(client->closed()); }));
}

// node dgram's recvBufferSize / sendBufferSize, read back as
// getRecvBufferSize / getSendBufferSize do (Linux doubles what it grants).
TEST(DtlsApi, SocketBufferSizesAreSetAndReadBack) {
  Loop loop;
  ListenOptions lo = listen_options();
  lo.recv_buffer_size = 65536;
  lo.send_buffer_size = 32768;
  auto e = listen(
      loop.get(), [](Session) {}, lo);
  ASSERT_TRUE(e.ok()) << e.error().to_string();
  EXPECT_EQ(*e->recv_buffer_size(), 131072);
  EXPECT_EQ(*e->send_buffer_size(), 65536);
  // The kernel's defaults when none is asked for.
  auto d = listen(
      loop.get(), [](Session) {}, listen_options());
  ASSERT_TRUE(d.ok());
  EXPECT_GT(*d->recv_buffer_size(), 0);
  d->close();
  e->close();
  ASSERT_TRUE(loop.run_until([&] { return ready(e->closed()); }));
  auto closed = e->recv_buffer_size();
  ASSERT_FALSE(closed.ok());
  EXPECT_EQ(closed.error().code, "ERR_SOCKET_BUFFER_SIZE");
  EXPECT_EQ(Endpoint().send_buffer_size().error().code,
            "ERR_SOCKET_BUFFER_SIZE");
  ASSERT_TRUE(loop.run_until([&] { return ready(d->closed()); }));
  // Too large for the socket call, checked at connect too.
  ConnectOptions co = connect_options();
  co.recv_buffer_size = 1u << 30;
  auto c = connect(loop.get(), "127.0.0.1", 9, co);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, "ERR_OUT_OF_RANGE");
}

TEST(DtlsApiMedia, MediaErrors) {
  MediaPair m;
  m.start("SRTP_AEAD_AES_128_GCM", nullptr, nullptr);
  // Before the handshake.
  ConnectOptions co = connect_options();
  auto early =
      connect(m.loop.get(), "127.0.0.1", m.endpoint->address().port, co);
  ASSERT_TRUE(early.ok());
  auto r = early->send_rtp(rtp(1, 1, 10));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "ERR_DTLS_SESSION_NOT_OPEN");
  ASSERT_TRUE(m.loop.run_until([&] { return ready(early->opened()); }));
  // Not RTP at all; too short.
  Bytes not_rtp = rtp(1, 1, 10);
  not_rtp[0] = 0x40;
  auto bad = early->send_rtp(not_rtp);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "ERR_SRTP_MALFORMED");
  auto tiny = early->send_rtcp(Bytes{0x80, 201});
  ASSERT_FALSE(tiny.ok());
  EXPECT_EQ(tiny.error().code, "ERR_SRTP_TOO_SHORT");
  EXPECT_EQ(early->stats().media.protect_failures, 2u);
  early->close();
  // No SRTP profile agreed.
  ListenOptions plain = listen_options();
  plain.srtp.clear();
  auto no_srtp_endpoint = listen(
      m.loop.get(), [](Session) {}, plain);
  ASSERT_TRUE(no_srtp_endpoint.ok());
  ConnectOptions plain_client = connect_options();
  plain_client.srtp.clear();
  auto s = connect(m.loop.get(), "127.0.0.1", no_srtp_endpoint->address().port,
                   plain_client);
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(m.loop.run_until([&] { return ready(s->opened()); }));
  auto none = s->send_rtp(rtp(1, 1, 10));
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, "ERR_SRTP_NOT_NEGOTIATED");
  EXPECT_EQ(s->srtp_keys().error().code, "ERR_SRTP_NOT_NEGOTIATED");
  // A replay window out of range fails at the call.
  ConnectOptions bad_window = connect_options();
  bad_window.srtp_replay_window = 10;
  auto w = connect(m.loop.get(), "127.0.0.1", 9, bad_window);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().code, "ERR_OUT_OF_RANGE");
  no_srtp_endpoint->close();
  m.endpoint->close();
}

// A man in the middle changes, replays and cuts SRTP/SRTCP on its way to the
// server: nothing bad is delivered, each is counted by kind, and good packets
// keep flowing.
TEST(DtlsApiMedia, TamperedReplayedTruncatedMediaIsCountedNeverDelivered) {
  MediaPair m;
  std::optional<PeerAddress> server_address;
  m.start("SRTP_AES128_CM_SHA1_80", nullptr, &server_address);
  testing::UdpRelay relay(m.loop.get(), *server_address);
  // Protected packets as they passed; RTP with sequence number 2 and SRTCP
  // are held back, so that a changed copy reaches the server first (libsrtp
  // checks the replay window before the tag: a changed copy of a packet already
  // received counts as a replay).
  std::vector<Bytes> held;
  relay.set_hook([&](testing::UdpRelay::Direction d, Bytes& datagram) {
    if (d != testing::UdpRelay::Direction::kToTarget || datagram.size() < 4 ||
        datagram[0] < 128 || datagram[0] > 191) {
      return true;
    }
    const bool rtcp_packet = datagram[1] >= 192 && datagram[1] <= 223;
    if (rtcp_packet || datagram[3] == 2) {
      held.push_back(datagram);
      return false;
    }
    return true;
  });
  m.connect_to("SRTP_AES128_CM_SHA1_80", relay.address().port());
  ASSERT_TRUE(m.client->send_rtp(rtp(5, 1, 100)).ok());
  ASSERT_TRUE(m.client->send_rtp(rtp(5, 2, 100)).ok());
  ASSERT_TRUE(m.client->send_rtcp(rtcp(5)).ok());
  ASSERT_TRUE(m.loop.run_until(
      [&] { return m.server_rtp.size() == 1 && held.size() == 2; }));
  const Bytes wire_rtp = held[0], wire_rtcp = held[1];
  using D = testing::UdpRelay::Direction;
  Bytes tampered = wire_rtp;
  tampered[30] ^= 0x04;
  relay.inject(D::kToTarget, tampered);
  Bytes tampered_rtcp = wire_rtcp;
  tampered_rtcp[9] ^= 0x01;
  relay.inject(D::kToTarget, tampered_rtcp);
  relay.inject(D::kToTarget, Bytes(wire_rtp.begin(), wire_rtp.begin() + 14));
  relay.inject(D::kToTarget, wire_rtp);   // the real one: delivered
  relay.inject(D::kToTarget, wire_rtcp);  // the real one: delivered
  relay.inject(D::kToTarget, wire_rtp);   // replays
  relay.inject(D::kToTarget, wire_rtcp);
  Session& server = m.server_sessions[0];
  ASSERT_TRUE(m.loop.run_until([&] {
    const auto c = server.stats().media;
    return c.auth_failures + c.replay_failures + c.too_short == 5 &&
           m.server_rtp.size() == 2 && m.server_rtcp.size() == 1;
  }));
  const auto c = server.stats().media;
  EXPECT_EQ(c.auth_failures, 2u);
  EXPECT_EQ(c.replay_failures, 2u);
  EXPECT_EQ(c.too_short, 1u);
  EXPECT_EQ(m.server_rtp[1], rtp(5, 2, 100));
  EXPECT_EQ(m.server_rtcp[0], rtcp(5));
  EXPECT_EQ(c.rtp_packets_unprotected, 2u);
  EXPECT_EQ(c.rtcp_packets_unprotected, 1u);
  m.client->close();
  m.endpoint->close();
  ASSERT_TRUE(m.loop.run_until([&] { return m.endpoint->state().destroyed; }));
}

// Records spoofed from a session's address are dropped by its record guard
// before OpenSSL sees them, counted by reason in the session's and the
// endpoint's stats; a replayed copy of a real record is dropped as a replay
// once OpenSSL has authenticated the original. The session carries on.
TEST(DtlsApi, SpoofedRecordsAreCountedAndHarmNothing) {
  MediaPair m;
  std::optional<PeerAddress> server_address;
  m.start("SRTP_AES128_CM_SHA1_80", nullptr, &server_address);
  testing::UdpRelay relay(m.loop.get(), *server_address);
  std::vector<Bytes> app_data;  // the client's protected DTLS records
  relay.set_hook([&](testing::UdpRelay::Direction d, Bytes& datagram) {
    if (d == testing::UdpRelay::Direction::kToTarget && !datagram.empty() &&
        datagram[0] == 23)
      app_data.push_back(datagram);
    return true;
  });
  m.connect_to("SRTP_AES128_CM_SHA1_80", relay.address().port());
  std::vector<std::string> got;
  Session& server = m.server_sessions[0];
  server.on_message([&](std::span<const std::uint8_t> msg) {
    got.emplace_back(msg.begin(), msg.end());
  });
  ASSERT_TRUE(m.client->send("one").ok());
  ASSERT_TRUE(m.loop.run_until([&] { return got.size() == 1; }));
  ASSERT_EQ(app_data.size(), 1u);
  using D = testing::UdpRelay::Direction;
  // Epoch-1 application data of 4 bytes (ended sessions on libssl3 < 3.0.22),
  // a plaintext fatal alert, an unknown content type, and the real record
  // again.
  relay.inject(D::kToTarget,
               {23, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 0, 99, 0, 4, 1, 2, 3, 4});
  relay.inject(D::kToTarget,
               {21, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 9, 0, 2, 2, 40});
  relay.inject(D::kToTarget,
               {25, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 0, 100, 0, 1, 0});
  relay.inject(D::kToTarget, app_data[0]);
  m.loop.run_until([&] { return server.stats().record_drops.total() == 4; });
  const RecordDropStats drops = server.stats().record_drops;
  ASSERT_EQ(drops.total(), 4u) << ::testing::PrintToString(drops.by_reason);
  EXPECT_EQ(drops[RecordDrop::kTooShort], 1u);
  EXPECT_EQ(drops[RecordDrop::kPlaintext], 1u);
  EXPECT_EQ(drops[RecordDrop::kUnknownType], 1u);
  EXPECT_EQ(drops[RecordDrop::kReplayed], 1u);
  EXPECT_EQ(m.endpoint->stats().record_drops.total(), 4u);
  EXPECT_EQ(m.endpoint->stats().record_drops[RecordDrop::kReplayed], 1u);
  // The replay was not delivered; the session goes on both ways.
  ASSERT_TRUE(m.client->send("two").ok());
  ASSERT_TRUE(m.loop.run_until([&] { return got.size() == 2; }));
  EXPECT_EQ(got, (std::vector<std::string>{"one", "two"}));
  ASSERT_TRUE(server.send("back").ok());
  ASSERT_TRUE(m.client->send_rtp(rtp(5, 1, 100)).ok());
  ASSERT_TRUE(m.loop.run_until([&] { return m.server_rtp.size() == 1; }));
  // The counts outlive the session (its stats become a snapshot).
  server.destroy();
  EXPECT_FALSE(server.stats().is_connected);
  EXPECT_EQ(server.stats().record_drops.total(), 4u);
  EXPECT_EQ(m.endpoint->stats().record_drops.total(), 4u);
  m.client->close();
  m.endpoint->close();
  ASSERT_TRUE(m.loop.run_until([&] { return m.endpoint->state().destroyed; }));
}

}  // namespace
}  // namespace dtls

namespace dtls {
namespace {

// One secure context (node's tls.createSecureContext) serves many connects
// and a listen; the per-connection options still apply.
TEST(DtlsApi, SecureContextIsSharedByManyCalls) {
  testing::UvTestLoop loop;
  SecureOptions server_material;
  server_material.cert = pem(0).cert;
  server_material.key = pem(0).key;
  server_material.srtp = "SRTP_AEAD_AES_128_GCM";
  auto server_ctx = create_secure_context(server_material);
  ASSERT_TRUE(server_ctx.ok()) << server_ctx.error().to_string();
  ListenOptions lo;
  lo.secure_context = *server_ctx;
  lo.fingerprints = {pem(1).fingerprint};
  lo.host = "127.0.0.1";
  lo.port = 0;
  auto endpoint = listen(
      loop.get(), [](Session) {}, lo);
  ASSERT_TRUE(endpoint.ok()) << endpoint.error().to_string();

  SecureOptions client_material;
  client_material.cert = pem(1).cert;
  client_material.key = pem(1).key;
  client_material.srtp = "SRTP_AEAD_AES_128_GCM";
  auto client_ctx = create_secure_context(client_material);
  ASSERT_TRUE(client_ctx.ok());
  std::vector<Session> clients;
  for (int i = 0; i < 3; ++i) {
    ConnectOptions co;
    co.secure_context = *client_ctx;
    co.cert = "ignored: the secure context supplies it";
    co.fingerprints = {pem(0).fingerprint};
    auto s = connect(loop.get(), "127.0.0.1", endpoint->address().port, co);
    ASSERT_TRUE(s.ok()) << s.error().to_string();
    clients.push_back(*s);
  }
  // The per-connection pinning still applies: a wrong fingerprint fails.
  ConnectOptions wrong;
  wrong.secure_context = *client_ctx;
  wrong.fingerprints = {pem(1).fingerprint};
  auto bad = connect(loop.get(), "127.0.0.1", endpoint->address().port, wrong);
  ASSERT_TRUE(bad.ok());
  ASSERT_TRUE(loop.run_until([&] {
    for (auto& c : clients) {
      if (!ready(c.opened())) return false;
    }
    return ready(bad->opened());
  }));
  for (auto& c : clients) {
    ASSERT_TRUE(c.opened().get().ok());
    EXPECT_EQ(c.srtp_profile(), "SRTP_AEAD_AES_128_GCM");
  }
  EXPECT_EQ(bad->opened().get().error().code,
            "ERR_DTLS_CERT_FINGERPRINT_MISMATCH");
  endpoint->close();
}

TEST(DtlsApi, SecureContextErrors) {
  SecureOptions broken;
  broken.cert = "not a certificate";
  broken.key = pem(0).key;
  auto c = create_secure_context(broken);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, "ERR_CERT_PEM_INVALID");
  SecureOptions half;
  half.cert = pem(0).cert;
  EXPECT_EQ(create_secure_context(half).error().code, "ERR_INVALID_ARG_VALUE");
  // A context without a certificate serves clients, not a server.
  auto bare = create_secure_context(SecureOptions{});
  ASSERT_TRUE(bare.ok());
  testing::UvTestLoop loop;
  ListenOptions lo;
  lo.secure_context = *bare;
  lo.port = 0;
  auto e = listen(
      loop.get(), [](Session) {}, lo);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code, "ERR_INVALID_ARG_VALUE");
}

}  // namespace
}  // namespace dtls

namespace dtls {
namespace {

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

bool ready(const std::shared_future<Status>& f) {
  return f.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
}

// A peer that vanishes mid-session (no close_notify): idle_timeout ends the
// server's session; SRTP alone keeps it alive until then.
TEST(DtlsApi, IdleTimeoutEndsASessionWhosePeerVanished) {
  Loop loop;
  auto o = listen_options();
  o.idle_timeout = milliseconds(400);
  std::vector<Session> server_sessions;
  auto endpoint = listen(
      loop.get(), [&](Session s) { server_sessions.push_back(s); }, o);
  ASSERT_TRUE(endpoint.ok());
  auto client = connect(loop.get(), "127.0.0.1", endpoint->address().port,
                        connect_options());
  ASSERT_TRUE(client.ok());
  auto opened = client->opened();
  ASSERT_TRUE(loop.run_until([&] {
    return opened.wait_for(std::chrono::seconds(0)) ==
               std::future_status::ready &&
           server_sessions.size() == 1 &&
           !server_sessions[0].protocol().empty();
  }));
  // Media only, every 100 ms for a second: more than twice the timeout.
  for (std::uint16_t seq = 1; seq <= 10; ++seq) {
    ASSERT_TRUE(client->send_rtp(testing::make_rtp(5, seq, 40)).ok());
    const auto until = Clock::now() + milliseconds(100);
    loop.run_until([&] { return Clock::now() >= until; });
  }
  EXPECT_FALSE(ready(server_sessions[0].closed()));
  // The client vanishes without an alert.
  client->destroy();
  ASSERT_TRUE(
      loop.run_until([&] { return ready(server_sessions[0].closed()); }));
  EXPECT_EQ(server_sessions[0].closed().get().error().code,
            "ERR_DTLS_IDLE_TIMEOUT");
  EXPECT_EQ(server_sessions[0].stats().media.rtp_packets_unprotected, 10u);
  endpoint->close();
  ASSERT_TRUE(loop.run_until([&] { return ready(endpoint->closed()); }));
}

// --- ICE-lite through the public API ---

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

// ---- node:tls parity through the API

template <class T>
bool is_ready(const std::shared_future<T>& f) {
  return f.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
}

// Connects and waits for the handshake; the Session (open or failed).
Session open_session(Loop& loop, std::uint16_t port, ConnectOptions o) {
  auto s = connect(loop.get(), "127.0.0.1", port, std::move(o));
  EXPECT_TRUE(s.ok()) << s.error().to_string();
  if (!s.ok()) return {};
  auto opened = s->opened();
  EXPECT_TRUE(loop.run_until([&] { return is_ready(opened); }));
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
  ASSERT_TRUE(loop.run_until([&] { return is_ready(endpoint->closed()); }));
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
  ASSERT_TRUE(loop.run_until([&] { return is_ready(first->opened()); }));
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
  ASSERT_TRUE(loop.run_until([&] { return is_ready(s.closed()); }));
  // After the end: empty answers, never a crash.
  EXPECT_TRUE(s.finished().empty());
  EXPECT_FALSE(s.is_session_reused());
  EXPECT_FALSE(s.set_max_send_fragment(1024));
  endpoint->close();
}

}  // namespace
}  // namespace dtls

namespace dtls {
namespace {

// Calls every member of `s` and checks what a handle that is empty
// (`empty`) or whose session has ended returns: errors with their codes,
// empty values, and no crash (ASan and UBSan run this too).
void every_session_member(Session s, bool empty) {
  SCOPED_TRACE(empty ? "empty session" : "ended session");
  const std::string code =
      empty ? "ERR_INVALID_STATE" : "ERR_DTLS_SESSION_DESTROYED";
  const Bytes packet = testing::make_rtp(1, 1, 20);
  EXPECT_EQ(s.send(Bytes{1, 2}).error().code, code);
  EXPECT_EQ(s.send("text").error().code, code);
  EXPECT_EQ(s.send_rtp(packet).error().code, code);
  EXPECT_EQ(s.send_rtcp(packet).error().code, code);
  s.cork();
  s.uncork();
  int calls = 0;
  s.on_drain([&] { calls++; });
  s.on_rtp([&](std::span<const std::uint8_t>) { calls++; });
  s.on_rtcp([&](std::span<const std::uint8_t>) { calls++; });
  s.on_message([&](std::span<const std::uint8_t>) { calls++; });
  s.on_error([&](const Error&) { calls++; });
  s.on_handshake([&](const std::string&) { calls++; });
  s.on_keylog([&](std::string_view) { calls++; });
  s.on_session([&](std::span<const std::uint8_t>) { calls++; });
  EXPECT_EQ(calls, 0);
  // Settled already: the callbacks run at once.
  std::optional<Result<std::string>> opened;
  std::optional<Status> closed;
  s.on_opened([&](const Result<std::string>& r) { opened = r; });
  s.on_closed([&](const Status& st) { closed = st; });
  // (These sessions had opened before they ended.)
  ASSERT_TRUE(opened.has_value());
  EXPECT_EQ(opened->ok(), !empty);
  ASSERT_TRUE(closed.has_value());
  if (empty) {
    EXPECT_EQ(closed->error().code, "ERR_INVALID_STATE");
  }
  ASSERT_EQ(s.opened().wait_for(std::chrono::seconds(0)),
            std::future_status::ready);
  EXPECT_EQ(s.opened().get().ok(), !empty);
  ASSERT_EQ(s.closed().wait_for(std::chrono::seconds(0)),
            std::future_status::ready);
  EXPECT_EQ(s.srtp_keys().error().code, code);
  (void)s.srtp_side();
  EXPECT_EQ(s.export_keying_material(32, "EXTRACTOR-dtls_srtp").error().code,
            code);
  if (empty) {
    EXPECT_EQ(s.remote_address().port, 0);
    EXPECT_EQ(s.id(), 0u);
    EXPECT_FALSE(static_cast<bool>(s));
    EXPECT_FALSE(s.stats().is_connected);
    EXPECT_EQ(s.stats().messages_sent, 0u);
  } else {
    EXPECT_NE(s.remote_address().port, 0);
    EXPECT_NE(s.id(), 0u);
    EXPECT_FALSE(s.stats().is_connected);
    EXPECT_TRUE(s.stats().destroyed_at.has_value());
  }
  EXPECT_TRUE(s.ice_credentials().ufrag.empty());
  EXPECT_EQ(s.protocol(), "");
  EXPECT_FALSE(s.cipher().has_value());
  EXPECT_FALSE(s.peer_certificate().has_value());
  EXPECT_EQ(s.alpn_protocol(), "");
  EXPECT_EQ(s.srtp_profile(), "");
  EXPECT_FALSE(s.is_session_reused());
  EXPECT_TRUE(s.session().empty());
  EXPECT_TRUE(s.tls_ticket().empty());
  EXPECT_TRUE(s.finished().empty());
  EXPECT_TRUE(s.peer_finished().empty());
  EXPECT_TRUE(s.shared_sigalgs().empty());
  EXPECT_FALSE(s.ephemeral_key_info().has_value());
  EXPECT_FALSE(s.authorized());
  EXPECT_EQ(s.authorization_error(), "");
  EXPECT_FALSE(s.set_max_send_fragment(1024));
  EXPECT_EQ(s.servername(), "");
  EXPECT_FALSE(s.certificate().has_value());
  // post: on the caller's loop (these tests' own) or with no loop, at once.
  bool posted = false;
  s.post([&](Session& same) {
    posted = true;
    EXPECT_TRUE(same == s);
  });
  EXPECT_TRUE(posted);
  ASSERT_EQ(s.close().wait_for(std::chrono::seconds(0)),
            std::future_status::ready);
  s.destroy();
  s.destroy(make_error("ERR_TEST", "again"));
  EXPECT_EQ(calls, 0);
}

void every_endpoint_member(Endpoint e, bool empty) {
  SCOPED_TRACE(empty ? "empty endpoint" : "closed endpoint");
  EXPECT_EQ(e.address().port, 0);
  EXPECT_FALSE(e.state().bound);
  EXPECT_FALSE(e.state().listening);
  EXPECT_EQ(e.state().destroyed, !empty);
  EXPECT_FALSE(e.stats().is_connected);
  EXPECT_EQ(e.recv_buffer_size().error().code, "ERR_SOCKET_BUFFER_SIZE");
  EXPECT_EQ(e.send_buffer_size().error().code, "ERR_SOCKET_BUFFER_SIZE");
  e.set_busy(true);
  EXPECT_FALSE(e.busy());
  e.cork();
  e.uncork();
  int calls = 0;
  e.on_drain([&] { calls++; });
  std::optional<Status> closed;
  e.on_closed([&](const Status& st) { closed = st; });
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->ok(), !empty);
  ASSERT_EQ(e.closed().wait_for(std::chrono::seconds(0)),
            std::future_status::ready);
  EXPECT_EQ(e.closed().get().ok(), !empty);
  IceSessionConfig ice;
  ice.fingerprints = {pem(1).fingerprint};
  EXPECT_EQ(e.add_ice_session(ice).error().code, "ERR_INVALID_STATE");
  EXPECT_FALSE(e.set_secure_context(SecureContext()).ok());
  EXPECT_TRUE(e.ticket_keys().empty());
  EXPECT_EQ(e.set_ticket_keys(Bytes(48, 1)).error().code, "ERR_INVALID_STATE");
  EXPECT_EQ(e.id() == 0, empty);
  EXPECT_EQ(static_cast<bool>(e), !empty);
  bool posted = false;
  e.post([&](Endpoint& same) { posted = same == e; });
  EXPECT_TRUE(posted);
  EXPECT_EQ(e.close().get().ok(), !empty);
  e.destroy();
  e.destroy(make_error("ERR_TEST", "again"));
  EXPECT_EQ(calls, 0);
}

TEST(DtlsApiHandles, EveryMemberOfAnEmptyHandleIsSafe) {
  every_session_member(Session(), true);
  every_endpoint_member(Endpoint(), true);
  EXPECT_TRUE(Session() == Session());
  EXPECT_EQ(std::hash<Session>()(Session()), std::hash<Session>()(Session()));
}

// Sessions ended by close (ours), by the peer's close, and by destroy; then
// their endpoints closed.
TEST(DtlsApiHandles, EveryMemberOfAnEndedSessionOrEndpointIsSafe) {
  Loop loop;
  std::vector<Session> server_sessions;
  auto endpoint = listen(
      loop.get(), [&](Session s) { server_sessions.push_back(s); },
      listen_options());
  ASSERT_TRUE(endpoint.ok());
  std::vector<Session> clients;
  for (int i = 0; i < 3; ++i) {
    auto c = connect(loop.get(), "127.0.0.1", endpoint->address().port,
                     connect_options());
    ASSERT_TRUE(c.ok());
    auto opened = c->opened();
    ASSERT_TRUE(loop.run_until([&] { return ready(opened); }));
    ASSERT_TRUE(opened.get().ok());
    clients.push_back(*c);
  }
  ASSERT_TRUE(loop.run_until([&] { return server_sessions.size() == 3; }));
  clients[0].close();                                  // ours
  server_sessions[1].close();                          // the peer's
  clients[2].destroy(make_error("ERR_TEST", "gone"));  // destroyed
  ASSERT_TRUE(loop.run_until([&] {
    return ready(clients[0].closed()) && ready(clients[1].closed()) &&
           ready(clients[2].closed()) && ready(server_sessions[0].closed()) &&
           ready(server_sessions[1].closed());
  }));
  EXPECT_EQ(clients[2].closed().get().error().code, "ERR_TEST");
  for (const Session& s : clients) every_session_member(s, false);
  for (int i = 0; i < 2; ++i) every_session_member(server_sessions[i], false);
  endpoint->close();
  ASSERT_TRUE(loop.run_until([&] { return endpoint->state().destroyed; }));
  every_session_member(server_sessions[2], false);
  every_endpoint_member(*endpoint, false);
}

// Handles to one session are equal and hash alike, so they key subscriber
// maps; distinct sessions have distinct ids.
TEST(DtlsApiHandles, SessionsHaveIdsAndKeyMaps) {
  Loop loop;
  std::vector<Session> server_sessions;
  auto endpoint = listen(
      loop.get(), [&](Session s) { server_sessions.push_back(s); },
      listen_options());
  ASSERT_TRUE(endpoint.ok());
  auto a = connect(loop.get(), "127.0.0.1", endpoint->address().port,
                   connect_options());
  auto b = connect(loop.get(), "127.0.0.1", endpoint->address().port,
                   connect_options());
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(loop.run_until([&] { return server_sessions.size() == 2; }));
  Session a2 = *a;
  EXPECT_TRUE(a2 == *a);
  EXPECT_FALSE(*a == *b);
  EXPECT_NE(a->id(), b->id());
  EXPECT_NE(server_sessions[0].id(), server_sessions[1].id());
  EXPECT_NE(a->id(), 0u);
  std::unordered_map<Session, int> subscribers;
  subscribers[*a] = 1;
  subscribers[*b] = 2;
  subscribers[a2] = 3;
  EXPECT_EQ(subscribers.size(), 2u);
  EXPECT_EQ(subscribers[*a], 3);
  std::unordered_set<Endpoint> endpoints{*endpoint, *endpoint};
  EXPECT_EQ(endpoints.size(), 1u);
  EXPECT_NE(endpoint->id(), 0u);
  endpoint->close();
  ASSERT_TRUE(loop.run_until([&] { return endpoint->state().destroyed; }));
}

}  // namespace
}  // namespace dtls

namespace dtls {
namespace {

// Two loops, each forwarding what it receives to a session of the other
// (an SFU room spanning two cores): loop A's server session S1 forwards to
// loop B's S2, and B's S2 forwards to A's S1, while the test thread feeds
// both from outside. Every call between loops only queues (never waits), so
// nothing deadlocks, and the getters they call on each other's sessions
// (which wait) are answered by a loop that is itself waiting; every packet
// arrives (paced in windows below the queue's bound). TSan runs this too.
TEST(DtlsApiThreads, TwoLoopsForwardToEachOtherWithoutWaiting) {
  constexpr int kPackets = 100000;
  // Bursts larger than the sockets' receive buffers would lose packets in
  // the kernel, which is not what this test is about.
  constexpr int kWindow = 250;
  auto loop_a = std::move(EventLoop::start("loop-a")).value();
  auto loop_b = std::move(EventLoop::start("loop-b")).value();
  std::mutex mu;
  Session s1, s2;  // guarded by mu
  std::atomic<int> at_c1{0}, at_c2{0}, forward_failures{0};
  // What S1 (on A) receives goes to S2 (on B), and the other way round.
  auto server_on = [&](EventLoop& loop, Session* mine, Session* other) {
    return listen(
        loop,
        [&, mine, other](Session s) {
          s.on_rtp([&, other, n = 0](std::span<const std::uint8_t> p) mutable {
            Session target;
            {
              std::lock_guard lock(mu);
              target = *other;
            }
            if (!target.send_rtp(p).ok()) forward_failures++;
            // A getter waits for the other loop, which may be waiting for
            // this one in the same way.
            if (++n % 64 == 0 && !target.stats().is_connected)
              forward_failures++;
          });
          std::lock_guard lock(mu);
          *mine = s;
        },
        listen_options());
  };
  auto e1 = server_on(*loop_a, &s1, &s2);
  auto e2 = server_on(*loop_b, &s2, &s1);
  ASSERT_TRUE(e1.ok() && e2.ok());
  // C1 on B talks to S1 on A; C2 on A talks to S2 on B.
  auto c1 =
      connect(*loop_b, "127.0.0.1", e1->address().port, connect_options());
  auto c2 =
      connect(*loop_a, "127.0.0.1", e2->address().port, connect_options());
  ASSERT_TRUE(c1.ok() && c2.ok());
  c1->on_rtp([&](std::span<const std::uint8_t>) { at_c1++; });
  c2->on_rtp([&](std::span<const std::uint8_t>) { at_c2++; });
  for (Session* c : {&*c1, &*c2}) {
    ASSERT_EQ(c->opened().wait_for(std::chrono::seconds(10)),
              std::future_status::ready);
    ASSERT_TRUE(c->opened().get().ok());
  }
  for (int i = 0; i < 1000; ++i) {
    {
      std::lock_guard lock(mu);
      if (s1 && s2 && ready(s1.opened()) && ready(s2.opened())) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // C1 -> S1 (A) -> S2 (B) -> C2, and C2 -> S2 (B) -> S1 (A) -> C1. Each
  // packet its own sequence number (SRTP drops replays), made beforehand so
  // that the timing below is the sends'.
  std::vector<Bytes> packets;
  for (int i = 0; i < kWindow; ++i)
    packets.push_back(rtp(7, static_cast<std::uint16_t>(i), 160));
  int sent = 0;
  const auto t0 = std::chrono::steady_clock::now();
  std::chrono::nanoseconds sending{0};
  while (sent < kPackets) {
    for (int i = 0; i < kWindow; ++i) {
      const std::uint16_t seq = static_cast<std::uint16_t>(sent + i);
      for (Bytes* p : {&packets[static_cast<size_t>(i)]}) {
        (*p)[2] = static_cast<std::uint8_t>(seq >> 8);
        (*p)[3] = static_cast<std::uint8_t>(seq);
      }
    }
    const auto s0 = std::chrono::steady_clock::now();
    for (int i = 0; i < kWindow; ++i) {
      ASSERT_TRUE(c1->send_rtp(packets[static_cast<size_t>(i)]).ok());
      ASSERT_TRUE(c2->send_rtp(packets[static_cast<size_t>(i)]).ok());
    }
    sending += std::chrono::steady_clock::now() - s0;
    sent += kWindow;
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while ((at_c1 < sent || at_c2 < sent) &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    ASSERT_EQ(at_c2.load(), sent) << "C1 -> A -> B -> C2";
    ASSERT_EQ(at_c1.load(), sent) << "C2 -> B -> A -> C1";
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count();
  std::printf(
      "[ threads  ] %d packets each way through two loops in %.2f s; "
      "send_rtp from a foreign thread %.0f ns per call\n",
      sent, seconds, static_cast<double>(sending.count()) / (2.0 * sent));
  EXPECT_EQ(forward_failures.load(), 0);
  EXPECT_EQ(c1->stats().posted_send_failures, 0u);
  EXPECT_EQ(c2->stats().posted_send_failures, 0u);
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(s1.stats().posted_send_failures, 0u);
    EXPECT_EQ(s2.stats().posted_send_failures, 0u);
    EXPECT_EQ(s1.stats().media.rtp_packets_protected,
              static_cast<std::uint64_t>(sent));
    s1 = Session();
    s2 = Session();
  }
  loop_a->stop();
  loop_b->stop();
}

// Sends and actions from a thread that is not the session's loop do not
// wait for it: a DTLS message arrives, close() returns at once and the
// session ends; sends after the end fail with ERR_DTLS_SESSION_DESTROYED.
TEST(DtlsApiThreads, MessagesAndActionsFromAnotherThreadAreQueued) {
  auto loop = std::move(EventLoop::start()).value();
  std::mutex mu;
  std::vector<std::string> got;
  auto e = listen(
      *loop,
      [&](Session s) {
        s.on_message([&](std::span<const std::uint8_t> m) {
          std::lock_guard lock(mu);
          got.emplace_back(m.begin(), m.end());
        });
      },
      listen_options());
  ASSERT_TRUE(e.ok());
  // Room for a message larger than a queue slot.
  ConnectOptions co = connect_options();
  co.mtu = 9000;
  auto c = connect(*loop, "127.0.0.1", e->address().port, co);
  ASSERT_TRUE(c.ok());
  // Before the handshake has completed (it may already have: loopback is
  // quick), a send is refused at once.
  size_t expected = 101;
  if (auto early = c->send("early"); !early.ok()) {
    EXPECT_EQ(early.error().code, "ERR_DTLS_SESSION_NOT_OPEN");
  } else {
    expected++;  // it was open already: "early" goes first
  }
  ASSERT_EQ(c->opened().wait_for(std::chrono::seconds(10)),
            std::future_status::ready);
  for (int i = 0; i < 100; ++i) {
    auto r = c->send("m" + std::to_string(i));
    ASSERT_TRUE(r.ok());
  }
  // post: a read made on the loop, answered through a promise; the calling
  // thread does not wait for the loop to take it.
  std::promise<std::pair<bool, std::uint64_t>> read;
  c->post([&](Session& s) {
    read.set_value({loop->dispatcher()->on_loop_thread(), s.id()});
  });
  auto answer = read.get_future().get();
  EXPECT_TRUE(answer.first);
  EXPECT_EQ(answer.second, c->id());
  // A message larger than a queue slot goes as a copy of its own.
  const std::string big(3000, 'x');
  ASSERT_EQ(*c->send(big), big.size());
  for (int i = 0; i < 1000; ++i) {
    {
      std::lock_guard lock(mu);
      if (got.size() == expected) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // close() returns at once; its future resolves once the session ended.
  std::shared_future<Status> done = c->close();
  ASSERT_EQ(done.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_TRUE(done.get().ok());
  EXPECT_EQ(c->send("late").error().code, "ERR_DTLS_SESSION_DESTROYED");
  EXPECT_EQ(c->send_rtp(rtp(1, 1, 10)).error().code,
            "ERR_DTLS_SESSION_DESTROYED");
  EXPECT_EQ(c->stats().posted_send_failures, 0u);
  {
    std::lock_guard lock(mu);
    ASSERT_EQ(got.size(), expected);
    const size_t first = expected - 101;
    if (first == 1) {
      EXPECT_EQ(got[0], "early");
    }
    for (size_t i = 0; i < 100; ++i)
      EXPECT_EQ(got[first + i], "m" + std::to_string(i));
    EXPECT_EQ(got[first + 100], big);
  }
  loop->stop();
}

}  // namespace
}  // namespace dtls

namespace dtls {
namespace {

// A message too large for a queue slot, queued between two RTP packets of
// the same session and taken in one wakeup, joins that wakeup's batch: the
// packet after it is sent too, and the socket is not left corked (media
// sent on the loop afterwards still leaves at once).
TEST(DtlsApiThreads, ALargeMessageInABatchLeavesTheSocketUncorked) {
  auto loop = std::move(EventLoop::start()).value();
  std::atomic<int> rtp_in{0}, messages_in{0};
  SessionListener server;
  server.on_rtp = [&](Session&, std::span<const std::uint8_t>) { rtp_in++; };
  server.on_message = [&](Session&, std::span<const std::uint8_t>) {
    messages_in++;
  };
  auto e = listen(*loop, server, listen_options());
  ASSERT_TRUE(e.ok());
  ConnectOptions co = connect_options();
  co.mtu = 9000;
  auto c = connect(*loop, "127.0.0.1", e->address().port, co);
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(c->opened().wait_for(std::chrono::seconds(10)),
            std::future_status::ready);
  // Hold the loop so that the three land in one wakeup.
  std::promise<void> release, entered;
  std::shared_future<void> released = release.get_future().share();
  loop->dispatcher()->post([&entered, released] {
    entered.set_value();
    released.wait();
  });
  entered.get_future().wait();
  ASSERT_TRUE(c->send_rtp(rtp(4, 1, 40)).ok());
  ASSERT_TRUE(c->send(std::string(3000, 'x')).ok());
  ASSERT_TRUE(c->send_rtp(rtp(4, 2, 40)).ok());
  release.set_value();
  for (int i = 0; i < 1000 && (rtp_in < 2 || messages_in < 1); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(rtp_in.load(), 2);
  EXPECT_EQ(messages_in.load(), 1);
  EXPECT_EQ(c->stats().posted_send_failures, 0u);
  // On the loop, a send leaves at once: nothing is left corked.
  c->post([&](Session& s) { EXPECT_TRUE(s.send_rtp(rtp(4, 3, 40)).ok()); });
  for (int i = 0; i < 1000 && rtp_in < 3; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(rtp_in.load(), 3);
  loop->stop();
}

// The server says hello the moment its handshake completes; clients made
// from another thread with their callbacks given to connect() never miss it
// (setting on_message after connect() returns raced the handshake: 4 runs
// in 10 lost it). 1,000 sessions, 50 at a time.
TEST(DtlsApiListener, CallbacksGivenToConnectMissNothing) {
  constexpr int kRuns = 1000;
  constexpr int kAtOnce = 50;
  auto loop = std::move(EventLoop::start()).value();
  SessionListener server;
  server.on_handshake = [](Session& s, const std::string&) {
    EXPECT_TRUE(s.send("hello").ok());
  };
  auto e = listen(*loop, server, listen_options());
  ASSERT_TRUE(e.ok()) << e.error().to_string();
  std::atomic<int> hellos{0}, opened{0};
  for (int done = 0; done < kRuns; done += kAtOnce) {
    std::vector<Session> clients;
    const int expected = done + kAtOnce;
    for (int i = 0; i < kAtOnce; ++i) {
      SessionListener l;
      l.on_message = [&](Session& s, std::span<const std::uint8_t> m) {
        EXPECT_EQ(std::string(m.begin(), m.end()), "hello");
        EXPECT_TRUE(s.opened().wait_for(std::chrono::seconds(0)) ==
                    std::future_status::ready);
        hellos++;
      };
      l.on_opened = [&](Session&, const Result<std::string>& r) {
        EXPECT_TRUE(r.ok());
        opened++;
      };
      auto c = connect(*loop, "127.0.0.1", e->address().port, connect_options(),
                       std::move(l));
      ASSERT_TRUE(c.ok());
      clients.push_back(*c);
    }
    for (int i = 0; i < 2000 && hellos < expected; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ASSERT_EQ(hellos.load(), expected);
    ASSERT_EQ(opened.load(), expected);
    for (Session& c : clients) c.close();
  }
  loop->stop();
}

// Listener callbacks get their Session: a server that answers each message
// and counts media needs no handle in any closure, so an ended session
// leaves nothing behind; on_created runs first, and the handles given are
// the session's own (equal, same id).
TEST(DtlsApiListener, ListenerCallbacksGetTheirSession) {
  Loop loop;
  auto token = std::make_shared<int>(0);
  std::vector<Session> created;
  std::vector<std::uint64_t> rtp_from;
  std::vector<std::string> events;
  SessionListener server;
  server.on_created = [&, token](Session& s) {
    events.push_back("created");
    created.push_back(s);
  };
  server.on_handshake = [&, token](Session&, const std::string& protocol) {
    events.push_back("handshake " + protocol);
  };
  server.on_message = [&, token](Session& s, std::span<const std::uint8_t>) {
    EXPECT_TRUE(s.send("pong").ok());
  };
  server.on_rtp = [&, token](Session& s, std::span<const std::uint8_t>) {
    rtp_from.push_back(s.id());
  };
  server.on_closed = [&, token](Session& s, const Status& st) {
    EXPECT_TRUE(st.ok());
    EXPECT_TRUE(s == created.at(0));
    events.push_back("closed");
  };
  auto e = listen(loop.get(), server, listen_options());
  ASSERT_TRUE(e.ok());
  server = {};  // the endpoint holds its own copy
  const long endpoint_copies = token.use_count();
  std::string reply;
  SessionListener client;
  client.on_message = [&](Session&, std::span<const std::uint8_t> m) {
    reply.assign(m.begin(), m.end());
  };
  client.on_handshake = [&](Session& s, const std::string&) {
    EXPECT_TRUE(s.send("ping").ok());
    EXPECT_TRUE(s.send_rtp(testing::make_rtp(3, 1, 20)).ok());
  };
  auto c = connect(loop.get(), "127.0.0.1", e->address().port,
                   connect_options(), client);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(
      loop.run_until([&] { return reply == "pong" && rtp_from.size() == 1; }));
  ASSERT_EQ(created.size(), 1u);
  EXPECT_EQ(rtp_from[0], created[0].id());
  c->close();
  ASSERT_TRUE(loop.run_until([&] { return ready(created[0].closed()); }));
  EXPECT_EQ(events, (std::vector<std::string>{"created", "handshake DTLSv1.2",
                                              "closed"}));
  created.clear();
  // The ended session released its callbacks: the endpoint's copy is left.
  EXPECT_EQ(token.use_count(), endpoint_copies);
  e->close();
  ASSERT_TRUE(loop.run_until([&] { return e->state().destroyed; }));
  EXPECT_EQ(token.use_count(), 1);
}

}  // namespace
}  // namespace dtls

namespace dtls {
namespace {

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

namespace dtls {
namespace {

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
