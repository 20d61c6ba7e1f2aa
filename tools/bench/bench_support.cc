#include "tools/bench/bench_support.h"

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

}  // namespace dtls::bench
