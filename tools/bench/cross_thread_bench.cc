#include "tools/bench/cross_thread_bench.h"

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "tools/bench/bench_support.h"
#include "transport/dtls_api.h"

namespace dtls::bench {
namespace {

using Steady = std::chrono::steady_clock;

}  // namespace

Result<CrossThreadResult> run_cross_thread_bench(const CrossThreadOptions& o) {
  CrossThreadResult r;
  r.packets = o.packets;
  if (o.packets <= 0) return r;
  if (o.window <= 0 || o.payload < 1 || o.payload > 1400)
    return make_error("ERR_OUT_OF_RANGE",
                      "cross-thread: window > 0, payload 1..1400");
  auto s_id = identity(), c_id = identity();
  if (!s_id.ok()) return s_id.error();
  if (!c_id.ok()) return c_id.error();
  auto started = EventLoop::start("xthread-loop");
  if (!started.ok()) return started.error();
  std::unique_ptr<EventLoop> loop = std::move(started).value();
  std::atomic<std::uint64_t> received{0};
  ListenOptions lo;
  lo.cert = s_id->cert;
  lo.key = s_id->key;
  lo.fingerprints = {c_id->fingerprint};
  lo.srtp = "SRTP_AEAD_AES_128_GCM";
  lo.host = "127.0.0.1";
  lo.port = 0;
  lo.recv_buffer_size = 4 << 20;
  SessionListener server;
  server.on_rtp = [&](Session&, std::span<const std::uint8_t>) { received++; };
  auto endpoint = listen(*loop, server, lo);
  if (!endpoint.ok()) return endpoint.error();
  ConnectOptions co;
  co.cert = c_id->cert;
  co.key = c_id->key;
  co.fingerprints = {s_id->fingerprint};
  co.srtp = lo.srtp;
  auto client = connect(*loop, "127.0.0.1", endpoint->address().port, co);
  if (!client.ok()) return client.error();
  if (client->opened().wait_for(std::chrono::seconds(10)) !=
          std::future_status::ready ||
      !client->opened().get().ok()) {
    return make_error("ERR_BENCH", "cross-thread: the handshake failed");
  }
  // The window's packets, with their sequence numbers set as they go.
  std::vector<std::vector<std::uint8_t>> window;
  for (int i = 0; i < o.window; ++i)
    window.push_back(rtp_packet(o.payload, 0x11223344));
  std::uint16_t seq = 0;
  auto stamp = [&](std::vector<std::uint8_t>& p) {
    ++seq;
    p[2] = static_cast<std::uint8_t>(seq >> 8);
    p[3] = static_cast<std::uint8_t>(seq);
  };
  auto wait_for = [&](std::uint64_t n) {
    const auto deadline = Steady::now() + std::chrono::seconds(5);
    while (received < n && Steady::now() < deadline)
      std::this_thread::sleep_for(std::chrono::microseconds(100));
  };
  // Each way once to warm up (queue slots, libsrtp state), then measured.
  Session c = *client;
  auto* d = loop->dispatcher().get();
  for (int pass = 0; pass < 2; ++pass) {
    const int total = pass == 0 ? o.window * 4 : o.packets;
    // From this thread.
    std::chrono::nanoseconds in_calls{0};
    double loop_cpu = 0;
    std::uint64_t base = received;
    const double cpu0 = d->call([] { return thread_cpu_seconds() * 1e9; });
    for (int sent = 0; sent < total; sent += o.window) {
      for (auto& p : window) stamp(p);
      const auto t0 = Steady::now();
      for (auto& p : window) (void)c.send_rtp(p);
      in_calls += Steady::now() - t0;
      wait_for(base + static_cast<std::uint64_t>(sent + o.window));
    }
    loop_cpu = d->call([] { return thread_cpu_seconds() * 1e9; }) - cpu0;
    const std::uint64_t foreign = received - base;
    // On the loop's thread, corked per window as the queue's drain is.
    base = received;
    std::chrono::nanoseconds on_loop{0};
    const double cpu1 = d->call([] { return thread_cpu_seconds() * 1e9; });
    for (int sent = 0; sent < total; sent += o.window) {
      for (auto& p : window) stamp(p);
      on_loop += d->call([&] {
        const auto t0 = Steady::now();
        c.cork();
        for (auto& p : window) (void)c.send_rtp(p);
        c.uncork();
        return Steady::now() - t0;
      });
      wait_for(base + static_cast<std::uint64_t>(sent + o.window));
    }
    const double inline_cpu =
        d->call([] { return thread_cpu_seconds() * 1e9; }) - cpu1;
    if (pass == 1) {
      const double n = static_cast<double>(total);
      r.loop_cpu_ns_inline = inline_cpu / n;
      r.foreign_ns = static_cast<double>(in_calls.count()) / n;
      r.loop_ns = static_cast<double>(on_loop.count()) / n;
      r.foreign_delivered = foreign;
      r.loop_delivered = received - base;
      r.loop_cpu_ns_when_fed = loop_cpu / n;
    }
  }
  // Reads from this thread: ask() posts and returns; the answer comes when
  // the loop has run it.
  if (o.asks > 0) {
    std::chrono::nanoseconds in_calls{0};
    std::vector<double> round_trips;
    round_trips.reserve(static_cast<size_t>(o.asks));
    std::uint64_t sent_seen = 0;
    for (int i = 0; i < o.asks; ++i) {
      const auto t0 = Steady::now();
      auto answer = c.ask([](Session& s) { return s.stats(); });
      const auto t1 = Steady::now();
      sent_seen = answer.get().media.rtp_packets_protected;
      in_calls += t1 - t0;
      round_trips.push_back(
          std::chrono::duration<double, std::micro>(Steady::now() - t0)
              .count());
    }
    if (sent_seen == 0)
      return make_error("ERR_BENCH", "cross-thread: ask() read no stats");
    std::vector<std::future<SessionStats>> burst;
    burst.reserve(static_cast<size_t>(o.window));
    std::chrono::nanoseconds in_bursts{0};
    for (int done = 0; done < o.asks; done += o.window) {
      const auto t0 = Steady::now();
      for (int i = 0; i < o.window; ++i)
        burst.push_back(c.ask([](Session& s) { return s.stats(); }));
      in_bursts += Steady::now() - t0;
      for (auto& f : burst) f.wait();
      burst.clear();
    }
    const int burst_asks = (o.asks + o.window - 1) / o.window * o.window;
    r.ask_burst_ns = static_cast<double>(in_bursts.count()) / burst_asks;
    r.asks = o.asks;
    r.ask_ns = static_cast<double>(in_calls.count()) / o.asks;
    r.ask_round_trip_us_p50 = percentile(round_trips, 0.5);
    r.ask_round_trip_us_p99 = percentile(round_trips, 0.99);
  }
  client->close();
  endpoint->close();
  loop->stop();
  return r;
}

}  // namespace dtls::bench
