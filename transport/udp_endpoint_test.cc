#include "transport/udp_endpoint.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "certs/generate.h"
#include "tests/testing/uv_test_loop.h"

namespace dtls {
namespace {

using std::chrono::milliseconds;

const certs::Credentials& creds(int i) {
  static const std::vector<certs::Credentials> all = [] {
    std::vector<certs::Credentials> v;
    for (int k = 0; k < 2; ++k)
      v.push_back(std::move(certs::generate_certificate()).value());
    return v;
  }();
  return all[static_cast<size_t>(i)];
}

certs::Fingerprint fp(int i) {
  return certs::Fingerprint::of(creds(i).leaf(), certs::HashAlgorithm::kSha256);
}

std::shared_ptr<const DtlsContext> context(int i) {
  DtlsContextOptions o;
  o.credentials = creds(i);
  o.srtp_profiles = "SRTP_AES128_CM_SHA1_80";
  return std::move(DtlsContext::create(o)).value();
}

PeerAddress loopback(std::uint16_t port = 0) {
  return std::move(PeerAddress::parse("127.0.0.1", port)).value();
}

using Loop = testing::UvTestLoop;

struct Recorder {
  std::vector<PeerAddress> sessions;
  std::vector<std::pair<PeerAddress, DtlsEvent>> events;
  std::vector<DtlsAssociation::State> finished;
  struct Media {
    PeerAddress from;
    PacketKind kind;
    std::vector<std::uint8_t> packet;
  };
  std::vector<Media> media;
  bool closed = false;
  int count(DtlsEvent::Type t) const {
    int n = 0;
    for (const auto& [p, e] : events) n += e.type == t;
    return n;
  }
  UdpEndpoint::Callbacks callbacks() {
    return {
        [this](const PeerAddress& p) { sessions.push_back(p); },
        [this](const PeerAddress& p, const DtlsEvent& e) {
          events.emplace_back(p, e);
        },
        [this](const PeerAddress&, const DtlsAssociation& a,
               const srtp::MediaCounters&) { finished.push_back(a.state()); },
        [this] { closed = true; },
        [this](const PeerAddress& p, PacketKind k,
               std::span<const std::uint8_t> m) {
          media.push_back({p, k, {m.begin(), m.end()}});
        }};
  }
};

std::shared_ptr<UdpEndpoint> server(Loop& loop, Recorder& rec,
                                    UdpEndpointOptions o = {}) {
  o.context = context(0);
  o.accept_incoming = true;
  o.server_association.peer_fingerprints = {fp(1)};
  auto e = UdpEndpoint::open(loop.get(), loopback(), o, rec.callbacks());
  EXPECT_TRUE(e.ok()) << e.error().to_string();
  return *e;
}

std::shared_ptr<UdpEndpoint> client(Loop& loop, Recorder& rec) {
  UdpEndpointOptions o;
  o.context = context(1);
  auto e = UdpEndpoint::open(loop.get(), loopback(), o, rec.callbacks());
  EXPECT_TRUE(e.ok()) << e.error().to_string();
  return *e;
}

AssociationOptions pin_server() {
  AssociationOptions a;
  a.peer_fingerprints = {fp(0)};
  return a;
}

std::vector<std::uint8_t> bytes(std::string_view s) {
  return {s.begin(), s.end()};
}

TEST(UdpEndpoint, HandshakeAndDataOverLoopback) {
  Loop loop;
  Recorder srec, crec;
  auto s = server(loop, srec);
  auto* sp = s.get();
  auto c = client(loop, crec);
  ASSERT_NE(s->local_address().port(), 0);
  ASSERT_TRUE(c->connect(s->local_address(), pin_server()).ok());
  ASSERT_TRUE(loop.run_until([&] {
    return crec.count(DtlsEvent::Type::kHandshakeComplete) == 1 &&
           srec.count(DtlsEvent::Type::kHandshakeComplete) == 1;
  }));
  EXPECT_EQ(srec.sessions.size(), 1u);
  EXPECT_EQ(srec.sessions[0], c->local_address());
  EXPECT_EQ(s->stats().hello_verify_requests, 1u);
  EXPECT_EQ(s->stats().server_sessions, 1u);
  EXPECT_EQ(c->stats().client_sessions, 1u);
  auto* ca = c->association(s->local_address());
  auto* sa = sp->association(c->local_address());
  ASSERT_TRUE(ca && sa);
  EXPECT_EQ(*ca->export_keying_material(60, "EXTRACTOR-dtls_srtp"),
            *sa->export_keying_material(60, "EXTRACTOR-dtls_srtp"));

  ASSERT_TRUE(c->send(s->local_address(), bytes("ping")).ok());
  ASSERT_TRUE(
      loop.run_until([&] { return srec.count(DtlsEvent::Type::kData) == 1; }));
  ASSERT_TRUE(s->send(c->local_address(), bytes("pong")).ok());
  ASSERT_TRUE(
      loop.run_until([&] { return crec.count(DtlsEvent::Type::kData) == 1; }));
  for (const auto& [p, e] : crec.events) {
    if (e.type == DtlsEvent::Type::kData) {
      EXPECT_EQ(e.data, bytes("pong"));
    }
  }
  EXPECT_GT(s->stats().packets_received, 3u);
  EXPECT_EQ(s->stats().demux[PacketKind::kDtls], s->stats().packets_received);

  c->close();
  ASSERT_TRUE(loop.run_until([&] {
    return srec.count(DtlsEvent::Type::kClosed) == 1 && crec.closed;
  }));
  // The peer's close_notify ended the server's session, which was reported
  // finished.
  EXPECT_EQ(s->session_count(), 0u);
  ASSERT_EQ(srec.finished.size(), 1u);
  EXPECT_EQ(srec.finished[0], DtlsAssociation::State::kClosed);
  s->close();
  ASSERT_TRUE(loop.run_until([&] { return srec.closed; }));
}

// Many clients on one server port; the server's close() sends close_notify to
// every one.
TEST(UdpEndpoint, ManySessionsOnOnePortAndGracefulClose) {
  Loop loop;
  Recorder srec;
  auto s = server(loop, srec);
  constexpr int kClients = 25;
  std::vector<Recorder> crecs(kClients);
  std::vector<std::shared_ptr<UdpEndpoint>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(client(loop, crecs[static_cast<size_t>(i)]));
    ASSERT_TRUE(clients.back()->connect(s->local_address(), pin_server()).ok());
  }
  ASSERT_TRUE(loop.run_until([&] {
    return srec.count(DtlsEvent::Type::kHandshakeComplete) == kClients;
  })) << srec.count(DtlsEvent::Type::kHandshakeComplete);
  EXPECT_EQ(s->session_count(), static_cast<size_t>(kClients));
  s->close();
  ASSERT_TRUE(loop.run_until([&] {
    for (const auto& r : crecs) {
      if (r.count(DtlsEvent::Type::kClosed) != 1) return false;
    }
    return srec.closed;
  }));
  for (auto& c : clients) {
    EXPECT_EQ(c->session_count(), 0u);
    c->close();
  }
  ASSERT_TRUE(loop.run_until([&] {
    for (const auto& r : crecs) {
      if (!r.closed) return false;
    }
    return true;
  }));
}

TEST(UdpEndpoint, BusyAndMaxSessionsRefuseNewHandshakes) {
  for (bool use_busy : {true, false}) {
    Loop loop;
    Recorder srec, crec;
    UdpEndpointOptions o;
    o.max_sessions = use_busy ? 10 : 0;
    auto s = server(loop, srec, o);
    s->set_busy(use_busy);
    auto c = client(loop, crec);
    AssociationOptions a = pin_server();
    a.initial_retransmit_timeout = milliseconds(50);
    a.handshake_timeout = milliseconds(300);
    ASSERT_TRUE(c->connect(s->local_address(), a).ok());
    ASSERT_TRUE(loop.run_until(
        [&] { return crec.count(DtlsEvent::Type::kError) == 1; }));
    EXPECT_EQ(crec.events.back().second.error.code,
              "ERR_DTLS_HANDSHAKE_TIMEOUT");
    EXPECT_GE(s->stats().server_busy_count, 1u);
    EXPECT_EQ(s->session_count(), 0u);
    EXPECT_TRUE(srec.sessions.empty());
    s->destroy();
    c->destroy();
  }
}

// Datagrams that are not DTLS are counted by kind and create nothing.
TEST(UdpEndpoint, NonDtlsDatagramsAreCountedAndDropped) {
  Loop loop;
  Recorder srec;
  auto s = server(loop, srec);
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  const std::vector<std::vector<std::uint8_t>> junk = {
      {0x00, 0x01, 0x00, 0x00},  // STUN-looking
      {0x80, 96, 0, 1},          // RTP
      {0x80, 200, 0, 1},         // RTCP
      {0xff, 0xff},              // unknown
      {22, 0xfe, 0xfd, 0, 0},    // truncated DTLS: through the gate, dropped
  };
  for (const auto& j : junk) {
    sendto(fd, j.data(), j.size(), 0, s->local_address().sockaddr_ptr(),
           sizeof(sockaddr_in));
  }
  ASSERT_TRUE(loop.run_until(
      [&] { return s->stats().packets_received == junk.size(); }));
  close(fd);
  EXPECT_EQ(s->stats().demux[PacketKind::kStun], 1u);
  EXPECT_EQ(s->stats().demux[PacketKind::kRtp], 1u);
  EXPECT_EQ(s->stats().demux[PacketKind::kRtcp], 1u);
  EXPECT_EQ(s->stats().demux[PacketKind::kUnknown], 1u);
  EXPECT_EQ(s->stats().demux[PacketKind::kDtls], 1u);
  EXPECT_EQ(s->session_count(), 0u);
  EXPECT_EQ(s->stats().packets_sent, 0u);  // nothing answered
  s->close();
}

TEST(UdpEndpoint, Errors) {
  Loop loop;
  Recorder rec;
  auto s = server(loop, rec);
  // Binding a port in use.
  UdpEndpointOptions o;
  o.context = context(0);
  auto dup = UdpEndpoint::open(loop.get(), s->local_address(), o, {});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, "ERR_SOCKET_BIND");
  auto none = UdpEndpoint::open(loop.get(), loopback(), {}, {});
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, "ERR_INVALID_ARG_VALUE");
  // Sending to nobody; connecting twice; connecting while closing.
  auto r = s->send(loopback(9), bytes("x"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "ERR_DTLS_SESSION_NOT_OPEN");
  ASSERT_TRUE(s->connect(loopback(9), pin_server()).ok());
  Status again = s->connect(loopback(9), pin_server());
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, "ERR_DTLS_SESSION_EXISTS");
  s->close();
  Status late = s->connect(loopback(10), pin_server());
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, "ERR_INVALID_STATE");
  ASSERT_TRUE(loop.run_until([&] { return rec.closed; }));
}

TEST(PeerAddress, ParseAndFormat) {
  auto v4 = PeerAddress::parse("127.0.0.1", 5000);
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->to_string(), "127.0.0.1:5000");
  EXPECT_EQ(v4->family(), "IPv4");
  EXPECT_EQ(v4->key().size(), 7u);
  auto v6 = PeerAddress::parse("::1", 5000);
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->to_string(), "[::1]:5000");
  EXPECT_EQ(v6->family(), "IPv6");
  EXPECT_EQ(v6->key().size(), 19u);
  EXPECT_FALSE(*v4 == *v6);
  EXPECT_TRUE(*v4 == PeerAddress::from_sockaddr(v4->sockaddr_ptr()));
  auto bad = PeerAddress::parse("localhost", 1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "ERR_INVALID_ARG_VALUE");
  EXPECT_TRUE(PeerAddress().empty());
}

}  // namespace
}  // namespace dtls

namespace dtls {
namespace {

// Over loopback nothing is lost, so what one endpoint counts as sent the other
// counts as received, datagram for datagram and byte for byte: for datagrams
// that go straight to the kernel, for ones that wait in libuv's send queue,
// and for a server that receives them in batches (recvmmsg).
TEST(UdpEndpoint, ExactCountsBothWaysDirectQueuedAndBatched) {
  for (int variant = 0; variant < 3; ++variant) {
    const bool queued = variant == 1, batched = variant == 2;
    SCOPED_TRACE(queued ? "queued" : batched ? "recvmmsg" : "direct");
    Loop loop;
    Recorder srec, crec;
    UdpEndpointOptions so;
    so.always_queue_sends = queued;
    so.receive_batch = batched ? 16 : 1;
    auto s = server(loop, srec, so);
    EXPECT_EQ(s->batched_receive(), batched);
    UdpEndpointOptions co;
    co.context = context(1);
    co.always_queue_sends = queued;
    co.connect_socket = true;
    auto c = UdpEndpoint::open(loop.get(), loopback(), co, crec.callbacks());
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE((*c)->connect(s->local_address(), pin_server()).ok());
    ASSERT_TRUE(loop.run_until([&] {
      return srec.count(DtlsEvent::Type::kHandshakeComplete) == 1 &&
             crec.count(DtlsEvent::Type::kHandshakeComplete) == 1;
    }));
    constexpr int kMessages = 50;
    for (int i = 0; i < kMessages; ++i) {
      ASSERT_TRUE((*c)->send(s->local_address(), bytes("m")).ok());
      ASSERT_TRUE(s->send((*c)->local_address(), bytes("reply")).ok());
    }
    ASSERT_TRUE(loop.run_until([&] {
      return srec.count(DtlsEvent::Type::kData) == kMessages &&
             crec.count(DtlsEvent::Type::kData) == kMessages;
    }));
    const UdpEndpointStats& ss = s->stats();
    const UdpEndpointStats& cs = (*c)->stats();
    EXPECT_EQ(ss.packets_received, cs.packets_sent);
    EXPECT_EQ(ss.bytes_received, cs.bytes_sent);
    EXPECT_EQ(cs.packets_received, ss.packets_sent);
    EXPECT_EQ(cs.bytes_received, ss.bytes_sent);
    EXPECT_EQ(ss.send_errors + cs.send_errors, 0u);
    // The handshake's flights, then one datagram per message.
    EXPECT_GE(cs.packets_sent, 2u + kMessages);
    if (queued) {
      EXPECT_EQ(ss.sends_queued, ss.packets_sent);
      EXPECT_EQ(cs.sends_queued, cs.packets_sent);
    } else {
      EXPECT_EQ(ss.sends_queued + cs.sends_queued, 0u);
    }
    (*c)->close();
    s->close();
    ASSERT_TRUE(loop.run_until([&] { return srec.closed && crec.closed; }));
  }
}

// close() waits for queued datagrams before releasing the socket: with every
// send queued, each client still receives its close_notify.
TEST(UdpEndpoint, CloseFlushesQueuedAlertsFirst) {
  Loop loop;
  Recorder srec;
  UdpEndpointOptions so;
  so.always_queue_sends = true;
  auto s = server(loop, srec, so);
  constexpr int kClients = 10;
  std::vector<Recorder> crecs(kClients);
  std::vector<std::shared_ptr<UdpEndpoint>> clients;
  for (auto& r : crecs) {
    clients.push_back(client(loop, r));
    ASSERT_TRUE(clients.back()->connect(s->local_address(), pin_server()).ok());
  }
  ASSERT_TRUE(loop.run_until([&] {
    return srec.count(DtlsEvent::Type::kHandshakeComplete) == kClients;
  }));
  s->close();
  ASSERT_TRUE(loop.run_until([&] {
    for (const auto& r : crecs) {
      if (r.count(DtlsEvent::Type::kClosed) != 1) return false;
    }
    return srec.closed;
  }));
  EXPECT_EQ(s->stats().send_errors, 0u);
  for (auto& c : clients) c->destroy();
  ASSERT_TRUE(loop.run_until([&] {
    for (const auto& r : crecs) {
      if (!r.closed) return false;
    }
    return true;
  }));
}

// A connected client socket learns of an ICMP port unreachable: the session
// fails with ERR_DTLS_CONNECTION_REFUSED; an unconnected one only counts it.
TEST(UdpEndpoint, PortUnreachableFailsAConnectedClient) {
  Loop loop;
  Recorder rec;
  UdpEndpointOptions o;
  o.context = context(1);
  o.connect_socket = true;
  auto c = UdpEndpoint::open(loop.get(), loopback(), o, rec.callbacks());
  ASSERT_TRUE(c.ok());
  // A port nobody listens on: bind one, note it, release it.
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  PeerAddress any = loopback();
  ASSERT_EQ(bind(fd, any.sockaddr_ptr(), sizeof(sockaddr_in)), 0);
  sockaddr_in sin{};
  socklen_t len = sizeof(sin);
  getsockname(fd, reinterpret_cast<sockaddr*>(&sin), &len);
  close(fd);
  PeerAddress closed_port = loopback(ntohs(sin.sin_port));
  AssociationOptions a = pin_server();
  a.handshake_timeout = std::chrono::seconds(60);
  ASSERT_TRUE((*c)->connect(closed_port, a).ok());
  ASSERT_TRUE(
      loop.run_until([&] { return rec.count(DtlsEvent::Type::kError) == 1; },
                     std::chrono::seconds(5)));
  EXPECT_EQ(rec.events.back().second.error.code, "ERR_DTLS_CONNECTION_REFUSED");
  EXPECT_GE((*c)->stats().socket_errors + (*c)->stats().send_errors, 1u);
  EXPECT_EQ((*c)->session_count(), 0u);
  // The socket is connected to that peer: another one is refused.
  Status other = (*c)->connect(loopback(9), pin_server());
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code, "ERR_INVALID_STATE");
  (*c)->close();
  ASSERT_TRUE(loop.run_until([&] { return rec.closed; }));
}

TEST(UdpEndpoint, DestroyWithAnErrorReportsItForEverySession) {
  Loop loop;
  Recorder srec, crec;
  auto s = server(loop, srec);
  auto c = client(loop, crec);
  ASSERT_TRUE(c->connect(s->local_address(), pin_server()).ok());
  ASSERT_TRUE(loop.run_until(
      [&] { return srec.count(DtlsEvent::Type::kHandshakeComplete) == 1; }));
  s->destroy(make_error("ERR_APP_SHUTDOWN", "going away"));
  ASSERT_EQ(srec.count(DtlsEvent::Type::kError), 1);
  EXPECT_EQ(srec.events.back().second.error.code, "ERR_APP_SHUTDOWN");
  ASSERT_EQ(srec.finished.size(), 1u);
  c->destroy_session(s->local_address(),
                     make_error("ERR_APP_HANGUP", "the call ended"));
  ASSERT_EQ(crec.count(DtlsEvent::Type::kError), 1);
  EXPECT_EQ(crec.events.back().second.error.code, "ERR_APP_HANGUP");
  EXPECT_EQ(c->session_count(), 0u);
  c->destroy();
  ASSERT_TRUE(loop.run_until([&] { return srec.closed && crec.closed; }));
}

}  // namespace
}  // namespace dtls

namespace dtls {
namespace {

// RFC 6347 §4.2.8: a peer that restarts on the same address and port (its
// old association still open here) gets a new session once its cookie
// checks out; the old one ends with ERR_DTLS_PEER_RESTARTED.
TEST(UdpEndpoint, PeerRestartingOnTheSameAddressGetsANewSession) {
  Loop loop;
  Recorder srec;
  auto s = server(loop, srec);
  Recorder first, second;
  auto c1 = client(loop, first);
  const PeerAddress client_address = c1->local_address();
  ASSERT_TRUE(c1->connect(s->local_address(), pin_server()).ok());
  ASSERT_TRUE(loop.run_until([&] {
    return srec.count(DtlsEvent::Type::kHandshakeComplete) == 1 &&
           first.count(DtlsEvent::Type::kHandshakeComplete) == 1;
  }));
  // The client vanishes without a close_notify, and a new one takes its port.
  c1->destroy();
  ASSERT_TRUE(loop.run_until([&] { return first.closed; }));
  UdpEndpointOptions o;
  o.context = context(1);
  auto c2 =
      UdpEndpoint::open(loop.get(), client_address, o, second.callbacks());
  ASSERT_TRUE(c2.ok()) << c2.error().to_string();
  ASSERT_TRUE((*c2)->connect(s->local_address(), pin_server()).ok());
  ASSERT_TRUE(loop.run_until([&] {
    return srec.count(DtlsEvent::Type::kHandshakeComplete) == 2 &&
           second.count(DtlsEvent::Type::kHandshakeComplete) == 1;
  }));
  EXPECT_EQ(s->stats().peer_restarts, 1u);
  EXPECT_EQ(s->session_count(), 1u);
  ASSERT_EQ(srec.sessions.size(), 2u);
  EXPECT_EQ(srec.sessions[1], client_address);
  int restarted = 0;
  for (const auto& [p, e] : srec.events) {
    restarted += e.type == DtlsEvent::Type::kError &&
                 e.error.code == "ERR_DTLS_PEER_RESTARTED";
  }
  EXPECT_EQ(restarted, 1);
  // The restart went through the cookie exchange like the first handshake.
  EXPECT_EQ(s->stats().hello_verify_requests, 2u);
  (*c2)->close();
  s->close();
  ASSERT_TRUE(loop.run_until([&] { return srec.closed && second.closed; }));
}

}  // namespace
}  // namespace dtls

namespace dtls {
namespace {

// Two workers on one port (SO_REUSEPORT) with one cookie master: the kernel
// spreads clients over both (a client stays on one), and every handshake
// completes.
TEST(UdpEndpoint, WorkersShareOnePortWithReusePort) {
  Loop loop;
  Recorder w1, w2;
  std::array<std::uint8_t, CookieGate::kSecretSize> master{};
  master[5] = 0x5a;
  UdpEndpointOptions o;
  o.reuse_port = true;
  o.cookie_master_secret = master;
  auto first = server(loop, w1, o);
  o.context = context(0);
  o.accept_incoming = true;
  o.server_association.peer_fingerprints = {fp(1)};
  auto second =
      UdpEndpoint::open(loop.get(), first->local_address(), o, w2.callbacks());
  ASSERT_TRUE(second.ok()) << second.error().to_string();
  // Without SO_REUSEPORT the port is taken.
  UdpEndpointOptions plain;
  plain.context = context(0);
  auto taken = UdpEndpoint::open(loop.get(), first->local_address(), plain, {});
  ASSERT_FALSE(taken.ok());
  EXPECT_EQ(taken.error().code, "ERR_SOCKET_BIND");

  constexpr int kClients = 24;
  std::vector<Recorder> crecs(kClients);
  std::vector<std::shared_ptr<UdpEndpoint>> clients;
  for (auto& r : crecs) {
    clients.push_back(client(loop, r));
    ASSERT_TRUE(
        clients.back()->connect(first->local_address(), pin_server()).ok());
  }
  ASSERT_TRUE(loop.run_until([&] {
    for (const auto& r : crecs) {
      if (r.count(DtlsEvent::Type::kHandshakeComplete) != 1) return false;
    }
    return true;
  }));
  EXPECT_EQ(w1.sessions.size() + w2.sessions.size(),
            static_cast<size_t>(kClients));
  // Both got some: (1/2)^23 that one got all.
  EXPECT_GT(w1.sessions.size(), 0u);
  EXPECT_GT(w2.sessions.size(), 0u);
  for (auto& c : clients) c->destroy();
  first->destroy();
  (*second)->destroy();
  ASSERT_TRUE(loop.run_until([&] { return w1.closed && w2.closed; }));
}

}  // namespace
}  // namespace dtls

namespace dtls {
namespace {

// When the kernel pushes back, datagrams wait in a bounded queue; past its
// bound, media sends fail with ERR_SEND_QUEUE_FULL (the backpressure signal)
// and drops are counted. Once the queue drains, sending works again.
TEST(UdpEndpoint, BoundedSendQueueSignalsBackpressure) {
  Loop loop;
  Recorder srec, crec;
  auto s = server(loop, srec);
  UdpEndpointOptions co;
  co.context = context(1);
  co.always_queue_sends = true;  // as if the kernel always said EAGAIN
  co.max_queued_sends = 8;
  auto c = UdpEndpoint::open(loop.get(), loopback(), co, crec.callbacks());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE((*c)->connect(s->local_address(), pin_server()).ok());
  ASSERT_TRUE(loop.run_until([&] {
    return srec.count(DtlsEvent::Type::kHandshakeComplete) == 1 &&
           crec.count(DtlsEvent::Type::kHandshakeComplete) == 1;
  }));
  std::vector<std::uint8_t> rtp = {0x80, 96, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9};
  rtp.resize(112, 0x33);
  int sent = 0, full = 0;
  for (int i = 0; i < 20; ++i) {
    rtp[3] = static_cast<std::uint8_t>(i);
    auto r = (*c)->send_media(s->local_address(), PacketKind::kRtp, rtp);
    if (r.ok()) {
      ++sent;
    } else {
      EXPECT_EQ(r.error().code, "ERR_SEND_QUEUE_FULL");
      ++full;
    }
  }
  EXPECT_EQ(sent, 8);
  EXPECT_EQ(full, 12);
  EXPECT_EQ((*c)->stats().send_queue_drops, 12u);
  ASSERT_TRUE(loop.run_until([&] { return srec.media.size() == 8; }));
  rtp[3] = 100;
  EXPECT_TRUE((*c)->send_media(s->local_address(), PacketKind::kRtp, rtp).ok());
  ASSERT_TRUE(loop.run_until([&] { return srec.media.size() == 9; }));
  (*c)->close();
  s->close();
  ASSERT_TRUE(loop.run_until([&] { return srec.closed && crec.closed; }));
}

}  // namespace
}  // namespace dtls

namespace dtls {
namespace {

// Once the peer has answered, an ICMP port unreachable is a soft error: it is
// counted and the session stays (the peer may be rebinding); only a peer that
// never answered is given up on.
TEST(UdpEndpoint, IcmpAfterThePeerAnsweredIsOnlyCounted) {
  Loop loop;
  Recorder srec, crec;
  auto s = server(loop, srec);
  UdpEndpointOptions o;
  o.context = context(1);
  o.connect_socket = true;
  auto c = UdpEndpoint::open(loop.get(), loopback(), o, crec.callbacks());
  ASSERT_TRUE(c.ok());
  const PeerAddress server_address = s->local_address();
  ASSERT_TRUE((*c)->connect(server_address, pin_server()).ok());
  ASSERT_TRUE(loop.run_until(
      [&] { return crec.count(DtlsEvent::Type::kHandshakeComplete) == 1; }));
  s->destroy();  // the server's port closes without an alert
  ASSERT_TRUE(loop.run_until([&] { return srec.closed; }));
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE((*c)->send(server_address, bytes("anyone?")).ok());
    ASSERT_TRUE(loop.run_until([&] {
      return (*c)->stats().socket_errors + (*c)->stats().send_errors >=
             static_cast<std::uint64_t>(i + 1);
    }));
  }
  EXPECT_EQ(crec.count(DtlsEvent::Type::kError), 0);
  EXPECT_EQ((*c)->session_count(), 1u);
  (*c)->destroy();
  ASSERT_TRUE(loop.run_until([&] { return crec.closed; }));
}

}  // namespace
}  // namespace dtls
