#include "tools/bench/bench_support.h"

#include <dirent.h>
#include <malloc.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "certs/fingerprint.h"
#include "certs/generate.h"
#include "transport/dtls_api.h"

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

std::string fmt(const char* format, double value) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), format, value);
  return buf;
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

double rss_kib() {
  long pages = 0, resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return static_cast<double>(resident) *
         static_cast<double>(sysconf(_SC_PAGESIZE)) / 1024.0;
}

double heap_in_use_kib() {
  char* buf = nullptr;
  size_t size = 0;
  FILE* f = open_memstream(&buf, &size);
  if (!f) return 0;
  malloc_info(0, f);
  std::fclose(f);
  const std::string xml(buf, size);
  std::free(buf);
  // The totals over all arenas follow the last arena's </heap>.
  size_t totals = xml.rfind("</heap>");
  if (totals == std::string::npos) totals = 0;
  auto size_of = [&](const char* tag) {
    size_t i = xml.find(tag, totals);
    if (i == std::string::npos) return 0.0;
    i = xml.find("size=\"", i);
    return i == std::string::npos ? 0.0
                                  : std::strtod(xml.c_str() + i + 6, nullptr);
  };
  return (size_of("<system type=\"current\"") -
          size_of("<total type=\"fast\"") - size_of("<total type=\"rest\"") +
          size_of("<total type=\"mmap\"")) /
         1024.0;
}

bool memory_measurable() {
#if defined(__SANITIZE_ADDRESS__)
  return false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  return false;
#else
  return true;
#endif
#else
  return true;
#endif
}

double loop_cpu(EventLoop& loop) {
  return loop.dispatcher()->call([] { return thread_cpu_seconds(); });
}

int open_descriptors() {
  DIR* d = opendir("/proc/self/fd");
  if (!d) return -1;
  int n = 0;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(d);
  return n - 1;  // the directory's own
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
      .count();
}

}  // namespace dtls::bench
