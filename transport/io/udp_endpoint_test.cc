// The I/O layer over real loopback sockets: what the kernel does (batches,
// GSO/GRO, ICMP, socket buffers, the send queue) and that the glue carries
// the core's behaviour. The endpoint's own behaviour in time (busy, max
// sessions, peer restart, idle and consent deadlines, cookie rotation, early
// ClientHello replay, floods) is tested in simulated time in
// endpoint_core_test.cc.
#include "transport/io/udp_endpoint.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <functional>

#include "certs/generate.h"
#include "srtp/key_limit_testing.h"
#include "tests/testing/failing_random.h"
#include "tests/testing/ice_check.h"
#include "tests/testing/rtp_packets.h"
#include "tests/testing/udp_relay.h"
#include "tests/testing/uv_test_loop.h"
#include "transport/ice/stun_message.h"

namespace dtls {
namespace {

using std::chrono::milliseconds;

const certs::Credentials& creds(int i) {
  static const std::vector<certs::Credentials> all = [] {
    std::vector<certs::Credentials> v;
    for (int k = 0; k < 3; ++k)
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
  std::vector<std::pair<std::string, IceEvent>> ice;
  bool closed = false;
  int drains = 0;
  int count(IceEvent::Type t) const {
    int n = 0;
    for (const auto& [u, e] : ice) n += e.type == t;
    return n;
  }
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
        },
        [this](const std::string& ufrag, const IceEvent& e) {
          ice.emplace_back(ufrag, e);
        },
        [this] { ++drains; }};
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

// Datagrams that are not DTLS are counted by kind and create nothing.
TEST(UdpEndpoint, NonDtlsDatagramsAreCountedAndDropped) {
  Loop loop;
  Recorder srec;
  auto s = server(loop, srec);
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  const std::vector<std::vector<std::uint8_t>> junk = {
      {0x00, 0x01, 0x00, 0x00},  // STUN-looking: a plain endpoint drops it
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
  UdpEndpointOptions no_queue;
  no_queue.context = context(0);
  no_queue.max_queued_sends = 0;
  auto unbounded = UdpEndpoint::open(loop.get(), loopback(), no_queue, {});
  ASSERT_FALSE(unbounded.ok());
  EXPECT_EQ(unbounded.error().code, "ERR_OUT_OF_RANGE");
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

long rss_kib() {
  long pages = 0, resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

// An endpoint's receive buffer (64 KiB per recvmmsg slot) and its media
// buffer are written by the kernel and libsrtp before anything reads them:
// left unzeroed, they cost resident memory only where datagrams land. Zeroed,
// each connect cost 128 KiB and each listener 1.1 MiB.
TEST(UdpEndpoint, BuffersBecomeResidentOnlyWhereDatagramsLand) {
  Loop loop;
  std::deque<Recorder> recs;  // one per endpoint, each told of its close
  std::vector<std::shared_ptr<UdpEndpoint>> open;
  auto open_pair = [&] {
    open.push_back(client(loop, recs.emplace_back()));
    UdpEndpointOptions o;
    o.receive_batch = 16;
    open.push_back(server(loop, recs.emplace_back(), o));
  };
  open_pair();  // contexts, the loop's own allocations
  const long before = rss_kib();
  constexpr int kPairs = 16;
  for (int i = 0; i < kPairs; ++i) open_pair();
  const long grown = rss_kib() - before;
  // Zeroed: 16 x (128 KiB + 1,088 KiB) = 19 MiB. ASan's allocator adds an
  // eighth in shadow for every byte handed out, and blocks of its own.
#if defined(__SANITIZE_ADDRESS__)
  constexpr int kShare = 2;
#else
  constexpr int kShare = 4;
#endif
  EXPECT_LT(grown, kPairs * (128 + 1088) / kShare) << grown << " KiB";
  // And they still receive: a datagram lands in a listener's buffer.
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  const std::vector<std::uint8_t> junk(1200, 0xff);
  sendto(fd, junk.data(), junk.size(), 0,
         open.back()->local_address().sockaddr_ptr(), sizeof(sockaddr_in));
  ASSERT_TRUE(loop.run_until(
      [&] { return open.back()->stats().packets_received == 1; }));
  close(fd);
  EXPECT_EQ(open.back()->stats().demux[PacketKind::kUnknown], 1u);
  for (auto& e : open) e->close();
  ASSERT_TRUE(loop.run_until([&] {
    return std::all_of(recs.begin(), recs.end(),
                       [](const Recorder& r) { return r.closed; });
  }));
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
  // The second refusal comes with the first retransmission.
  a.initial_retransmit_timeout = milliseconds(100);
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

// Fail closed: a listening endpoint whose cookie secret could not be drawn
// answers no ClientHello (no HelloVerifyRequest, no session) and counts them.
TEST(UdpEndpoint, WithoutARandomCookieSecretNoHelloIsAnswered) {
  Loop loop;
  Recorder srec, crec;
  UdpEndpointOptions o;
  o.context = context(0);
  o.accept_incoming = true;
  o.server_association.peer_fingerprints = {fp(1)};
  std::shared_ptr<UdpEndpoint> s;
  {
    testing::FailingRandom no_random;
    auto e = UdpEndpoint::open(loop.get(), loopback(), o, srec.callbacks());
    ASSERT_TRUE(e.ok()) << e.error().to_string();
    s = *e;
  }
  auto c = client(loop, crec);
  ASSERT_TRUE(c->connect(s->local_address(), pin_server()).ok());
  EXPECT_TRUE(loop.run_until([&] { return s->stats().cookie_refusals >= 1; }));
  EXPECT_EQ(s->stats().hello_verify_requests, 0u);
  EXPECT_EQ(s->stats().server_sessions, 0u);
  EXPECT_TRUE(srec.sessions.empty());
  c->close();
  s->close();
  ASSERT_TRUE(loop.run_until([&] { return srec.closed && crec.closed; }));
}

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
  // The second half of the signal: once, when the queue is empty again.
  EXPECT_EQ(crec.drains, 0);
  ASSERT_TRUE(loop.run_until([&] { return crec.drains == 1; }));
  EXPECT_EQ((*c)->send_queue_count(), 0u);
  ASSERT_TRUE(loop.run_until([&] { return srec.media.size() == 8; }));
  rtp[3] = 100;
  EXPECT_TRUE((*c)->send_media(s->local_address(), PacketKind::kRtp, rtp).ok());
  ASSERT_TRUE(loop.run_until([&] { return srec.media.size() == 9; }));
  // Queued sends that never met a full queue bring no drain.
  EXPECT_EQ(crec.drains, 1);
  EXPECT_EQ(srec.drains, 0);
  (*c)->close();
  s->close();
  ASSERT_TRUE(loop.run_until([&] { return srec.closed && crec.closed; }));
}

std::vector<std::uint8_t> rtp_with_seq(int seq) {
  std::vector<std::uint8_t> rtp = {0x80, 96, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9};
  rtp[2] = static_cast<std::uint8_t>(seq >> 8);
  rtp[3] = static_cast<std::uint8_t>(seq);
  rtp.resize(160, 0x44);
  return rtp;
}

int seq_of(const std::vector<std::uint8_t>& rtp) {
  return rtp[2] << 8 | rtp[3];
}

// A server and a connected client with their handshake done.
// `server_media`, when set, also runs for each packet the server receives
// (after it is recorded), with the pair at hand.
using ServerMedia =
    std::function<void(struct OpenPair&, const PeerAddress&, PacketKind,
                       std::span<const std::uint8_t>)>;

struct OpenPair {
  Loop loop;
  Recorder srec, crec;
  std::shared_ptr<UdpEndpoint> s, c;
  explicit OpenPair(UdpEndpointOptions so = {}, UdpEndpointOptions co = {},
                    ServerMedia server_media = {}) {
    so.context = context(0);
    so.accept_incoming = true;
    so.server_association.peer_fingerprints = {fp(1)};
    UdpEndpoint::Callbacks scb = srec.callbacks();
    if (server_media) {
      scb.on_media = [this, record = scb.on_media, server_media](
                         const PeerAddress& from, PacketKind kind,
                         std::span<const std::uint8_t> packet) {
        record(from, kind, packet);
        server_media(*this, from, kind, packet);
      };
    }
    s = std::move(UdpEndpoint::open(loop.get(), loopback(), so, scb)).value();
    co.context = context(1);
    co.connect_socket = true;
    c = std::move(
            UdpEndpoint::open(loop.get(), loopback(), co, crec.callbacks()))
            .value();
    EXPECT_TRUE(c->connect(s->local_address(), pin_server()).ok());
    EXPECT_TRUE(loop.run_until([&] {
      return srec.count(DtlsEvent::Type::kHandshakeComplete) == 1 &&
             crec.count(DtlsEvent::Type::kHandshakeComplete) == 1;
    }));
  }
  ~OpenPair() {
    c->close();
    s->close();
    EXPECT_TRUE(loop.run_until([&] { return srec.closed && crec.closed; }));
  }
};

TEST(UdpEndpointBatch, CorkedMediaLeavesInOneCallPerBatchInOrder) {
  OpenPair p;
  const PeerAddress to = p.s->local_address();
  const std::uint64_t sent0 = p.c->stats().packets_sent;
  p.c->cork();
  p.c->cork();  // nested: only the outer uncork sends
  EXPECT_TRUE(p.c->corked());
  for (int i = 0; i < 40; ++i) {
    auto r = p.c->send_media(to, PacketKind::kRtp, rtp_with_seq(i));
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    EXPECT_GT(*r, 160u);  // protected: the auth tag is on
  }
  // A full batch left on its own; the other 8 wait for the last uncork.
  EXPECT_EQ(p.c->stats().send_batches, 1u);
  EXPECT_EQ(p.c->stats().packets_sent, sent0 + SendBatch::kCapacity);
  p.c->uncork();
  EXPECT_EQ(p.c->stats().packets_sent, sent0 + SendBatch::kCapacity);
  p.c->uncork();
  EXPECT_FALSE(p.c->corked());
  EXPECT_EQ(p.c->stats().send_batches, 2u);
  EXPECT_EQ(p.c->stats().packets_sent, sent0 + 40);
  ASSERT_TRUE(p.loop.run_until([&] { return p.srec.media.size() == 40; }));
  for (int i = 0; i < 40; ++i) EXPECT_EQ(seq_of(p.srec.media[i].packet), i);
  EXPECT_EQ(p.c->stats().send_errors, 0u);
  p.c->uncork();  // unbalanced: ignored
  EXPECT_FALSE(p.c->corked());
}

TEST(UdpEndpointBatch, OtherDatagramsFlushTheBatchFirstAndBigPacketsGoAlone) {
  OpenPair p;
  const PeerAddress to = p.s->local_address();
  p.c->cork();
  ASSERT_TRUE(p.c->send_media(to, PacketKind::kRtp, rtp_with_seq(1)).ok());
  ASSERT_TRUE(p.c->send_media(to, PacketKind::kRtp, rtp_with_seq(2)).ok());
  // A DTLS message: the two media packets leave before it.
  ASSERT_TRUE(p.c->send(to, bytes("hello")).ok());
  EXPECT_EQ(p.c->stats().send_batches, 1u);
  // Larger than a batch slot: flushed behind what is gathered, then sent.
  ASSERT_TRUE(p.c->send_media(to, PacketKind::kRtp, rtp_with_seq(3)).ok());
  std::vector<std::uint8_t> big = rtp_with_seq(4);
  big.resize(SendBatch::kSlotSize, 0x55);
  ASSERT_TRUE(p.c->send_media(to, PacketKind::kRtp, big).ok());
  EXPECT_EQ(p.c->stats().send_batches, 2u);
  p.c->uncork();
  ASSERT_TRUE(p.loop.run_until([&] {
    return p.srec.media.size() == 4 &&
           p.srec.count(DtlsEvent::Type::kData) == 1;
  }));
  for (int i = 0; i < 4; ++i) EXPECT_EQ(seq_of(p.srec.media[i].packet), i + 1);
  EXPECT_EQ(p.srec.media[3].packet.size(), SendBatch::kSlotSize);
}

TEST(UdpEndpointBatch, CorkedSendsKeepTheQueueBoundAndItsSignal) {
  UdpEndpointOptions co;
  co.always_queue_sends = true;  // as if the kernel always said EAGAIN
  co.max_queued_sends = 8;
  OpenPair p({}, co);
  const PeerAddress to = p.s->local_address();
  p.c->cork();
  for (int i = 0; i < 20; ++i)
    ASSERT_TRUE(p.c->send_media(to, PacketKind::kRtp, rtp_with_seq(i)).ok());
  p.c->uncork();  // 8 wait in the queue, 12 are dropped and counted
  EXPECT_EQ(p.c->stats().send_queue_drops, 12u);
  EXPECT_EQ(p.crec.drains, 0);
  p.c->cork();
  auto r = p.c->send_media(to, PacketKind::kRtp, rtp_with_seq(20));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "ERR_SEND_QUEUE_FULL");
  p.c->uncork();
  ASSERT_TRUE(p.loop.run_until([&] { return p.srec.media.size() == 8; }));
  for (int i = 0; i < 8; ++i) EXPECT_EQ(seq_of(p.srec.media[i].packet), i);
  // Drops at the batch's flush (no caller to tell) are signalled too.
  ASSERT_TRUE(p.loop.run_until([&] { return p.crec.drains == 1; }));
  p.c->cork();
  ASSERT_TRUE(p.c->send_media(to, PacketKind::kRtp, rtp_with_seq(30)).ok());
  p.c->uncork();
  ASSERT_TRUE(p.loop.run_until([&] { return p.srec.media.size() == 9; }));
  EXPECT_EQ(p.crec.drains, 1);
}

// An SFU-style echo: what on_media sends while a recvmmsg batch is handed
// over leaves in batches, not one system call per packet.
TEST(UdpEndpointBatch, ForwardingFromAReceiveBatchIsBatched) {
  UdpEndpointOptions so;
  so.receive_batch = 16;
  OpenPair p(so, {},
             [](OpenPair& p, const PeerAddress& from, PacketKind kind,
                std::span<const std::uint8_t> packet) {
               EXPECT_TRUE(p.s->corked());  // inside a receive batch
               EXPECT_TRUE(p.s->send_media(from, kind, packet).ok());
             });
  ASSERT_TRUE(p.s->batched_receive());
  constexpr int kPackets = 64;
  p.c->cork();  // one burst, so that the server reads them in batches
  for (int i = 0; i < kPackets; ++i) {
    ASSERT_TRUE(
        p.c->send_media(p.s->local_address(), PacketKind::kRtp, rtp_with_seq(i))
            .ok());
  }
  p.c->uncork();
  ASSERT_TRUE(p.loop.run_until(
      [&] { return p.crec.media.size() == size_t{kPackets}; }));
  for (int i = 0; i < kPackets; ++i)
    EXPECT_EQ(seq_of(p.crec.media[i].packet), i);
  EXPECT_FALSE(p.s->corked());
  EXPECT_GE(p.s->stats().send_batches, 1u);
  // Fewer system calls than packets: at least two per call on average.
  EXPECT_LE(p.s->stats().send_batches * 2, size_t{kPackets});
}

// UDP GSO on the sender and GRO on the receiver: a corked burst crosses the
// loopback as a few coalesced messages, and both ends still see every
// datagram, with its own length, in order. Each side can turn its half off.
struct Offload {
  bool segment = true, coalesce = true;
};
void run_burst(Offload client, Offload server, bool expect_coalesced) {
  UdpEndpointOptions so, co;
  so.receive_batch = 16;
  so.segment_sends = server.segment;
  so.coalesce_receives = server.coalesce;
  co.segment_sends = client.segment;
  co.coalesce_receives = client.coalesce;
  // The server echoes every packet back, corked: a client with one receive
  // slot gets coalesced runs too.
  OpenPair p(so, co,
             [](OpenPair& p, const PeerAddress& from, PacketKind kind,
                std::span<const std::uint8_t> packet) {
               EXPECT_TRUE(p.s->send_media(from, kind, packet).ok());
             });
  if (server.coalesce && !p.s->coalescing_receives())
    GTEST_SKIP() << "this kernel has no UDP_GRO";
  EXPECT_EQ(p.s->coalescing_receives(), server.coalesce);
  EXPECT_EQ(p.c->coalescing_receives(), client.coalesce);
  constexpr int kPackets = 96;
  const std::uint64_t s0 = p.s->stats().packets_received;
  const std::uint64_t c0 = p.c->stats().packets_received;
  const std::uint64_t calls0 = p.s->stats().receive_calls;
  p.c->cork();
  for (int i = 0; i < kPackets; ++i) {
    std::vector<std::uint8_t> rtp = rtp_with_seq(i);
    // Every eighth packet shorter: it ends a run, and runs of two lengths
    // cross the loopback.
    if (i % 8 == 7) rtp.resize(100);
    ASSERT_TRUE(
        p.c->send_media(p.s->local_address(), PacketKind::kRtp, rtp).ok());
  }
  p.c->uncork();
  ASSERT_TRUE(p.loop.run_until(
      [&] { return p.crec.media.size() == size_t{kPackets}; }));
  ASSERT_EQ(p.srec.media.size(), size_t{kPackets});
  for (int i = 0; i < kPackets; ++i) {
    const size_t length = i % 8 == 7 ? 100 : 160;
    EXPECT_EQ(seq_of(p.srec.media[i].packet), i);
    EXPECT_EQ(p.srec.media[i].packet.size(), length);
    EXPECT_EQ(seq_of(p.crec.media[i].packet), i);
    EXPECT_EQ(p.crec.media[i].packet.size(), length);
  }
  const UdpEndpointStats& ss = p.s->stats();
  const UdpEndpointStats& cs = p.c->stats();
  EXPECT_EQ(ss.packets_received - s0, size_t{kPackets});
  EXPECT_EQ(cs.packets_received - c0, size_t{kPackets});
  if (expect_coalesced) {
    EXPECT_GT(ss.datagrams_coalesced, 0u);
    EXPECT_GT(cs.datagrams_coalesced, 0u);
    // Far fewer receive calls than datagrams: 12 runs of 8.
    EXPECT_LE((ss.receive_calls - calls0) * 4, size_t{kPackets});
  } else {
    EXPECT_EQ(ss.datagrams_coalesced, 0u);
    EXPECT_EQ(cs.datagrams_coalesced, 0u);
  }
}

TEST(UdpEndpointBatch, CoalescedRunsArriveAsTheirDatagramsInOrder) {
  run_burst({}, {}, true);
}

TEST(UdpEndpointBatch, WithoutSegmentedSendsNothingArrivesCoalesced) {
  run_burst({.segment = false}, {.segment = false}, false);
}

TEST(UdpEndpointBatch, WithoutCoalescingTheKernelCutsEveryRun) {
  run_burst({.coalesce = false}, {.coalesce = false}, false);
}

}  // namespace
}  // namespace dtls

namespace dtls {
namespace {

// Once the peer has answered, an ICMP port unreachable is a soft error: it is
// counted and the session stays (the peer may be rebinding); only a peer that
// never answered is given up on.
std::string last_error(const Recorder& r) {
  for (auto it = r.events.rbegin(); it != r.events.rend(); ++it) {
    if (it->second.type == DtlsEvent::Type::kError)
      return std::string(it->second.error.code);
  }
  return "";
}

// RFC 3711 §9.2 at the session layer, through libsrtp's own events: our
// outbound key two packets from its limit. The soft limit is counted, and the
// hard limit ends the session with ERR_SRTP_KEY_LIMIT, sent corked or not;
// the peer gets what was sent before, then close_notify.
TEST(UdpEndpointMedia, OurKeyAtItsHardLimitEndsTheSession) {
  for (bool corked : {false, true}) {
    SCOPED_TRACE(corked ? "corked" : "direct");
    OpenPair p;
    const PeerAddress to = p.s->local_address();
    srtp::SrtpContext* srtp = p.c->srtp_context(to);
    ASSERT_NE(srtp, nullptr);
    if (!srtp::SrtpContextTesting::set_packets_left(
            *srtp, srtp::KeyDirection::kOutbound, 2)) {
      GTEST_SKIP() << "libsrtp's key limit is out of reach in this build";
    }
    if (corked) p.c->cork();
    ASSERT_TRUE(p.c->send_media(to, PacketKind::kRtp, rtp_with_seq(1)).ok());
    EXPECT_EQ(p.c->media_counters(to)->key_soft_limit_events, 1u);
    auto r = p.c->send_media(to, PacketKind::kRtp, rtp_with_seq(2));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "ERR_SRTP_KEY_LIMIT");
    EXPECT_EQ(last_error(p.crec), "ERR_SRTP_KEY_LIMIT");
    EXPECT_EQ(p.c->session_count(), 0u);
    if (corked) p.c->uncork();
    ASSERT_TRUE(p.loop.run_until(
        [&] { return p.srec.count(DtlsEvent::Type::kClosed) == 1; }));
    ASSERT_EQ(p.srec.media.size(), 1u);
    EXPECT_EQ(seq_of(p.srec.media[0].packet), 1);
    EXPECT_EQ(last_error(p.srec), "");
  }
}

// The peer's key is ours to unprotect with: its limit ends the session too.
TEST(UdpEndpointMedia, ThePeersKeyAtItsHardLimitEndsTheSession) {
  OpenPair p;
  const PeerAddress to = p.s->local_address();
  srtp::SrtpContext* srtp = p.s->srtp_context(p.c->local_address());
  ASSERT_NE(srtp, nullptr);
  if (!srtp::SrtpContextTesting::set_packets_left(
          *srtp, srtp::KeyDirection::kInbound, 2)) {
    GTEST_SKIP() << "libsrtp's key limit is out of reach in this build";
  }
  ASSERT_TRUE(p.c->send_media(to, PacketKind::kRtp, rtp_with_seq(1)).ok());
  ASSERT_TRUE(p.c->send_media(to, PacketKind::kRtp, rtp_with_seq(2)).ok());
  ASSERT_TRUE(p.loop.run_until(
      [&] { return last_error(p.srec) == "ERR_SRTP_KEY_LIMIT"; }));
  EXPECT_EQ(p.srec.media.size(), 1u);
  EXPECT_EQ(p.s->session_count(), 0u);
  ASSERT_TRUE(p.loop.run_until(
      [&] { return p.crec.count(DtlsEvent::Type::kClosed) == 1; }));
}

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
  // The receive path took the error (libuv reports POLLERR by stopping the
  // poll handle) and went on receiving: a socket on the old port is heard.
  EXPECT_GE((*c)->stats().socket_errors, 1u);
  const std::uint64_t received = (*c)->stats().packets_received;
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::bind(fd, server_address.sockaddr_ptr(), sizeof(sockaddr_in)), 0);
  ASSERT_EQ(::sendto(fd, "\x00", 1, 0, (*c)->local_address().sockaddr_ptr(),
                     sizeof(sockaddr_in)),
            1);
  EXPECT_TRUE(loop.run_until(
      [&] { return (*c)->stats().packets_received == received + 1; }));
  ::close(fd);
  (*c)->destroy();
  ASSERT_TRUE(loop.run_until([&] { return crec.closed; }));
}

// --- ICE-lite (RFC 8445 §2.5) ---

namespace ice {

constexpr char kUfrag[] = "srvr";
constexpr char kPwd[] = "0123456789abcdefghijklmn";
constexpr char kBrowserUfrag[] = "brws";

using Relay = testing::UdpRelay;

// A check as a browser sends it (tests/testing/ice_check).
std::vector<std::uint8_t> check(bool use_candidate = false,
                                std::string_view pwd = kPwd,
                                std::string user = std::string(kUfrag) + ":" +
                                                   kBrowserUfrag,
                                std::uint8_t id = 1) {
  return testing::ice_check(user, pwd, use_candidate, id);
}

std::shared_ptr<UdpEndpoint> ice_server(Loop& loop, Recorder& rec,
                                        UdpEndpointOptions o = {}) {
  o.context = context(0);
  o.ice_lite = true;
  auto e = UdpEndpoint::open(loop.get(), loopback(), o, rec.callbacks());
  EXPECT_TRUE(e.ok()) << e.error().to_string();
  return *e;
}

IceSessionOptions session(bool dtls_client = false) {
  IceSessionOptions o;
  o.local = {kUfrag, kPwd};
  o.remote_ufrag = kBrowserUfrag;
  o.dtls_client = dtls_client;
  o.association.peer_fingerprints = {fp(1)};
  return o;
}

// Keeps the STUN responses the relay carries back, and lets everything else
// through.
struct StunCapture {
  std::vector<std::vector<std::uint8_t>> responses;
  Relay::Hook hook() {
    return [this](Relay::Direction d, std::vector<std::uint8_t>& data) {
      if (d == Relay::Direction::kToClient && !data.empty() && data[0] < 4) {
        responses.push_back(data);
        return false;
      }
      return true;
    };
  }
  std::optional<stun::Message> last() const {
    if (responses.empty()) return std::nullopt;
    return stun::Message::parse(responses.back());
  }
};

}  // namespace ice

TEST(UdpEndpointIce, BadChecksAreRefusedAndAcceptNothing) {
  Loop loop;
  Recorder srec, crec;
  auto s = ice::ice_server(loop, srec);
  ASSERT_TRUE(s->add_ice_session(ice::session()).ok());
  ice::Relay relay(loop.get(), s->local_address());
  ice::StunCapture stun;
  relay.set_hook(stun.hook());
  struct Case {
    const char* what;
    std::vector<std::uint8_t> request;
    int code;
  };
  const Case cases[] = {
      {"wrong pwd", ice::check(true, "0123456789abcdefghijklmX"), 401},
      {"unknown ufrag", ice::check(true, ice::kPwd, "nobody:brws"), 401},
      {"wrong remote ufrag", ice::check(true, ice::kPwd, "srvr:evil"), 401},
      {"no USERNAME", ice::check(true, ice::kPwd, ""), 400},
  };
  for (const Case& c : cases) {
    const size_t before = stun.responses.size();
    relay.inject(ice::Relay::Direction::kToTarget, c.request);
    ASSERT_TRUE(loop.run_until([&] {
      return stun.responses.size() == before + 1;
    })) << c.what;
    auto m = stun.last();
    ASSERT_TRUE(m) << c.what;
    EXPECT_EQ(m->message_class(), stun::Class::kError) << c.what;
    EXPECT_EQ(m->error_code()->code, c.code) << c.what;
    EXPECT_FALSE(m->has_integrity()) << c.what;
    // Never larger than the request (no amplification).
    EXPECT_LE(stun.responses.back().size(), c.request.size()) << c.what;
  }
  EXPECT_EQ(s->stats().stun_errors, 4u);
  EXPECT_EQ(s->stats().stun_checks, 0u);
  EXPECT_TRUE(s->ice_responder(ice::kUfrag)->valid_addresses().empty());
  // DTLS and SRTP from the unproven address: held and dropped, never a
  // session (a HelloVerifyRequest would be the first thing sent back).
  auto c = client(loop, crec);
  ASSERT_TRUE(c->connect(relay.address(), pin_server()).ok());
  relay.inject(ice::Relay::Direction::kToTarget, testing::make_rtp(9, 1, 50));
  ASSERT_TRUE(loop.run_until([&] {
    return s->stats().ice_held >= 1 && s->stats().media_without_session == 1;
  }));
  EXPECT_EQ(s->session_count(), 0u);
  EXPECT_EQ(s->stats().hello_verify_requests, 0u);
  EXPECT_TRUE(srec.ice.empty());
  s->close();
  c->close();
  ASSERT_TRUE(loop.run_until([&] { return srec.closed && crec.closed; }));
}

TEST(UdpEndpointIce, ActiveRoleSendsTheClientHelloAfterTheFirstCheck) {
  Loop loop;
  Recorder srec, brec;
  auto s = ice::ice_server(loop, srec);
  ASSERT_TRUE(s->add_ice_session(ice::session(/*dtls_client=*/true)).ok());
  // The "browser" is a DTLS server behind the relay that pins our cert.
  UdpEndpointOptions bo;
  bo.context = context(1);
  bo.accept_incoming = true;
  bo.server_association.peer_fingerprints = {fp(0)};
  auto b = UdpEndpoint::open(loop.get(), loopback(), bo, brec.callbacks());
  ASSERT_TRUE(b.ok());
  ice::Relay relay(loop.get(), s->local_address());
  ice::StunCapture stun;
  relay.set_hook(stun.hook());
  relay.set_client((*b)->local_address());
  relay.inject(ice::Relay::Direction::kToTarget, ice::check(false));
  ASSERT_TRUE(loop.run_until([&] {
    return srec.count(DtlsEvent::Type::kHandshakeComplete) == 1 &&
           brec.count(DtlsEvent::Type::kHandshakeComplete) == 1;
  }));
  EXPECT_EQ(s->stats().client_sessions, 1u);
  EXPECT_EQ(s->association(relay.address())->role(), Role::kClient);
  EXPECT_EQ(srec.count(IceEvent::Type::kNominated), 0);
  EXPECT_EQ(srec.count(IceEvent::Type::kSessionStarted), 1);
  // A ClientHello from the peer for a session where we are the client is
  // not answered: after the handshake, one more check, and nothing breaks.
  relay.inject(ice::Relay::Direction::kToTarget, ice::check(true));
  ASSERT_TRUE(loop.run_until(
      [&] { return srec.count(IceEvent::Type::kNominated) == 1; }));
  EXPECT_EQ(s->session_count(), 1u);
  s->close();
  (*b)->close();
  ASSERT_TRUE(loop.run_until([&] { return srec.closed && brec.closed; }));
}

TEST(UdpEndpointIce, MediaFollowsValidatedAddressesAndTheNomination) {
  Loop loop;
  Recorder srec, crec;
  auto s = ice::ice_server(loop, srec);
  ASSERT_TRUE(s->add_ice_session(ice::session()).ok());
  ice::Relay relay_a(loop.get(), s->local_address());
  ice::StunCapture stun_a;
  std::vector<std::vector<std::uint8_t>> srtp_to_server;
  bool hold_srtp = false;  // keep the client's SRTP from the server
  relay_a.set_hook([&](ice::Relay::Direction d, std::vector<std::uint8_t>& x) {
    if (d == ice::Relay::Direction::kToTarget && !x.empty() && x[0] >= 128) {
      srtp_to_server.push_back(x);
      if (hold_srtp) return false;
    }
    return stun_a.hook()(d, x);
  });
  auto c = client(loop, crec);
  relay_a.inject(ice::Relay::Direction::kToTarget, ice::check(true));
  ASSERT_TRUE(loop.run_until([&] { return !stun_a.responses.empty(); }));
  ASSERT_TRUE(c->connect(relay_a.address(), pin_server()).ok());
  ASSERT_TRUE(loop.run_until([&] {
    return srec.count(DtlsEvent::Type::kHandshakeComplete) == 1 &&
           crec.count(DtlsEvent::Type::kHandshakeComplete) == 1;
  }));
  const PeerAddress key = relay_a.address();
  ASSERT_TRUE(
      c->send_media(key, PacketKind::kRtp, testing::make_rtp(2, 1, 80)).ok());
  ASSERT_TRUE(loop.run_until([&] { return srec.media.size() == 1; }));
  ASSERT_EQ(srtp_to_server.size(), 1u);
  // The same SRTP from a second address that has not passed a check is not
  // accepted for the session.
  ice::Relay relay_b(loop.get(), s->local_address());
  std::vector<std::vector<std::uint8_t>> to_b;
  relay_b.set_hook([&](ice::Relay::Direction d, std::vector<std::uint8_t>& x) {
    if (d == ice::Relay::Direction::kToClient) to_b.push_back(x);
    return false;
  });
  ASSERT_TRUE(
      c->send_media(key, PacketKind::kRtp, testing::make_rtp(2, 2, 80)).ok());
  ASSERT_TRUE(loop.run_until([&] { return srtp_to_server.size() == 2; }));
  ASSERT_TRUE(loop.run_until([&] { return srec.media.size() == 2; }));
  relay_b.inject(ice::Relay::Direction::kToTarget, srtp_to_server[1]);
  ASSERT_TRUE(
      loop.run_until([&] { return s->stats().media_without_session == 1; }));
  EXPECT_EQ(srec.media.size(), 2u);
  // After a valid check with USE-CANDIDATE from the second address, its
  // media is the session's and our media goes there.
  relay_b.inject(
      ice::Relay::Direction::kToTarget,
      ice::check(true, ice::kPwd,
                 std::string(ice::kUfrag) + ":" + ice::kBrowserUfrag, 2));
  ASSERT_TRUE(loop.run_until([&] { return to_b.size() == 1; }));  // success
  EXPECT_EQ(s->remote_of(key), relay_b.address());
  hold_srtp = true;
  ASSERT_TRUE(
      c->send_media(key, PacketKind::kRtp, testing::make_rtp(2, 3, 80)).ok());
  ASSERT_TRUE(loop.run_until([&] { return srtp_to_server.size() == 3; }));
  relay_b.inject(ice::Relay::Direction::kToTarget, srtp_to_server[2]);
  ASSERT_TRUE(loop.run_until([&] { return srec.media.size() == 3; }));
  EXPECT_EQ(srec.media[2].from, key);  // delivered under the session's key
  EXPECT_EQ(srec.media[2].packet, testing::make_rtp(2, 3, 80));
  ASSERT_TRUE(
      s->send_media(key, PacketKind::kRtp, testing::make_rtp(1, 1, 80)).ok());
  ASSERT_TRUE(loop.run_until([&] { return to_b.size() == 2; }));
  EXPECT_GE(to_b[1][0], 128);  // SRTP, to the nominated address
  s->close();
  c->close();
  ASSERT_TRUE(loop.run_until([&] { return srec.closed && crec.closed; }));
}

TEST(UdpEndpointIce, AddIceSessionValidatesItsOptions) {
  Loop loop;
  Recorder srec, prec;
  auto s = ice::ice_server(loop, srec);
  EXPECT_TRUE(s->add_ice_session(ice::session()).ok());
  EXPECT_EQ(s->add_ice_session(ice::session()).error().code,
            "ERR_ICE_UFRAG_IN_USE");
  auto bad = ice::session();
  bad.local = {"ab", ice::kPwd};
  EXPECT_EQ(s->add_ice_session(bad).error().code, "ERR_INVALID_ARG_VALUE");
  bad = ice::session();
  bad.local = {"okay", "short"};
  EXPECT_EQ(s->add_ice_session(bad).error().code, "ERR_INVALID_ARG_VALUE");
  bad = ice::session();
  bad.local.ufrag = "othr";
  bad.remote_ufrag = "a:b";
  EXPECT_EQ(s->add_ice_session(bad).error().code, "ERR_INVALID_ARG_VALUE");
  bad = ice::session();
  bad.local.ufrag = "othr";
  bad.consent_timeout = milliseconds(0);
  EXPECT_EQ(s->add_ice_session(bad).error().code, "ERR_OUT_OF_RANGE");
  bad = ice::session();
  bad.local.ufrag = "othr";
  bad.association.mtu = 10;
  EXPECT_EQ(s->add_ice_session(bad).error().code, "ERR_OUT_OF_RANGE");
  // A plain endpoint has no ICE, and drops STUN without answering.
  auto plain = server(loop, prec);
  EXPECT_EQ(plain->add_ice_session(ice::session()).error().code,
            "ERR_INVALID_STATE");
  // Removing an ICE session refuses its checks from then on.
  s->remove_ice_session(ice::kUfrag);
  EXPECT_EQ(s->ice_responder(ice::kUfrag), nullptr);
  s->close();
  plain->close();
  ASSERT_TRUE(loop.run_until([&] { return srec.closed && prec.closed; }));
}

}  // namespace
}  // namespace dtls
