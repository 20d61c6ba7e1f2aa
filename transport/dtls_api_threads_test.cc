// Sessions used from threads other than their loop's, and listener callbacks
// that get their Session: nothing may wait on, race or be lost by another loop.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/testing/rtp_packets.h"
#include "transport/dtls_api.h"
#include "transport/dtls_api_test_support.h"

namespace dtls {
namespace {

using testing_support::Bytes;
using testing_support::connect_options;
using testing_support::HeldLoop;
using testing_support::listen_options;
using testing_support::Loop;
using testing_support::ready;
using testing_support::rtp;
using testing_support::stats_of;

// Two loops, each forwarding what it receives to a session of the other
// (an SFU room spanning two cores): loop A's server session S1 forwards to
// loop B's S2, and B's S2 forwards to A's S1, while the test thread feeds
// both from outside. Every call between loops only queues (never waits), so
// nothing deadlocks, and they read each other's sessions by posting there
// (which never waits either); every packet
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
            // Reading the other loop's session is posted there: it never
            // waits, though that loop does the same to this one.
            if (++n % 64 == 0) {
              target.post([&](Session& t) {
                if (!t.stats().is_connected) forward_failures++;
              });
            }
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
  EXPECT_EQ(stats_of(*c1).posted_send_failures, 0u);
  EXPECT_EQ(stats_of(*c2).posted_send_failures, 0u);
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(stats_of(s1).posted_send_failures, 0u);
    EXPECT_EQ(stats_of(s2).posted_send_failures, 0u);
    EXPECT_EQ(stats_of(s1).media.rtp_packets_protected,
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
  EXPECT_EQ(stats_of(*c).posted_send_failures, 0u);
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
  HeldLoop held(*loop->dispatcher());
  ASSERT_TRUE(c->send_rtp(rtp(4, 1, 40)).ok());
  ASSERT_TRUE(c->send(std::string(3000, 'x')).ok());
  ASSERT_TRUE(c->send_rtp(rtp(4, 2, 40)).ok());
  held.release();
  for (int i = 0; i < 1000 && (rtp_in < 2 || messages_in < 1); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(rtp_in.load(), 2);
  EXPECT_EQ(messages_in.load(), 1);
  EXPECT_EQ(stats_of(*c).posted_send_failures, 0u);
  // On the loop, a send leaves at once: nothing is left corked.
  c->post([&](Session& s) { EXPECT_TRUE(s.send_rtp(rtp(4, 3, 40)).ok()); });
  for (int i = 0; i < 1000 && rtp_in < 3; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(rtp_in.load(), 3);
  loop->stop();
}

// The server says hello the moment its handshake completes; 1,000 clients
// made from another thread, 50 at a time, never miss it. `given` passes the
// callbacks to connect(); otherwise on_message is set right after connect()
// returned, racing the handshake (4 runs in 10 lost the hello before
// messages were held for the first callback).
void every_hello_arrives(bool given) {
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
  auto on_hello = [&](std::span<const std::uint8_t> m) {
    EXPECT_EQ(std::string(m.begin(), m.end()), "hello");
    hellos++;
  };
  for (int done = 0; done < kRuns; done += kAtOnce) {
    std::vector<Session> clients;
    const int expected = done + kAtOnce;
    for (int i = 0; i < kAtOnce; ++i) {
      SessionListener l;
      if (given) {
        l.on_message = [&](Session& s, std::span<const std::uint8_t> m) {
          EXPECT_TRUE(s.opened().wait_for(std::chrono::seconds(0)) ==
                      std::future_status::ready);
          on_hello(m);
        };
      }
      l.on_opened = [&](Session&, const Result<std::string>& r) {
        EXPECT_TRUE(r.ok());
        opened++;
      };
      auto c = connect(*loop, "127.0.0.1", e->address().port, connect_options(),
                       std::move(l));
      ASSERT_TRUE(c.ok());
      if (!given) c->on_message(on_hello);
      clients.push_back(*c);
    }
    for (int i = 0; i < 2000 && hellos < expected; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ASSERT_EQ(hellos.load(), expected);
    ASSERT_EQ(opened.load(), expected);
    for (Session& c : clients) {
      EXPECT_EQ(stats_of(c).unheard_message_drops, 0u);
      c.close();
    }
  }
  loop->stop();
}

TEST(DtlsApiListener, CallbacksGivenToConnectMissNothing) {
  every_hello_arrives(true);
}

TEST(DtlsApiListener, OnMessageSetAfterConnectMissesNothing) {
  every_hello_arrives(false);
}

// Messages that arrive before any on_message are held, up to
// Session::kHeldMessages, for the first callback set, in order; more are
// dropped and counted. On the caller's loop, so that nothing is set until
// they have all arrived.
TEST(DtlsApiListener, MessagesBeforeOnMessageAreHeldBounded) {
  Loop loop;
  constexpr int kSent = static_cast<int>(Session::kHeldMessages) + 6;
  SessionListener server;
  server.on_handshake = [](Session& s, const std::string&) {
    for (int i = 0; i < kSent; ++i)
      EXPECT_TRUE(s.send("m" + std::to_string(i)).ok());
  };
  auto e = listen(loop.get(), server, listen_options());
  ASSERT_TRUE(e.ok());
  auto c =
      connect(loop.get(), "127.0.0.1", e->address().port, connect_options());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(loop.run_until([&] {
    return c->stats().messages_received == static_cast<std::uint64_t>(kSent);
  }));
  EXPECT_EQ(c->stats().unheard_message_drops, 6u);
  std::vector<std::string> got;
  c->on_message([&](std::span<const std::uint8_t> m) {
    got.emplace_back(m.begin(), m.end());
  });
  ASSERT_EQ(got.size(), Session::kHeldMessages);
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_EQ(got[i], "m" + std::to_string(i));
  // Handed over once: a second callback gets only what comes next.
  std::vector<std::string> later;
  c->on_message([&](std::span<const std::uint8_t> m) {
    later.emplace_back(m.begin(), m.end());
  });
  EXPECT_TRUE(later.empty());
  e->close();
  ASSERT_TRUE(loop.run_until([&] { return ready(c->closed()); }));
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

// A send queued from another thread that the loop takes only after the
// session has ended fails there, and is counted in the ended session's
// stats (not lost from the snapshot taken at its end).
TEST(DtlsApiThreads, SendsFailingAfterTheEndAreCounted) {
  auto loop = std::move(EventLoop::start()).value();
  auto e = listen(*loop, SessionListener{}, listen_options());
  ASSERT_TRUE(e.ok());
  auto c = connect(*loop, "127.0.0.1", e->address().port, connect_options());
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(c->opened().wait_for(std::chrono::seconds(10)),
            std::future_status::ready);
  // The loop waits inside a call until the packet is queued, then ends the
  // session before it takes the queue.
  std::promise<void> sent, entered;
  std::shared_future<void> queued = sent.get_future().share();
  Session session = *c;
  loop->dispatcher()->post([&entered, queued, session]() mutable {
    entered.set_value();
    queued.wait();
    session.destroy();
  });
  entered.get_future().wait();
  ASSERT_TRUE(c->send_rtp(rtp(4, 1, 40)).ok());  // queued: the loop is busy
  sent.set_value();
  ASSERT_EQ(c->closed().wait_for(std::chrono::seconds(10)),
            std::future_status::ready);
  // Each ask is a round trip to the loop, which takes the queue first or
  // within a few wakeups.
  std::uint64_t failures = 0;
  for (int i = 0; i < 1000 && failures == 0; ++i)
    failures = stats_of(*c).posted_send_failures;
  EXPECT_EQ(failures, 1u);
  EXPECT_FALSE(stats_of(*c).is_connected);
  loop->stop();
}

// The fan-out send from a thread that is not the subscribers' loop: each
// packet is rewritten, then queued as send_rtp from another thread is, and
// arrives under its subscriber's SSRC.
TEST(DtlsApiThreads, FanOutFromAnotherThreadIsQueued) {
  auto loop = std::move(EventLoop::start()).value();
  std::mutex mu;
  std::vector<Session> subscribers;
  SessionListener each;
  each.on_created = [&](Session& s) {
    std::lock_guard lock(mu);
    subscribers.push_back(s);
  };
  auto e = listen(*loop, each, listen_options());
  ASSERT_TRUE(e.ok());
  std::atomic<int> got{0};
  std::atomic<std::uint32_t> ssrc_sum{0};
  SessionListener mine;
  mine.on_rtp = [&](Session&, std::span<const std::uint8_t> p) {
    ssrc_sum += (std::uint32_t{p[8]} << 24) | (std::uint32_t{p[9]} << 16) |
                (std::uint32_t{p[10]} << 8) | p[11];
    got++;
  };
  std::vector<Session> clients;
  for (int i = 0; i < 2; ++i) {
    auto c =
        connect(*loop, "127.0.0.1", e->address().port, connect_options(), mine);
    ASSERT_TRUE(c.ok());
    ASSERT_EQ(c->opened().wait_for(std::chrono::seconds(10)),
              std::future_status::ready);
    clients.push_back(*c);
  }
  std::vector<Session> to;
  for (int i = 0; i < 1000; ++i) {
    {
      std::lock_guard lock(mu);
      if (subscribers.size() == 2) {
        to = subscribers;
        break;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_EQ(to.size(), 2u);
  const std::vector<RtpRewrite> rewrites = {{.ssrc = 7}, {.ssrc = 9}};
  const FanOutResult r = send_rtp(to, rtp(1, 1, 100), rewrites);
  EXPECT_EQ(r.sent, 2u);
  EXPECT_EQ(r.failed, 0u);
  for (int i = 0; i < 1000 && got < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  EXPECT_EQ(got.load(), 2);
  EXPECT_EQ(ssrc_sum.load(), 16u);
  // A rewrite of what is not RTP fails before anything is queued.
  const FanOutResult bad =
      send_rtp(to, Bytes(8, 0x80), std::span(rewrites).first(2));
  EXPECT_EQ(bad.failed, 2u);
  EXPECT_EQ(bad.first_error->errc, Errc::kSrtpMalformed);
  loop->stop();
}

// Every connect() and every endpoint registers a hook that closes it when
// its EventLoop stops; one that ends first takes its hook back. Before, the
// hooks stayed until the loop stopped, each keeping its session's memory
// (a weak reference to a make_shared object): 1.3 KiB per connect() for
// the loop's whole life, which the churn soak showed as steady growth.
TEST(DtlsApiThreads, SessionsAndEndpointsThatEndLeaveNoStopHook) {
  auto loop = std::move(EventLoop::start()).value();
  auto hooks = [&] {
    return loop->dispatcher()->call(
        [&] { return loop->dispatcher()->stop_hook_count(); });
  };
  auto endpoint = listen(
      *loop, [](Session) {}, listen_options());
  ASSERT_TRUE(endpoint.ok()) << endpoint.error().to_string();
  const size_t with_endpoint = hooks();
  EXPECT_EQ(with_endpoint, 1u);
  for (int round = 0; round < 3; ++round) {
    std::vector<Session> clients;
    for (int i = 0; i < 10; ++i) {
      auto c = connect(*loop, "127.0.0.1", endpoint->address().port,
                       connect_options());
      ASSERT_TRUE(c.ok()) << c.error().to_string();
      clients.push_back(*c);
    }
    EXPECT_EQ(hooks(), with_endpoint + 10);
    for (Session& c : clients) {
      ASSERT_EQ(c.opened().wait_for(std::chrono::seconds(10)),
                std::future_status::ready);
      c.close();
    }
    for (Session& c : clients) {
      ASSERT_EQ(c.closed().wait_for(std::chrono::seconds(10)),
                std::future_status::ready);
    }
    EXPECT_EQ(hooks(), with_endpoint);
  }
  auto created = Endpoint::create(*loop);
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(hooks(), with_endpoint + 1);
  created->close();
  endpoint->close();
  ASSERT_EQ(endpoint->closed().wait_for(std::chrono::seconds(10)),
            std::future_status::ready);
  ASSERT_EQ(created->closed().wait_for(std::chrono::seconds(10)),
            std::future_status::ready);
  EXPECT_EQ(hooks(), 0u);
}

// What is made on a loop once it has begun to stop (here by tasks queued
// behind the stop, as another thread's Endpoint::create and ask(listen) may
// be) ends at once: its socket would otherwise keep the loop's thread from
// finishing, and stop() from returning.
TEST(DtlsApiThreads, WhatIsMadeWhileTheLoopStopsEndsAtOnce) {
  auto loop = std::move(EventLoop::start()).value();
  Endpoint made, listened;
  std::optional<Status> listen_status;
  std::optional<Result<Endpoint>> listen_result;
  loop->dispatcher()->post([&] {
    loop->dispatcher()->at_stop([&] {
      // Queued behind the stop: runs while it drains.
      loop->dispatcher()->post([&] {
        made = Endpoint::create(*loop).value();
        listen_status =
            made.ask([](Endpoint& e) { return e.listen(listen_options()); })
                .get();
        listen_result = listen(
            *loop, [](Session) {}, listen_options());
      });
    });
  });
  auto stopped = std::async(std::launch::async, [&] { loop->stop(); });
  ASSERT_EQ(stopped.wait_for(std::chrono::seconds(10)),
            std::future_status::ready)
      << "stop() did not return";
  ASSERT_TRUE(made);
  EXPECT_TRUE(ready(made.closed()));
  ASSERT_TRUE(listen_status.has_value());
  EXPECT_EQ(listen_status->error().code, "ERR_INVALID_STATE");
  // dtls::listen binds, and the endpoint is closed at once.
  ASSERT_TRUE(listen_result.has_value() && listen_result->ok());
  EXPECT_TRUE(ready((*listen_result)->closed()));
  EXPECT_EQ((*listen_result)->address().port, 0);
}

}  // namespace
}  // namespace dtls
