// Out of memory on the fast path's first packet and on a new SSRC: the
// packet fails (libsrtp's alloc_fail), and the next one goes through with
// the right keys. Replaces the global operator new: a binary of its own.
#include <gtest/gtest.h>

#include <cstdlib>
#include <new>

#include "srtp/rtp_fast_path.h"
#include "tests/testing/rtp_packets.h"

namespace {
// Allocations through operator new to let through before failing them all;
// negative: never fail.
thread_local long allocations_before_failing = -1;

void* allocate(std::size_t n) {
  if (allocations_before_failing == 0) return nullptr;
  if (allocations_before_failing > 0) --allocations_before_failing;
  return std::malloc(n == 0 ? 1 : n);
}
}  // namespace

void* operator new(std::size_t n) {
  if (void* p = allocate(n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  return allocate(n);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  return allocate(n);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace dtls::srtp {
namespace {

using Bytes = std::vector<std::uint8_t>;

struct Path {
  explicit Path(Profile p) {
    Bytes master(profile_info(p).key_length + profile_info(p).salt_length);
    for (size_t i = 0; i < master.size(); ++i)
      master[i] = static_cast<std::uint8_t>(i * 7 + 1);
    auto r = RtpFastPath::create(p, master, true, {}, &usage, &soft);
    EXPECT_TRUE(r.ok());
    path = std::move(r).value();
  }
  // With `fail`, every allocation through operator new inside the call
  // fails.
  PacketStatus protect(std::uint32_t ssrc, std::uint16_t seq, Bytes& out,
                       bool fail = false) {
    out = testing::make_rtp(ssrc, seq, 40);
    const size_t length = out.size();
    out.resize(length + path->tag());
    if (fail) allocations_before_failing = 0;
    const auto s = path->protect(out.data(), length, 12);
    allocations_before_failing = -1;
    return s.value_or(PacketStatus::kOk);
  }
  KeyUsage usage;
  std::uint64_t soft = 0;
  std::unique_ptr<RtpFastPath> path;
};

TEST(RtpFastPathOutOfMemory, FailsThePacketAndKeepsTheKeys) {
  for (Profile p : {Profile::kAes128CmSha1_80, Profile::kAeadAes128Gcm}) {
    SCOPED_TRACE(std::string(profile_info(p).name));
    Path failing(p), reference(p);
    Bytes wire, expected;
    // The first packet: its stream table cannot be made.
    EXPECT_EQ(failing.protect(7, 1, wire, true), PacketStatus::kFailed);
    EXPECT_EQ(failing.path->stream_count(), 0u);
    ASSERT_EQ(failing.protect(7, 1, wire), PacketStatus::kOk);
    ASSERT_EQ(reference.protect(7, 1, expected), PacketStatus::kOk);
    EXPECT_EQ(wire, expected);  // the session keys survived the failure
    // A new SSRC: its replay window cannot be made; the slot stays free.
    EXPECT_EQ(failing.protect(8, 1, wire, true), PacketStatus::kFailed);
    EXPECT_EQ(failing.path->stream_count(), 1u);
    ASSERT_EQ(failing.protect(8, 1, wire), PacketStatus::kOk);
    ASSERT_EQ(reference.protect(8, 1, expected), PacketStatus::kOk);
    EXPECT_EQ(wire, expected);
    EXPECT_EQ(failing.path->stream_count(), 2u);
  }
}

}  // namespace
}  // namespace dtls::srtp
