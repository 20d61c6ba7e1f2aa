// A handshake flood (issue 8): 100,000 spoofed ClientHellos from many source
// addresses and ports in 127.0.0.0/8 against one listening endpoint. The
// stateless cookie gate (RFC 6347 §4.2.1) must answer each with a
// HelloVerifyRequest no larger than the request, keep no per-peer state (RSS
// flat within 1 MiB), and still let a real client through during the flood.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <string>

#include "certs/generate.h"
#include "tests/testing/uv_test_loop.h"
#include "transport/dtls/dtls_record.h"
#include "transport/io/udp_endpoint.h"

namespace dtls {
namespace {

constexpr int kFloodHellos = 100000;
constexpr int kAddresses = 32;       // 127.0.0.2 .. 127.0.0.33
constexpr int kPortsPerAddress = 4;  // sockets per address
constexpr int kBurst = 100;          // per timer tick

long rss_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

std::shared_ptr<const DtlsContext> context(const certs::Credentials& c) {
  DtlsContextOptions o;
  o.credentials = c;
  o.srtp_profiles = "SRTP_AES128_CM_SHA1_80";
  return std::move(DtlsContext::create(o)).value();
}

struct Flooder {
  std::vector<int> fds;
  std::vector<std::uint8_t> hello;  // a real first ClientHello, re-randomised
  sockaddr_in target{};
  std::mt19937 rng{20261123};
  int sent = 0;
  // Paced by what the server has read, so that the kernel's receive buffer
  // does not silently drop most of the flood before the gate sees it.
  const UdpEndpointStats* server = nullptr;
  int send_failures = 0;
  int replies = 0;
  size_t largest_reply = 0;

  bool open(std::uint16_t port) {
    target.sin_family = AF_INET;
    target.sin_port = htons(port);
    target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int a = 0; a < kAddresses; ++a) {
      for (int p = 0; p < kPortsPerAddress; ++p) {
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        sockaddr_in src{};
        src.sin_family = AF_INET;
        src.sin_addr.s_addr = htonl(0x7F000002u + static_cast<unsigned>(a));
        if (fd < 0 ||
            bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof(src)) != 0) {
          return false;
        }
        fds.push_back(fd);
      }
    }
    return true;
  }
  ~Flooder() {
    for (int fd : fds) close(fd);
  }
  void burst() {
    if (server != nullptr && static_cast<std::uint64_t>(sent) >
                                 server->packets_received + 4 * kBurst) {
      drain();
      return;
    }
    for (int i = 0; i < kBurst && sent < kFloodHellos; ++i) {
      // A fresh client random (record 13 + handshake 12 + version 2 bytes
      // in) makes every hello a new one to the gate.
      for (size_t k = 27; k < 27 + 32; ++k)
        hello[k] = static_cast<std::uint8_t>(rng());
      int fd = fds[static_cast<size_t>(sent) % fds.size()];
      if (sendto(fd, hello.data(), hello.size(), 0,
                 reinterpret_cast<sockaddr*>(&target), sizeof(target)) < 0) {
        send_failures++;
      }
      sent++;
    }
    drain();
  }
  void drain() {
    std::uint8_t buf[2048];
    for (int fd : fds) {
      ssize_t n;
      while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
        replies++;
        largest_reply = std::max(largest_reply, static_cast<size_t>(n));
      }
    }
  }
};

TEST(Flood, SpoofedClientHellosKeepNoStateAndARealClientGetsThrough) {
  testing::UvTestLoop loop;
  auto server_creds = std::move(certs::generate_certificate()).value();
  auto client_creds = std::move(certs::generate_certificate()).value();
  UdpEndpointOptions so;
  so.context = context(server_creds);
  so.accept_incoming = true;
  so.receive_batch = 16;
  so.server_association.peer_fingerprints = {certs::Fingerprint::of(
      client_creds.leaf(), certs::HashAlgorithm::kSha256)};
  int server_sessions = 0, server_open = 0, client_open = 0;
  UdpEndpoint::Callbacks sc;
  sc.on_session = [&](const PeerAddress&) { server_sessions++; };
  sc.on_event = [&](const PeerAddress&, const DtlsEvent& e) {
    server_open += e.type == DtlsEvent::Type::kHandshakeComplete;
  };
  auto server = UdpEndpoint::open(
      loop.get(), PeerAddress::parse("127.0.0.1", 0).value(), so, sc);
  ASSERT_TRUE(server.ok());
  // The hello to replay: a real client's first flight.
  auto probe =
      DtlsAssociation::connect(context(client_creds), {}, Clock::now());
  ASSERT_TRUE(probe.ok());
  Flooder flood;
  ASSERT_TRUE((*probe)->pop_datagram(flood.hello));
  ASSERT_TRUE(parse_client_hello_prefix(flood.hello).has_value());
  ASSERT_TRUE(flood.open((*server)->local_address().port()));
  flood.server = &(*server)->stats();

  uv_timer_t tick;
  uv_timer_init(loop.get(), &tick);
  tick.data = &flood;
  uv_timer_start(
      &tick, [](uv_timer_t* t) { static_cast<Flooder*>(t->data)->burst(); }, 0,
      1);
  // Warm up, then measure: every allocation the gate needs exists by now.
  ASSERT_TRUE(loop.run_until([&] { return flood.sent >= 10000; },
                             std::chrono::seconds(60)));
  const long rss_before = rss_kib();
  // A real client starts in the middle of the flood.
  UdpEndpointOptions co;
  co.context = context(client_creds);
  UdpEndpoint::Callbacks cc;
  cc.on_event = [&](const PeerAddress&, const DtlsEvent& e) {
    client_open += e.type == DtlsEvent::Type::kHandshakeComplete;
  };
  auto client = UdpEndpoint::open(
      loop.get(), PeerAddress::parse("127.0.0.1", 0).value(), co, cc);
  ASSERT_TRUE(client.ok());
  AssociationOptions pin;
  pin.peer_fingerprints = {certs::Fingerprint::of(
      server_creds.leaf(), certs::HashAlgorithm::kSha256)};
  pin.initial_retransmit_timeout = std::chrono::milliseconds(200);
  ASSERT_TRUE((*client)->connect((*server)->local_address(), pin).ok());
  ASSERT_TRUE(loop.run_until(
      [&] {
        return flood.sent >= kFloodHellos && client_open == 1 &&
               server_open == 1;
      },
      std::chrono::seconds(120)));
  uv_timer_stop(&tick);
  // Let the last replies arrive.
  loop.run_until(
      [&] {
        flood.drain();
        return static_cast<std::uint64_t>(flood.replies) ==
               (*server)->stats().hello_verify_requests - 1;
      },
      std::chrono::seconds(5));
  const long rss_after = rss_kib();
  const UdpEndpointStats& st = (*server)->stats();
  std::printf(
      "flood: %d hellos sent from %zu sockets (%d send failures), server "
      "received %llu datagrams, answered %llu HelloVerifyRequests (largest "
      "%zu bytes, request %zu bytes); RSS %ld -> %ld KiB\n",
      flood.sent, flood.fds.size(), flood.send_failures,
      static_cast<unsigned long long>(st.packets_received),
      static_cast<unsigned long long>(st.hello_verify_requests),
      flood.largest_reply, flood.hello.size(), rss_before, rss_after);
  // Only the real client has a session.
  EXPECT_EQ(server_sessions, 1);
  EXPECT_EQ((*server)->session_count(), 1u);
  EXPECT_EQ(st.server_sessions, 1u);
  // Almost every hello reached the gate and was answered (the kernel may
  // still drop a few), never with more bytes.
  EXPECT_GE(st.hello_verify_requests,
            static_cast<std::uint64_t>(kFloodHellos) * 9 / 10);
  EXPECT_GT(flood.replies, kFloodHellos * 9 / 10);
  EXPECT_LE(flood.largest_reply, flood.hello.size());
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
  // No per-peer state: 90,000 more hellos move RSS by less than 1 MiB.
  EXPECT_LT(rss_after - rss_before, 1024) << rss_before << " -> " << rss_after;
#endif
  uv_close(reinterpret_cast<uv_handle_t*>(&tick), nullptr);
  (*client)->close();
  (*server)->close();
  loop.run_until([] { return false; }, std::chrono::milliseconds(50));
}

}  // namespace
}  // namespace dtls
