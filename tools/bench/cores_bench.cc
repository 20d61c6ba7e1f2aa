#include "tools/bench/cores_bench.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <sstream>
#include <thread>
#include <utility>

#include "tools/bench/bench_support.h"
#include "tools/bench/connect_driver.h"
#include "transport/dtls_api.h"
#include "transport/ice/stun_message.h"

namespace dtls::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;

// What one server loop did; written on that loop, read from the bench's
// thread. A cache line each, so the loops do not share one.
struct alignas(64) LoopCounters {
  std::atomic<std::uint64_t> rtp{0};
  std::atomic<std::uint64_t> sessions{0};
  // While set, the server sessions made on the loop are kept (the media
  // senders' ends, for the cross-loop fan-out); the loop's thread only.
  std::atomic<bool> keep{false};
  std::vector<Session> kept;
};

// One port served by `loops` EventLoops of its own (a PortGroup), and the
// client sessions that send media to it.
struct Setup {
  std::string name;
  bool ice = false;
  std::uint16_t port = 0;
  std::vector<std::unique_ptr<EventLoop>> loops;
  std::vector<Endpoint> endpoints;
  std::vector<std::unique_ptr<LoopCounters>> counters;
  std::vector<Session> senders;  // on the client loop
  std::vector<Session> ice_sessions;

  ~Setup() {
    for (auto& s : senders) s.destroy();
    for (auto& l : loops) l->stop();
  }
  std::uint64_t forwarded() const {
    std::uint64_t n = 0;
    for (const Endpoint& e : endpoints) n += stats_of(e).forwarded;
    return n;
  }
  std::uint64_t forward_drops() const {
    std::uint64_t n = 0;
    for (const Endpoint& e : endpoints) n += stats_of(e).forward_drops;
    return n;
  }
};

SessionListener counting(LoopCounters* c) {
  SessionListener l;
  l.on_created = [c](Session& s) {
    c->sessions.fetch_add(1, std::memory_order_relaxed);
    if (c->keep.load(std::memory_order_relaxed)) c->kept.push_back(s);
  };
  l.on_rtp = [c](Session&, std::span<const std::uint8_t>) {
    c->rtp.fetch_add(1, std::memory_order_relaxed);
  };
  return l;
}

Result<std::unique_ptr<Setup>> make_setup(std::string name, int loops, bool ice,
                                          const Identity& server,
                                          const Identity& client,
                                          const std::string& profile) {
  auto setup = std::make_unique<Setup>();
  setup->name = std::move(name);
  setup->ice = ice;
  auto group = PortGroup::create();
  if (!group.ok()) return group.error();
  ListenOptions lo;
  lo.cert = server.cert;
  lo.key = server.key;
  if (!ice) lo.fingerprints = {client.fingerprint};  // ICE: per session
  lo.host = "127.0.0.1";
  lo.port = 0;
  lo.srtp = profile;
  lo.ice_lite = ice;
  lo.port_group = *group;
  lo.max_sessions = 100000;
  lo.max_half_open_per_address = 65535;
  lo.max_half_open = 100000;
  // Flat-out senders: room for a scheduling hiccup of the receiving loop.
  lo.recv_buffer_size = 4 << 20;
  for (int i = 0; i < loops; ++i) {
    auto loop = EventLoop::start("bench-core" + std::to_string(i));
    if (!loop.ok()) return loop.error();
    setup->counters.push_back(std::make_unique<LoopCounters>());
    auto e = listen(**loop, counting(setup->counters.back().get()), lo);
    if (!e.ok()) return e.error();
    lo.port = e->address().port;
    setup->port = e->address().port;
    setup->loops.push_back(std::move(loop).value());
    setup->endpoints.push_back(*e);
  }
  return setup;
}

// A free port on 127.0.0.1, from which one ICE check is sent to `port` for
// `creds` (the peer's first check, USE-CANDIDATE: RFC 8445 §7.2.2), before
// the socket closes and a DTLS client binds the port.
Result<std::uint16_t> check_from_fresh_port(std::uint16_t port,
                                            const IceCredentials& creds) {
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_error("ERR_SOCKET", "socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  std::uint16_t local = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    local = ntohs(a.sin_port);
    stun::TransactionId tid{};
    tid[0] = static_cast<std::uint8_t>(local);
    tid[1] = static_cast<std::uint8_t>(local >> 8);
    stun::MessageBuilder b(stun::kMethodBinding, stun::Class::kRequest, tid);
    b.add_string(stun::attr::kUsername, creds.ufrag + ":bnch");
    b.add_u32(stun::attr::kPriority, 0x6e0001ff);
    b.add_u64(stun::attr::kIceControlling, 7);
    b.add_flag(stun::attr::kUseCandidate);
    b.add_integrity(std::string_view(creds.pwd));
    b.add_fingerprint();
    a.sin_port = htons(port);
    if (sendto(fd, b.bytes().data(), b.bytes().size(), 0,
               reinterpret_cast<sockaddr*>(&a), sizeof(a)) < 0) {
      local = 0;
    }
  }
  ::close(fd);
  if (local == 0) return make_error("ERR_SOCKET", "no ICE check sent");
  return local;
}

Status open_senders(Setup& s, EventLoop& client, const ConnectOptions& co,
                    const Identity& client_id, int count) {
  for (auto& c : s.counters) c->keep = !s.ice;
  for (int i = 0; i < count; ++i) {
    ConnectOptions o = co;
    if (s.ice) {
      // In turn over the loops, as an SFU spreads its rooms; the kernel
      // brings each peer where its address hashes.
      const size_t owner = static_cast<size_t>(i) % s.endpoints.size();
      IceSessionConfig config;
      config.remote_ufrag = "bnch";
      config.fingerprints = {client_id.fingerprint};
      config.consent_timeout = std::chrono::minutes(10);
      auto ice = s.endpoints[owner]
                     .ask([&](Endpoint& e) {
                       return e.add_ice_session(
                           config, counting(s.counters[owner].get()));
                     })
                     .get();
      if (!ice.ok()) return ice.error();
      s.ice_sessions.push_back(*ice);
      auto from = check_from_fresh_port(s.port, ice->ice_credentials());
      if (!from.ok()) return from.error();
      o.bind_host = "127.0.0.1";
      o.bind_port = *from;
    }
    auto c = connect(client, "127.0.0.1", s.port, o);
    if (!c.ok()) return c.error();
    s.senders.push_back(*c);
  }
  for (auto& c : s.senders) {
    if (c.opened().wait_for(std::chrono::seconds(10)) !=
        std::future_status::ready) {
      return make_error("ERR_BENCH_HANDSHAKE",
                        s.name + ": a media session did not open");
    }
    if (!c.opened().get().ok()) return c.opened().get().error();
  }
  // The server's ends open a moment after the clients': wait for them.
  for (size_t i = 0; i < s.loops.size() && !s.ice; ++i) {
    for (int k = 0; k < 2000; ++k) {
      size_t all = 0;
      for (size_t j = 0; j < s.loops.size(); ++j) {
        all += s.loops[j]->dispatcher()->call(
            [&] { return s.counters[j]->kept.size(); });
      }
      if (all >= static_cast<size_t>(count)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  for (auto& c : s.counters) c->keep = false;
  return {};
}

// The cross-loop fan-out on a 2-loop setup: loop 0 publishes.
CrossLoopFanOut cross_loop_fanout(const CoresOptions& o, Setup& s) {
  CrossLoopFanOut f;
  LoopDispatcher& a = *s.loops[0]->dispatcher();
  LoopDispatcher& b = *s.loops[1]->dispatcher();
  const auto local = a.call([&] { return s.counters[0]->kept; });
  const auto remote = b.call([&] { return s.counters[1]->kept; });
  f.local_subscribers = static_cast<int>(local.size());
  f.remote_subscribers = static_cast<int>(remote.size());
  if (local.empty() || remote.empty()) return f;
  std::vector<std::uint8_t> packet = rtp_packet(o.payload, 0x3000);
  std::uint16_t seq = 0;
  auto stamp = [&] {
    ++seq;
    packet[2] = static_cast<std::uint8_t>(seq >> 8);
    packet[3] = static_cast<std::uint8_t>(seq);
  };
  // Same loop: protected into the endpoint's batch, one sendmmsg per 32.
  const auto [sent, cpu] = a.call([&] {
    const double c0 = thread_cpu_seconds();
    const auto end =
        SteadyClock::now() + std::chrono::duration<double>(o.seconds);
    std::uint64_t n = 0;
    while (SteadyClock::now() < end) {
      stamp();
      n += send_rtp(local, packet).sent;
    }
    return std::pair{n, thread_cpu_seconds() - c0};
  });
  f.local_sent = sent;
  f.local_ns = sent ? cpu * 1e9 / static_cast<double>(sent) : 0;
  // The other loop: each copy queued; chunks below the queue's bound, and
  // the other loop drains between them.
  const size_t per_chunk = std::max<size_t>(
      1, LoopDispatcher::kMediaQueueCapacity / 2 / remote.size());
  const std::uint64_t sent0 = stats_of(s.endpoints[1]).packets_sent;
  const double b0 = loop_cpu(*s.loops[1]);
  double a_cpu = 0;
  const auto end =
      SteadyClock::now() + std::chrono::duration<double>(o.seconds);
  while (SteadyClock::now() < end) {
    const auto [queued, cpu_a] = a.call([&] {
      const double c0 = thread_cpu_seconds();
      std::uint64_t n = 0;
      for (size_t k = 0; k < per_chunk; ++k) {
        stamp();
        n += send_rtp(remote, packet).sent;
      }
      return std::pair{n, thread_cpu_seconds() - c0};
    });
    f.remote_queued += queued;
    a_cpu += cpu_a;
    b.call([] {});  // after what was queued before it
  }
  f.remote_sent = stats_of(s.endpoints[1]).packets_sent - sent0;
  const double b_cpu = loop_cpu(*s.loops[1]) - b0;
  f.remote_queue_ns =
      f.remote_queued ? a_cpu * 1e9 / static_cast<double>(f.remote_queued) : 0;
  f.remote_send_ns =
      f.remote_sent ? b_cpu * 1e9 / static_cast<double>(f.remote_sent) : 0;
  return f;
}

struct Before {
  std::vector<double> cpu;
  std::vector<std::uint64_t> work;
  std::uint64_t forwarded = 0, drops = 0;
  std::uint64_t receive_calls = 0, datagrams = 0;
};

Before snapshot(Setup& s, bool media) {
  Before b;
  for (size_t i = 0; i < s.loops.size(); ++i) {
    b.cpu.push_back(loop_cpu(*s.loops[i]));
    const auto& c = *s.counters[i];
    b.work.push_back(media ? c.rtp.load() : c.sessions.load());
  }
  b.forwarded = s.forwarded();
  b.drops = s.forward_drops();
  for (const Endpoint& e : s.endpoints) {
    const EndpointStats st = stats_of(e);
    b.receive_calls += st.receive_calls;
    b.datagrams += st.packets_received;
  }
  return b;
}

// Adds what happened since `b` to `f`; the ratio's inputs for this slice.
struct SliceFigures {
  double wall = 0, capacity = 0, per_cpu = 0;
};
SliceFigures add_since(const Before& b, Setup& s, bool media,
                       std::uint64_t count, double seconds, CoresFigure& f) {
  f.loops = static_cast<int>(s.loops.size());
  f.loop_cpu_s.resize(s.loops.size());
  f.per_loop.resize(s.loops.size());
  double busiest = 0, all = 0;
  for (size_t i = 0; i < s.loops.size(); ++i) {
    const double cpu = loop_cpu(*s.loops[i]) - b.cpu[i];
    all += cpu;
    const auto& c = *s.counters[i];
    f.loop_cpu_s[i] += cpu;
    f.per_loop[i] += (media ? c.rtp.load() : c.sessions.load()) - b.work[i];
    busiest = std::max(busiest, cpu);
  }
  f.handed_over += s.forwarded() - b.forwarded;
  f.hand_over_drops += s.forward_drops() - b.drops;
  for (const Endpoint& e : s.endpoints) {
    const EndpointStats st = stats_of(e);
    f.receive_calls += st.receive_calls;
    f.datagrams += st.packets_received;
  }
  f.receive_calls -= b.receive_calls;
  f.datagrams -= b.datagrams;
  f.count += count;
  f.seconds += seconds;
  return {seconds > 0 ? count / seconds : 0, busiest > 0 ? count / busiest : 0,
          all > 0 ? count / all : 0};
}

SliceFigures handshake_slice(const CoresOptions& o, Setup& s, EventLoop& client,
                             const ConnectOptions& co, CoresFigure& f) {
  ConnectDriver d(&client, s.port, co, o.handshakes, /*keep=*/false);
  const Before b = snapshot(s, false);
  const auto t0 = SteadyClock::now();
  client.dispatcher()->call([&] { d.start(o.concurrency); });
  d.finished.get_future().wait();
  const double seconds = seconds_since(t0);
  const int failures = client.dispatcher()->call([&] { return d.failures; });
  f.failures += failures;
  return add_since(b, s, false, o.handshakes - failures, seconds, f);
}

SliceFigures media_slice(const CoresOptions& o, Setup& s, EventLoop& client,
                         CoresFigure& f) {
  std::vector<std::vector<std::uint8_t>> packets;
  for (size_t i = 0; i < s.senders.size(); ++i) {
    packets.push_back(
        rtp_packet(o.payload, 0x2000u + static_cast<unsigned>(i)));
  }
  const Before b = snapshot(s, true);
  std::uint64_t received0 = 0;
  for (const auto& c : s.counters) received0 += c->rtp.load();
  struct Sent {
    std::uint64_t packets = 0;
    double seconds = 0;
  };
  static std::uint16_t seq = 0;
  // One loop turn that sends flat out: a burst of 32 per session, each in
  // one sendmmsg (every client session has a socket of its own).
  const Sent sent = client.dispatcher()->call([&] {
    Sent out;
    const auto t0 = SteadyClock::now();
    const auto end = t0 + std::chrono::duration<double>(o.seconds);
    while (SteadyClock::now() < end) {
      for (size_t i = 0; i < s.senders.size(); ++i) {
        s.senders[i].cork();
        for (int k = 0; k < 32; ++k) {
          const std::uint16_t n = static_cast<std::uint16_t>(seq + k + 1);
          packets[i][2] = static_cast<std::uint8_t>(n >> 8);
          packets[i][3] = static_cast<std::uint8_t>(n);
          if (s.senders[i].send_rtp(packets[i]).ok()) ++out.packets;
        }
        s.senders[i].uncork();
      }
      seq = static_cast<std::uint16_t>(seq + 32);
    }
    out.seconds = seconds_since(t0);
    return out;
  });
  // What is in flight still arrives.
  std::uint64_t got = 0;
  for (int i = 0; i < 100; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::uint64_t now = 0;
    for (const auto& c : s.counters) now += c->rtp.load();
    now -= received0;
    if (now == got && i > 2) break;
    got = now;
  }
  f.sent += sent.packets;
  return add_since(b, s, true, got, sent.seconds, f);
}

std::string loops_split(const CoresFigure& f) {
  std::string out;
  for (size_t i = 0; i < f.per_loop.size(); ++i) {
    out += (i ? "/" : "") + std::to_string(f.per_loop[i]);
  }
  return out;
}

}  // namespace

double CrossLoopFanOut::capacity_ratio() const {
  const double n = local_subscribers + remote_subscribers;
  if (n <= 0 || local_ns <= 0) return 0;
  const double a =
      (local_subscribers * local_ns + remote_subscribers * remote_queue_ns) / n;
  const double b = remote_subscribers * remote_send_ns / n;
  const double busier = std::max(a, b);
  return busier > 0 ? local_ns / busier : 0;
}

double CoresFigure::per_cpu_second() const {
  double all = 0;
  for (double c : loop_cpu_s) all += c;
  return all > 0 ? count / all : 0;
}

double CoresFigure::capacity() const {
  double busiest = 0;
  for (double c : loop_cpu_s) busiest = std::max(busiest, c);
  return busiest > 0 ? count / busiest : 0;
}

Result<CoresResult> run_cores_bench(const CoresOptions& o) {
  if (o.sessions < 1 || o.handshakes < 1 || o.concurrency < 1 ||
      o.seconds <= 0 || o.repeats < 1 || o.payload < 1 || o.payload > 1400) {
    return make_error("ERR_INVALID_ARG_VALUE",
                      "the cores phase needs positive counts and a payload "
                      "of 1..1400 bytes");
  }
  CoresResult r;
  r.options = o;
  auto s_id = identity(), c_id = identity();
  if (!s_id.ok()) return s_id.error();
  if (!c_id.ok()) return c_id.error();
  auto client_loop = EventLoop::start("bench-cores-cl");
  if (!client_loop.ok()) return client_loop.error();
  EventLoop& client = **client_loop;
  ConnectOptions co;
  co.cert = c_id->cert;
  co.key = c_id->key;
  co.fingerprints = {s_id->fingerprint};
  co.srtp = o.profile;
  co.recv_buffer_size = 1 << 20;

  auto one = make_setup("1 loop", 1, false, *s_id, *c_id, o.profile);
  if (!one.ok()) return one.error();
  auto two = make_setup("2 loops", 2, false, *s_id, *c_id, o.profile);
  if (!two.ok()) return two.error();
  auto ice = make_setup("2 loops, ICE", 2, true, *s_id, *c_id, o.profile);
  if (!ice.ok()) return ice.error();
  for (Setup* s : {one->get(), two->get(), ice->get()}) {
    if (Status st = open_senders(*s, client, co, *c_id, o.sessions); !st.ok())
      return st.error();
  }
  r.handshakes_1.name = r.media_1.name = (*one)->name;
  r.handshakes_2.name = r.media_2.name = (*two)->name;
  r.media_ice_2.name = (*ice)->name;
  std::vector<double> hw, hc, he, mw, mc, me, ic;
  for (int i = 0; i < o.repeats; ++i) {
    const auto h1 = handshake_slice(o, **one, client, co, r.handshakes_1);
    const auto h2 = handshake_slice(o, **two, client, co, r.handshakes_2);
    const auto m1 = media_slice(o, **one, client, r.media_1);
    const auto m2 = media_slice(o, **two, client, r.media_2);
    const auto mi = media_slice(o, **ice, client, r.media_ice_2);
    if (h1.wall > 0 && h1.capacity > 0) {
      hw.push_back(h2.wall / h1.wall);
      hc.push_back(h2.capacity / h1.capacity);
      he.push_back(h2.per_cpu / h1.per_cpu);
    }
    if (m1.wall > 0 && m1.capacity > 0) {
      mw.push_back(m2.wall / m1.wall);
      mc.push_back(m2.capacity / m1.capacity);
      me.push_back(m2.per_cpu / m1.per_cpu);
    }
    if (m2.capacity > 0) ic.push_back(mi.capacity / m2.capacity);
  }
  r.handshake_wall_ratio = median(hw);
  r.handshake_capacity_ratio = median(hc);
  r.media_wall_ratio = median(mw);
  r.media_capacity_ratio = median(mc);
  r.ice_capacity_ratio = median(ic);
  r.handshake_efficiency = median(he);
  r.media_efficiency = median(me);
  r.fanout = cross_loop_fanout(o, **two);
  one->reset();
  two->reset();
  ice->reset();
  client.stop();
  return r;
}

std::string to_cores_table(const CoresResult& r) {
  std::ostringstream t;
  t << "all cores: one port, 1 and 2 server loops (a PortGroup), "
    << r.options.repeats
    << " alternating slices; capacity = per CPU second of the busiest loop\n";
  auto row = [&](const char* what, const CoresFigure& f) {
    t << "  " << what << " " << f.name << ": " << fmt("%.0f", f.per_second())
      << "/s, capacity " << fmt("%.0f", f.capacity()) << "/s, per CPU s "
      << fmt("%.0f", f.per_cpu_second()) << ", per loop " << loops_split(f);
    if (f.sent > 0) {
      t << ", loss "
        << fmt("%.1f", 100.0 * (1.0 - static_cast<double>(f.count) /
                                          static_cast<double>(f.sent)))
        << " %";
    }
    if (f.receive_calls > 0) {
      t << ", "
        << fmt("%.1f", static_cast<double>(f.datagrams) /
                           static_cast<double>(f.receive_calls))
        << " per recvmmsg";
    }
    if (f.failures > 0) t << ", " << f.failures << " failed";
    if (f.handed_over > 0) {
      t << ", handed over " << f.handed_over << " (dropped "
        << f.hand_over_drops << ")";
    }
    t << "\n";
  };
  row("handshakes", r.handshakes_1);
  row("handshakes", r.handshakes_2);
  t << "  handshakes 2 loops / 1: wall " << fmt("%.2f", r.handshake_wall_ratio)
    << ", capacity " << fmt("%.2f", r.handshake_capacity_ratio)
    << " (goal 1.8), per CPU s " << fmt("%.2f", r.handshake_efficiency) << "\n";
  const std::string media = "media " + r.options.profile + " " +
                            std::to_string(r.options.payload) + " B";
  row(media.c_str(), r.media_1);
  row(media.c_str(), r.media_2);
  row(media.c_str(), r.media_ice_2);
  t << "  media 2 loops / 1: wall " << fmt("%.2f", r.media_wall_ratio)
    << ", capacity " << fmt("%.2f", r.media_capacity_ratio)
    << " (goal 1.8), per CPU s " << fmt("%.2f", r.media_efficiency)
    << "; ICE peers handed over / plain, capacity "
    << fmt("%.2f", r.ice_capacity_ratio) << "\n";
  const CrossLoopFanOut& f = r.fanout;
  t << "  fan-out from loop 0, " << r.options.payload
    << " B: " << f.local_subscribers << " subscribers on its loop "
    << fmt("%.0f", f.local_ns) << " ns/packet; " << f.remote_subscribers
    << " on the other loop " << fmt("%.0f", f.remote_queue_ns)
    << " ns/packet queueing + " << fmt("%.0f", f.remote_send_ns)
    << " ns/packet there (" << f.remote_sent << " of " << f.remote_queued
    << " sent); capacity 2 loops / 1: " << fmt("%.2f", f.capacity_ratio())
    << "\n";
  return t.str();
}

std::string cores_json(const CoresResult& r) {
  std::ostringstream j;
  auto fig = [&](const CoresFigure& f) {
    j << "{\"name\": \"" << f.name << "\", \"loops\": " << f.loops
      << ", \"count\": " << f.count << ", \"sent\": " << f.sent
      << ", \"failures\": " << f.failures << ", \"seconds\": " << f.seconds
      << ", \"per_second\": " << f.per_second()
      << ", \"capacity\": " << f.capacity()
      << ", \"per_cpu_second\": " << f.per_cpu_second()
      << ", \"loop_cpu_s\": [";
    for (size_t i = 0; i < f.loop_cpu_s.size(); ++i)
      j << (i ? ", " : "") << f.loop_cpu_s[i];
    j << "], \"per_loop\": [";
    for (size_t i = 0; i < f.per_loop.size(); ++i)
      j << (i ? ", " : "") << f.per_loop[i];
    j << "], \"handed_over\": " << f.handed_over
      << ", \"hand_over_drops\": " << f.hand_over_drops << "}";
  };
  j << "{\"sessions\": " << r.options.sessions << ", \"profile\": \""
    << r.options.profile << "\", \"payload\": " << r.options.payload
    << ", \"repeats\": " << r.options.repeats << ",\n    \"handshakes\": [";
  fig(r.handshakes_1);
  j << ", ";
  fig(r.handshakes_2);
  j << "],\n    \"media\": [";
  fig(r.media_1);
  j << ", ";
  fig(r.media_2);
  j << ", ";
  fig(r.media_ice_2);
  j << "],\n    \"handshake_wall_ratio\": " << r.handshake_wall_ratio
    << ", \"handshake_capacity_ratio\": " << r.handshake_capacity_ratio
    << ", \"media_wall_ratio\": " << r.media_wall_ratio
    << ", \"media_capacity_ratio\": " << r.media_capacity_ratio
    << ", \"ice_capacity_ratio\": " << r.ice_capacity_ratio
    << ", \"handshake_efficiency\": " << r.handshake_efficiency
    << ", \"media_efficiency\": " << r.media_efficiency
    << ",\n    \"fanout\": {\"local_subscribers\": "
    << r.fanout.local_subscribers
    << ", \"remote_subscribers\": " << r.fanout.remote_subscribers
    << ", \"local_sent\": " << r.fanout.local_sent
    << ", \"remote_queued\": " << r.fanout.remote_queued
    << ", \"remote_sent\": " << r.fanout.remote_sent
    << ", \"local_ns\": " << r.fanout.local_ns
    << ", \"remote_queue_ns\": " << r.fanout.remote_queue_ns
    << ", \"remote_send_ns\": " << r.fanout.remote_send_ns
    << ", \"capacity_ratio\": " << r.fanout.capacity_ratio() << "}}";
  return j.str();
}

}  // namespace dtls::bench
