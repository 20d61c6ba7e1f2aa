#include "tools/bench/loopback_bench.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <thread>

#include "srtp/libsrtp_policy.h"
#include "srtp/srtp_context.h"
#include "tools/bench/bench_support.h"
#include "tools/bench/connect_driver.h"
#include "tools/bench/openssl_memory.h"
#include "transport/dtls_api.h"
#include "transport/io/receive_batch.h"
#include "transport/io/send_batch.h"

namespace dtls::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;

// Pins the loop's thread to `cpu`, or back to `mask` (sched_setaffinity on
// the loop thread itself). False when the kernel refuses.
bool pin_loop(EventLoop& loop, const cpu_set_t& mask) {
  return loop.dispatcher()->call(
      [&] { return sched_setaffinity(0, sizeof(mask), &mask) == 0; });
}

// The first two CPUs this process may run on, with both loops pinned to
// them; CorePair{} when there is one CPU or the kernel refuses.
CorePair pin_media_loops(EventLoop& server, EventLoop& client) {
  cpu_set_t all;
  if (sched_getaffinity(0, sizeof(all), &all) != 0) return {};
  const std::vector<int> cpus = allowed_cpus(2);
  if (cpus.size() < 2) return {};
  CorePair c;
  c.sender = cpus[0];
  c.receiver = cpus[1];
  cpu_set_t tx, rx;
  CPU_ZERO(&tx);
  CPU_ZERO(&rx);
  CPU_SET(c.sender, &tx);
  CPU_SET(c.receiver, &rx);
  if (!pin_loop(client, tx) || !pin_loop(server, rx)) {
    pin_loop(client, all);
    pin_loop(server, all);
    return {};
  }
  return c;
}

// `client` may be one of `servers`: then client_cpu_s is 0 and server_cpu_s
// holds both ends. Each handshake's latency is appended to `latencies` when
// given.
Result<HandshakeResult> handshake_phase(
    const BenchOptions& o, const std::vector<EventLoop*>& servers,
    EventLoop& client, std::uint16_t port, const ConnectOptions& co,
    std::vector<double>* latencies = nullptr) {
  HandshakeResult r;
  r.workers = static_cast<int>(servers.size());
  const bool shared =
      std::find(servers.begin(), servers.end(), &client) != servers.end();
  ConnectDriver d(&client, port, co, o.handshakes, /*keep=*/false);
  auto server_cpu = [&] {
    double sum = 0;
    for (EventLoop* s : servers) sum += loop_cpu(*s);
    return sum;
  };
  const double s0 = server_cpu(), c0 = loop_cpu(client);
  const auto t0 = SteadyClock::now();
  client.dispatcher()->call([&] { d.start(o.concurrency); });
  d.finished.get_future().wait();
  r.seconds = seconds_since(t0);
  r.server_cpu_s = server_cpu() - s0;
  r.client_cpu_s = shared ? 0 : loop_cpu(client) - c0;
  r.count = o.handshakes;
  r.failures = client.dispatcher()->call([&] { return d.failures; });
  r.reused = client.dispatcher()->call([&] { return d.reused; });
  r.retransmits = client.dispatcher()->call([&] { return d.retransmits; });
  r.per_second = r.seconds > 0 ? (r.count - r.failures) / r.seconds : 0;
  auto lat = client.dispatcher()->call([&] { return d.latencies_ms; });
  r.p50_ms = percentile(lat, 0.50);
  r.p99_ms = percentile(lat, 0.99);
  if (latencies) latencies->insert(latencies->end(), lat.begin(), lat.end());
  return r;
}

// The one-core handshake figure (BenchResult::handshake_one_core): `server`
// is already pinned to `cpu`; the clients run on it too.
Result<HandshakeResult> one_core_phase(const BenchOptions& o, EventLoop& server,
                                       int cpu, std::uint16_t port,
                                       const ConnectOptions& co) {
  HandshakeResult all;
  std::vector<double> latencies;
  for (int i = 0; i < std::max(1, o.repeats); ++i) {
    HandshakeResult::Slice slice;
    if (o.ceilings) {
      auto c = openssl_memory_handshakes_per_second(
          std::max(50, o.handshakes / 2), cpu);
      if (!c.ok()) return c.error();
      slice.ceiling_per_s = *c;
    }
    auto r = handshake_phase(o, {&server}, server, port, co, &latencies);
    if (!r.ok()) return r.error();
    all.count += r->count;
    all.failures += r->failures;
    all.retransmits += r->retransmits;
    all.seconds += r->seconds;
    all.server_cpu_s += r->server_cpu_s;
    slice.ours_per_s = r->per_second;
    if (o.ceilings) all.slices.push_back(slice);
  }
  all.per_second =
      all.seconds > 0 ? (all.count - all.failures) / all.seconds : 0;
  all.p50_ms = percentile(latencies, 0.50);
  all.p99_ms = percentile(latencies, 0.99);
  std::vector<double> ceilings;
  for (const auto& sl : all.slices) ceilings.push_back(sl.ceiling_per_s);
  all.ceiling_per_second = median(std::move(ceilings));
  return all;
}

// Counts what the server's sessions deliver (server loop only).
struct Receiver {
  std::uint64_t rtp = 0;
};

// One media point: S sessions send flat out. The time is cut into `repeats`
// slices, each right after a slice of the raw UDP ceiling (when asked for), so
// that a noisy neighbour weighs on both figures of the ratio alike.
Result<MediaResult> media_point(const BenchOptions& o, EventLoop& server,
                                EventLoop& client, std::uint16_t port,
                                ConnectOptions co, const std::string& profile,
                                size_t payload, size_t datagram,
                                Receiver& receiver, CorePair cores) {
  MediaResult m;
  m.profile = profile;
  m.payload = payload;
  if (o.ceilings) {
    // On the sender's core: protect and unprotect on one core is the
    // crypto's share of both sides.
    auto c = libsrtp_protect_unprotect_pps(
        profile, payload, std::max(0.2, o.duration_s / 3), cores.sender);
    if (!c.ok()) return c.error();
    m.srtp_ceiling_pps = *c;
  }
  std::vector<Session> sessions;
  for (int i = 0; i < o.sessions; ++i) {
    auto s = connect(client, "127.0.0.1", port, co);
    if (!s.ok()) return s.error();
    sessions.push_back(*s);
  }
  for (auto& s : sessions) {
    if (s.opened().wait_for(std::chrono::seconds(10)) !=
        std::future_status::ready) {
      return make_error("ERR_BENCH_HANDSHAKE", "a media session did not open");
    }
    if (!s.opened().get().ok()) return s.opened().get().error();
  }
  std::vector<std::vector<std::uint8_t>> packets;
  for (size_t i = 0; i < sessions.size(); ++i)
    packets.push_back(rtp_packet(payload, 0x1000u + static_cast<unsigned>(i)));
  const int repeats = std::max(1, o.repeats);
  const double slice = o.duration_s / repeats;
  std::uint16_t seq = 0;
  double udp_seconds = 0, udp_packets = 0;
  for (int r = 0; r < repeats; ++r) {
    double udp_pps = 0;
    if (o.ceilings) {
      udp_pps =
          udp_loopback_pps(datagram, slice, std::clamp(o.send_batch, 1, 32),
                           cores, {o.recv_buffer, o.udp_offload});
      udp_packets += udp_pps * slice;
      udp_seconds += slice;
    }
    server.dispatcher()->call([&] { receiver.rtp = 0; });
    const double r0 = loop_cpu(server);
    // The sender: one loop turn that sends flat out for the slice.
    struct Sent {
      std::uint64_t packets = 0;
      double seconds = 0, cpu = 0;
    };
    Sent sent = client.dispatcher()->call([&] {
      Sent out;
      const double cpu0 = thread_cpu_seconds();
      const auto t0 = SteadyClock::now();
      const auto end = t0 + std::chrono::duration<double>(slice);
      const int batch = std::clamp(o.send_batch, 1, 32);
      while (SteadyClock::now() < end) {
        if (batch == 1) {
          for (int burst = 0; burst < 16; ++burst) {
            ++seq;
            for (size_t i = 0; i < sessions.size(); ++i) {
              packets[i][2] = static_cast<std::uint8_t>(seq >> 8);
              packets[i][3] = static_cast<std::uint8_t>(seq);
              if (sessions[i].send_rtp(packets[i]).ok()) ++out.packets;
            }
          }
          continue;
        }
        // Each session's burst leaves in one sendmmsg (its own socket).
        for (size_t i = 0; i < sessions.size(); ++i) {
          sessions[i].cork();
          for (int k = 0; k < batch; ++k) {
            const std::uint16_t s = static_cast<std::uint16_t>(seq + k + 1);
            packets[i][2] = static_cast<std::uint8_t>(s >> 8);
            packets[i][3] = static_cast<std::uint8_t>(s);
            if (sessions[i].send_rtp(packets[i]).ok()) ++out.packets;
          }
          sessions[i].uncork();
        }
        seq = static_cast<std::uint16_t>(seq + batch);
      }
      out.seconds = seconds_since(t0);
      out.cpu = thread_cpu_seconds() - cpu0;
      return out;
    });
    // Let the receiver drain what is in flight.
    std::uint64_t got = 0;
    for (int i = 0; i < 100; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      std::uint64_t now =
          server.dispatcher()->call([&] { return receiver.rtp; });
      if (now == got && i > 2) break;
      got = now;
    }
    m.receiver_cpu_s += loop_cpu(server) - r0;
    if (o.ceilings && sent.seconds > 0)
      m.slices.push_back({static_cast<double>(got) / sent.seconds, udp_pps});
    m.sent += sent.packets;
    m.received += got;
    m.seconds += sent.seconds;
    m.sender_cpu_s += sent.cpu;
  }
  m.sent_pps = m.sent / m.seconds;
  m.received_pps = m.received / m.seconds;
  m.gbit_per_s = m.received_pps * static_cast<double>(payload) * 8 / 1e9;
  m.loss = m.sent ? 1.0 - static_cast<double>(m.received) /
                              static_cast<double>(m.sent)
                  : 0;
  if (udp_seconds > 0) m.udp_ceiling_pps = udp_packets / udp_seconds;
  for (auto& s : sessions) s.close();
  return m;
}

}  // namespace

namespace {

double lower_ceiling(double udp, double srtp) {
  if (udp <= 0) return srtp;
  if (srtp <= 0) return udp;
  return std::min(udp, srtp);
}

double serial_bound(double udp, double srtp) {
  return udp > 0 && srtp > 0 ? 1 / (1 / udp + 1 / (2 * srtp)) : 0;
}

// The median over slices of ours / f(that slice's UDP ceiling); 0 when a
// slice has no ceiling.
template <class F>
double slice_median(const std::vector<MediaResult::Slice>& slices, F&& f) {
  std::vector<double> v;
  for (const auto& s : slices) {
    const double c = f(s.udp_pps);
    if (c <= 0) return 0;
    v.push_back(s.ours_pps / c);
  }
  return median(std::move(v));
}

}  // namespace

double HandshakeResult::ratio() const {
  if (!slices.empty()) {
    std::vector<double> v;
    for (const Slice& s : slices) {
      if (s.ceiling_per_s <= 0) return 0;
      v.push_back(s.ours_per_s / s.ceiling_per_s);
    }
    return median(std::move(v));
  }
  return ceiling_per_second > 0 ? per_second / ceiling_per_second : 0;
}

double MediaResult::ceiling_pps() const {
  return lower_ceiling(udp_ceiling_pps, srtp_ceiling_pps);
}

double MediaResult::ratio() const {
  if (!slices.empty()) {
    return slice_median(slices, [&](double udp) {
      return lower_ceiling(udp, srtp_ceiling_pps);
    });
  }
  double c = ceiling_pps();
  return c > 0 ? received_pps / c : 0;
}

double MediaResult::serial_bound_pps() const {
  return serial_bound(udp_ceiling_pps, srtp_ceiling_pps);
}

double MediaResult::bound_ratio() const {
  if (!slices.empty()) {
    return slice_median(slices, [&](double udp) {
      return serial_bound(udp, srtp_ceiling_pps);
    });
  }
  const double b = serial_bound_pps();
  return b > 0 ? received_pps / b : 0;
}

// What the kernel makes of an SO_RCVBUF request, on a socket of our own.
int granted_receive_buffer(size_t asked) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return 0;
  int bytes = static_cast<int>(asked);
  if (asked > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
  socklen_t len = sizeof(bytes);
  if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, &len) != 0) bytes = 0;
  close(fd);
  return bytes;
}

// One sender thread, one receiver thread, with the batching our endpoints
// use: `send_batch` datagrams per send call (send, or sendmmsg as a corked
// endpoint sends), up to 16 per receive call (recvmmsg, as listening
// endpoints receive).
double udp_loopback_pps(size_t datagram, double seconds, int send_batch,
                        CorePair cores, UdpCeilingSetup setup) {
  int rx = socket(AF_INET, SOCK_DGRAM, 0);
  int tx = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  bind(rx, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  getsockname(rx, reinterpret_cast<sockaddr*>(&a), &len);
  connect(tx, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  std::atomic<bool> stop{false};
  std::uint64_t received = 0;
  // Received as a listening endpoint receives: recvmmsg of 16 messages
  // through a ReceiveBatch, with the same coalescing (UDP GRO).
  ReceiveBatch in(16);
  if (setup.offload) ReceiveBatch::enable_coalescing(rx);
  if (setup.recv_buffer > 0) {
    const int bytes = static_cast<int>(setup.recv_buffer);
    setsockopt(rx, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
  }
  std::thread receiver([&] {
    pin_this_thread(cores.receiver);
    pollfd p{rx, POLLIN, 0};
    while (!stop.load(std::memory_order_relaxed)) {
      ReceiveBatch::Received r = in.receive(rx);
      if (r.error == -EAGAIN) {
        // Sleeps as the endpoint's loop does (epoll), at most 100 ms.
        ::poll(&p, 1, 100);
        continue;
      }
      received += r.datagrams;
    }
  });
  std::vector<char> payload(datagram, 0x5a);
  // Batches go out as our endpoints send them: a SendBatch, so sendmmsg with
  // the same segmentation (UDP GSO) of runs to one destination.
  const size_t batch = static_cast<size_t>(
      std::clamp<int>(send_batch, 1, static_cast<int>(SendBatch::kCapacity)));
  SendBatch out;
  out.set_segmentation(setup.offload);
  for (size_t i = 0; i < batch && datagram <= SendBatch::kSlotSize; ++i) {
    std::copy(payload.begin(), payload.end(), out.next_slot().begin());
    out.commit(payload.size(), nullptr);
  }
  // Its own thread, so that pinning it leaves the caller alone.
  std::thread sender([&] {
    pin_this_thread(cores.sender);
    const auto end =
        SteadyClock::now() + std::chrono::duration<double>(seconds);
    while (SteadyClock::now() < end) {
      if (batch == 1 || out.empty()) {
        for (int i = 0; i < 16; ++i)
          send(tx, payload.data(), payload.size(), 0);
      } else {
        for (size_t from = 0; from < out.size();) {
          SendBatch::Sent sent = out.send(tx, from);
          from += sent.count + (sent.error != 0 && sent.error != -EAGAIN);
        }
      }
    }
  });
  sender.join();
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  stop = true;
  receiver.join();
  close(rx);
  close(tx);
  return static_cast<double>(received) / seconds;
}

Result<double> libsrtp_protect_unprotect_pps(const std::string& profile_name,
                                             size_t payload, double seconds,
                                             int cpu) {
  if (cpu >= 0) {
    return on_cpu(cpu, [&] {
      return libsrtp_protect_unprotect_pps(profile_name, payload, seconds, -1);
    });
  }
  auto profile = srtp::profile_from_name(profile_name);
  if (!profile) return make_error("ERR_INVALID_ARG_VALUE", "unknown profile");
  if (Status s = srtp::ensure_initialized(); !s.ok()) return s.error();
  const srtp::ProfileInfo& info = srtp::profile_info(*profile);
  std::vector<std::uint8_t> master(info.key_length + info.salt_length, 0x42);
  srtp_t tx = nullptr, rx = nullptr;
  if (srtp::create_libsrtp_session(&tx, *profile, master, true, 1024, true) !=
          srtp_err_status_ok ||
      srtp::create_libsrtp_session(&rx, *profile, master, false, 1024, true) !=
          srtp_err_status_ok) {
    if (tx) srtp_dealloc(tx);
    return make_error("ERR_SRTP_INIT", "libsrtp refused the session");
  }
  std::vector<std::uint8_t> packet = rtp_packet(payload, 7);
  packet.resize(packet.size() + srtp::kMaxTrailer);
  std::uint64_t n = 0;
  std::uint32_t seq = 0;
  const auto t0 = SteadyClock::now();
  const auto end = t0 + std::chrono::duration<double>(seconds);
  bool ok = true;
  while (ok && SteadyClock::now() < end) {
    for (int i = 0; i < 64 && ok; ++i) {
      ++seq;
      packet[2] = static_cast<std::uint8_t>(seq >> 8);
      packet[3] = static_cast<std::uint8_t>(seq);
      int len = static_cast<int>(12 + payload);
      ok = srtp_protect(tx, packet.data(), &len) == srtp_err_status_ok &&
           srtp_unprotect(rx, packet.data(), &len) == srtp_err_status_ok;
      ++n;
    }
  }
  const double elapsed = seconds_since(t0);
  srtp_dealloc(tx);
  srtp_dealloc(rx);
  if (!ok) return make_error("ERR_SRTP_FAILED", "protect/unprotect failed");
  return static_cast<double>(n) / elapsed;
}

Result<BenchResult> run_loopback_bench(const BenchOptions& o,
                                       const Progress& progress) {
  if (o.handshakes < 1 || o.concurrency < 1 || o.sessions < 1 ||
      o.duration_s <= 0 || o.payloads.empty() || o.profiles.empty()) {
    return make_error("ERR_INVALID_ARG_VALUE",
                      "handshakes, concurrency, sessions, duration, payloads "
                      "and profiles must all be positive / non-empty");
  }
  for (const std::string& p : o.profiles) {
    if (!srtp::profile_from_name(p))
      return make_error("ERR_INVALID_ARG_VALUE", "unknown SRTP profile " + p);
  }
  for (size_t p : o.payloads) {
    if (p < 1 || p > 8000)
      return make_error("ERR_OUT_OF_RANGE", "payload must be 1..8000 bytes");
  }
  auto s_id = identity(), c_id = identity();
  if (!s_id.ok()) return s_id.error();
  if (!c_id.ok()) return c_id.error();
  // Before the loops: they stop (and their callbacks end) before it goes.
  Receiver receiver;
  auto server_loop = EventLoop::start("bench-server");
  auto client_loop = EventLoop::start("bench-client");
  if (!server_loop.ok()) return server_loop.error();
  if (!client_loop.ok()) return client_loop.error();
  EventLoop& server = **server_loop;
  EventLoop& client = **client_loop;
  ListenOptions lo;
  lo.cert = s_id->cert;
  lo.key = s_id->key;
  lo.fingerprints = {c_id->fingerprint};
  lo.host = "127.0.0.1";
  lo.port = 0;
  lo.recv_buffer_size = o.recv_buffer;
  lo.udp_offload = o.udp_offload;
  lo.srtp =
      "SRTP_AEAD_AES_128_GCM:SRTP_AEAD_AES_256_GCM:"
      "SRTP_AES128_CM_SHA1_80:SRTP_AES128_CM_SHA1_32";
  lo.max_sessions = 100000;
  // Every client is on this host, at any concurrency: the half-open bounds
  // are for strangers, not for the load the benchmark offers.
  lo.max_half_open_per_address = 65535;
  lo.max_half_open = 100000;
  // The half-open phase's peers are gone 2 s after it.
  lo.half_open_timeout = std::chrono::seconds(2);
  // Workers share the port (SO_REUSEPORT) and the cookie secret.
  lo.reuse_port = true;
  lo.cookie_secret.resize(32);
  RAND_bytes(lo.cookie_secret.data(), 32);
  auto endpoint = listen(
      server,
      [&receiver](Session s) {
        // The idle clients' one message each (ConnectDriver): read and
        // dropped, not held for an on_message that never comes.
        s.on_message([](std::span<const std::uint8_t>) {});
        s.on_rtp(
            [&receiver](std::span<const std::uint8_t>) { ++receiver.rtp; });
      },
      lo);
  if (!endpoint.ok()) return endpoint.error();
  const std::uint16_t port = endpoint->address().port;
  // One secure context per profile for the clients, as an application making
  // many connections would hold (node's createSecureContext).
  std::map<std::string, SecureContext> client_contexts;
  for (const std::string& p : o.profiles) {
    SecureOptions material;
    material.cert = c_id->cert;
    material.key = c_id->key;
    material.srtp = p;
    material.require_srtp = true;
    auto ctx = create_secure_context(material);
    if (!ctx.ok()) return ctx.error();
    client_contexts[p] = *ctx;
  }
  ConnectOptions co;
  co.fingerprints = {s_id->fingerprint};
  co.secure_context = client_contexts.begin()->second;
  co.udp_offload = o.udp_offload;

  BenchResult result;
  result.send_batch = std::clamp(o.send_batch, 1, 32);
  result.udp_offload = o.udp_offload;
  result.recv_buffer_granted = granted_receive_buffer(o.recv_buffer);
  if (o.idle_sessions > 0) {
    if (progress) {
      progress("sessions: " + std::to_string(o.idle_sessions) +
               " idle sessions (clients in child processes), the OpenSSL "
               "floor, idle CPU, handshakes beside them");
    }
    // The handshake slices' empty endpoint: same loop, same options.
    ListenOptions eo = lo;
    eo.reuse_port = false;
    auto empty = listen(
        server, [](Session) {}, eo);
    if (!empty.ok()) return empty.error();
    ScaleSetup setup;
    setup.server = &server;
    setup.endpoint = &*endpoint;
    setup.port = port;
    setup.empty_port = empty->address().port;
    setup.client = *c_id;
    setup.server_fingerprint = s_id->fingerprint;
    setup.handshake_rate = [&](std::uint16_t p) -> Result<double> {
      auto r = handshake_phase(o, {&server}, client, p, co);
      if (!r.ok()) return r.error();
      return r->per_second;
    };
    setup.idle_sessions = o.idle_sessions;
    setup.floor_sessions = o.ceilings ? std::min(o.idle_sessions, 2000) : 0;
    setup.slices = std::max(1, o.repeats);
    setup.self_path = o.self_path;
    auto mem = idle_sessions_phase(setup);
    empty->close();
    if (!mem.ok()) return mem.error();
    result.memory = *mem;
  }
  if (o.half_open > 0) {
    if (progress) {
      progress("memory: " + std::to_string(o.half_open) +
               " half-open handshakes");
    }
    half_open_phase(o.half_open, server, *endpoint, port, result.memory);
    // Gone after half_open_timeout; the handshake phase starts from an idle
    // endpoint.
    for (int i = 0; i < 400 && stats_of(*endpoint).half_open > 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (progress) {
    progress("handshakes: " + std::to_string(o.handshakes) +
             " at concurrency " + std::to_string(o.concurrency));
  }
  auto hs = handshake_phase(o, {&server}, client, port, co);
  if (!hs.ok()) return hs.error();
  result.handshake = *hs;
  // Again with the ceiling's resources: see BenchResult::handshake_one_core.
  {
    cpu_set_t all, one;
    CPU_ZERO(&one);
    if (sched_getaffinity(0, sizeof(all), &all) == 0) {
      const int cpu = server.dispatcher()->call([] { return sched_getcpu(); });
      CPU_SET(cpu, &one);
      if (pin_loop(server, one)) {
        if (progress) {
          progress(
              "handshakes: " + std::to_string(o.handshakes) + " x " +
              std::to_string(std::max(1, o.repeats)) +
              " with server and clients on one loop on CPU " +
              std::to_string(cpu) +
              (o.ceilings ? ", each after the in-memory ceiling there" : ""));
        }
        auto pinned = one_core_phase(o, server, cpu, port, co);
        if (!pinned.ok()) return pinned.error();
        result.handshake_one_core = *pinned;
        result.handshake.ceiling_per_second = pinned->ceiling_per_second;
      }
      pin_loop(server, all);
    }
  }
  // More workers: extra server loops on the same port, one more each time.
  std::vector<std::unique_ptr<EventLoop>> extra_loops;
  std::vector<Endpoint> extra_endpoints;
  std::vector<EventLoop*> workers = {&server};
  for (int w = 2; w <= o.max_workers; ++w) {
    auto loop = EventLoop::start();
    if (!loop.ok()) return loop.error();
    ListenOptions wo = lo;
    wo.port = port;
    auto e = listen(
        **loop, [](Session) {}, wo);
    if (!e.ok()) return e.error();
    workers.push_back(loop->get());
    extra_loops.push_back(std::move(loop).value());
    extra_endpoints.push_back(*e);
    if (progress) {
      progress("handshakes: " + std::to_string(o.handshakes) + " with " +
               std::to_string(w) + " workers on the port");
    }
    auto more = handshake_phase(o, workers, client, port, co);
    if (!more.ok()) return more.error();
    result.handshake_workers.push_back(*more);
  }
  // Resumption (issue: "handshakes/s with and without"): a node-style server
  // beside the WebRTC one, on the same loop. Pinned sessions never resume, so
  // these clients verify nothing (reject_unauthorized false) and keep the
  // server's ticket.
  {
    ListenOptions to;
    to.cert = s_id->cert;
    to.key = s_id->key;
    to.host = "127.0.0.1";
    to.port = 0;
    to.srtp = "SRTP_AEAD_AES_128_GCM";
    auto tickets = listen(
        server, [](Session) {}, to);
    if (!tickets.ok()) return tickets.error();
    ConnectOptions tc;
    tc.reject_unauthorized = false;
    tc.srtp = "SRTP_AEAD_AES_128_GCM";
    const std::uint16_t tport = tickets->address().port;
    if (progress) {
      progress("handshakes: " + std::to_string(o.handshakes) +
               " full, then resumed (session tickets)");
    }
    auto full = handshake_phase(o, {&server}, client, tport, tc);
    if (!full.ok()) return full.error();
    result.tickets_full = *full;
    // One session to resume, from one more full handshake.
    std::promise<std::vector<std::uint8_t>> got;
    auto first = client.dispatcher()->call([&]() -> Result<Session> {
      auto s = connect(client, "127.0.0.1", tport, tc);
      if (s.ok()) {
        s->on_session(
            [&got, done = false](std::span<const std::uint8_t> blob) mutable {
              if (!done) got.set_value({blob.begin(), blob.end()});
              done = true;
            });
      }
      return s;
    });
    if (!first.ok()) return first.error();
    auto blob = got.get_future();
    if (blob.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
      return make_error("ERR_TIMEOUT", "no session to resume came back");
    }
    tc.session = blob.get();
    first->close();
    auto resumed = handshake_phase(o, {&server}, client, tport, tc);
    if (!resumed.ok()) return resumed.error();
    result.tickets_resumed = *resumed;
    tickets->close();
  }
  // Media and the rest on the first worker alone.
  for (auto& e : extra_endpoints) e.close();
  for (auto& l : extra_loops) l->stop();
  if (o.ceilings && result.handshake.ceiling_per_second <= 0) {
    if (progress) progress("ceiling: in-memory OpenSSL DTLS handshakes");
    auto c =
        openssl_memory_handshakes_per_second(std::max(50, o.handshakes / 2));
    if (!c.ok()) return c.error();
    result.handshake.ceiling_per_second = *c;
  }
  // One core per side, the same two for ours and the ceilings.
  result.media_cores = pin_media_loops(server, client);
  for (size_t payload : o.payloads) {
    for (const std::string& profile : o.profiles) {
      co.secure_context = client_contexts[profile];
      const size_t datagram =
          12 + payload +
          srtp::profile_info(*srtp::profile_from_name(profile)).rtp_tag_length;
      if (progress) {
        progress("media: " + profile + ", " + std::to_string(payload) +
                 " B payload, " + std::to_string(o.sessions) + " sessions" +
                 (o.ceilings ? ", interleaved with raw UDP of " +
                                   std::to_string(datagram) + " B datagrams"
                             : std::string()));
      }
      auto m = media_point(o, server, client, port, co, profile, payload,
                           datagram, receiver, result.media_cores);
      if (!m.ok()) return m.error();
      result.media.push_back(*m);
    }
  }
  if (o.soak_seconds > 0) {
    if (progress) {
      progress("soak: " + std::to_string(o.soak_seconds) +
               " s of sessions joining and leaving while media flows");
    }
    SoakOptions so;
    so.seconds = o.soak_seconds;
    SoakSetup ss;
    ss.server = &server;
    ss.endpoint = &*endpoint;
    ss.client = &client;
    ss.port = port;
    ss.connect = co;
    ss.connect.secure_context = client_contexts.begin()->second;
    ss.received = [&] {
      return server.dispatcher()->call([&] { return receiver.rtp; });
    };
    ss.on_sample = [&](const SoakSample& s) {
      if (!progress) return;
      char line[160];
      std::snprintf(line, sizeof(line),
                    "soak %.0f s: %d open, %llu joined, RSS %.0f KiB, %d "
                    "descriptors, %llu deadlines",
                    s.t, s.open, static_cast<unsigned long long>(s.joined),
                    s.rss_kib, s.descriptors,
                    static_cast<unsigned long long>(s.deadlines));
      progress(line);
    };
    auto soak = run_soak(so, ss);
    if (!soak.ok()) return soak.error();
    result.soak = *soak;
  }
  endpoint->close();
  return result;
}

}  // namespace dtls::bench
