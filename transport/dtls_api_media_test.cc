// SRTP through the public API: media goes both ways for every profile, under
// backpressure and corking, and nothing forged or replayed is ever delivered.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tests/testing/rtp_packets.h"
#include "tests/testing/udp_relay.h"
#include "tests/testing/uv_test_loop.h"
#include "transport/dtls_api.h"
#include "transport/dtls_api_test_support.h"

namespace dtls {
namespace {

using testing_support::Bytes;
using testing_support::connect_options;
using testing_support::listen_options;
using testing_support::MediaPair;
using testing_support::ready;
using testing_support::rtp;

Bytes rtcp(std::uint32_t ssrc) { return testing::make_rtcp(ssrc); }

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

// The fan-out send: one packet to three subscribers, each under its own keys
// and with its own SSRC and sequence number, in one sendmmsg; subscribers
// that cannot take it are counted and do not stop the others.
TEST(DtlsApiMedia, FanOutSendsOnePacketToEverySubscriber) {
  testing_support::Loop loop;
  std::vector<Session> subscribers;
  auto endpoint = listen(
      loop.get(), [&](Session s) { subscribers.push_back(s); },
      listen_options());
  ASSERT_TRUE(endpoint.ok());
  constexpr int kSubscribers = 3;
  std::vector<Session> clients;
  std::vector<std::vector<Bytes>> received(kSubscribers);
  for (int i = 0; i < kSubscribers; ++i) {
    SessionListener l;
    l.on_rtp = [&received, i](Session&, std::span<const std::uint8_t> p) {
      received[static_cast<size_t>(i)].emplace_back(p.begin(), p.end());
    };
    auto c = connect(loop.get(), "127.0.0.1", endpoint->address().port,
                     connect_options(), l);
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE(loop.run_until([&] { return ready(c->opened()); }));
    ASSERT_TRUE(c->opened().get().ok());
    clients.push_back(*c);
  }
  ASSERT_TRUE(loop.run_until(
      [&] { return subscribers.size() == size_t{kSubscribers}; }));
  const Bytes packet = rtp(0xabc, 7, 300);
  std::vector<RtpRewrite> rewrites;
  for (int i = 0; i < kSubscribers; ++i) {
    rewrites.push_back({.ssrc = 100u + static_cast<std::uint32_t>(i),
                        .sequence = static_cast<std::uint16_t>(1000 + i)});
  }
  const std::uint64_t batches = endpoint->stats().send_batches;
  FanOutResult r = send_rtp(subscribers, packet, rewrites);
  EXPECT_EQ(r.sent, size_t{kSubscribers});
  EXPECT_EQ(r.failed, 0u);
  EXPECT_FALSE(r.first_error);
  EXPECT_EQ(endpoint->stats().send_batches, batches + 1);  // one sendmmsg
  ASSERT_TRUE(loop.run_until([&] {
    for (const auto& got : received)
      if (got.size() != 1) return false;
    return true;
  }));
  // Each client got the packet rewritten for its server session (which
  // session serves which client does not matter: each rewrite went once).
  std::vector<std::uint32_t> ssrcs;
  for (int i = 0; i < kSubscribers; ++i) {
    const Bytes& got = received[static_cast<size_t>(i)][0];
    ASSERT_EQ(got.size(), packet.size());
    const std::uint32_t ssrc = (std::uint32_t{got[8]} << 24) |
                               (std::uint32_t{got[9]} << 16) |
                               (std::uint32_t{got[10]} << 8) | got[11];
    const std::uint16_t seq =
        static_cast<std::uint16_t>((got[2] << 8) | got[3]);
    EXPECT_EQ(seq, 1000 + (ssrc - 100));
    EXPECT_TRUE(std::equal(got.begin() + 12, got.end(), packet.begin() + 12));
    ssrcs.push_back(ssrc);
  }
  std::sort(ssrcs.begin(), ssrcs.end());
  EXPECT_EQ(ssrcs, (std::vector<std::uint32_t>{100, 101, 102}));
  // Without rewrites every subscriber gets the packet as it is.
  EXPECT_EQ(send_rtp(subscribers, packet).sent, size_t{kSubscribers});
  ASSERT_TRUE(loop.run_until([&] {
    for (const auto& got : received)
      if (got.size() != 2) return false;
    return true;
  }));
  for (const auto& got : received) EXPECT_EQ(got[1], packet);

  // An empty handle and an ended session fail; the others still get it.
  subscribers[0].destroy();
  std::vector<Session> mixed = {subscribers[0], Session(), subscribers[1],
                                subscribers[2]};
  r = send_rtp(mixed, packet);
  EXPECT_EQ(r.sent, 2u);
  EXPECT_EQ(r.failed, 2u);
  ASSERT_TRUE(r.first_error);
  EXPECT_EQ(r.first_error->errc, Errc::kDtlsSessionDestroyed);
  // Which subscribers failed, and why.
  std::vector<std::error_code> outcomes(mixed.size(),
                                        make_error_code(Errc::kOther));
  r = send_rtp(mixed, packet, {}, outcomes);
  EXPECT_EQ(r.sent, 2u);
  EXPECT_EQ(outcomes[0], make_error_code(Errc::kDtlsSessionDestroyed));
  EXPECT_EQ(outcomes[1], make_error_code(Errc::kInvalidState));  // empty
  EXPECT_FALSE(outcomes[2]);
  EXPECT_FALSE(outcomes[3]);
  r = send_rtp(mixed, packet, {}, std::span(outcomes).first(3));
  EXPECT_EQ(r.sent, 0u);
  EXPECT_EQ(r.first_error->errc, Errc::kInvalidArgValue);
  // Rewrites must match the subscribers; a rewrite needs an RTP header.
  r = send_rtp(mixed, packet, std::span(rewrites).first(2));
  EXPECT_EQ(r.sent, 0u);
  EXPECT_EQ(r.first_error->errc, Errc::kInvalidArgValue);
  const std::vector<Session> two = {subscribers[1], subscribers[2]};
  r = send_rtp(two, Bytes(8, 0x80), std::span(rewrites).first(2));
  EXPECT_EQ(r.failed, 2u);
  EXPECT_EQ(r.first_error->errc, Errc::kSrtpMalformed);
  endpoint->close();
  ASSERT_TRUE(loop.run_until([&] { return endpoint->state().destroyed; }));
}

// More subscribers than the fan-out fetches ahead, some of them ended between
// packets (which makes every route of their endpoint stale) and one on
// another endpoint: each packet reaches every live subscriber, rewritten for
// it. (That a stale route's freed node is not read is EndpointCore's test.)
TEST(DtlsApiMedia, FanOutPastItsLookAheadSkipsEndedSubscribers) {
  testing_support::Loop loop;
  std::vector<Session> subscribers, others;
  auto endpoint = listen(
      loop.get(), [&](Session s) { subscribers.push_back(s); },
      listen_options());
  auto other = listen(
      loop.get(), [&](Session s) { others.push_back(s); }, listen_options());
  ASSERT_TRUE(endpoint.ok());
  ASSERT_TRUE(other.ok());
  constexpr int kSubscribers = 12;
  std::vector<Session> clients;
  std::map<std::uint32_t, std::vector<std::uint16_t>> received;  // by SSRC
  for (int i = 0; i <= kSubscribers; ++i) {
    SessionListener l;
    l.on_rtp = [&received](Session&, std::span<const std::uint8_t> p) {
      const std::uint32_t ssrc = (std::uint32_t{p[8]} << 24) |
                                 (std::uint32_t{p[9]} << 16) |
                                 (std::uint32_t{p[10]} << 8) | p[11];
      received[ssrc].push_back(static_cast<std::uint16_t>((p[2] << 8) | p[3]));
    };
    auto c = connect(loop.get(), "127.0.0.1",
                     (i < kSubscribers ? endpoint : other)->address().port,
                     connect_options(), l);
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE(loop.run_until([&] { return ready(c->opened()); }));
    ASSERT_TRUE(c->opened().get().ok());
    clients.push_back(*c);
  }
  ASSERT_TRUE(loop.run_until([&] {
    return subscribers.size() == size_t{kSubscribers} && others.size() == 1;
  }));
  // The other endpoint's subscriber in the middle of the list.
  std::vector<Session> to = subscribers;
  to.insert(to.begin() + kSubscribers / 2, others[0]);
  std::vector<RtpRewrite> rewrites(to.size());
  for (size_t i = 0; i < to.size(); ++i) {
    rewrites[i] = {.ssrc = 100u + static_cast<std::uint32_t>(i),
                   .sequence = std::uint16_t{0}};
  }
  auto fan_out = [&](std::span<std::error_code> outcomes) {
    for (RtpRewrite& w : rewrites) ++*w.sequence;
    return send_rtp(to, rtp(0xabc, 7, 200), rewrites, outcomes);
  };
  std::vector<std::error_code> outcomes(to.size());
  EXPECT_EQ(fan_out(outcomes).sent, to.size());
  // Two of the first endpoint's sessions end: every route of that endpoint
  // is stale for the next packet.
  to[2].destroy();
  to[9].destroy();
  for (int round = 0; round < 2; ++round) {
    const FanOutResult r = fan_out(outcomes);
    EXPECT_EQ(r.sent, to.size() - 2);
    for (size_t i = 0; i < to.size(); ++i) {
      if (i == 2 || i == 9) {
        EXPECT_EQ(outcomes[i], make_error_code(Errc::kDtlsSessionDestroyed));
      } else {
        EXPECT_FALSE(outcomes[i]) << i;
      }
    }
  }
  ASSERT_TRUE(loop.run_until([&] {
    size_t n = 0;
    for (const auto& [ssrc, seqs] : received) n += seqs.size();
    return n == to.size() + 2 * (to.size() - 2);
  }));
  for (size_t i = 0; i < to.size(); ++i) {
    const std::vector<std::uint16_t> expected =
        i == 2 || i == 9 ? std::vector<std::uint16_t>{1}
                         : std::vector<std::uint16_t>{1, 2, 3};
    EXPECT_EQ(received[100u + static_cast<std::uint32_t>(i)], expected) << i;
  }
  endpoint->close();
  other->close();
  ASSERT_TRUE(loop.run_until(
      [&] { return endpoint->state().destroyed && other->state().destroyed; }));
}

// Subscribers on two endpoints, interleaved: each endpoint's socket is corked
// once and sends its share in one sendmmsg; once one endpoint is gone, its
// subscribers fail and the other's still get the packet.
TEST(DtlsApiMedia, FanOutAcrossEndpointsBatchesEachSocketOnce) {
  testing_support::Loop loop;
  std::vector<Session> on_a, on_b;
  auto a = listen(
      loop.get(), [&](Session s) { on_a.push_back(s); }, listen_options());
  auto b = listen(
      loop.get(), [&](Session s) { on_b.push_back(s); }, listen_options());
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  int received = 0;
  std::vector<Session> clients;
  for (int i = 0; i < 4; ++i) {
    SessionListener l;
    l.on_rtp = [&received](Session&, std::span<const std::uint8_t>) {
      ++received;
    };
    auto c =
        connect(loop.get(), "127.0.0.1", (i % 2 == 0 ? a : b)->address().port,
                connect_options(), l);
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE(loop.run_until([&] { return ready(c->opened()); }));
    ASSERT_TRUE(c->opened().get().ok());
    clients.push_back(*c);
  }
  ASSERT_TRUE(
      loop.run_until([&] { return on_a.size() == 2 && on_b.size() == 2; }));
  const std::vector<Session> to = {on_a[0], on_b[0], on_a[1], on_b[1]};
  const std::uint64_t a_batches = a->stats().send_batches;
  const std::uint64_t b_batches = b->stats().send_batches;
  FanOutResult r = send_rtp(to, rtp(0xabc, 7, 100));
  EXPECT_EQ(r.sent, 4u);
  EXPECT_EQ(a->stats().send_batches, a_batches + 1);
  EXPECT_EQ(b->stats().send_batches, b_batches + 1);
  ASSERT_TRUE(loop.run_until([&] { return received == 4; }));
  a->close();
  ASSERT_TRUE(loop.run_until([&] { return a->state().destroyed; }));
  std::vector<std::error_code> outcomes(to.size());
  r = send_rtp(to, rtp(0xabc, 8, 100), {}, outcomes);
  EXPECT_EQ(r.sent, 2u);
  EXPECT_EQ(outcomes[0], make_error_code(Errc::kDtlsSessionDestroyed));
  EXPECT_FALSE(outcomes[1]);
  EXPECT_EQ(outcomes[2], make_error_code(Errc::kDtlsSessionDestroyed));
  EXPECT_FALSE(outcomes[3]);
  ASSERT_TRUE(loop.run_until([&] { return received == 6; }));
  b->close();
  ASSERT_TRUE(loop.run_until([&] { return b->state().destroyed; }));
}

}  // namespace
}  // namespace dtls
