// Protect and unprotect per profile at 200 and 1200 bytes of payload: our
// SrtpContext beside the same libsrtp calls made directly, so that any
// overhead of ours shows as a ratio (tools/srtp_benchmark.sh prints it, for
// the OpenSSL build of libsrtp and for Debian's NSS build).
#include <benchmark/benchmark.h>
#include <srtp2/srtp.h>

#include <cstring>
#include <memory>
#include <vector>

#include "srtp/crypto_floor.h"
#include "srtp/libsrtp_policy.h"
#include "srtp/srtp_context.h"

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

// Beside them, the crypto floor (srtp/crypto_floor.h): the same cipher and
// authentication work on the same bytes, with nothing of libsrtp's.
std::unique_ptr<CryptoFloor> floor_for(Profile p) {
  return std::move(CryptoFloor::create(p)).value();
}

void BM_FloorProtectRtp(benchmark::State& state) {
  const auto p = static_cast<Profile>(state.range(0));
  auto floor = floor_for(p);
  auto packet = rtp(static_cast<size_t>(state.range(1)));
  std::vector<std::uint8_t> buf(packet.size() + floor->tag());
  std::uint32_t seq = 0;
  for (auto _ : state) {
    std::memcpy(buf.data(), packet.data(), packet.size());
    if (floor->protect(buf.data(), packet.size(), seq++) == 0)
      state.SkipWithError("the crypto floor: OpenSSL failed");
    benchmark::DoNotOptimize(buf.data());
  }
  label(state, p);
}

void BM_FloorUnprotectRtp(benchmark::State& state) {
  const auto p = static_cast<Profile>(state.range(0));
  auto packet = rtp(static_cast<size_t>(state.range(1)));
  // Protected in advance, each under its own index.
  std::vector<std::vector<std::uint8_t>> batch;
  {
    auto sealer = floor_for(p);
    for (std::uint32_t i = 0; i < kBatch; ++i) {
      std::vector<std::uint8_t> b(packet.size() + sealer->tag());
      std::memcpy(b.data(), packet.data(), packet.size());
      sealer->protect(b.data(), packet.size(), i);
      batch.push_back(std::move(b));
    }
  }
  auto floor = floor_for(p);
  std::vector<std::uint8_t> buf(packet.size() + floor->tag());
  std::uint32_t i = 0;
  for (auto _ : state) {
    if (i == kBatch) i = 0;
    std::memcpy(buf.data(), batch[i].data(), buf.size());
    if (!floor->unprotect(buf.data(), buf.size(), i++))
      state.SkipWithError("the crypto floor: tag mismatch");
  }
  label(state, p);
}

void Args(benchmark::internal::Benchmark* b) {
  for (int p = 0; p < 4; ++p) {
    for (int size : {200, 1200}) b->Args({p, size});
  }
}

BENCHMARK(BM_OursProtectRtp)->Apply(Args);
BENCHMARK(BM_RawProtectRtp)->Apply(Args);
BENCHMARK(BM_OursUnprotectRtp)->Apply(Args);
BENCHMARK(BM_RawUnprotectRtp)->Apply(Args);
BENCHMARK(BM_FloorProtectRtp)->Apply(Args);
BENCHMARK(BM_FloorUnprotectRtp)->Apply(Args);

}  // namespace
}  // namespace dtls::srtp

BENCHMARK_MAIN();
