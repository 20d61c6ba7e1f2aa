// Handles outlive what they name: every member of an empty or ended Session or
// Endpoint must be safe to call, and handles must work as map keys.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
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
using testing_support::pem;
using testing_support::ready;

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
  auto asked = s.ask([](Session& same) { return same.id(); });
  ASSERT_EQ(asked.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  EXPECT_EQ(asked.get(), s.id());
  ASSERT_EQ(s.close().wait_for(std::chrono::seconds(0)),
            std::future_status::ready);
  s.destroy();
  s.destroy(make_error("ERR_TEST", "again"));
  EXPECT_EQ(calls, 0);
}

enum class EndpointKind { kEmpty, kClosed, kUnbound };

void every_endpoint_member(Endpoint e, EndpointKind kind) {
  const bool empty = kind == EndpointKind::kEmpty;
  const bool unbound = kind == EndpointKind::kUnbound;
  SCOPED_TRACE(empty     ? "empty endpoint"
               : unbound ? "endpoint without a socket"
                         : "closed endpoint");
  EXPECT_EQ(e.address().port, 0);
  EXPECT_FALSE(e.state().bound);
  EXPECT_FALSE(e.state().listening);
  EXPECT_EQ(e.state().destroyed, kind == EndpointKind::kClosed);
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
  ASSERT_EQ(closed.has_value(), !unbound);  // an unbound one is still open
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
  EXPECT_EQ(e.ask([](Endpoint& same) { return same.id(); }).get(), e.id());
  // close() ends an unbound endpoint at once.
  EXPECT_EQ(e.close().get().ok(), !empty);
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->ok(), !empty);
  EXPECT_EQ(e.closed().get().ok(), !empty);
  EXPECT_EQ(e.state().destroyed, !empty);
  e.destroy();
  e.destroy(make_error("ERR_TEST", "again"));
  EXPECT_EQ(e.listen(listen_options()).error().code, "ERR_INVALID_STATE");
  EXPECT_EQ(e.connect("127.0.0.1", 9, connect_options()).error().code,
            "ERR_INVALID_STATE");
  EXPECT_EQ(calls, 0);
}

TEST(DtlsApiHandles, EveryMemberOfAnEmptyHandleIsSafe) {
  every_session_member(Session(), true);
  every_endpoint_member(Endpoint(), EndpointKind::kEmpty);
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
  every_endpoint_member(*endpoint, EndpointKind::kClosed);
  auto unbound = Endpoint::create(loop.get());
  ASSERT_TRUE(unbound.ok());
  every_endpoint_member(*unbound, EndpointKind::kUnbound);
}

// Off its loop no member waits: with the loop held busy, the members of a
// live client session and of its endpoint that answer with the loop's state
// return at once with ERR_NOT_ON_LOOP or their empty value (the address,
// published when the socket is bound, excepted), while sends and setters are
// queued; ask() hands the real answers over once the loop runs again.
TEST(DtlsApiHandles, OffItsLoopNoMemberWaits) {
  auto loop = std::move(EventLoop::start()).value();
  std::atomic<int> rtp_in{0};
  SessionListener server;
  server.on_rtp = [&](Session&, std::span<const std::uint8_t>) { rtp_in++; };
  auto e = listen(*loop, server, listen_options());
  ASSERT_TRUE(e.ok());
  auto c = connect(*loop, "127.0.0.1", e->address().port, connect_options());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c->opened().get().ok());
  HeldLoop held(*loop->dispatcher());
  std::future<std::string> profile;
  std::future<size_t> sessions;
  std::future<int> thrown;
  std::future<std::unique_ptr<int>> moved;
  Endpoint fresh;
  std::future<Status> listened;
  // On a thread of its own, so that a member that waited would fail the
  // test rather than hang it.
  auto calls = std::async(std::launch::async, [&] {
    Session& s = *c;
    const std::string off = "ERR_NOT_ON_LOOP";
    EXPECT_FALSE(s.stats().is_connected);
    EXPECT_EQ(s.remote_address().port, 0);
    EXPECT_EQ(s.protocol(), "");
    EXPECT_FALSE(s.cipher().has_value());
    EXPECT_FALSE(s.peer_certificate().has_value());
    EXPECT_EQ(s.alpn_protocol(), "");
    EXPECT_EQ(s.srtp_profile(), "");
    auto ekm = s.export_keying_material(32, "EXTRACTOR-dtls_srtp");
    ASSERT_FALSE(ekm.ok());
    EXPECT_EQ(ekm.error().code, off);
    EXPECT_NE(ekm.error().message.find("export_keying_material"),
              std::string::npos);
    EXPECT_EQ(s.srtp_keys().error().code, off);
    EXPECT_FALSE(s.is_session_reused());
    EXPECT_TRUE(s.session().empty());
    EXPECT_TRUE(s.tls_ticket().empty());
    EXPECT_TRUE(s.finished().empty());
    EXPECT_TRUE(s.peer_finished().empty());
    EXPECT_TRUE(s.shared_sigalgs().empty());
    EXPECT_FALSE(s.ephemeral_key_info().has_value());
    EXPECT_FALSE(s.authorized());
    EXPECT_EQ(s.authorization_error(), "");
    // A setter: posted, the answer is the range check.
    EXPECT_TRUE(s.set_max_send_fragment(1200));
    EXPECT_FALSE(s.set_max_send_fragment(100));
    EXPECT_EQ(s.servername(), "");
    EXPECT_FALSE(s.certificate().has_value());
    // Fixed at creation, so read anywhere.
    EXPECT_NE(s.id(), 0u);
    EXPECT_EQ(s.srtp_side(), srtp::Side::kClient);
    EXPECT_TRUE(s.ice_credentials().ufrag.empty());
    EXPECT_TRUE(ready(s.opened()));
    EXPECT_FALSE(ready(s.closed()));
    // Queued and posted.
    EXPECT_TRUE(s.send_rtp(testing::make_rtp(9, 1, 20)).ok());
    EXPECT_TRUE(s.send("queued").ok());
    s.on_message([](std::span<const std::uint8_t>) {});
    s.cork();
    s.uncork();
    profile = s.ask([](Session& x) { return x.srtp_profile(); });
    EXPECT_EQ(profile.wait_for(std::chrono::seconds(0)),
              std::future_status::timeout);
    thrown = s.ask([](Session&) -> int { throw std::runtime_error("no"); });
    // A callable that can only be moved.
    moved = s.ask([owned = std::make_unique<int>(42)](Session&) mutable {
      return std::move(owned);
    });

    Endpoint& ep = *e;
    EXPECT_NE(ep.address().port, 0);  // published at bind
    EXPECT_FALSE(ep.state().bound);
    EXPECT_FALSE(ep.stats().is_connected);
    EXPECT_EQ(ep.recv_buffer_size().error().code, off);
    EXPECT_EQ(ep.send_buffer_size().error().code, off);
    EXPECT_FALSE(ep.busy());
    EXPECT_TRUE(ep.ticket_keys().empty());
    EXPECT_EQ(ep.set_ticket_keys(Bytes(48, 1)).error().code, off);
    SecureOptions so;
    so.cert = pem(0).cert;
    so.key = pem(0).key;
    auto ctx = create_secure_context(so);
    ASSERT_TRUE(ctx.ok());
    EXPECT_EQ(ep.set_secure_context(*ctx).error().code, off);
    IceSessionConfig ice;
    ice.fingerprints = {pem(1).fingerprint};
    EXPECT_EQ(ep.add_ice_session(ice).error().code, off);
    EXPECT_EQ(ep.connect("127.0.0.1", 9, connect_options()).error().code, off);
    EXPECT_EQ(ep.listen(listen_options()).error().code, off);
    ep.set_busy(false);
    ep.cork();
    ep.uncork();
    sessions = ep.ask([](Endpoint& x) { return x.state().session_count; });
    EXPECT_EQ(sessions.wait_for(std::chrono::seconds(0)),
              std::future_status::timeout);
    // A new endpoint, and its listen asked for.
    auto made = Endpoint::create(*loop);
    ASSERT_TRUE(made.ok());
    fresh = *made;
    listened =
        fresh.ask([](Endpoint& x) { return x.listen(listen_options()); });
  });
  const bool returned =
      calls.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
  held.release();
  calls.get();
  ASSERT_TRUE(returned) << "a member waited for the busy loop";
  EXPECT_EQ(profile.get(), "SRTP_AEAD_AES_128_GCM");
  EXPECT_EQ(sessions.get(), 1u);
  EXPECT_THROW(thrown.get(), std::runtime_error);
  EXPECT_EQ(*moved.get(), 42);
  EXPECT_TRUE(listened.get().ok());
  EXPECT_NE(fresh.address().port, 0);
  // The posted setter took effect: 1200 bytes per record, so a larger
  // message no longer fits.
  EXPECT_EQ(c->ask([](Session& s) {
               return s.send(std::string(1300, 'x')).error().code;
             }).get(),
            "ERR_DTLS_MESSAGE_TOO_LARGE");
  // Closed: the address is gone by the time closed() resolves.
  ASSERT_TRUE(fresh.close().get().ok());
  EXPECT_EQ(fresh.address().port, 0);
  // What was queued meanwhile was sent.
  for (int i = 0; i < 1000 && rtp_in == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(rtp_in.load(), 1);
  loop->stop();
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
