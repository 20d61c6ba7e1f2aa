// The sans-I/O DTLS core against real peers over loopback UDP: openssl
// s_client/s_server and GnuTLS gnutls-cli/gnutls-serv, both roles. A small
// poll() driver stands in for the libuv endpoint; the real clock drives
// everything (no simulated time here).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <optional>

#include "certs/generate.h"
#include "tests/testing/peer_files.h"
#include "tests/testing/process.h"
#include "transport/dtls/cookie_gate.h"
#include "transport/dtls/dtls_association.h"

namespace dtls {
namespace {

using std::chrono::milliseconds;
using testing::ChildProcess;

constexpr auto kLimit = std::chrono::seconds(15);

using Files = testing::PeerFiles;
using testing::hex_after;

Files make_files(const std::string& cn) { return testing::make_peer_files(cn); }

certs::Fingerprint fp(const Files& f) {
  return certs::Fingerprint::of(f.creds.leaf(), certs::HashAlgorithm::kSha256);
}

std::string hex(const std::vector<std::uint8_t>& b) {
  return testing::upper_hex(b);
}

// A UDP socket on 127.0.0.1 and the loop that moves datagrams between it and
// one association.
class Driver {
 public:
  Driver() {
    fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    socklen_t len = sizeof(a);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~Driver() { close(fd_); }

  std::uint16_t port() const { return port_; }
  std::unique_ptr<DtlsAssociation> association;
  std::vector<DtlsEvent> events;
  std::optional<sockaddr_in> peer;
  // Server role: every datagram goes through this gate until an association
  // exists.
  CookieGate gate;
  std::function<void(std::span<const std::uint8_t>,
                     std::span<const std::uint8_t>)>
      on_accept;
  int hello_verify_requests = 0;

  void flush() {
    std::vector<std::uint8_t> d;
    while (association && association->pop_datagram(d)) send(d);
    DtlsEvent e;
    while (association && association->pop_event(e))
      events.push_back(std::move(e));
  }

  void send(std::span<const std::uint8_t> d) {
    if (!peer) return;
    sendto(fd_, d.data(), d.size(), 0,
           reinterpret_cast<const sockaddr*>(&*peer), sizeof(*peer));
  }

  // Runs until `done` holds (true) or the limit passes (false).
  bool run_until(ChildProcess& child, const std::function<bool()>& done) {
    const TimePoint limit = Clock::now() + kLimit;
    std::vector<std::uint8_t> buf(65536);
    while (Clock::now() < limit) {
      flush();
      child.read_available();
      if (done()) return true;
      int wait_ms = 20;
      if (association) {
        if (auto d = association->next_deadline()) {
          auto left =
              std::chrono::duration_cast<milliseconds>(*d - Clock::now())
                  .count();
          wait_ms = static_cast<int>(std::clamp<long long>(left, 0, 20));
        }
      }
      pollfd pfd[2] = {{fd_, POLLIN, 0}, {child.output_fd(), POLLIN, 0}};
      poll(pfd, child.output_fd() >= 0 ? 2 : 1, wait_ms);
      TimePoint now = Clock::now();
      if (pfd[0].revents & POLLIN) {
        sockaddr_in from{};
        socklen_t len = sizeof(from);
        ssize_t n = recvfrom(fd_, buf.data(), buf.size(), 0,
                             reinterpret_cast<sockaddr*>(&from), &len);
        if (n >= 0) receive({buf.data(), static_cast<size_t>(n)}, from, now);
      }
      if (association) {
        if (auto d = association->next_deadline(); d && *d <= now)
          association->handle_timeout(now);
      }
    }
    return false;
  }

  std::string received() const {
    std::string s;
    for (const auto& e : events) {
      if (e.type == DtlsEvent::Type::kData)
        s.append(e.data.begin(), e.data.end());
    }
    return s;
  }
  std::string error() const {
    for (const auto& e : events) {
      if (e.type == DtlsEvent::Type::kError) return e.error.to_string();
    }
    return "";
  }
  // Sends `text` over the association as one message.
  bool send_text(std::string_view text) {
    return association &&
           association
               ->send({reinterpret_cast<const std::uint8_t*>(text.data()),
                       text.size()})
               .ok();
  }
  bool open() const {
    return association && association->state() == DtlsAssociation::State::kOpen;
  }

 private:
  void receive(std::span<const std::uint8_t> d, const sockaddr_in& from,
               TimePoint now) {
    if (association) {
      association->handle_datagram(d, now);
      return;
    }
    // Server role, no state yet: the peer's address bytes key the cookie.
    std::uint8_t addr[7] = {4};
    std::memcpy(addr + 1, &from.sin_addr, 4);
    std::memcpy(addr + 5, &from.sin_port, 2);
    auto decision = gate.inspect(d, addr, Clock::now());
    peer = from;
    if (decision.verdict == CookieGate::Verdict::kHelloVerify) {
      hello_verify_requests++;
      send(decision.reply);
    } else if (decision.verdict == CookieGate::Verdict::kAccept && on_accept) {
      on_accept(d, decision.cookie);
    }
  }

  int fd_ = -1;
  std::uint16_t port_ = 0;
};

using testing::free_udp_port;

struct Profile {
  const char* openssl;
  const char* gnutls;  // nullptr: GnuTLS 3.7 lacks it
  size_t keying_length;
};
const Profile kProfiles[] = {
    {"SRTP_AES128_CM_SHA1_80", "SRTP_AES128_CM_HMAC_SHA1_80", 60},
    {"SRTP_AEAD_AES_128_GCM", nullptr, 56},
};

void start_server(Driver& driver, const Files& ours, const Files& theirs,
                  const char* profile,
                  std::shared_ptr<const DtlsContext>& ctx) {
  DtlsContextOptions co;
  co.credentials = ours.creds;
  co.srtp_profiles = profile;
  co.require_srtp = true;
  ctx = std::move(DtlsContext::create(co)).value();
  AssociationOptions ao;
  ao.peer_fingerprints = {fp(theirs)};
  driver.on_accept = [&driver, ctx, ao](std::span<const std::uint8_t> hello,
                                        std::span<const std::uint8_t> cookie) {
    auto a = DtlsAssociation::accept(ctx, ao, hello, cookie, Clock::now());
    ASSERT_TRUE(a.ok()) << a.error().to_string();
    driver.association = std::move(a).value();
  };
}

TEST(DtlsInterop, OurServerWithOpensslClient) {
  for (const Profile& profile : kProfiles) {
    SCOPED_TRACE(profile.openssl);
    Files server = make_files("our-server"),
          client = make_files("openssl-client");
    Driver driver;
    std::shared_ptr<const DtlsContext> ctx;
    start_server(driver, server, client, profile.openssl, ctx);
    ChildProcess peer({"openssl", "s_client", "-dtls1_2", "-connect",
                       "127.0.0.1:" + std::to_string(driver.port()), "-cert",
                       client.cert, "-key", client.key, "-use_srtp",
                       profile.openssl, "-keymatexport", "EXTRACTOR-dtls_srtp",
                       "-keymatexportlen",
                       std::to_string(profile.keying_length)});
    ASSERT_TRUE(driver.run_until(
        peer,
        [&] {
          return driver.open() &&
                 peer.output().find("Keying material:") != std::string::npos;
        }))
        << driver.error() << "\n"
        << peer.output();
    EXPECT_EQ(driver.hello_verify_requests,
              1);  // s_client went through our cookie exchange
    EXPECT_EQ(driver.association->srtp_profile(), profile.openssl);
    EXPECT_NE(
        peer.output().find(std::string("SRTP Extension negotiated, profile=") +
                           profile.openssl),
        std::string::npos);
    auto ours = driver.association->export_keying_material(
        profile.keying_length, "EXTRACTOR-dtls_srtp");
    ASSERT_TRUE(ours.ok());
    EXPECT_EQ(hex_after(peer.output(), "Keying material: "), hex(*ours));

    peer.write_stdin("hello from openssl\n");
    ASSERT_TRUE(driver.run_until(peer, [&] {
      return driver.received().find("hello from openssl") != std::string::npos;
    }));
    ASSERT_TRUE(driver.send_text("pong from us\n"));
    EXPECT_TRUE(driver.run_until(peer, [&] {
      return peer.output().find("pong from us") != std::string::npos;
    })) << peer.output();
    driver.association->close();
    driver.flush();
  }
}

TEST(DtlsInterop, OurServerWithGnutlsClient) {
  Files server = make_files("our-server"), client = make_files("gnutls-client");
  Driver driver;
  std::shared_ptr<const DtlsContext> ctx;
  start_server(driver, server, client, "SRTP_AES128_CM_SHA1_80", ctx);
  // The pinning server requests a certificate with an empty CA list, which is
  // what makes GnuTLS send its self-signed one (shared/notes/interop-peers.md).
  ChildProcess peer(
      {"gnutls-cli", "--udp", "-p", std::to_string(driver.port()), "127.0.0.1",
       "--insecure", "--priority", "NORMAL:-VERS-ALL:+VERS-DTLS1.2",
       "--x509certfile", client.cert, "--x509keyfile", client.key,
       "--srtp-profiles", "SRTP_AES128_CM_HMAC_SHA1_80", "--keymatexport",
       "EXTRACTOR-dtls_srtp", "--keymatexportsize", "60"});
  ASSERT_TRUE(driver.run_until(peer,
                               [&] {
                                 return driver.open() &&
                                        peer.output().find("Key material") !=
                                            std::string::npos;
                               }))
      << driver.error() << "\n"
      << peer.output();
  EXPECT_EQ(driver.hello_verify_requests, 1);
  EXPECT_EQ(driver.association->srtp_profile(), "SRTP_AES128_CM_SHA1_80");
  auto ours =
      driver.association->export_keying_material(60, "EXTRACTOR-dtls_srtp");
  ASSERT_TRUE(ours.ok());
  EXPECT_EQ(hex_after(peer.output(), "Key material: "), hex(*ours))
      << peer.output();
  peer.write_stdin("hello from gnutls\n");
  ASSERT_TRUE(driver.run_until(peer, [&] {
    return driver.received().find("hello from gnutls") != std::string::npos;
  })) << peer.output();
  ASSERT_TRUE(driver.send_text("pong from us\n"));
  EXPECT_TRUE(driver.run_until(peer, [&] {
    return peer.output().find("pong from us") != std::string::npos;
  })) << peer.output();
  // gnutls-cli sends close_notify on stdin EOF: our side sees a clean close.
  peer.close_stdin();
  EXPECT_TRUE(driver.run_until(peer, [&] {
    return driver.association->state() == DtlsAssociation::State::kClosed;
  })) << driver.error();
}

void start_client(Driver& driver, const Files& ours, const Files& theirs,
                  const char* profile, std::uint16_t port) {
  DtlsContextOptions co;
  co.credentials = ours.creds;
  co.srtp_profiles = profile;
  co.require_srtp = true;
  auto ctx = DtlsContext::create(co);
  ASSERT_TRUE(ctx.ok());
  AssociationOptions ao;
  ao.peer_fingerprints = {fp(theirs)};
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  driver.peer = to;
  auto a = DtlsAssociation::connect(*ctx, ao, Clock::now());
  ASSERT_TRUE(a.ok());
  driver.association = std::move(a).value();
}

TEST(DtlsInterop, OurClientWithOpensslServer) {
  for (const Profile& profile : kProfiles) {
    SCOPED_TRACE(profile.openssl);
    Files server = make_files("openssl-server"),
          client = make_files("our-client");
    std::uint16_t port = free_udp_port();
    // -listen makes s_server answer with a HelloVerifyRequest; -Verify 1
    // demands our cert.
    ChildProcess peer({"openssl",
                       "s_server",
                       "-dtls1_2",
                       "-listen",
                       "-accept",
                       "127.0.0.1:" + std::to_string(port),
                       "-naccept",
                       "1",
                       "-cert",
                       server.cert,
                       "-key",
                       server.key,
                       "-Verify",
                       "1",
                       "-use_srtp",
                       profile.openssl,
                       "-keymatexport",
                       "EXTRACTOR-dtls_srtp",
                       "-keymatexportlen",
                       std::to_string(profile.keying_length)});
    Driver driver;
    ASSERT_TRUE(driver.run_until(peer, [&] {
      return peer.output().find("ACCEPT") != std::string::npos;
    })) << peer.output();
    start_client(driver, client, server, profile.openssl, port);
    ASSERT_TRUE(driver.run_until(
        peer,
        [&] {
          return driver.open() &&
                 peer.output().find("Keying material:") != std::string::npos;
        }))
        << driver.error() << "\n"
        << peer.output();
    EXPECT_EQ(driver.association->srtp_profile(), profile.openssl);
    auto ours = driver.association->export_keying_material(
        profile.keying_length, "EXTRACTOR-dtls_srtp");
    ASSERT_TRUE(ours.ok());
    EXPECT_EQ(hex_after(peer.output(), "Keying material: "), hex(*ours));
    ASSERT_TRUE(driver.send_text("hello from us\n"));
    ASSERT_TRUE(driver.run_until(peer, [&] {
      return peer.output().find("hello from us") != std::string::npos;
    })) << peer.output();
    peer.write_stdin("hello from openssl\n");
    EXPECT_TRUE(driver.run_until(peer, [&] {
      return driver.received().find("hello from openssl") != std::string::npos;
    }));
    driver.association->close();
    driver.flush();
  }
}

TEST(DtlsInterop, OurClientWithGnutlsServer) {
  Files server = make_files("gnutls-server"), client = make_files("our-client");
  // gnutls-serv binds 0.0.0.0 on the port free_udp_port found free a moment
  // earlier; a test running beside this one may have taken it since, and
  // then gnutls-serv listens on IPv6 alone. Another port then.
  std::uint16_t port = 0;
  std::optional<ChildProcess> peer;
  Driver driver;
  for (int attempt = 0; attempt < 5; ++attempt) {
    port = free_udp_port();
    peer.emplace(std::vector<std::string>{
        "gnutls-serv", "--udp", "--echo", "-p", std::to_string(port),
        "--x509certfile", server.cert, "--x509keyfile", server.key,
        "--srtp-profiles", "SRTP_AES128_CM_HMAC_SHA1_80"});
    // The IPv4 line ends in "done" or in the bind error.
    auto ipv4_outcome = [&]() -> std::string_view {
      const std::string& out = peer->output();
      const size_t at = out.find("IPv4");
      if (at == std::string::npos) return {};
      const size_t end = out.find('\n', at);
      if (end == std::string::npos) return {};
      return std::string_view(out).substr(at, end - at);
    };
    ASSERT_TRUE(driver.run_until(*peer, [&] {
      return !ipv4_outcome().empty();
    })) << peer->output();
    if (ipv4_outcome().find("failed") == std::string_view::npos) break;
    peer->stop();
  }
  ASSERT_EQ(std::string(peer->output())
                    .find("IPv4 0.0.0.0 port " + std::to_string(port) +
                          "...done") != std::string::npos,
            true)
      << peer->output();
  start_client(driver, client, server, "SRTP_AES128_CM_SHA1_80", port);
  ASSERT_TRUE(driver.run_until(*peer, [&] { return driver.open(); }))
      << driver.error() << "\n"
      << peer->output();
  EXPECT_EQ(driver.association->srtp_profile(), "SRTP_AES128_CM_SHA1_80");
  ASSERT_TRUE(driver.send_text("echo me\n"));
  EXPECT_TRUE(driver.run_until(*peer, [&] {
    return driver.received().find("echo me") != std::string::npos;
  })) << peer->output();
  driver.association->close();
  driver.flush();
}

}  // namespace
}  // namespace dtls
