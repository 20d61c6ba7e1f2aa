#include "tools/bench/bench_support.h"

#include <sched.h>
#include <time.h>

#include <algorithm>

#include "certs/fingerprint.h"
#include "certs/generate.h"

namespace dtls::bench {

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

Result<Identity> identity() {
  auto c = certs::generate_certificate();
  if (!c.ok()) return c.error();
  return Identity{
      c->leaf().to_pem(), c->key.to_pem(),
      certs::Fingerprint::of(c->leaf(), certs::HashAlgorithm::kSha256)
          .to_sdp()};
}

std::vector<std::uint8_t> rtp_packet(size_t payload, std::uint32_t ssrc) {
  std::vector<std::uint8_t> p = {0x80,
                                 96,
                                 0,
                                 0,
                                 0,
                                 0,
                                 0,
                                 0,
                                 static_cast<std::uint8_t>(ssrc >> 24),
                                 static_cast<std::uint8_t>(ssrc >> 16),
                                 static_cast<std::uint8_t>(ssrc >> 8),
                                 static_cast<std::uint8_t>(ssrc)};
  p.resize(12 + payload, 0x5a);
  return p;
}

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) +
         static_cast<double>(ts.tv_nsec) * 1e-9;
}

void pin_this_thread(int cpu) {
  if (cpu < 0) return;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  sched_setaffinity(0, sizeof(one), &one);
}

std::vector<int> allowed_cpus(size_t n) {
  std::vector<int> out;
  cpu_set_t all;
  if (sched_getaffinity(0, sizeof(all), &all) != 0) return out;
  for (int cpu = 0; cpu < CPU_SETSIZE && out.size() < n; ++cpu)
    if (CPU_ISSET(cpu, &all)) out.push_back(cpu);
  return out;
}

}  // namespace dtls::bench
