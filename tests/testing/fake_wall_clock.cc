#include "tests/testing/fake_wall_clock.h"

#include <sys/time.h>
#include <time.h>

#include <atomic>
#include <cstdint>

namespace {

// Microseconds since the Unix epoch to report, or -1 for the real clock.
std::atomic<std::int64_t> g_fake_us{-1};
// An arbitrary fixed wall time (2026-01-01T00:00:00Z) the simulated clock
// starts from.
constexpr std::int64_t kBaseUs = 1767225600LL * 1000000;
// Seconds added to time(): OpenSSL 3.0 dates sessions and checks their
// expiry with time(NULL).
std::atomic<std::int64_t> g_time_offset{0};

}  // namespace

extern "C" time_t time(time_t* out) noexcept {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  time_t t = static_cast<time_t>(ts.tv_sec +
                                 g_time_offset.load(std::memory_order_relaxed));
  if (out != nullptr) *out = t;
  return t;
}

extern "C" int gettimeofday(struct timeval* __restrict tv,
                            void* __restrict /*tz*/) noexcept {
  std::int64_t us = g_fake_us.load(std::memory_order_relaxed);
  if (us < 0) {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    tv->tv_sec = ts.tv_sec;
    tv->tv_usec = ts.tv_nsec / 1000;
    return 0;
  }
  tv->tv_sec = static_cast<time_t>(us / 1000000);
  tv->tv_usec = static_cast<suseconds_t>(us % 1000000);
  return 0;
}

namespace dtls::testing {

void set_wall_clock(TimePoint now) {
  auto since = std::chrono::duration_cast<std::chrono::microseconds>(
      now.time_since_epoch());
  g_fake_us.store(kBaseUs + since.count(), std::memory_order_relaxed);
}

void set_time_offset(std::chrono::seconds offset) {
  g_time_offset.store(offset.count(), std::memory_order_relaxed);
}

void use_real_wall_clock() { g_fake_us.store(-1, std::memory_order_relaxed); }

bool wall_clock_is_simulated() {
  set_wall_clock(TimePoint{});
  timeval tv{};
  gettimeofday(&tv, nullptr);
  use_real_wall_clock();
  set_time_offset(std::chrono::seconds(1000));
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  const bool time_shimmed = time(nullptr) >= ts.tv_sec + 999;
  set_time_offset(std::chrono::seconds(0));
  return tv.tv_sec == kBaseUs / 1000000 && tv.tv_usec == 0 && time_shimmed;
}

}  // namespace dtls::testing
