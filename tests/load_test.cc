// Load (issue 8): 5,000 concurrent sessions on one listening endpoint, each
// exchanging data; then the endpoint's close() must deliver close_notify to
// every one of them, and the heap must come back to where it was (no leak
// after all close; LeakSanitizer checks the same in the sanitizer pass).
//
// The clients are bare DtlsAssociations on their own connected UDP sockets,
// polled by one libuv loop: a full endpoint per client would cost 128 KiB of
// buffers each.
#include <gtest/gtest.h>
#include <malloc.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <list>
#include <string>

#include "certs/generate.h"
#include "tests/testing/uv_test_loop.h"
#include "transport/io/udp_endpoint.h"

namespace dtls {
namespace {

constexpr int kSessions = 5000;
constexpr int kInFlight = 200;  // handshakes started but not finished

std::shared_ptr<const DtlsContext> context(const certs::Credentials& c) {
  DtlsContextOptions o;
  o.credentials = c;
  o.srtp_profiles = "SRTP_AEAD_AES_128_GCM";
  return std::move(DtlsContext::create(o)).value();
}

struct Client {
  int fd = -1;
  uv_poll_t poll{};
  std::unique_ptr<DtlsAssociation> a;
  bool open = false;
  bool echoed = false;
  bool closed = false;  // got the server's close_notify
  bool failed = false;
  TimePoint pinged{};
  struct Farm* farm = nullptr;
};

struct Farm {
  uv_loop_t* loop = nullptr;
  std::shared_ptr<const DtlsContext> ctx;
  AssociationOptions options;
  sockaddr_in server{};
  std::list<Client> clients;
  int started = 0, open = 0, echoed = 0, closed = 0, failed = 0;
  std::vector<std::uint8_t> out;

  static void on_readable(uv_poll_t* p, int status, int) {
    auto* c = static_cast<Client*>(p->data);
    if (status < 0) return;
    std::uint8_t buf[2048];
    ssize_t n;
    while ((n = recv(c->fd, buf, sizeof(buf), 0)) >= 0) {
      c->a->handle_datagram({buf, static_cast<size_t>(n)}, Clock::now());
    }
    c->farm->flush(*c);
  }

  bool start_one() {
    Client& c = clients.emplace_back();
    c.farm = this;
    c.fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    if (c.fd < 0 || connect(c.fd, reinterpret_cast<sockaddr*>(&server),
                            sizeof(server)) != 0) {
      return false;
    }
    auto a = DtlsAssociation::connect(ctx, options, Clock::now());
    if (!a.ok()) return false;
    c.a = std::move(a).value();
    uv_poll_init(loop, &c.poll, c.fd);
    c.poll.data = &c;
    uv_poll_start(&c.poll, UV_READABLE, on_readable);
    started++;
    flush(c);
    return true;
  }

  void flush(Client& c) {
    while (c.a->pop_datagram(out)) send(c.fd, out.data(), out.size(), 0);
    DtlsEvent e;
    while (c.a->pop_event(e)) {
      switch (e.type) {
        case DtlsEvent::Type::kHandshakeComplete: {
          c.open = true;
          open++;
          ping(c);
          break;
        }
        case DtlsEvent::Type::kData:
          if (!c.echoed) echoed++;
          c.echoed = true;
          break;
        case DtlsEvent::Type::kClosed:
          if (!c.closed) closed++;
          c.closed = true;
          break;
        case DtlsEvent::Type::kError:
          if (!c.failed) failed++;
          c.failed = true;
          break;
        default:
          break;
      }
    }
  }

  // Application data has no retransmission in DTLS: a ping lost to a full
  // socket buffer under load is sent again until its echo comes.
  void ping(Client& c) {
    static const std::uint8_t kPing[] = {'p', 'i', 'n', 'g'};
    c.pinged = Clock::now();
    (void)c.a->send(kPing);
    while (c.a->pop_datagram(out)) send(c.fd, out.data(), out.size(), 0);
  }

  void tick() {
    const TimePoint now = Clock::now();
    for (Client& c : clients) {
      if (c.open && !c.echoed && !c.failed &&
          now - c.pinged > std::chrono::milliseconds(300)) {
        ping(c);
      }
      auto d = c.a->next_deadline();
      if (d && *d <= now) {
        c.a->handle_timeout(now);
        flush(c);
      }
    }
    while (started < kSessions && started - open - failed < kInFlight) {
      if (!start_one()) {
        failed++;
        started++;
      }
    }
  }

  void close_all() {
    for (Client& c : clients) {
      uv_poll_stop(&c.poll);
      uv_close(reinterpret_cast<uv_handle_t*>(&c.poll), nullptr);
    }
  }
  ~Farm() {
    for (Client& c : clients) close(c.fd);
  }
};

size_t heap_in_use() { return mallinfo2().uordblks; }

TEST(Load, FiveThousandSessionsExchangeDataAndAllGetCloseNotify) {
  rlimit nofile{};
  getrlimit(RLIMIT_NOFILE, &nofile);
  if (nofile.rlim_cur < kSessions + 256) {
    nofile.rlim_cur = std::min<rlim_t>(nofile.rlim_max, kSessions + 1024);
    setrlimit(RLIMIT_NOFILE, &nofile);
  }
  ASSERT_GE(nofile.rlim_cur, static_cast<rlim_t>(kSessions + 256))
      << "the hard limit on open files is too low for this test";
  testing::UvTestLoop loop;
  auto server_creds = std::move(certs::generate_certificate()).value();
  auto client_creds = std::move(certs::generate_certificate()).value();
  auto server_ctx = context(server_creds);
  auto client_ctx = context(client_creds);
  const size_t heap_before = heap_in_use();
  int server_open = 0, server_data = 0, server_finished = 0;
  bool server_closed = false;
  std::shared_ptr<UdpEndpoint> server;
  {
    UdpEndpointOptions so;
    so.context = server_ctx;
    so.accept_incoming = true;
    so.receive_batch = 16;
    // Every client is on this host: one address with 200 handshakes in flight.
    so.half_open.per_address = 65535;
    so.server_association.peer_fingerprints = {certs::Fingerprint::of(
        client_creds.leaf(), certs::HashAlgorithm::kSha256)};
    UdpEndpoint::Callbacks cb;
    cb.on_event = [&](const PeerAddress& p, const DtlsEvent& e) {
      if (e.type == DtlsEvent::Type::kHandshakeComplete) server_open++;
      if (e.type == DtlsEvent::Type::kData) {
        server_data++;
        (void)server->send(p, e.data);  // echo
      }
    };
    cb.on_finished = [&](const PeerAddress&, const DtlsAssociation&,
                         const srtp::MediaCounters&) { server_finished++; };
    cb.on_closed = [&] { server_closed = true; };
    auto s = UdpEndpoint::open(
        loop.get(), PeerAddress::parse("127.0.0.1", 0).value(), so, cb);
    ASSERT_TRUE(s.ok());
    server = *s;
  }
  Farm farm;
  farm.loop = loop.get();
  farm.ctx = client_ctx;
  farm.options.peer_fingerprints = {certs::Fingerprint::of(
      server_creds.leaf(), certs::HashAlgorithm::kSha256)};
  farm.options.initial_retransmit_timeout = std::chrono::milliseconds(250);
  farm.server.sin_family = AF_INET;
  farm.server.sin_port = htons(server->local_address().port());
  farm.server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  uv_timer_t tick;
  uv_timer_init(loop.get(), &tick);
  tick.data = &farm;
  uv_timer_start(
      &tick, [](uv_timer_t* t) { static_cast<Farm*>(t->data)->tick(); }, 0, 5);

  const auto t0 = Clock::now();
  auto last_report = Clock::now();
  const bool finished = loop.run_until(
      [&] {
        if (Clock::now() - last_report > std::chrono::seconds(2)) {
          last_report = Clock::now();
          std::printf(
              "load: started %d, open %d (server %d), echoed %d, "
              "failed %d\n",
              farm.started, farm.open, server_open, farm.echoed, farm.failed);
          std::fflush(stdout);
        }
        return farm.echoed + farm.failed >= kSessions;
      },
      std::chrono::seconds(240));
  ASSERT_TRUE(finished);
  const double seconds =
      std::chrono::duration<double>(Clock::now() - t0).count();
  EXPECT_EQ(farm.failed, 0);
  EXPECT_EQ(farm.open, kSessions);
  EXPECT_EQ(server_open, kSessions);
  EXPECT_EQ(server->session_count(), static_cast<size_t>(kSessions));
  EXPECT_GE(server_data, kSessions);  // pings lost under load were resent
  EXPECT_EQ(farm.echoed, kSessions);
  const size_t heap_open = heap_in_use();

  // close(): close_notify to every session (RFC 5246 §7.2.1), then the socket
  // goes once the send queue has drained.
  server->close();
  ASSERT_TRUE(loop.run_until(
      [&] { return server_closed && farm.closed + farm.failed >= kSessions; },
      std::chrono::seconds(60)));
  EXPECT_EQ(farm.closed, kSessions);
  EXPECT_EQ(server_finished, kSessions);
  EXPECT_EQ(server->session_count(), 0u);
  uv_timer_stop(&tick);
  uv_close(reinterpret_cast<uv_handle_t*>(&tick), nullptr);
  farm.close_all();
  loop.run_until([] { return false; }, std::chrono::milliseconds(20));
  server.reset();
  const size_t heap_after_server = heap_in_use();
  std::printf(
      "load: %d sessions open and echoed in %.1f s; heap %zu KiB before, "
      "%zu KiB with %d open sessions (both sides), %zu KiB after the server "
      "closed (clients still held)\n",
      kSessions, seconds, heap_before / 1024, heap_open / 1024, kSessions,
      heap_after_server / 1024);
  farm.clients.clear();
  const size_t heap_end = heap_in_use();
  std::printf("load: heap %zu KiB once the clients are gone too\n",
              heap_end / 1024);
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
  // Everything the sessions held is back (a little slack for OpenSSL's
  // per-thread caches and the loop's internals).
  EXPECT_LT(heap_end, heap_before + 512 * 1024)
      << heap_before << " -> " << heap_end;
#endif
}

}  // namespace
}  // namespace dtls
