// Small pieces every benchmark phase shares.
#ifndef DTLS_SRTP_TOOLS_BENCH_BENCH_SUPPORT_H_
#define DTLS_SRTP_TOOLS_BENCH_BENCH_SUPPORT_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "transport/base/error.h"

namespace dtls {
class EventLoop;
}  // namespace dtls

namespace dtls::bench {

double median(std::vector<double> v);
// The value at rank p (0..1) of v, nearest rank; 0 for an empty v.
double percentile(std::vector<double> v, double p);

// A fresh ECDSA P-256 certificate: PEM certificate and key, and its SDP
// fingerprint ("sha-256 AB:...").
struct Identity {
  std::string cert, key, fingerprint;
};
Result<Identity> identity();

// An RTP packet (version 2, payload type 96, sequence number and timestamp
// 0) of `payload` bytes from `ssrc`.
std::vector<std::uint8_t> rtp_packet(size_t payload, std::uint32_t ssrc);

// One number through a printf format ("%.2f"), for the tables.
std::string fmt(const char* format, double value);

// CPU time of the calling thread.
double thread_cpu_seconds();
// CPU time of the loop's thread (asked on the loop).
double loop_cpu(EventLoop& loop);

// A handle's stats() or state() (Session, Endpoint) from the bench's driving
// thread: asked on the handle's loop and waited for, which that thread may
// do (a loop's own thread gets the answer at once).
template <class Handle>
auto stats_of(const Handle& h) {
  return h.ask([](auto& self) { return self.stats(); }).get();
}
template <class Handle>
auto state_of(const Handle& h) {
  return h.ask([](auto& self) { return self.state(); }).get();
}

// The process's resident set size, in KiB.
double rss_kib();
// The bytes malloc has handed out and not taken back, all arenas, in KiB
// (malloc_info): unlike RSS, blind to pages that freed chunks around them
// keep resident.
double heap_in_use_kib();
// False under AddressSanitizer: its allocator is not malloc's (malloc_info
// reads nothing) and its quarantine keeps freed memory resident.
bool memory_measurable();
// The process's open file descriptors.
int open_descriptors();

// Seconds of the steady clock since `t0`.
double seconds_since(std::chrono::steady_clock::time_point t0);

// Pins the calling thread to one CPU (-1: leaves it alone).
void pin_this_thread(int cpu);
// Runs `f` on a thread of its own pinned to `cpu`, so the caller's affinity
// stays, and returns what it returned.
template <typename F>
auto on_cpu(int cpu, F&& f) -> decltype(f()) {
  std::optional<decltype(f())> out;
  std::thread([&] {
    pin_this_thread(cpu);
    out.emplace(f());
  }).join();
  return std::move(*out);
}
// The first `n` CPUs this process may run on (fewer when it has fewer).
std::vector<int> allowed_cpus(size_t n);

}  // namespace dtls::bench

#endif  // DTLS_SRTP_TOOLS_BENCH_BENCH_SUPPORT_H_
