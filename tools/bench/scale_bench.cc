#include "tools/bench/scale_bench.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "tools/bench/connect_driver.h"
#include "tools/bench/openssl_memory.h"

namespace dtls::bench {
namespace {

std::string read_file(const std::string& path) {
  std::string out;
  if (FILE* f = std::fopen(path.c_str(), "rb")) {
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
    std::fclose(f);
  }
  return out;
}

bool write_file(const std::string& path, const std::string& text) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return false;
  bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  return std::fclose(f) == 0 && ok;
}

// One child process holding `count` idle clients.
struct IdleChild {
  pid_t pid = -1;
  int to_child = -1, from_child = -1;
};

Result<IdleChild> spawn_idle_child(const std::string& self, std::uint16_t port,
                                   int count, const std::string& cert,
                                   const std::string& key,
                                   const std::string& fingerprint) {
  // Close-on-exec: a later child must not inherit this one's standard input,
  // or closing it here would not reach this child.
  int to_child[2], from_child[2];
  if (pipe2(to_child, O_CLOEXEC) != 0)
    return make_error("ERR_BENCH_CHILD", "pipe failed");
  if (pipe2(from_child, O_CLOEXEC) != 0) {
    close(to_child[0]);
    close(to_child[1]);
    return make_error("ERR_BENCH_CHILD", "pipe failed");
  }
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(to_child[0], 0);
    dup2(from_child[1], 1);
    close(to_child[1]);
    close(from_child[0]);
    const std::string p = std::to_string(port), n = std::to_string(count);
    execl(self.c_str(), self.c_str(), "bench-idle-clients", p.c_str(),
          n.c_str(), cert.c_str(), key.c_str(), fingerprint.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(to_child[0]);
  close(from_child[1]);
  if (pid < 0) {
    close(to_child[1]);
    close(from_child[0]);
    return make_error("ERR_BENCH_CHILD", "fork failed");
  }
  return IdleChild{pid, to_child[1], from_child[0]};
}

// The child's "ready <opened> <failed>" line; false when it did not come.
bool read_ready(const IdleChild& c, int& opened, int& failed) {
  std::string line;
  char ch;
  while (read(c.from_child, &ch, 1) == 1 && ch != '\n') line += ch;
  return std::sscanf(line.c_str(), "ready %d %d", &opened, &failed) == 2;
}

void end_child(IdleChild& c) {
  if (c.to_child >= 0) close(c.to_child);  // it closes its sessions and exits
  if (c.from_child >= 0) close(c.from_child);
  int status = 0;
  if (c.pid > 0) waitpid(c.pid, &status, 0);
  c = IdleChild{};
}

}  // namespace

int idle_clients_per_process() {
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) != 0) return 1000;
  if (files.rlim_max == RLIM_INFINITY) return 8000;
  const long long room = static_cast<long long>(files.rlim_max) - 128;
  return static_cast<int>(std::clamp<long long>(room, 100, 8000));
}

double MemoryResult::handshake_ratio() const {
  std::vector<double> v;
  for (const Slice& s : slices) {
    if (s.empty_per_s <= 0) return 0;
    v.push_back(s.idle_per_s / s.empty_per_s);
  }
  return median(std::move(v));
}

Result<MemoryResult> idle_sessions_phase(const ScaleSetup& setup) {
  MemoryResult m;
  EventLoop& server = *setup.server;
  // The floor first, on this thread: everything it made is freed and the
  // heap trimmed before our own figure starts.
  if (setup.floor_sessions > 0) {
    auto floor = openssl_session_floor(setup.floor_sessions);
    if (!floor.ok()) return floor.error();
    m.floor_sessions = floor->sessions;
    m.floor_kib_per_session = floor->kib_per_session;
  }
  char dir_template[] = "/tmp/dtls-srtp-bench-XXXXXX";
  if (mkdtemp(dir_template) == nullptr)
    return make_error("ERR_FS_WRITE", "cannot make a temporary folder");
  const std::string dir = dir_template;
  const std::string cert = dir + "/cert.pem", key = dir + "/key.pem";
  if (!write_file(cert, setup.client.cert) ||
      !write_file(key, setup.client.key)) {
    return make_error("ERR_FS_WRITE", "cannot write the client's files");
  }
  const std::string self =
      setup.self_path.empty() ? std::string("/proc/self/exe") : setup.self_path;
  // Settle the server's heap first: what the earlier phases left is not
  // the sessions' cost.
  malloc_trim(0);
  server.dispatcher()->call([] { malloc_trim(0); });
  m.rss_before_kib = rss_kib();
  const double heap_before = heap_in_use_kib();
  std::vector<IdleChild> children;
  Status failed = Status();
  const int per_process = idle_clients_per_process();
  for (int left = setup.idle_sessions; left > 0; left -= per_process) {
    auto c = spawn_idle_child(self, setup.port, std::min(left, per_process),
                              cert, key, setup.server_fingerprint);
    if (!c.ok()) {
      failed = c.error();
      break;
    }
    children.push_back(*c);
  }
  int opened = 0;
  for (IdleChild& c : children) {
    int ok = 0, bad = 0;
    if (!read_ready(c, ok, bad) && failed.ok()) {
      failed = make_error("ERR_BENCH_CHILD", "an idle-client process failed");
    }
    opened += ok;
    m.failures += bad;
  }
  m.client_processes = static_cast<int>(children.size());
  if (failed.ok()) {
    // Idle for a moment, so that nothing in flight is counted.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    m.rss_after_kib = rss_kib();
    m.sessions = opened;
    if (opened > 0) {
      m.kib_per_session = (m.rss_after_kib - m.rss_before_kib) / opened;
      m.heap_kib_per_session = (heap_in_use_kib() - heap_before) / opened;
    }
    // Idle: what the server's loop spends with nothing to do but hold them.
    const double c0 = loop_cpu(server);
    const auto t0 = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(std::chrono::seconds(1));
    m.idle_cpu_ms_per_s = (loop_cpu(server) - c0) * 1e3 / seconds_since(t0);
    m.idle_deadlines = stats_of(*setup.endpoint).deadlines;
    // Handshakes beside them: the same load against this endpoint and an
    // empty one on the same loop, alternating, so that a change of the VM's
    // pace moves one slice.
    for (int i = 0; i < setup.slices && setup.handshake_rate; ++i) {
      MemoryResult::Slice slice;
      auto empty = setup.handshake_rate(setup.empty_port);
      if (!empty.ok()) {
        failed = empty.error();
        break;
      }
      auto idle = setup.handshake_rate(setup.port);
      if (!idle.ok()) {
        failed = idle.error();
        break;
      }
      slice.empty_per_s = *empty;
      slice.idle_per_s = *idle;
      m.slices.push_back(slice);
    }
  }
  for (IdleChild& c : children) end_child(c);
  unlink(cert.c_str());
  unlink(key.c_str());
  rmdir(dir.c_str());
  if (!failed.ok()) return failed.error();
  // The server ends those sessions as the children close them; wait for that
  // so the next phase starts from an idle endpoint.
  for (int i = 0; i < 2000 && state_of(*setup.endpoint).session_count > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return m;
}

// Half-open handshakes: `count` peers on this thread that answer the
// server's cookie (RFC 6347 §4.2.1) and then go silent, each with its own
// socket, kept open so that the server's flights are not refused. Adds the
// server's RSS growth per half-open handshake to `m`. The server ends them
// after its half_open_timeout.
void half_open_phase(int count, EventLoop& server, const Endpoint& endpoint,
                     std::uint16_t port, MemoryResult& m) {
  DtlsContextOptions co;
  co.srtp_profiles = "SRTP_AES128_CM_SHA1_80";
  auto ctx = DtlsContext::create(co);
  if (!ctx.ok()) {
    m.half_open_failures = count;
    return;
  }
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  server.dispatcher()->call([] { malloc_trim(0); });
  const double before = rss_kib();
  const std::uint64_t held_before = stats_of(endpoint).half_open;
  std::vector<int> fds;
  std::vector<std::uint8_t> out, in(2048);
  for (int i = 0; i < count; ++i) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    timeval wait{1, 0};
    if (fd < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof(wait)) != 0 ||
        connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof(to)) != 0) {
      if (fd >= 0) close(fd);
      m.half_open_failures++;
      continue;
    }
    fds.push_back(fd);
    auto a = DtlsAssociation::connect(*ctx, {}, Clock::now());
    bool sent = false;
    if (a.ok() && (*a)->pop_datagram(out) &&
        send(fd, out.data(), out.size(), 0) > 0) {
      ssize_t n = recv(fd, in.data(), in.size(), 0);
      if (n > 0) {
        (*a)->handle_datagram({in.data(), static_cast<size_t>(n)},
                              Clock::now());
        // The ClientHello with the cookie, and nothing after it.
        sent =
            (*a)->pop_datagram(out) && send(fd, out.data(), out.size(), 0) > 0;
      }
    }
    if (!sent) m.half_open_failures++;
  }
  const std::uint64_t expected =
      held_before + static_cast<std::uint64_t>(count - m.half_open_failures);
  for (int i = 0; i < 300 && stats_of(endpoint).half_open < expected; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const std::uint64_t held = stats_of(endpoint).half_open - held_before;
  m.half_open = static_cast<int>(held);
  m.kib_per_half_open = held > 0 ? (rss_kib() - before) / double(held) : 0;
  for (int fd : fds) close(fd);
}

int run_idle_clients(std::uint16_t port, int count,
                     const std::string& cert_file, const std::string& key_file,
                     const std::string& server_fingerprint) {
  // A socket per session: as many descriptors as the hard limit allows.
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 &&
      files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
  SecureOptions material;
  material.cert = read_file(cert_file);
  material.key = read_file(key_file);
  material.srtp = "SRTP_AEAD_AES_128_GCM";
  auto ctx = create_secure_context(material);
  auto loop = EventLoop::start();
  if (!ctx.ok() || !loop.ok()) {
    std::printf("error %s\n",
                ctx.ok() ? "no loop" : ctx.error().to_string().c_str());
    std::fflush(stdout);
    return 1;
  }
  ConnectOptions co;
  co.secure_context = *ctx;
  co.fingerprints = {server_fingerprint};
  ConnectDriver d(loop->get(), port, co, count, /*keep=*/true);
  loop->get()->dispatcher()->call([&] { d.start(32); });
  d.finished.get_future().wait();
  const int failures =
      loop->get()->dispatcher()->call([&] { return d.failures; });
  std::printf("ready %d %d\n", count - failures, failures);
  std::fflush(stdout);
  char c;
  while (read(0, &c, 1) > 0) {
  }
  loop->get()->dispatcher()->call([&] { d.open.clear(); });
  (*loop)->stop();
  return 0;
}

}  // namespace dtls::bench
