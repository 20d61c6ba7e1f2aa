// Protect and unprotect per profile at 200 and 1200 bytes of payload: our
// SrtpContext beside the same libsrtp calls made directly, so that any
// overhead of ours shows as a ratio (tools/srtp_benchmark.sh prints it, for
// the OpenSSL build of libsrtp and for Debian's NSS build).
#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <srtp2/srtp.h>

#include <cstring>
#include <memory>
#include <vector>

#include "srtp/libsrtp_policy.h"
#include "srtp/srtp_context.h"
#include "transport/base/hmac.h"

#ifndef LIBSRTP_FLAVOR
#define LIBSRTP_FLAVOR "unknown"
#endif

namespace dtls::srtp {
namespace {

SrtpKeys keys_for(Profile p) {
  const ProfileInfo& i = profile_info(p);
  SrtpKeys k;
  k.profile = p;
  k.client_key.assign(i.key_length, 0x11);
  k.server_key.assign(i.key_length, 0x22);
  k.client_salt.assign(i.salt_length, 0x33);
  k.server_salt.assign(i.salt_length, 0x44);
  return k;
}

std::vector<std::uint8_t> rtp(size_t payload) {
  std::vector<std::uint8_t> p = {0x80, 96, 0, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34};
  p.resize(12 + payload, 0xab);
  return p;
}

void set_seq(std::uint8_t* p, std::uint32_t n) {
  p[2] = static_cast<std::uint8_t>(n >> 8);
  p[3] = static_cast<std::uint8_t>(n);
}

// A raw libsrtp context with the policy SrtpContext uses.
struct RawSrtp {
  srtp_t ctx = nullptr;
  RawSrtp(Profile p, bool outbound) {
    (void)ensure_initialized();
    SecretBytes master = keys_for(p).outbound_master(Side::kClient);
    create_libsrtp_session(&ctx, p, master, outbound, 1024, true);
  }
  ~RawSrtp() { srtp_dealloc(ctx); }
};

constexpr int kBatch = 8192;

// Packets protected in advance, for the unprotect benchmarks.
std::vector<std::vector<std::uint8_t>> protected_batch(Profile p,
                                                       size_t payload) {
  auto sender =
      std::move(SrtpContext::create(keys_for(p), Side::kClient)).value();
  std::vector<std::vector<std::uint8_t>> out;
  auto packet = rtp(payload);
  for (int i = 0; i < kBatch; ++i) {
    std::vector<std::uint8_t> buf = packet;
    set_seq(buf.data(), static_cast<std::uint32_t>(i));
    buf.resize(packet.size() + kMaxTrailer);
    PacketResult r = sender->protect_rtp(buf, packet.size());
    buf.resize(r.length);
    out.push_back(std::move(buf));
  }
  return out;
}

void label(benchmark::State& state, Profile p) {
  state.SetLabel(std::string(profile_info(p).name) +
                 " libsrtp=" + LIBSRTP_FLAVOR);
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * state.range(1));
}

void BM_OursProtectRtp(benchmark::State& state) {
  const auto p = static_cast<Profile>(state.range(0));
  auto ctx = std::move(SrtpContext::create(keys_for(p), Side::kClient)).value();
  auto packet = rtp(static_cast<size_t>(state.range(1)));
  std::vector<std::uint8_t> buf(packet.size() + kMaxTrailer);
  std::uint32_t seq = 0;
  for (auto _ : state) {
    std::memcpy(buf.data(), packet.data(), packet.size());
    set_seq(buf.data(), seq++);
    PacketResult r = ctx->protect_rtp(buf, packet.size());
    benchmark::DoNotOptimize(r);
  }
  label(state, p);
}

void BM_RawProtectRtp(benchmark::State& state) {
  const auto p = static_cast<Profile>(state.range(0));
  RawSrtp raw(p, true);
  auto packet = rtp(static_cast<size_t>(state.range(1)));
  std::vector<std::uint8_t> buf(packet.size() + SRTP_MAX_TRAILER_LEN);
  std::uint32_t seq = 0;
  for (auto _ : state) {
    std::memcpy(buf.data(), packet.data(), packet.size());
    set_seq(buf.data(), seq++);
    int len = static_cast<int>(packet.size());
    benchmark::DoNotOptimize(srtp_protect(raw.ctx, buf.data(), &len));
  }
  label(state, p);
}

void BM_OursUnprotectRtp(benchmark::State& state) {
  const auto p = static_cast<Profile>(state.range(0));
  auto batch = protected_batch(p, static_cast<size_t>(state.range(1)));
  auto ctx = std::move(SrtpContext::create(keys_for(p), Side::kServer)).value();
  std::vector<std::uint8_t> buf(batch[0].size());
  int i = 0;
  for (auto _ : state) {
    if (i == kBatch) {  // the replay window has seen them all: start over
      state.PauseTiming();
      ctx = std::move(SrtpContext::create(keys_for(p), Side::kServer)).value();
      i = 0;
      state.ResumeTiming();
    }
    std::memcpy(buf.data(), batch[static_cast<size_t>(i)].data(), buf.size());
    ++i;
    PacketResult r = ctx->unprotect_rtp(buf);
    if (!r.ok()) state.SkipWithError(packet_status_code(r.status));
  }
  label(state, p);
}

void BM_RawUnprotectRtp(benchmark::State& state) {
  const auto p = static_cast<Profile>(state.range(0));
  auto batch = protected_batch(p, static_cast<size_t>(state.range(1)));
  auto raw = std::make_unique<RawSrtp>(p, false);
  std::vector<std::uint8_t> buf(batch[0].size());
  int i = 0;
  for (auto _ : state) {
    if (i == kBatch) {
      state.PauseTiming();
      raw = std::make_unique<RawSrtp>(p, false);
      i = 0;
      state.ResumeTiming();
    }
    std::memcpy(buf.data(), batch[static_cast<size_t>(i)].data(), buf.size());
    ++i;
    int len = static_cast<int>(buf.size());
    if (srtp_unprotect(raw->ctx, buf.data(), &len) != srtp_err_status_ok)
      state.SkipWithError("srtp_unprotect failed");
  }
  label(state, p);
}

// The crypto floor of the AEAD profiles: a bare OpenSSL AES-GCM seal and open
// of the same bytes as an SRTP packet (the 12-octet header as AAD, the
// payload, a 16-octet tag), with a persistent context keyed once and only
// the IV set per packet, as RFC 7714 needs at the least.
struct EvpGcm {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  std::uint8_t iv[12] = {};
  EvpGcm(Profile p, bool seal) {
    const std::vector<std::uint8_t> key(profile_info(p).key_length, 0x11);
    EVP_CipherInit_ex(ctx,
                      key.size() == 16 ? EVP_aes_128_gcm() : EVP_aes_256_gcm(),
                      nullptr, key.data(), nullptr, seal ? 1 : 0);
  }
  ~EvpGcm() { EVP_CIPHER_CTX_free(ctx); }
  void next_iv(std::uint32_t n) { std::memcpy(iv + 8, &n, 4); }
  void seal(std::uint8_t* packet, size_t length, std::uint32_t n) {
    next_iv(n);
    int out = 0;
    EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, iv);
    EVP_EncryptUpdate(ctx, nullptr, &out, packet, 12);
    EVP_EncryptUpdate(ctx, packet + 12, &out, packet + 12,
                      static_cast<int>(length - 12));
    EVP_EncryptFinal_ex(ctx, nullptr, &out);
    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, packet + length);
  }
  bool open(std::uint8_t* packet, size_t length, std::uint32_t n) {
    next_iv(n);
    int out = 0;
    EVP_DecryptInit_ex(ctx, nullptr, nullptr, nullptr, iv);
    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, packet + length - 16);
    EVP_DecryptUpdate(ctx, nullptr, &out, packet, 12);
    EVP_DecryptUpdate(ctx, packet + 12, &out, packet + 12,
                      static_cast<int>(length - 12 - 16));
    return EVP_DecryptFinal_ex(ctx, nullptr, &out) == 1;
  }
};

void BM_EvpProtectRtp(benchmark::State& state) {
  const auto p = static_cast<Profile>(state.range(0));
  EvpGcm gcm(p, true);
  auto packet = rtp(static_cast<size_t>(state.range(1)));
  std::vector<std::uint8_t> buf(packet.size() + 16);
  std::uint32_t seq = 0;
  for (auto _ : state) {
    std::memcpy(buf.data(), packet.data(), packet.size());
    gcm.seal(buf.data(), packet.size(), seq++);
    benchmark::DoNotOptimize(buf.data());
  }
  label(state, p);
}

void BM_EvpUnprotectRtp(benchmark::State& state) {
  const auto p = static_cast<Profile>(state.range(0));
  auto packet = rtp(static_cast<size_t>(state.range(1)));
  // Sealed in advance, each under its own IV.
  std::vector<std::vector<std::uint8_t>> batch;
  {
    EvpGcm sealer(p, true);
    for (std::uint32_t i = 0; i < kBatch; ++i) {
      std::vector<std::uint8_t> b(packet.size() + 16);
      std::memcpy(b.data(), packet.data(), packet.size());
      sealer.seal(b.data(), packet.size(), i);
      batch.push_back(std::move(b));
    }
  }
  EvpGcm gcm(p, false);
  std::vector<std::uint8_t> buf(packet.size() + 16);
  std::uint32_t i = 0;
  for (auto _ : state) {
    if (i == kBatch) i = 0;
    std::memcpy(buf.data(), batch[i].data(), buf.size());
    if (!gcm.open(buf.data(), buf.size(), i++))
      state.SkipWithError("EVP open failed");
  }
  label(state, p);
}

// The crypto floor of the AES-CM profiles (RFC 3711 §4.1.1, §4.2): AES-128
// in counter mode over the payload, with a persistent context keyed once and
// only the IV set per packet, and HMAC-SHA1 over the header, the payload and
// the 4-octet ROC, truncated to the profile's tag. The HMAC is the library's
// keyed helper (crypto::HmacSha1: hash states kept after the key), the
// cheapest HMAC OpenSSL 3.0 allows without allocating; what ours adds above
// this is libsrtp's own per-packet work and our wrapper.
struct EvpCm {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  crypto::HmacSha1 auth{std::vector<std::uint8_t>(20, 0x22)};
  size_t tag = 0;
  std::uint8_t iv[16] = {};
  explicit EvpCm(Profile p) : tag(profile_info(p).rtp_tag_length) {
    const std::vector<std::uint8_t> key(16, 0x11);
    EVP_EncryptInit_ex(ctx, EVP_aes_128_ctr(), nullptr, key.data(), nullptr);
  }
  ~EvpCm() { EVP_CIPHER_CTX_free(ctx); }
  void keystream(std::uint8_t* packet, size_t length, std::uint32_t n) {
    std::memcpy(iv + 10, &n, 4);
    int out = 0;
    EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, iv);
    EVP_EncryptUpdate(ctx, packet + 12, &out, packet + 12,
                      static_cast<int>(length - 12));
  }
  crypto::HmacSha1::Digest mac(const std::uint8_t* packet, size_t length) {
    static constexpr std::uint8_t roc[4] = {};
    crypto::HmacSha1::Mac m(auth);
    m.update({packet, length});
    m.update(roc);
    return m.finish();
  }
  void protect(std::uint8_t* packet, size_t length, std::uint32_t n) {
    keystream(packet, length, n);
    const auto d = mac(packet, length);
    std::memcpy(packet + length, d.data(), tag);
  }
  bool unprotect(std::uint8_t* packet, size_t length, std::uint32_t n) {
    const size_t body = length - tag;
    const auto d = mac(packet, body);
    if (CRYPTO_memcmp(d.data(), packet + body, tag) != 0) return false;
    keystream(packet, body, n);
    return true;
  }
};

void BM_EvpCmProtectRtp(benchmark::State& state) {
  const auto p = static_cast<Profile>(state.range(0));
  EvpCm cm(p);
  auto packet = rtp(static_cast<size_t>(state.range(1)));
  std::vector<std::uint8_t> buf(packet.size() + cm.tag);
  std::uint32_t seq = 0;
  for (auto _ : state) {
    std::memcpy(buf.data(), packet.data(), packet.size());
    cm.protect(buf.data(), packet.size(), seq++);
    benchmark::DoNotOptimize(buf.data());
  }
  label(state, p);
}

void BM_EvpCmUnprotectRtp(benchmark::State& state) {
  const auto p = static_cast<Profile>(state.range(0));
  auto packet = rtp(static_cast<size_t>(state.range(1)));
  std::vector<std::vector<std::uint8_t>> batch;
  {
    EvpCm sealer(p);
    for (std::uint32_t i = 0; i < kBatch; ++i) {
      std::vector<std::uint8_t> b(packet.size() + sealer.tag);
      std::memcpy(b.data(), packet.data(), packet.size());
      sealer.protect(b.data(), packet.size(), i);
      batch.push_back(std::move(b));
    }
  }
  EvpCm cm(p);
  std::vector<std::uint8_t> buf(packet.size() + cm.tag);
  std::uint32_t i = 0;
  for (auto _ : state) {
    if (i == kBatch) i = 0;
    std::memcpy(buf.data(), batch[i].data(), buf.size());
    if (!cm.unprotect(buf.data(), buf.size(), i++))
      state.SkipWithError("AES-CM floor: tag mismatch");
  }
  label(state, p);
}

void Args(benchmark::internal::Benchmark* b) {
  for (int p = 0; p < 4; ++p) {
    for (int size : {200, 1200}) b->Args({p, size});
  }
}

void CmArgs(benchmark::internal::Benchmark* b) {
  for (Profile p : {Profile::kAes128CmSha1_80, Profile::kAes128CmSha1_32}) {
    for (int size : {200, 1200}) b->Args({static_cast<int>(p), size});
  }
}

void GcmArgs(benchmark::internal::Benchmark* b) {
  for (Profile p : {Profile::kAeadAes128Gcm, Profile::kAeadAes256Gcm}) {
    for (int size : {200, 1200}) b->Args({static_cast<int>(p), size});
  }
}

BENCHMARK(BM_OursProtectRtp)->Apply(Args);
BENCHMARK(BM_RawProtectRtp)->Apply(Args);
BENCHMARK(BM_OursUnprotectRtp)->Apply(Args);
BENCHMARK(BM_RawUnprotectRtp)->Apply(Args);
BENCHMARK(BM_EvpProtectRtp)->Apply(GcmArgs);
BENCHMARK(BM_EvpUnprotectRtp)->Apply(GcmArgs);
BENCHMARK(BM_EvpCmProtectRtp)->Apply(CmArgs);
BENCHMARK(BM_EvpCmUnprotectRtp)->Apply(CmArgs);

}  // namespace
}  // namespace dtls::srtp

BENCHMARK_MAIN();
