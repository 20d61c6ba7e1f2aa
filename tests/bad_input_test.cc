// The bad-input matrix (issue 8): every class of malformed or hostile
// datagram, thrown at an endpoint with an established session, both from
// that session's own address (spoofed) and from strangers. Each class gets
// its counter, nothing is answered that should not be, and the established
// session carries data and media both ways afterwards as if nothing
// happened. The README's "Bad input" table points here.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <random>

#include "certs/generate.h"
#include "tests/testing/rtp_packets.h"
#include "tests/testing/udp_relay.h"
#include "tests/testing/uv_test_loop.h"
#include "transport/io/udp_endpoint.h"

namespace dtls {
namespace {

using Relay = testing::UdpRelay;
using Bytes = std::vector<std::uint8_t>;

std::shared_ptr<const DtlsContext> context(const certs::Credentials& c) {
  DtlsContextOptions o;
  o.credentials = c;
  o.srtp_profiles = "SRTP_AES128_CM_SHA1_80";
  return std::move(DtlsContext::create(o)).value();
}

certs::Fingerprint fp(const certs::Credentials& c) {
  return certs::Fingerprint::of(c.leaf(), certs::HashAlgorithm::kSha256);
}

struct Side {
  int opened = 0;
  int errors = 0;
  std::vector<std::string> error_codes;
  std::string data;
  std::vector<Bytes> media;
  UdpEndpoint::Callbacks callbacks() {
    UdpEndpoint::Callbacks c;
    c.on_event = [this](const PeerAddress&, const DtlsEvent& e) {
      if (e.type == DtlsEvent::Type::kHandshakeComplete) opened++;
      if (e.type == DtlsEvent::Type::kError) {
        errors++;
        error_codes.push_back(e.error.to_string());
      }
      if (e.type == DtlsEvent::Type::kData)
        data.append(e.data.begin(), e.data.end());
    };
    c.on_media = [this](const PeerAddress&, PacketKind,
                        std::span<const std::uint8_t> p) {
      media.emplace_back(p.begin(), p.end());
    };
    return c;
  }
};

Bytes record(std::uint8_t type, std::uint16_t epoch, std::uint64_t seq,
             size_t length, size_t actual) {
  Bytes r = {type, 0xFE, 0xFD, static_cast<std::uint8_t>(epoch >> 8),
             static_cast<std::uint8_t>(epoch)};
  for (int s = 40; s >= 0; s -= 8)
    r.push_back(static_cast<std::uint8_t>(seq >> s));
  r.push_back(static_cast<std::uint8_t>(length >> 8));
  r.push_back(static_cast<std::uint8_t>(length));
  std::mt19937 rng(static_cast<unsigned>(length + actual));
  for (size_t i = 0; i < actual; ++i)
    r.push_back(static_cast<std::uint8_t>(rng()));
  return r;
}

Bytes random_bytes(std::uint8_t first, size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  Bytes b(n);
  for (auto& x : b) x = static_cast<std::uint8_t>(rng());
  if (n > 0) b[0] = first;
  return b;
}

TEST(BadInput, NoClassOfBadDatagramHarmsAnEstablishedSession) {
  testing::UvTestLoop loop;
  auto server_creds = std::move(certs::generate_certificate()).value();
  auto client_creds = std::move(certs::generate_certificate()).value();
  Side server, client;
  UdpEndpointOptions so;
  so.context = context(server_creds);
  so.accept_incoming = true;
  so.server_association.peer_fingerprints = {fp(client_creds)};
  auto s =
      UdpEndpoint::open(loop.get(), PeerAddress::parse("127.0.0.1", 0).value(),
                        so, server.callbacks());
  ASSERT_TRUE(s.ok());
  Relay relay(loop.get(), (*s)->local_address());
  UdpEndpointOptions co;
  co.context = context(client_creds);
  auto c =
      UdpEndpoint::open(loop.get(), PeerAddress::parse("127.0.0.1", 0).value(),
                        co, client.callbacks());
  ASSERT_TRUE(c.ok());
  AssociationOptions pin;
  pin.peer_fingerprints = {fp(server_creds)};
  // Closes both endpoints however the test ends: an open handle would keep
  // the loop's destructor running until the test times out.
  struct Closer {
    std::shared_ptr<UdpEndpoint> a, b;
    ~Closer() {
      a->close();
      b->close();
    }
  } closer{*s, *c};
  ASSERT_TRUE((*c)->connect(relay.address(), pin).ok());
  ASSERT_TRUE(
      loop.run_until([&] { return server.opened == 1 && client.opened == 1; }));
  const PeerAddress a = relay.address();  // the session, as the server sees it
  const UdpEndpointStats before = (*s)->stats();

  struct Case {
    const char* what;
    Bytes datagram;
  };
  Bytes hello_with_forged_cookie;
  {
    // A real first ClientHello with a 20-byte cookie that we never issued.
    auto probe =
        DtlsAssociation::connect(context(client_creds), {}, Clock::now());
    ASSERT_TRUE(probe.ok()) << probe.error().to_string();
    Bytes hello;
    ASSERT_TRUE((*probe)->pop_datagram(hello));
    // Record header, handshake header, client_version, random, session_id.
    ASSERT_GT(hello.size(), 13u + 12 + 2 + 32);
    const size_t cookie_len_at = 13 + 12 + 2 + 32 + 1 + hello[13 + 12 + 2 + 32];
    ASSERT_GT(hello.size(), cookie_len_at);
    ASSERT_EQ(hello[cookie_len_at], 0);  // no cookie yet
    hello_with_forged_cookie = hello;
    hello_with_forged_cookie[cookie_len_at] = 20;
    hello_with_forged_cookie.insert(
        hello_with_forged_cookie.begin() + cookie_len_at + 1, 20, 0xAB);
    // Record and handshake lengths grow by 20.
    auto bump = [&](size_t at, int width) {
      std::uint32_t v = 0;
      for (int i = 0; i < width; ++i)
        v = v << 8 | hello_with_forged_cookie[at + i];
      v += 20;
      for (int i = width - 1; i >= 0; --i) {
        hello_with_forged_cookie[at + i] = static_cast<std::uint8_t>(v);
        v >>= 8;
      }
    };
    bump(11, 2);
    bump(14, 3);
    bump(22, 3);
  }
  const Case cases[] = {
      {"zero-length datagram", {}},
      {"one DTLS byte", {22}},
      {"truncated record header", {23, 0xFE, 0xFD, 0, 1}},
      {"record longer than the datagram", record(23, 1, 99, 500, 40)},
      {"epoch-1 application data that fails its MAC",
       record(23, 1, 1000, 64, 64)},
      {"epoch-1 handshake garbage (a renegotiation-shaped record)",
       record(22, 1, 1001, 80, 80)},
      {"fatal-looking alert in the clear", record(21, 0, 5, 2, 2)},
      {"unknown content type", record(30, 1, 7, 16, 16)},
      {"a 60 KB datagram", record(23, 1, 1002, 60000, 60000)},
      {"a fresh ClientHello with a forged cookie", hello_with_forged_cookie},
      {"SRTP garbage", random_bytes(0x80, 200, 1)},
      {"SRTP too short", {0x80, 0x60, 0, 1}},
      {"SRTCP garbage", random_bytes(0x80, 60, 2)},
      {"STUN on a non-ICE endpoint", random_bytes(0x00, 28, 3)},
      {"ZRTP", random_bytes(16, 40, 4)},
      {"TURN channel data", random_bytes(0x40, 40, 5)},
      {"unknown first byte", random_bytes(0xFF, 40, 6)},
      // The record that ended sessions on libssl3 before 3.0.22: epoch-1
      // application data of 4 bytes, below AES-GCM's nonce and tag.
      {"undersized AEAD record (17 bytes)", record(23, 1, 1003, 4, 4)},
      {"epoch 2 (no renegotiation)", record(23, 2, 1, 64, 64)},
      {"TLS 1.2's version",
       [] {
         Bytes r = record(23, 1, 1004, 64, 64);
         r[1] = 3;
         r[2] = 3;
         return r;
       }()},
  };
  int sent = 0;
  for (const Case& k : cases) {
    Bytes d = k.datagram;
    if (&k == &cases[12]) d[1] = 200;  // SRTCP: payload type 192..223
    // Spoofed from the session's own address, and from a stranger.
    relay.inject(Relay::Direction::kToTarget, d);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    sendto(fd, d.data(), d.size(), 0, (*s)->local_address().sockaddr_ptr(),
           sizeof(sockaddr_in));
    close(fd);
    sent += 2;
  }
  ASSERT_TRUE(loop.run_until([&] {
    return (*s)->stats().packets_received >= before.packets_received + sent;
  }));
  const UdpEndpointStats& after = (*s)->stats();
  // Nothing harmed the session or created another.
  EXPECT_EQ(server.errors, 0) << ::testing::PrintToString(server.error_codes);
  EXPECT_EQ(client.errors, 0) << ::testing::PrintToString(client.error_codes);
  EXPECT_EQ((*s)->session_count(), 1u);
  EXPECT_EQ(after.server_sessions, 1u);
  const DtlsAssociation* association = (*s)->association(a);
  ASSERT_NE(association, nullptr);
  EXPECT_EQ(association->state(), DtlsAssociation::State::kOpen);
  // Counted where they belong.
  EXPECT_EQ(
      after.demux[PacketKind::kUnknown] - before.demux[PacketKind::kUnknown],
      4u);
  EXPECT_EQ(after.demux[PacketKind::kZrtp] - before.demux[PacketKind::kZrtp],
            2u);
  EXPECT_EQ(after.demux[PacketKind::kTurn] - before.demux[PacketKind::kTurn],
            2u);
  EXPECT_EQ(after.demux[PacketKind::kStun] - before.demux[PacketKind::kStun],
            2u);
  EXPECT_EQ(after.stun_dropped - before.stun_dropped, 2u);
  EXPECT_EQ(after.media_without_session - before.media_without_session, 3u);
  const srtp::MediaCounters* m = (*s)->media_counters(a);
  ASSERT_NE(m, nullptr);
  // From the session's address they reach its SRTP context: refused and
  // counted by kind (a random SRTCP index may count as a replay).
  EXPECT_EQ(m->auth_failures + m->replay_failures + m->too_short +
                m->malformed + m->other_failures,
            3u);
  EXPECT_GE(m->too_short, 1u);
  EXPECT_EQ(m->rtp_packets_unprotected, 0u);
  // The only thing answered: the stranger's forged-cookie hello gets a new
  // cookie (stateless), and so does the spoofed one (RFC 6347 §4.2.8: a new
  // hello on an established address goes through the cookie exchange; the
  // session stays until a valid cookie comes back).
  EXPECT_EQ(after.hello_verify_requests - before.hello_verify_requests, 2u);
  EXPECT_EQ(after.peer_restarts, 0u);
  // DTLS records from the session's address went through its record guard:
  // what OpenSSL must not see was dropped and counted by reason (the two
  // forged epoch-1 records of plausible size pass, and OpenSSL drops them
  // when they fail authentication).
  RecordDropStats drops = after.record_drops;
  for (size_t i = 0; i < kRecordDropReasons; ++i)
    drops.by_reason[i] -= before.record_drops.by_reason[i];
  EXPECT_EQ(drops[RecordDrop::kMalformed], 3u);
  EXPECT_EQ(drops[RecordDrop::kPlaintext], 1u);
  EXPECT_EQ(drops[RecordDrop::kUnknownType], 1u);
  EXPECT_EQ(drops[RecordDrop::kTooLong], 1u);
  EXPECT_EQ(drops[RecordDrop::kTooShort], 1u);
  EXPECT_EQ(drops[RecordDrop::kBadEpoch], 1u);
  EXPECT_EQ(drops[RecordDrop::kBadVersion], 1u);
  EXPECT_EQ(drops.total(), 9u);
  ASSERT_NE((*s)->association(a), nullptr);
  EXPECT_EQ((*s)->association(a)->stats().record_drops.total(), 9u);

  // The session goes on: data and media both ways.
  const std::string ping = "still here";
  ASSERT_TRUE((*c)->send(a, Bytes(ping.begin(), ping.end())).ok());
  ASSERT_TRUE((*s)->send(a, Bytes(ping.begin(), ping.end())).ok());
  ASSERT_TRUE(
      (*c)->send_media(a, PacketKind::kRtp, testing::make_rtp(1, 1, 100)).ok());
  ASSERT_TRUE(
      (*s)->send_media(a, PacketKind::kRtp, testing::make_rtp(2, 1, 100)).ok());
  ASSERT_TRUE(loop.run_until([&] {
    return server.data == ping && client.data == ping &&
           server.media.size() == 1 && client.media.size() == 1;
  }));
  EXPECT_EQ(server.media[0], testing::make_rtp(1, 1, 100));
  (*c)->close();
  (*s)->close();
  loop.run_until([] { return false; }, std::chrono::milliseconds(50));
}

}  // namespace
}  // namespace dtls
