// The relay on real loopback sockets: a client socket sends through it to an
// echo target; what arrives back is counted against the relay's own counts.
#include "tools/relay/impairing_relay.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "tests/testing/uv_test_loop.h"

namespace dtls::relay {
namespace {

using std::chrono::milliseconds;
using testing::UvTestLoop;

// A UDP socket on 127.0.0.1 that records what it receives and may echo it.
class Socket {
 public:
  Socket(uv_loop_t* loop, bool echo) : echo_(echo) {
    udp_ = new uv_udp_t;
    uv_udp_init(loop, udp_);
    udp_->data = this;
    auto any = PeerAddress::parse("127.0.0.1", 0);
    EXPECT_EQ(uv_udp_bind(udp_, any->sockaddr_ptr(), 0), 0);
    sockaddr_storage ss{};
    int len = sizeof(ss);
    uv_udp_getsockname(udp_, reinterpret_cast<sockaddr*>(&ss), &len);
    address_ = PeerAddress::from_sockaddr(reinterpret_cast<sockaddr*>(&ss));
    uv_udp_recv_start(
        udp_,
        [](uv_handle_t* h, size_t, uv_buf_t* b) {
          auto* s = static_cast<Socket*>(h->data);
          *b = uv_buf_init(s->buf_, sizeof(s->buf_));
        },
        [](uv_udp_t* h, ssize_t n, const uv_buf_t* b, const sockaddr* from,
           unsigned) {
          if (n <= 0 || from == nullptr) return;
          auto* s = static_cast<Socket*>(h->data);
          s->received.emplace_back(b->base, b->base + n);
          s->senders.insert(PeerAddress::from_sockaddr(from).to_string());
          if (s->echo_) {
            uv_buf_t out = uv_buf_init(b->base, static_cast<unsigned>(n));
            uv_udp_try_send(h, &out, 1, from);
          }
        });
  }
  ~Socket() {
    uv_close(reinterpret_cast<uv_handle_t*>(udp_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_udp_t*>(h); });
  }
  void send(const PeerAddress& to, std::uint32_t n) {
    char b[4] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                 static_cast<char>(n >> 8), static_cast<char>(n)};
    uv_buf_t out = uv_buf_init(b, sizeof(b));
    ASSERT_EQ(uv_udp_try_send(udp_, &out, 1, to.sockaddr_ptr()), 4);
  }
  const PeerAddress& address() const { return address_; }

  std::vector<std::vector<char>> received;
  std::set<std::string> senders;

 private:
  uv_udp_t* udp_;
  PeerAddress address_;
  bool echo_;
  char buf_[2048];
};

std::unique_ptr<ImpairingRelay> relay(uv_loop_t* loop,
                                      const PeerAddress& target,
                                      RelayConfig c) {
  auto r = ImpairingRelay::create(loop, *PeerAddress::parse("127.0.0.1", 0),
                                  target, std::move(c));
  EXPECT_TRUE(r.ok()) << r.error().to_string();
  return std::move(r).value();
}

TEST(ImpairingRelay, ForwardsBothWaysAndCountsLoss) {
  UvTestLoop loop;
  Socket target(loop.get(), true), client(loop.get(), false);
  RelayConfig c;
  c.seed = 5;
  c.to_target.loss = 0.2;
  c.to_client.loss = 0.2;
  auto r = relay(loop.get(), target.address(), c);
  // In rounds: a burst of 500 would overflow a default receive buffer, a
  // loss the relay did not choose.
  for (std::uint32_t i = 0; i < 500; ++i) {
    client.send(r->address(), i);
    if (i % 25 == 24) {
      ASSERT_TRUE(loop.run_until(
          [&] { return r->stats().to_target.offered == i + 1; }));
    }
  }
  const RelayStats* s = nullptr;
  RelayStats stats;
  ASSERT_TRUE(loop.run_until([&] {
    stats = r->stats();
    s = &stats;
    return s->to_target.offered == 500 &&
           s->to_client.offered == s->to_target.delivered &&
           r->in_flight() == 0 &&
           client.received.size() == s->to_client.delivered;
  }));
  EXPECT_EQ(stats.flows, 1u);
  EXPECT_EQ(stats.send_errors, 0u);
  EXPECT_EQ(target.received.size(), stats.to_target.delivered);
  EXPECT_EQ(stats.to_target.lost + stats.to_target.delivered, 500u);
  EXPECT_NEAR(static_cast<double>(client.received.size()), 500 * 0.8 * 0.8, 40);
  // The client hears the relay, the target hears the flow's own socket.
  EXPECT_EQ(client.senders, std::set<std::string>{r->address().to_string()});
  EXPECT_EQ(target.senders.size(), 1u);
  EXPECT_EQ(target.senders.count(r->address().to_string()), 0u);
}

// Same seed, same fates: two relays drop the same datagrams of their first
// flow, so two stacks compared through them meet the same losses.
TEST(ImpairingRelay, TheSameSeedLosesTheSameDatagrams) {
  UvTestLoop loop;
  auto lost_by = [&](std::uint64_t seed) {
    Socket target(loop.get(), false), client(loop.get(), false);
    RelayConfig c;
    c.seed = seed;
    c.to_target.loss = 0.3;
    auto r = relay(loop.get(), target.address(), c);
    for (std::uint32_t i = 0; i < 200; ++i) {
      client.send(r->address(), i);
      if (i % 25 == 24) {
        EXPECT_TRUE(loop.run_until(
            [&] { return r->stats().to_target.offered == i + 1; }));
      }
    }
    EXPECT_TRUE(loop.run_until([&] {
      return r->stats().to_target.offered == 200 &&
             target.received.size() == r->stats().to_target.delivered;
    }));
    std::set<std::uint32_t> got;
    for (const auto& d : target.received) {
      got.insert(
          static_cast<std::uint32_t>(static_cast<unsigned char>(d[2]) << 8 |
                                     static_cast<unsigned char>(d[3])));
    }
    return got;
  };
  const auto a = lost_by(11), b = lost_by(11), c = lost_by(12);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

// A relay made for one handshake, with first_flow n, impairs its client as a
// shared relay impairs its n-th client (the lossy benchmark runs openssl's
// n-th handshake so).
TEST(ImpairingRelay, FirstFlowMatchesTheSharedRelaysNthClient) {
  UvTestLoop loop;
  auto received = [&](Socket& target, Socket& client,
                      ImpairingRelay& r) -> std::set<std::uint32_t> {
    for (std::uint32_t i = 0; i < 100; ++i) {
      client.send(r.address(), i);
      if (i % 25 == 24) {
        EXPECT_TRUE(loop.run_until([&] {
          return r.stats().to_target.offered >= i + 1 && r.in_flight() == 0;
        }));
      }
    }
    std::set<std::uint32_t> got;
    for (const auto& d : target.received)
      got.insert(static_cast<unsigned char>(d[3]));
    return got;
  };
  RelayConfig c;
  c.seed = 21;
  c.to_target.loss = 0.3;
  // Shared: clients 0 and 1 send one datagram each first, then client 2.
  Socket shared_target(loop.get(), false);
  Socket c0(loop.get(), false), c1(loop.get(), false), c2(loop.get(), false);
  auto shared = relay(loop.get(), shared_target.address(), c);
  c0.send(shared->address(), 0);
  ASSERT_TRUE(loop.run_until([&] { return shared->stats().flows == 1; }));
  c1.send(shared->address(), 0);
  ASSERT_TRUE(loop.run_until([&] { return shared->stats().flows == 2; }));
  ASSERT_TRUE(loop.run_until([&] { return shared->in_flight() == 0; }));
  shared_target.received.clear();
  const auto via_shared = received(shared_target, c2, *shared);
  // Alone, as flow 2.
  Socket alone_target(loop.get(), false), c3(loop.get(), false);
  c.first_flow = 2;
  auto alone = relay(loop.get(), alone_target.address(), c);
  const auto via_alone = received(alone_target, c3, *alone);
  EXPECT_EQ(via_shared, via_alone);
  EXPECT_LT(via_alone.size(), 90u);  // some were lost
}

TEST(ImpairingRelay, EachClientIsAFlowWithItsOwnAddress) {
  UvTestLoop loop;
  Socket target(loop.get(), true);
  Socket a(loop.get(), false), b(loop.get(), false);
  auto r = relay(loop.get(), target.address(), {});
  a.send(r->address(), 1);
  b.send(r->address(), 2);
  ASSERT_TRUE(loop.run_until(
      [&] { return a.received.size() == 1 && b.received.size() == 1; }));
  EXPECT_EQ(r->stats().flows, 2u);
  EXPECT_EQ(target.senders.size(), 2u);
  EXPECT_EQ(a.received[0][3], 1);
  EXPECT_EQ(b.received[0][3], 2);
}

// flow_idle: a flow quiet that long is closed (its socket toward the target
// freed); the client's next datagram is a new flow, from a new port.
TEST(ImpairingRelay, AnIdleFlowIsClosedAndTheClientsNextDatagramStartsANewOne) {
  UvTestLoop loop;
  Socket target(loop.get(), true), client(loop.get(), false);
  RelayConfig c;
  c.flow_idle = milliseconds(200);
  auto r = relay(loop.get(), target.address(), c);
  client.send(r->address(), 1);
  ASSERT_TRUE(loop.run_until([&] { return client.received.size() == 1; }));
  EXPECT_EQ(r->stats().expired_flows, 0u);
  ASSERT_TRUE(loop.run_until([&] { return r->stats().expired_flows == 1; }));
  client.send(r->address(), 2);
  ASSERT_TRUE(loop.run_until([&] { return client.received.size() == 2; }));
  EXPECT_EQ(r->stats().flows, 2u);
  EXPECT_EQ(target.senders.size(), 2u);
  EXPECT_EQ(client.received[1][3], 2);
  // Without flow_idle a flow lives as long as the relay: after more than
  // 200 ms of quiet the client still reaches the target from the same port.
  Socket keep_target(loop.get(), true);
  auto keep = relay(loop.get(), keep_target.address(), {});
  client.send(keep->address(), 3);
  ASSERT_TRUE(loop.run_until([&] { return client.received.size() == 3; }));
  loop.run_until([] { return false; }, milliseconds(300));
  client.send(keep->address(), 4);
  ASSERT_TRUE(loop.run_until([&] { return client.received.size() == 4; }));
  EXPECT_EQ(keep->stats().flows, 1u);
  EXPECT_EQ(keep_target.senders.size(), 1u);
  EXPECT_EQ(keep->stats().expired_flows, 0u);
}

TEST(ImpairingRelay, DelaysByTheConfiguredAmount) {
  UvTestLoop loop;
  Socket target(loop.get(), true), client(loop.get(), false);
  RelayConfig c;
  c.to_target.delay = milliseconds(40);
  c.to_client.delay = milliseconds(40);
  auto r = relay(loop.get(), target.address(), c);
  const TimePoint sent = Clock::now();
  client.send(r->address(), 1);
  ASSERT_TRUE(loop.run_until([&] { return client.received.size() == 1; }));
  const Duration rtt = Clock::now() - sent;
  EXPECT_GE(rtt, milliseconds(80));
  EXPECT_LT(rtt, milliseconds(400));  // generous: a loaded CI machine
}

TEST(ImpairingRelay, RefusesABadImpairment) {
  UvTestLoop loop;
  RelayConfig c;
  c.to_client.loss = 2;
  auto r =
      ImpairingRelay::create(loop.get(), *PeerAddress::parse("127.0.0.1", 0),
                             *PeerAddress::parse("127.0.0.1", 9), c);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "ERR_OUT_OF_RANGE");
}

}  // namespace
}  // namespace dtls::relay
