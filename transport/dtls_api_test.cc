// What an application may rely on from listen() and connect() to the end: how
// sessions and endpoints open, fail, end and let go, each case with its code.
#include "transport/dtls_api.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "tests/testing/rtp_packets.h"
#include "tests/testing/udp_relay.h"
#include "tests/testing/uv_test_loop.h"
#include "transport/dtls_api_test_support.h"

namespace dtls {
namespace {

using std::chrono::milliseconds;
using testing_support::Bytes;
using testing_support::connect_options;
using testing_support::listen_options;
using testing_support::Loop;
using testing_support::MediaPair;
using testing_support::pem;
using testing_support::ready;
using testing_support::rtp;
using testing_support::stats_of;

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
  // Both let OpenSSL go: the client at once, the server at the client's
  // message (it sent the last flight; RFC 6347 §4.2.4).
  EXPECT_EQ(cs.released_at, cs.handshake_completed_at);
  const SessionStats ss = server_sessions[0].stats();
  ASSERT_TRUE(ss.released_at.has_value());
  EXPECT_GE(*ss.released_at, *ss.handshake_completed_at);
  EndpointStats es = endpoint->stats();
  EXPECT_EQ(es.server_sessions, 1u);
  EXPECT_EQ(es.client_sessions, 0u);
  EXPECT_EQ(es.sessions_released, 1u);
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
  // The loop's state is asked for from here; read directly it is not there.
  EXPECT_EQ(client->ask([](Session& s) { return s.srtp_profile(); }).get(),
            "SRTP_AEAD_AES_128_GCM");
  EXPECT_EQ(client->srtp_profile(), "");
  EXPECT_EQ(stats_of(*client).messages_sent, 1u);
  EXPECT_EQ(stats_of(*endpoint).server_sessions, 1u);
  EXPECT_EQ(
      endpoint->ask([](Endpoint& e) { return e.state(); }).get().session_count,
      1u);
  EXPECT_TRUE(callbacks_on_loop);
  {
    std::lock_guard lock(mu);
    ASSERT_EQ(received.size(), 1u);
    EXPECT_EQ(received[0], "ping");
  }
  loop->stop();  // closes the endpoint and the client gracefully
  ASSERT_TRUE(ready(client->closed()));
  ASSERT_TRUE(ready(endpoint->closed()));
  // Stopped: calls run here, on what the loop left.
  EXPECT_TRUE(endpoint->state().destroyed);
  EXPECT_FALSE(client->stats().is_connected);
  EXPECT_EQ(client->stats().messages_sent, 1u);  // the snapshot
  EXPECT_EQ(
      client->ask([](Session& s) { return s.stats(); }).get().messages_sent,
      1u);
  auto late = client->send("late");
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, "ERR_DTLS_SESSION_DESTROYED");
  // An endpoint made on the stopped loop has ended already: nothing would
  // run its socket.
  auto made = Endpoint::create(*loop);
  ASSERT_TRUE(made.ok());
  EXPECT_TRUE(ready(made->closed()));
  EXPECT_EQ(made->ask([](Endpoint& e) { return e.listen(listen_options()); })
                .get()
                .error()
                .code,
            "ERR_INVALID_STATE");
  std::lock_guard lock(mu);
  server_sessions.clear();
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

}  // namespace
}  // namespace dtls
