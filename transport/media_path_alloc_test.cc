// No heap allocation per media packet in steady state, end to end: send_rtp /
// send_rtcp on one session (on its loop, or from another thread), UDP over
// loopback, demux, unprotect, on_rtp / on_rtcp on the other, both ways. malloc
// and friends are counted by interposing them in this binary (sanitizers bring
// their own: skipped there).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "certs/fingerprint.h"
#include "certs/generate.h"
#include "tests/testing/alloc_counter.h"
#include "tests/testing/rtp_packets.h"
#include "tests/testing/udp_relay.h"
#include "tests/testing/uv_test_loop.h"
#include "transport/dtls_api.h"

namespace dtls {
namespace {

struct Identity {
  std::string cert, key, fingerprint;
};

Identity identity() {
  auto c = std::move(certs::generate_certificate()).value();
  return {
      c.leaf().to_pem(), c.key.to_pem(),
      certs::Fingerprint::of(c.leaf(), certs::HashAlgorithm::kSha256).to_sdp()};
}

// The server's and the client's options: each pins the other's
// certificate, on loopback.
ListenOptions server_options(const Identity& server, const Identity& client,
                             const std::string& profile) {
  ListenOptions lo;
  lo.cert = server.cert;
  lo.key = server.key;
  lo.fingerprints = {client.fingerprint};
  lo.srtp = profile;
  lo.host = "127.0.0.1";
  lo.port = 0;
  return lo;
}

ConnectOptions client_options(const Identity& server, const Identity& client,
                              const std::string& profile) {
  ConnectOptions co;
  co.cert = client.cert;
  co.key = client.key;
  co.fingerprints = {server.fingerprint};
  co.srtp = profile;
  return co;
}

TEST(MediaPathAllocations, NonePerPacketInSteadyState) {
  if (!testing::counting_allocations()) GTEST_SKIP() << "sanitizer build";
  const Identity server_id = identity(), client_id = identity();
  for (const char* profile :
       {"SRTP_AES128_CM_SHA1_80", "SRTP_AEAD_AES_128_GCM"})
    for (int mode = 0; mode < 4; ++mode) {
      // Sent at once, corked into batches, every datagram through the send
      // queue (as when the kernel pushes back for a while), or the server's
      // through the fan-out send with a header rewrite.
      const bool corked = mode == 1, queued = mode == 2, fan_out = mode == 3;
      SCOPED_TRACE(std::string(profile) + (corked    ? " corked"
                                           : queued  ? " queued"
                                           : fan_out ? " fan-out"
                                                     : ""));
      testing::UvTestLoop loop;
      std::vector<Session> server_sessions;
      long server_rtp = 0, server_rtcp = 0, client_rtp = 0;
      ListenOptions lo = server_options(server_id, client_id, profile);
      lo.always_queue_sends = queued;
      auto endpoint = listen(
          loop.get(),
          [&](Session s) {
            server_sessions.push_back(s);
            s.on_rtp([&](std::span<const std::uint8_t>) { ++server_rtp; });
            s.on_rtcp([&](std::span<const std::uint8_t>) { ++server_rtcp; });
          },
          lo);
      ASSERT_TRUE(endpoint.ok());
      ConnectOptions co = client_options(server_id, client_id, profile);
      co.always_queue_sends = queued;
      auto client =
          connect(loop.get(), "127.0.0.1", endpoint->address().port, co);
      ASSERT_TRUE(client.ok());
      client->on_rtp([&](std::span<const std::uint8_t>) { ++client_rtp; });
      ASSERT_TRUE(loop.run_until([&] {
        return client->opened().wait_for(std::chrono::seconds(0)) ==
                   std::future_status::ready &&
               !server_sessions.empty();
      }));
      Session& server = server_sessions[0];
      // Corked: every packet goes through the sendmmsg batch, whose storage is
      // made on the first corked send (the warm-up below).
      if (corked) {
        client->cork();
        server.cork();
      }
      auto rtp_out = testing::make_rtp(0x1234, 0, 1000);
      auto rtp_back = testing::make_rtp(0x5678, 0, 200);
      auto rtcp_out = testing::make_rtcp(0x1234);
      constexpr long kRounds = 500;
      // Warm up: each direction's first packets make libsrtp's per-SSRC state.
      auto send_round = [&](std::uint16_t seq) {
        rtp_out[2] = rtp_back[2] = static_cast<std::uint8_t>(seq >> 8);
        rtp_out[3] = rtp_back[3] = static_cast<std::uint8_t>(seq);
        bool ok = client->send_rtp(rtp_out).ok();
        if (fan_out) {
          const RtpRewrite rewrite{.ssrc = 0x9abc, .sequence = seq};
          ok = ok && send_rtp(std::span<const Session>(&server, 1), rtp_back,
                              std::span<const RtpRewrite>(&rewrite, 1))
                             .sent == 1;
        } else {
          ok = ok && server.send_rtp(rtp_back).ok();
        }
        if (seq % 10 == 0) ok = ok && client->send_rtcp(rtcp_out).ok();
        if (corked) {  // each round leaves in one call per side
          client->uncork();
          server.uncork();
          client->cork();
          server.cork();
        }
        return ok;
      };
      ASSERT_TRUE(send_round(0));
      ASSERT_TRUE(
          loop.run_until([&] { return server_rtp == 1 && client_rtp == 1; }));
      // Rounds in windows of 50, the loop delivering between them as a real
      // sender's pacing would; the first two windows are a warm-up too (the
      // send queue's requests, kept for reuse, are made as deep as it gets).
      bool all_sent = true;
      auto window = [&](std::uint16_t first) {
        for (std::uint16_t seq = first; seq < first + 50; ++seq)
          all_sent = send_round(seq) && all_sent;
        // One reference captured: the predicate fits std::function's own
        // storage, so the test itself allocates nothing here.
        struct {
          const long& server;
          const long& client;
          long want;
        } w{server_rtp, client_rtp, first + 50};
        (void)loop.run_until(
            [&w] { return w.server == w.want && w.client == w.want; },
            std::chrono::milliseconds(2000));
      };
      window(1);
      window(51);
      const long before = testing::allocation_count();
      for (std::uint16_t first = 101; first <= kRounds; first += 50)
        window(first);
      const long allocations = testing::allocation_count() - before;
      EXPECT_TRUE(all_sent);
      EXPECT_EQ(server_rtp, 1 + kRounds);
      EXPECT_EQ(client_rtp, 1 + kRounds);
      EXPECT_EQ(server_rtcp, 1 + kRounds / 10);
      EXPECT_EQ(allocations, 0)
          << "over " << (kRounds - 100) * 2 + (kRounds - 100) / 10
          << " packets";
      endpoint->close();
      client->close();
      ASSERT_TRUE(loop.run_until([&] { return endpoint->state().destroyed; }));
    }
}

// send_rtp from a thread that is not the session's loop: the packet is
// copied into the loop's queue (slots made during the warm-up and reused)
// and sent with the next batch; nothing is allocated per packet on either
// thread.
TEST(MediaPathAllocations, NoneForSendsFromAnotherThread) {
  if (!testing::counting_allocations()) GTEST_SKIP() << "sanitizer build";
  const Identity server_id = identity(), client_id = identity();
  auto loop = std::move(EventLoop::start()).value();
  std::atomic<long> server_rtp{0};
  std::mutex mu;
  std::vector<Session> server_sessions;
  ListenOptions lo =
      server_options(server_id, client_id, "SRTP_AEAD_AES_128_GCM");
  auto endpoint = listen(
      *loop,
      [&](Session s) {
        s.on_rtp([&](std::span<const std::uint8_t>) { ++server_rtp; });
        std::lock_guard lock(mu);
        server_sessions.push_back(s);
      },
      lo);
  ASSERT_TRUE(endpoint.ok());
  ConnectOptions co = client_options(server_id, client_id, lo.srtp);
  auto client = connect(*loop, "127.0.0.1", endpoint->address().port, co);
  ASSERT_TRUE(client.ok());
  ASSERT_EQ(client->opened().wait_for(std::chrono::seconds(10)),
            std::future_status::ready);
  auto packet = testing::make_rtp(0x1234, 0, 1000);
  constexpr long kWindow = 50;
  long sent = 0;
  // One window of packets in flight at most, then wait for them.
  auto send_window = [&] {
    bool ok = true;
    for (long i = 0; i < kWindow; ++i, ++sent) {
      packet[2] = static_cast<std::uint8_t>(sent >> 8);
      packet[3] = static_cast<std::uint8_t>(sent);
      ok = client->send_rtp(packet).ok() && ok;
    }
    for (int i = 0; i < 2000 && server_rtp < sent; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return ok;
  };
  ASSERT_TRUE(send_window());  // warm-up: queue slots, libsrtp state
  ASSERT_TRUE(send_window());
  const long before = testing::allocation_count();
  bool all_sent = true;
  for (int w = 0; w < 20; ++w) all_sent = send_window() && all_sent;
  const long allocations = testing::allocation_count() - before;
  EXPECT_TRUE(all_sent);
  EXPECT_EQ(server_rtp.load(), sent);
  EXPECT_EQ(allocations, 0) << "over " << 20 * kWindow << " packets";
  {
    std::lock_guard lock(mu);
    server_sessions.clear();
  }
  loop->stop();
}

}  // namespace
}  // namespace dtls

namespace dtls {
namespace {

// Every way a media packet can be refused or dropped, counted and reported
// without allocating: sends refused by a full send queue, before the
// handshake, and for a packet too large; received packets that fail
// authentication or are replays. The errors carry their code and no message
// of their own (the code's default one). (A datagram the kernel pushes back
// and the queue keeps is not a drop: libuv's queue allocates its request.)
TEST(MediaPathAllocations, NoneOnDropAndErrorPaths) {
  if (!testing::counting_allocations()) GTEST_SKIP() << "sanitizer build";
  const Identity server_id = identity(), client_id = identity();
  testing::UvTestLoop loop;
  std::vector<Session> server_sessions;
  ListenOptions lo =
      server_options(server_id, client_id, "SRTP_AEAD_AES_128_GCM");
  lo.recv_buffer_size = 4 << 20;  // every injected datagram waits its turn
  auto endpoint = listen(
      loop.get(), [&](Session s) { server_sessions.push_back(s); }, lo);
  ASSERT_TRUE(endpoint.ok());
  auto server_at =
      std::move(PeerAddress::parse("127.0.0.1", endpoint->address().port))
          .value();
  // The client talks through a relay that keeps its first RTP datagram.
  testing::UdpRelay relay(loop.get(), server_at);
  std::vector<std::uint8_t> captured;
  relay.set_hook(
      [&](testing::UdpRelay::Direction d, std::vector<std::uint8_t>& datagram) {
        if (d == testing::UdpRelay::Direction::kToTarget && captured.empty() &&
            !datagram.empty() && datagram[0] >= 128) {
          captured = datagram;
        }
        return true;
      });
  ConnectOptions co = client_options(server_id, client_id, lo.srtp);
  auto client = connect(loop.get(), "127.0.0.1", relay.address().port(), co);
  ASSERT_TRUE(client.ok());
  // A second client whose every datagram waits in a send queue of two.
  ConnectOptions queued = co;
  queued.always_queue_sends = true;
  queued.send_queue_limit = 2;
  auto full =
      connect(loop.get(), "127.0.0.1", endpoint->address().port, queued);
  ASSERT_TRUE(full.ok());
  // A third whose handshake never completes: its server is a socket that
  // never reads (no ICMP error either).
  const int silent = socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(silent, 0);
  sockaddr_in any{};
  any.sin_family = AF_INET;
  any.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(silent, reinterpret_cast<sockaddr*>(&any), sizeof(any)), 0);
  socklen_t len = sizeof(any);
  getsockname(silent, reinterpret_cast<sockaddr*>(&any), &len);
  ConnectOptions patient = co;
  patient.retransmit_initial = std::chrono::seconds(30);  // quiet meanwhile
  auto pending = connect(loop.get(), "127.0.0.1", ntohs(any.sin_port), patient);
  ASSERT_TRUE(pending.ok());
  ASSERT_TRUE(loop.run_until([&] {
    return client->opened().wait_for(std::chrono::seconds(0)) ==
               std::future_status::ready &&
           full->opened().wait_for(std::chrono::seconds(0)) ==
               std::future_status::ready &&
           server_sessions.size() == 2;
  }));
  auto rtp = testing::make_rtp(0x42, 1, 200);
  ASSERT_TRUE(client->send_rtp(rtp).ok());
  ASSERT_TRUE(loop.run_until([&] { return !captured.empty(); }));
  // A sequence number never seen (so not a replay), under a tag made for
  // another one: authentication fails, every time.
  std::vector<std::uint8_t> tampered = captured;
  tampered[2] ^= 0x40;
  const std::vector<std::uint8_t> oversize(70000, 0x80);
  Session* receiving = nullptr;
  for (Session& s : server_sessions)
    if (s.remote_address().port == relay.address().port()) receiving = &s;
  ASSERT_NE(receiving, nullptr);
  // One round of each. The queue of two fills in the first round and stays
  // full: the loop does not run between rounds.
  auto round = [&](std::uint16_t seq) {
    rtp[2] = static_cast<std::uint8_t>(seq >> 8);
    rtp[3] = static_cast<std::uint8_t>(seq);
    bool ok = true;
    for (int i = 0; i < 3; ++i) {
      auto r = full->send_rtp(rtp);
      ok = ok && (r.ok() || r.error().errc == Errc::kSendQueueFull);
    }
    ok = ok && pending->send_rtp(rtp).error().errc == Errc::kDtlsSessionNotOpen;
    // The fan-out send, telling which subscriber failed and why.
    const Session fan[] = {*pending, *full};
    std::error_code outcomes[2];
    send_rtp(fan, rtp, {}, outcomes);
    ok = ok && outcomes[0] == make_error_code(Errc::kDtlsSessionNotOpen) &&
         (!outcomes[1] || outcomes[1] == make_error_code(Errc::kSendQueueFull));
    ok = ok &&
         client->send_rtp(oversize).error().errc == Errc::kSrtpPacketTooLarge;
    ok = ok && relay.inject(testing::UdpRelay::Direction::kToTarget, captured);
    ok = ok && relay.inject(testing::UdpRelay::Direction::kToTarget, tampered);
    return ok;
  };
  ASSERT_TRUE(round(2));  // warm-up
  std::uint64_t want = 1;
  ASSERT_TRUE(loop.run_until(
      [&] { return receiving->stats().media.auth_failures >= want; }));
  const auto before_media = receiving->stats().media;
  ASSERT_TRUE(round(3));  // refills the queue (one more of each, counted)
  constexpr int kRounds = 100;
  const long before = testing::allocation_count();
  bool all = true;
  for (int i = 0; i < kRounds; ++i)
    all = round(static_cast<std::uint16_t>(4 + i)) && all;
  want = before_media.auth_failures + kRounds + 1;
  (void)loop.run_until(
      [&] { return receiving->stats().media.auth_failures >= want; });
  const long allocations = testing::allocation_count() - before;
  EXPECT_TRUE(all);
  const auto after_media = receiving->stats().media;
  EXPECT_EQ(after_media.auth_failures - before_media.auth_failures,
            static_cast<std::uint64_t>(kRounds + 1));
  EXPECT_EQ(after_media.replay_failures - before_media.replay_failures,
            static_cast<std::uint64_t>(kRounds + 1));
  EXPECT_EQ(allocations, 0) << "over " << kRounds << " rounds";
  // The errors name their code; the message is the code's default one.
  const Error e = pending->send_rtp(rtp).error();
  EXPECT_EQ(e.code, "ERR_DTLS_SESSION_NOT_OPEN");
  EXPECT_TRUE(e.message.empty());
  EXPECT_EQ(e.text(), errc_message(Errc::kDtlsSessionNotOpen));
  EXPECT_EQ(e.error_code(), Errc::kDtlsSessionNotOpen);
  endpoint->close();
  client->close();
  full->close();
  pending->destroy();
  ASSERT_TRUE(loop.run_until([&] { return endpoint->state().destroyed; }));
  close(silent);
}

}  // namespace
}  // namespace dtls
