// The handshake as listen() and connect() run it: half-open handshakes and
// their bounds, retransmission timing, host names resolving, a refused port.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <vector>

#include "tests/testing/cookie_exchange.h"
#include "tests/testing/udp_relay.h"
#include "tests/testing/uv_test_loop.h"
#include "transport/dtls/dtls_record.h"
#include "transport/dtls_api.h"
#include "transport/dtls_api_test_support.h"

namespace dtls {
namespace {

using std::chrono::milliseconds;
using testing_support::connect_options;
using testing_support::listen_options;
using testing_support::Loop;
using testing_support::ready;
using testing_support::stats_of;

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

// A UDP port on 127.0.0.1 that never answers: datagrams to it wait unread.
class SilentPort {
 public:
  SilentPort() {
    fd_ = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
        getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
      port_ = ntohs(a.sin_port);
    }
  }
  ~SilentPort() { close(fd_); }
  std::uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

// RFC 8489 §6.2.1: on an EventLoop, a connect to a host the loop completed a
// handshake with starts its timer from that round trip (the estimator has a
// sample before anything was answered); use_rtt_cache = false starts from
// nothing.
TEST(DtlsApi, AnEventLoopRemembersEachHostsRoundTripForItsNextConnects) {
  auto loop = std::move(EventLoop::start()).value();
  auto endpoint = listen(
      *loop, [](Session) {}, listen_options());
  ASSERT_TRUE(endpoint.ok());
  auto first =
      connect(*loop, "127.0.0.1", endpoint->address().port, connect_options());
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(first->opened().get().ok());
  ASSERT_TRUE(stats_of(*first).smoothed_rtt.has_value());
  SilentPort silent;
  ASSERT_NE(silent.port(), 0);
  auto second = connect(*loop, "127.0.0.1", silent.port(), connect_options());
  ASSERT_TRUE(second.ok());
  const auto learnt = stats_of(*second).remembered_rtt;
  ASSERT_TRUE(learnt.has_value());
  EXPECT_GE(*learnt, milliseconds(1));  // remembered in whole milliseconds
  EXPECT_LT(*learnt, std::chrono::seconds(1));
  EXPECT_FALSE(stats_of(*second).smoothed_rtt.has_value());
  ConnectOptions off = connect_options();
  off.use_rtt_cache = false;
  auto third = connect(*loop, "127.0.0.1", silent.port(), off);
  ASSERT_TRUE(third.ok());
  EXPECT_FALSE(stats_of(*third).remembered_rtt.has_value());
  for (Session* s : {&*first, &*second, &*third}) s->destroy();
  endpoint->destroy();
  loop->stop();
}

// On the caller's uv_loop_t the memory is the endpoint's: connects through
// one Endpoint share it, each dtls::connect() starts afresh.
TEST(DtlsApi, OnTheCallersLoopAnEndpointRemembersForItsOwnConnects) {
  Loop loop;
  auto server = listen(
      loop.get(), [](Session) {}, listen_options());
  ASSERT_TRUE(server.ok());
  auto client = Endpoint::create(loop.get());
  ASSERT_TRUE(client.ok());
  auto first =
      client->connect("127.0.0.1", server->address().port, connect_options());
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(loop.run_until([&] { return ready(first->opened()); }));
  ASSERT_TRUE(first->opened().get().ok());
  SilentPort silent;
  auto second = client->connect("127.0.0.1", silent.port(), connect_options());
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second->stats().remembered_rtt.has_value());
  EXPECT_EQ(client->stats().cached_rtt_connects, 1u);
  auto alone =
      connect(loop.get(), "127.0.0.1", silent.port(), connect_options());
  ASSERT_TRUE(alone.ok());
  EXPECT_FALSE(alone->stats().remembered_rtt.has_value());
  for (Session* s : {&*first, &*second, &*alone}) s->destroy();
  client->destroy();
  server->destroy();
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

}  // namespace
}  // namespace dtls
