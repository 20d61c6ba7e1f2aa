#include "tools/bench/lossy_bench.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <future>
#include <map>
#include <memory>

#include "tools/bench/bench_support.h"
#include "tools/relay/impairing_relay.h"
#include "transport/dtls_api.h"
#include "transport/io/event_loop.h"

namespace dtls::bench {
namespace {

using std::chrono::milliseconds;

constexpr char kProfile[] = "SRTP_AEAD_AES_128_GCM";
constexpr char kCipher[] = "ECDHE-ECDSA-AES128-GCM-SHA256";

// One (rtt, loss) point: its relay config and seed, shared by the stacks so
// that their n-th handshakes meet the same losses.
struct Point {
  int rtt_ms;
  double loss;
  std::uint64_t seed;
  relay::RelayConfig relay_config() const {
    relay::RelayConfig c;
    c.seed = seed;
    // A handshake is a flow; done or failed (20 s at most, its longest wait
    // 16 s), it sends nothing more, and its socket toward the server is
    // freed: a thousand handshakes per run for 32 runs would otherwise hold
    // more sockets than the process may open.
    c.flow_idle = std::chrono::seconds(25);
    for (relay::ImpairmentConfig* d : {&c.to_target, &c.to_client}) {
      d->loss = loss;
      d->delay = milliseconds(rtt_ms) / 2;
    }
    return c;
  }
};

// Latencies of one stack at one point; failures count as the timeout.
struct Tally {
  std::vector<double> ms;
  int failures = 0;
  std::uint64_t datagrams = 0;
  std::uint64_t retransmits = 0;
};

LossyPoint summarize(const std::string& stack, const Point& p, Tally t,
                     double timeout_ms) {
  LossyPoint r;
  r.stack = stack;
  r.rtt_ms = p.rtt_ms;
  r.loss = p.loss;
  r.failures = t.failures;
  for (int i = 0; i < t.failures; ++i) t.ms.push_back(timeout_ms);
  r.count = static_cast<int>(t.ms.size());
  r.p50_ms = percentile(t.ms, 0.50);
  r.p90_ms = percentile(t.ms, 0.90);
  r.p99_ms = percentile(t.ms, 0.99);
  r.max_ms = t.ms.empty() ? 0 : *std::max_element(t.ms.begin(), t.ms.end());
  if (r.count > 0) {
    r.datagrams_per_handshake =
        static_cast<double>(t.datagrams) / static_cast<double>(r.count);
    r.retransmits_per_handshake =
        static_cast<double>(t.retransmits) / static_cast<double>(r.count);
  }
  return r;
}

// --- ours -----------------------------------------------------------------

// Our retransmission schedules.
struct Schedule {
  const char* name;
  bool adaptive;
  // retransmit_initial; 0 is the default (400 ms for DTLS-SRTP).
  milliseconds initial;
  // ConnectOptions::use_rtt_cache: each connect starts from the round trip
  // the client loop's last handshake with the same host measured (every run
  // has a relay address of its own, so runs do not see each other's).
  bool use_rtt_cache;
};
constexpr Schedule kSchedules[] = {
    // OpenSSL's own: what every session did before adaptation.
    {"fixed", false, milliseconds(1000), false},
    // RFC 9147 §5.8.2's DTLS-SRTP value alone, to tell its share.
    {"fixed400", false, milliseconds(0), false},
    // Adaptive, every connect a first contact: what the per-handshake
    // estimator does alone.
    {"adapt-1st", true, milliseconds(0), false},
    {"adaptive", true, milliseconds(0), true},  // the defaults
};

// One of our schedules at one point: an endpoint of its own on the server
// loop, a relay in front of it on the relay loop, and handshakes started
// evenly from the client loop.
struct OurRun {
  Point point;
  const Schedule* schedule = nullptr;
  Endpoint endpoint;
  std::unique_ptr<relay::ImpairingRelay> relay;
  std::string relay_host;
  std::uint16_t relay_port = 0;
  // Client loop only.
  int started = 0, done = 0;
  Tally tally;
  // Server loop only: retransmissions of the server sessions that opened.
  std::atomic<std::uint64_t> server_retransmits{0};
};

class OurDriver {
 public:
  // `base`: the options every handshake shares; each run's schedule is
  // applied on top.
  OurDriver(EventLoop& client, std::vector<std::unique_ptr<OurRun>>& runs,
            const LossyOptions& o, const ConnectOptions& base)
      : client_(client), runs_(runs), o_(o), base_(base) {}

  // Starts the ticking on the client loop; the future resolves when every
  // handshake of every run has ended.
  std::future<void> start() {
    client_.dispatcher()->call([this] {
      t0_ = Clock::now();
      uv_timer_init(client_.uv(), &timer_);
      timer_.data = this;
      uv_timer_start(&timer_, tick, 0, 2);
    });
    return finished_.get_future();
  }

 private:
  static void tick(uv_timer_t* t) {
    auto* self = static_cast<OurDriver*>(t->data);
    const double elapsed =
        std::chrono::duration<double>(Clock::now() - self->t0_).count();
    const int n = self->o_.handshakes;
    for (auto& run : self->runs_) {
      // Handshake i starts at i * spread / n.
      while (run->started < n &&
             run->started * self->o_.spread_s / n <= elapsed) {
        self->start_one(*run);
      }
    }
    bool all_started = true;
    for (auto& run : self->runs_) all_started &= run->started == n;
    if (all_started) uv_timer_stop(t);
  }

  void start_one(OurRun& run) {
    run.started++;
    const TimePoint t0 = Clock::now();
    ConnectOptions co = base_;
    co.adaptive_retransmit = run.schedule->adaptive;
    co.retransmit_initial = run.schedule->initial;
    co.use_rtt_cache = run.schedule->use_rtt_cache;
    auto s = connect(client_, run.relay_host, run.relay_port, co);
    if (!s.ok()) {
      finish(run, false, t0, 0);
      return;
    }
    // The callback holds the handle until it runs.
    s->on_opened(
        [this, &run, t0, session = *s](const Result<std::string>& r) mutable {
          const SessionStats stats = session.stats();
          // No closing alert: the datagrams counted are the handshake's.
          session.destroy();
          finish(run, r.ok(), t0, stats.retransmit_count);
        });
  }

  void finish(OurRun& run, bool ok, TimePoint t0, std::uint64_t retransmits) {
    if (ok) {
      run.tally.ms.push_back(
          std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    } else {
      run.tally.failures++;
    }
    run.tally.retransmits += retransmits;
    run.done++;
    if (++finished_count_ == static_cast<int>(runs_.size()) * o_.handshakes) {
      uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
      finished_.set_value();
    }
  }

  EventLoop& client_;
  std::vector<std::unique_ptr<OurRun>>& runs_;
  const LossyOptions& o_;
  ConnectOptions base_;
  TimePoint t0_;
  uv_timer_t timer_{};
  int finished_count_ = 0;
  std::promise<void> finished_;
};

// --- openssl s_client / s_server ------------------------------------------

std::uint16_t free_udp_port() {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  std::uint16_t port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  close(fd);
  return port;
}

struct Files {
  std::string dir, server_cert, server_key, client_cert, client_key;
};

class OpensslDriver;

// One openssl handshake: s_server on a free port, a relay of its own in
// front (first_flow = the handshake's number, so it meets the losses our
// n-th handshake met), then s_client through the relay. Done when s_client
// prints CONNECTION ESTABLISHED (-brief); both processes are then killed.
// Every handle lives in this object, which frees itself when the last one is
// closed. Relay loop only.
struct OpensslRun {
  OpensslDriver* driver = nullptr;
  size_t point = 0;
  std::unique_ptr<relay::ImpairingRelay> relay;
  uv_process_t server{}, client{};
  // s_server quits at the end of its standard input: it gets a pipe that
  // stays open until the run ends.
  uv_pipe_t server_in{}, server_out{}, client_err{};
  uv_timer_t timer{};
  int open_handles = 0;
  bool server_running = false, client_running = false;
  bool client_spawned = false, finished = false;
  std::string server_text, client_text;
};

class OpensslDriver {
 public:
  OpensslDriver(EventLoop& loop, const std::vector<Point>& points,
                const LossyOptions& o, const Files& files)
      : loop_(loop),
        points_(points),
        o_(o),
        files_(files),
        tallies_(points.size()) {}

  std::future<void> start() {
    loop_.dispatcher()->call([this] {
      t0_ = Clock::now();
      uv_timer_init(loop_.uv(), &timer_);
      timer_.data = this;
      uv_timer_start(&timer_, tick, 0, 2);
    });
    return finished_.get_future();
  }
  std::vector<Tally>& tallies() { return tallies_; }

  void finish(OpensslRun& r, bool ok) {
    if (r.finished) return;
    r.finished = true;
    Tally& t = tallies_[r.point];
    if (ok && r.relay->first_datagram_at()) {
      t.ms.push_back(std::chrono::duration<double, std::milli>(
                         Clock::now() - *r.relay->first_datagram_at())
                         .count());
    } else {
      t.failures++;
    }
    const relay::RelayStats s = r.relay->stats();
    t.datagrams += s.to_target.offered + s.to_client.offered;
    r.relay.reset();
    if (r.server_running) uv_process_kill(&r.server, SIGKILL);
    if (r.client_running) uv_process_kill(&r.client, SIGKILL);
    close_handle(&r.server_in);
    close_handle(&r.server_out);
    close_handle(&r.client_err);
    close_handle(&r.timer);
    if (++finished_count_ == total()) {
      uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
      finished_.set_value();
    }
  }

 private:
  int total() const {
    return static_cast<int>(points_.size()) * o_.openssl_handshakes;
  }

  static void tick(uv_timer_t* t) {
    auto* self = static_cast<OpensslDriver*>(t->data);
    const double elapsed =
        std::chrono::duration<double>(Clock::now() - self->t0_).count();
    const int n = self->o_.openssl_handshakes;
    if (self->started_.empty()) self->started_.assign(self->points_.size(), 0);
    bool all = true;
    for (size_t p = 0; p < self->points_.size(); ++p) {
      while (self->started_[p] < n &&
             self->started_[p] * self->o_.spread_s / n <= elapsed) {
        self->start_one(p, self->started_[p]++);
      }
      all &= self->started_[p] == n;
    }
    if (all) uv_timer_stop(t);
  }

  template <typename H>
  static void close_handle(H* h) {
    auto* handle = reinterpret_cast<uv_handle_t*>(h);
    if (uv_is_closing(handle)) return;
    uv_close(handle, [](uv_handle_t* x) {
      auto* run = static_cast<OpensslRun*>(x->data);
      if (--run->open_handles == 0) delete run;
    });
  }

  static void alloc(uv_handle_t*, size_t, uv_buf_t* b) {
    static thread_local char buf[4096];
    *b = uv_buf_init(buf, sizeof(buf));
  }

  bool spawn(OpensslRun& r, uv_process_t* p, uv_pipe_t* in, uv_pipe_t* out,
             int out_fd, const std::vector<std::string>& args,
             uv_exit_cb on_exit) {
    std::vector<char*> argv;
    for (const std::string& a : args)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    uv_stdio_container_t stdio[3];
    for (auto& s : stdio) s.flags = UV_IGNORE;
    stdio[out_fd].flags =
        static_cast<uv_stdio_flags>(UV_CREATE_PIPE | UV_WRITABLE_PIPE);
    stdio[out_fd].data.stream = reinterpret_cast<uv_stream_t*>(out);
    if (in != nullptr) {
      stdio[0].flags =
          static_cast<uv_stdio_flags>(UV_CREATE_PIPE | UV_READABLE_PIPE);
      stdio[0].data.stream = reinterpret_cast<uv_stream_t*>(in);
    }
    uv_process_options_t opt{};
    opt.file = argv[0];
    opt.args = argv.data();
    opt.exit_cb = on_exit;
    opt.stdio_count = 3;
    opt.stdio = stdio;
    p->data = &r;
    r.open_handles++;  // the process handle, closed in its exit callback
    if (uv_spawn(loop_.uv(), p, &opt) != 0) {
      close_handle(p);
      return false;
    }
    return true;
  }

  std::vector<std::string> common_args(const std::string& cert,
                                       const std::string& key) const {
    // The same profile, suite and MTU as ours (DTLS_set_link_mtu takes off
    // the 28 bytes of IPv4 and UDP headers: 1228 is our 1200).
    // No trust store: loading the system's costs each process more than its
    // handshake (neither side verifies the self-signed peer anyway).
    return {"-dtls1_2", "-cert",      cert,         "-key",       key,
            "-cipher",  kCipher,      "-mtu",       "1228",       "-use_srtp",
            kProfile,   "-no-CAfile", "-no-CApath", "-no-CAstore"};
  }

  void start_one(size_t point, int index) {
    auto* r = new OpensslRun;
    r->driver = this;
    r->point = point;
    relay::RelayConfig rc = points_[point].relay_config();
    rc.first_flow = static_cast<std::uint64_t>(index);
    const std::uint16_t port = free_udp_port();
    auto target = PeerAddress::parse("127.0.0.1", port);
    auto rel = relay::ImpairingRelay::create(
        loop_.uv(), *PeerAddress::parse("127.0.0.1", 0), *target, rc);
    uv_pipe_init(loop_.uv(), &r->server_in, 0);
    uv_pipe_init(loop_.uv(), &r->server_out, 0);
    uv_pipe_init(loop_.uv(), &r->client_err, 0);
    uv_timer_init(loop_.uv(), &r->timer);
    r->server_in.data = r->server_out.data = r->client_err.data =
        r->timer.data = r;
    r->open_handles = 4;
    if (!rel.ok() || port == 0) {
      r->relay = nullptr;
      fail_early(*r);
      return;
    }
    r->relay = std::move(rel).value();
    std::vector<std::string> args = {o_.openssl, "s_server"};
    for (auto& a : common_args(files_.server_cert, files_.server_key))
      args.push_back(a);
    for (const char* a : {"-listen", "-naccept", "1", "-verify", "1", "-port"})
      args.push_back(a);
    args.push_back(std::to_string(port));
    if (!spawn(*r, &r->server, &r->server_in, &r->server_out, 1, args,
               server_exit)) {
      fail_early(*r);
      return;
    }
    r->server_running = true;
    uv_read_start(reinterpret_cast<uv_stream_t*>(&r->server_out), alloc,
                  server_read);
    // A handshake that outlives the timeout fails.
    uv_timer_start(
        &r->timer,
        [](uv_timer_t* t) {
          auto* run = static_cast<OpensslRun*>(t->data);
          run->driver->finish(*run, false);
        },
        static_cast<std::uint64_t>(o_.timeout_s * 1000), 0);
  }

  // Before any process runs: the run fails and its handles close.
  void fail_early(OpensslRun& r) {
    Tally& t = tallies_[r.point];
    t.failures++;
    r.finished = true;
    r.relay.reset();
    close_handle(&r.server_in);
    close_handle(&r.server_out);
    close_handle(&r.client_err);
    close_handle(&r.timer);
    if (++finished_count_ == total()) {
      uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
      finished_.set_value();
    }
  }

  static void server_exit(uv_process_t* p, int64_t, int) {
    auto* r = static_cast<OpensslRun*>(p->data);
    r->server_running = false;
    // s_server gone before the handshake (a port taken meanwhile): failed.
    if (!r->finished) r->driver->finish(*r, false);
    close_handle(p);
  }

  static void client_exit(uv_process_t* p, int64_t, int) {
    auto* r = static_cast<OpensslRun*>(p->data);
    r->client_running = false;
    if (!r->finished) r->driver->finish(*r, false);
    close_handle(p);
  }

  static void server_read(uv_stream_t* s, ssize_t n, const uv_buf_t* b) {
    auto* r = static_cast<OpensslRun*>(s->data);
    if (n <= 0 || r->finished) return;
    r->server_text.append(b->base, static_cast<size_t>(n));
    // s_server prints ACCEPT once it waits for a ClientHello.
    if (!r->client_spawned &&
        r->server_text.find("ACCEPT") != std::string::npos) {
      r->client_spawned = true;
      r->driver->spawn_client(*r);
    }
  }

  static void client_read(uv_stream_t* s, ssize_t n, const uv_buf_t* b) {
    auto* r = static_cast<OpensslRun*>(s->data);
    if (n <= 0 || r->finished) return;
    r->client_text.append(b->base, static_cast<size_t>(n));
    if (r->client_text.find("CONNECTION ESTABLISHED") != std::string::npos)
      r->driver->finish(*r, true);
  }

  void spawn_client(OpensslRun& r) {
    std::vector<std::string> args = {o_.openssl, "s_client"};
    for (auto& a : common_args(files_.client_cert, files_.client_key))
      args.push_back(a);
    args.push_back("-brief");
    args.push_back("-connect");
    args.push_back(r.relay->address().to_string());
    if (!spawn(r, &r.client, nullptr, &r.client_err, 2, args, client_exit)) {
      finish(r, false);
      return;
    }
    r.client_running = true;
    uv_read_start(reinterpret_cast<uv_stream_t*>(&r.client_err), alloc,
                  client_read);
  }

  EventLoop& loop_;
  const std::vector<Point>& points_;
  const LossyOptions& o_;
  Files files_;
  std::vector<Tally> tallies_;
  std::vector<int> started_;
  TimePoint t0_;
  uv_timer_t timer_{};
  int finished_count_ = 0;
  std::promise<void> finished_;
};

Result<Files> write_files(const Identity& server, const Identity& client) {
  char dir[] = "/tmp/dtls-srtp-lossy-XXXXXX";
  if (mkdtemp(dir) == nullptr)
    return make_error("ERR_FS_WRITE", "cannot make a temporary directory");
  Files f{dir, std::string(dir) + "/server.pem",
          std::string(dir) + "/server.key", std::string(dir) + "/client.pem",
          std::string(dir) + "/client.key"};
  const std::pair<const std::string*, const std::string*> files[] = {
      {&f.server_cert, &server.cert},
      {&f.server_key, &server.key},
      {&f.client_cert, &client.cert},
      {&f.client_key, &client.key}};
  for (const auto& [path, text] : files) {
    std::ofstream out(*path);
    out << *text;
    if (!out) return make_error("ERR_FS_WRITE", "cannot write " + *path);
  }
  return f;
}

void remove_files(const Files& f) {
  for (const std::string* p :
       {&f.server_cert, &f.server_key, &f.client_cert, &f.client_key}) {
    unlink(p->c_str());
  }
  rmdir(f.dir.c_str());
}

std::string openssl_version(const std::string& binary) {
  std::string cmd = binary + " version 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return {};
  char line[256] = {};
  std::string out;
  if (fgets(line, sizeof(line), p) != nullptr) out = line;
  pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r'))
    out.pop_back();
  return out;
}

}  // namespace

double LossyResult::p99_over_fixed(const LossyPoint& p) const {
  for (const LossyPoint& f : points) {
    if (f.stack == "fixed" && f.rtt_ms == p.rtt_ms &&
        std::abs(f.loss - p.loss) < 1e-9 && f.p99_ms > 0) {
      return p.p99_ms / f.p99_ms;
    }
  }
  return 0;
}

Result<LossyResult> run_lossy_bench(const LossyOptions& o,
                                    const LossyProgress& progress) {
  if (o.handshakes < 0 || o.openssl_handshakes < 0 || o.rtts_ms.empty() ||
      o.losses.empty() || !(o.spread_s > 0) || !(o.timeout_s > 0)) {
    return make_error("ERR_INVALID_ARG_VALUE",
                      "lossy: counts must be >= 0, spread and timeout > 0, "
                      "and at least one RTT and one loss rate");
  }
  for (int rtt : o.rtts_ms) {
    if (rtt < 0 || rtt > 10000)
      return make_error("ERR_OUT_OF_RANGE", "lossy: RTT must be 0..10000 ms");
  }
  for (double loss : o.losses) {
    if (!(loss >= 0 && loss < 1))
      return make_error("ERR_OUT_OF_RANGE", "lossy: loss must be 0..<1");
  }
  LossyResult result;
  result.timeout_s = o.timeout_s;
  std::vector<Point> points;
  for (int rtt : o.rtts_ms) {
    for (double loss : o.losses) {
      points.push_back(
          {rtt, loss,
           o.seed * 1000 + static_cast<std::uint64_t>(points.size())});
    }
  }
  auto s_id = identity(), c_id = identity();
  if (!s_id.ok()) return s_id.error();
  if (!c_id.ok()) return c_id.error();
  const double timeout_ms = o.timeout_s * 1000;

  if (o.handshakes > 0) {
    auto server_loop = EventLoop::start("lossy-server");
    auto client_loop = EventLoop::start("lossy-client");
    auto relay_loop = EventLoop::start("lossy-relay");
    if (!server_loop.ok()) return server_loop.error();
    if (!client_loop.ok()) return client_loop.error();
    if (!relay_loop.ok()) return relay_loop.error();
    std::vector<std::unique_ptr<OurRun>> runs;
    for (const Point& p : points) {
      for (const Schedule& schedule : kSchedules) {
        auto run = std::make_unique<OurRun>();
        run->point = p;
        run->schedule = &schedule;
        runs.push_back(std::move(run));
      }
    }
    // The server runs the same schedule as its clients.
    auto configure = [&](SecureOptions& so, const Schedule& schedule) {
      so.srtp = kProfile;
      so.require_srtp = true;
      so.ciphers = kCipher;
      so.adaptive_retransmit = schedule.adaptive;
      so.retransmit_initial = schedule.initial;
      so.handshake_timeout = milliseconds(static_cast<long long>(timeout_ms));
    };
    for (auto& run : runs) {
      ListenOptions lo;
      configure(lo, *run->schedule);
      lo.cert = s_id->cert;
      lo.key = s_id->key;
      lo.fingerprints = {c_id->fingerprint};
      lo.host = "127.0.0.1";
      lo.port = 0;
      // A client whose close_notify was lost leaves its session behind.
      lo.idle_timeout = std::chrono::seconds(5);
      // Every client comes through one relay address per point.
      lo.max_half_open_per_address = 65535;
      OurRun* r = run.get();
      auto e = listen(
          **server_loop,
          [r](Session s) {
            s.on_opened([r, s](const Result<std::string>& res) mutable {
              if (res.ok()) r->server_retransmits += s.stats().retransmit_count;
            });
          },
          lo);
      if (!e.ok()) return e.error();
      run->endpoint = *e;
      auto target = PeerAddress::parse("127.0.0.1", e->address().port);
      // A loopback address per run (127.0.0.0/8 is all the machine's), so
      // that the client loop's round-trip memory, kept per host, is per run.
      const size_t i = static_cast<size_t>(&run - runs.data());
      run->relay_host = "127.0." + std::to_string(1 + i / 200) + "." +
                        std::to_string(10 + i % 200);
      auto rel = (*relay_loop)->dispatcher()->call([&] {
        return relay::ImpairingRelay::create(
            (*relay_loop)->uv(), *PeerAddress::parse(run->relay_host, 0),
            *target, run->point.relay_config());
      });
      if (!rel.ok()) return rel.error();
      run->relay = std::move(rel).value();
      run->relay_port = run->relay->address().port();
    }
    ConnectOptions base;
    configure(base, kSchedules[0]);
    base.cert = c_id->cert;
    base.key = c_id->key;
    base.fingerprints = {s_id->fingerprint};
    if (progress) {
      progress("lossy: " + std::to_string(o.handshakes) +
               " handshakes per point and schedule through the relay, " +
               std::to_string(runs.size()) + " points at once");
    }
    OurDriver driver(**client_loop, runs, o, base);
    driver.start().wait();
    for (auto& run : runs) {
      run->tally.retransmits += run->server_retransmits.load();
      const relay::RelayStats s = (*relay_loop)->dispatcher()->call([&] {
        return run->relay->stats();
      });
      run->tally.datagrams = s.to_target.offered + s.to_client.offered;
      result.points.push_back(
          summarize(run->schedule->name, run->point, run->tally, timeout_ms));
      (*relay_loop)->dispatcher()->call([&] { run->relay.reset(); });
    }
    (*client_loop)->stop();
    (*server_loop)->stop();
    (*relay_loop)->stop();
  }

  if (o.openssl_handshakes > 0) {
    result.openssl_version = openssl_version(o.openssl);
    if (result.openssl_version.empty()) {
      return make_error("ERR_LOSSY_OPENSSL",
                        "lossy: cannot run '" + o.openssl +
                            " version' for the reference (--lossy-openssl 0 "
                            "skips it)");
    }
    auto files = write_files(*s_id, *c_id);
    if (!files.ok()) return files.error();
    auto loop = EventLoop::start("lossy-openssl");
    if (!loop.ok()) return loop.error();
    if (progress) {
      progress("lossy: " + std::to_string(o.openssl_handshakes) +
               " openssl s_client/s_server handshakes per point (" +
               result.openssl_version + ")");
    }
    OpensslDriver driver(**loop, points, o, *files);
    driver.start().wait();
    (*loop)->stop();
    remove_files(*files);
    for (size_t i = 0; i < points.size(); ++i) {
      result.points.push_back(
          summarize("openssl", points[i], driver.tallies()[i], timeout_ms));
    }
  }
  std::stable_sort(result.points.begin(), result.points.end(),
                   [](const LossyPoint& a, const LossyPoint& b) {
                     return a.rtt_ms != b.rtt_ms ? a.rtt_ms < b.rtt_ms
                                                 : a.loss < b.loss;
                   });
  return result;
}

}  // namespace dtls::bench
