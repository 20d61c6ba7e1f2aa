// HMAC-SHA-256 and HMAC-SHA-1 per message: ours (crypto::HmacKey) beside the
// same keyed states copied by hand (what the cookie gate and srtp/hmac_sha1
// did before) and beside OpenSSL's one-shot HMAC(). Ours over hand-copied is
// the helper's cost; HMAC() over ours is what keying once saves.
//   bazel run -c opt //transport/base:hmac_benchmark
#define OPENSSL_SUPPRESS_DEPRECATED

#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <cstring>
#include <vector>

#include "transport/base/hmac.h"

namespace dtls::crypto {
namespace {

const std::vector<std::uint8_t> kKey(32, 0x5a);

std::vector<std::uint8_t> message(benchmark::State& state) {
  return std::vector<std::uint8_t>(static_cast<size_t>(state.range(0)), 0xab);
}

template <class Key>
void BM_Ours(benchmark::State& state) {
  const Key key(kKey);
  const auto m = message(state);
  for (auto _ : state) benchmark::DoNotOptimize(key.mac(m));
}

struct RawSha256 {
  SHA256_CTX inner, outer;
  explicit RawSha256(const std::vector<std::uint8_t>& key) {
    std::uint8_t ipad[64], opad[64];
    for (size_t i = 0; i < 64; ++i) {
      const std::uint8_t k = i < key.size() ? key[i] : 0;
      ipad[i] = k ^ 0x36;
      opad[i] = k ^ 0x5c;
    }
    SHA256_Init(&inner);
    SHA256_Update(&inner, ipad, 64);
    SHA256_Init(&outer);
    SHA256_Update(&outer, opad, 64);
  }
  void mac(const std::vector<std::uint8_t>& m, std::uint8_t* out) const {
    std::uint8_t d[32];
    SHA256_CTX c = inner;
    SHA256_Update(&c, m.data(), m.size());
    SHA256_Final(d, &c);
    c = outer;
    SHA256_Update(&c, d, sizeof(d));
    SHA256_Final(out, &c);
  }
};

struct RawSha1 {
  SHA_CTX inner, outer;
  explicit RawSha1(const std::vector<std::uint8_t>& key) {
    std::uint8_t ipad[64], opad[64];
    for (size_t i = 0; i < 64; ++i) {
      const std::uint8_t k = i < key.size() ? key[i] : 0;
      ipad[i] = k ^ 0x36;
      opad[i] = k ^ 0x5c;
    }
    SHA1_Init(&inner);
    SHA1_Update(&inner, ipad, 64);
    SHA1_Init(&outer);
    SHA1_Update(&outer, opad, 64);
  }
  void mac(const std::vector<std::uint8_t>& m, std::uint8_t* out) const {
    std::uint8_t d[20];
    SHA_CTX c = inner;
    SHA1_Update(&c, m.data(), m.size());
    SHA1_Final(d, &c);
    c = outer;
    SHA1_Update(&c, d, sizeof(d));
    SHA1_Final(out, &c);
  }
};

template <class Raw>
void BM_HandCopied(benchmark::State& state) {
  const Raw key(kKey);
  const auto m = message(state);
  std::uint8_t out[32];
  for (auto _ : state) {
    key.mac(m, out);
    benchmark::DoNotOptimize(out);
  }
}

template <const EVP_MD* (*md)()>
void BM_OpenSslHmac(benchmark::State& state) {
  const auto m = message(state);
  std::uint8_t out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  for (auto _ : state) {
    HMAC(md(), kKey.data(), static_cast<int>(kKey.size()), m.data(), m.size(),
         out, &len);
    benchmark::DoNotOptimize(out);
  }
}

// 64: a cookie's input; 200 and 1200: SRTP packets.
BENCHMARK(BM_Ours<HmacSha256>)->Arg(64)->Arg(200)->Arg(1200);
BENCHMARK(BM_HandCopied<RawSha256>)->Arg(64)->Arg(200)->Arg(1200);
BENCHMARK(BM_OpenSslHmac<EVP_sha256>)->Arg(64)->Arg(200)->Arg(1200);
BENCHMARK(BM_Ours<HmacSha1>)->Arg(64)->Arg(200)->Arg(1200);
BENCHMARK(BM_HandCopied<RawSha1>)->Arg(64)->Arg(200)->Arg(1200);
BENCHMARK(BM_OpenSslHmac<EVP_sha1>)->Arg(64)->Arg(200)->Arg(1200);

}  // namespace
}  // namespace dtls::crypto

BENCHMARK_MAIN();
