// OpenSSL out of memory, at each of its allocations in turn: while a context
// is made (libsrtp's start included), on a stream's first RTP packet (the
// fast path's cipher contexts), and on a new SSRC's first SRTCP packet
// (libsrtp's stream, with our cipher types). The call fails with an error,
// and the next try, with memory back, goes through under the right keys: a
// failed start keeps them. OpenSSL's allocator is replaced: a binary of its
// own.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <srtp2/srtp.h>

#include <string>

#include "srtp/srtp_context.h"
#include "tests/testing/openssl_alloc_failure.h"
#include "tests/testing/rtp_packets.h"
#include "tests/testing/srtp_test_keys.h"

// LeakSanitizer's suppressions for this binary (it asks for them at exit):
// libsrtp 2.5.0's srtp_stream_init_keys returns early on a failure after its
// key-derivation cipher is made, without srtp_kdf_clear, and so leaks that
// cipher (about 0.2 KiB) each time OpenSSL fails an allocation in the
// session ciphers' set-up that follows. Only out of memory; ours frees all.
extern "C" const char* __lsan_default_suppressions() {
  return "leak:srtp_stream_init_keys\n";
}

namespace dtls::srtp {
namespace {

using Bytes = std::vector<std::uint8_t>;

std::unique_ptr<SrtpContext> context(Profile p, Side side) {
  auto c = SrtpContext::create(testing::fixed_srtp_keys(p), side);
  EXPECT_TRUE(c.ok());
  return c.ok() ? std::move(c).value() : nullptr;
}

// For k = 0, 1, ...: `setup()`, then `op()` with the k-th OpenSSL allocation
// in it failing. Either op() fails, and with memory back op() again must
// succeed, or op() succeeded all the same (OpenSSL got by without, as when
// it cannot cache a fetched method); either way `check()` must then pass.
// Ends at the first k that op() does not reach, and returns it (the
// allocations op() makes); `failed_calls` counts the op() calls that failed.
template <class Setup, class Op, class Check>
long each_allocation_failing(Setup&& setup, Op&& op, Check&& check,
                             long* failed_calls = nullptr) {
  for (long k = 0; k < 10000; ++k) {
    setup();
    testing::fail_openssl_allocations_after(k);
    const bool ok = op();
    testing::allow_openssl_allocations();
    if (testing::openssl_allocation_failures() == 0) {
      EXPECT_TRUE(ok) << "nothing failed, yet the call did";
      if (ok) check();
      return k;
    }
    if (!ok) {
      if (failed_calls != nullptr) ++*failed_calls;
      if (!op()) {
        ADD_FAILURE() << "no recovery after allocation " << k << " failed";
        return k;
      }
    }
    check();
    if (::testing::Test::HasFailure()) {
      ADD_FAILURE() << "after allocation " << k << " failed";
      return k;
    }
  }
  ADD_FAILURE() << "too many allocations";
  return 0;
}

class OpensslOutOfMemory : public ::testing::TestWithParam<Profile> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(testing::openssl_allocations_hooked())
        << "CRYPTO_set_mem_functions came too late";
  }
};

// A context made anyway works: it protects what a receiver reads back.
void works(SrtpContext& sender, Profile p) {
  for (bool rtcp : {false, true}) {
    const Bytes plain =
        rtcp ? testing::make_rtcp(9) : testing::make_rtp(9, 1, 99);
    Bytes wire = plain;
    wire.resize(plain.size() + kMaxTrailer);
    const PacketResult r = rtcp ? sender.protect_rtcp(wire, plain.size())
                                : sender.protect_rtp(wire, plain.size());
    ASSERT_TRUE(r.ok()) << packet_status_code(r.status);
    wire.resize(r.length);
    auto receiver = context(p, Side::kServer);
    const PacketResult u =
        rtcp ? receiver->unprotect_rtcp(wire) : receiver->unprotect_rtp(wire);
    ASSERT_TRUE(u.ok()) << packet_status_code(u.status);
    EXPECT_EQ(Bytes(wire.begin(), wire.begin() + u.length), plain);
  }
}

// The process's first context, with OpenSSL failing from the k-th
// allocation on and k moving on without a success in between: libsrtp's
// start (srtp_init and its self-tests), then our cipher types' replacement,
// fail with ERR_SRTP_INIT and are tried again by the next call, from where
// they failed (libsrtp 2.5.0 exit()s when a self-test fails on a kernel that
// is already up, and refuses a second srtp_init). A plain TEST, so it runs
// before the parameterized ones, which find SRTP started.
TEST(OpensslOutOfMemoryAtStart, EachFailureIsTriedAgain) {
  ASSERT_TRUE(testing::openssl_allocations_hooked());
  // Nothing started SRTP in this process yet ("srtp" is srtp_init's module).
  ASSERT_NE(srtp_set_debug_module("srtp", 0), srtp_err_status_ok)
      << "run alone or first: SRTP was started before this test";
  // OpenSSL builds all of a provider's ciphers on the first fetch of one,
  // and out of memory part way through that build left this process without
  // AES for good: every later fetch of AES-128-CTR or -GCM failed, with
  // memory. That is OpenSSL's (3.0) to keep; built here first, with memory.
  EVP_CIPHER_free(EVP_CIPHER_fetch(nullptr, "AES-128-CTR", nullptr));
  long failed = 0;
  bool kernel_up = false;
  for (long k = 0; k < 100000; ++k) {
    testing::fail_openssl_allocations_after(k);
    auto c = SrtpContext::create(
        testing::fixed_srtp_keys(Profile::kAeadAes128Gcm), Side::kClient);
    testing::allow_openssl_allocations();
    if (testing::openssl_allocation_failures() == 0) {
      ASSERT_TRUE(c.ok()) << "k " << k << ": " << c.error().to_string();
      works(**c, Profile::kAeadAes128Gcm);
      break;
    }
    // The first allocation fails the start (libsrtp's self-tests, or with
    // Debian's NSS libsrtp our replacement's).
    if (k == 0) {
      ASSERT_FALSE(c.ok());
    }
    if (c.ok()) continue;
    EXPECT_EQ(c.error().code, "ERR_SRTP_INIT") << c.error().to_string();
    ++failed;
    const bool in_srtp_init =
        c.error().message.find("srtp_init") != std::string::npos;
    if (kernel_up) {
      // Never srtp_init again once it has succeeded.
      EXPECT_FALSE(in_srtp_init) << "k " << k;
    } else if (!in_srtp_init) {
      // srtp_init went through and what follows failed: that part is
      // failed from its own first allocation on too.
      kernel_up = true;
      k = -1;
    }
  }
  EXPECT_GT(failed, 10);
  for (Profile p : {Profile::kAes128CmSha1_80, Profile::kAeadAes256Gcm}) {
    auto c = SrtpContext::create(testing::fixed_srtp_keys(p), Side::kClient);
    ASSERT_TRUE(c.ok());
    works(**c, p);
  }
}

TEST_P(OpensslOutOfMemory, MakingAContextFailsWithAnError) {
  Result<std::unique_ptr<SrtpContext>> c = make_error("ERR_TEST", "");
  long failed = 0;
  const long allocations = each_allocation_failing(
      [] {},
      [&] {
        c = SrtpContext::create(testing::fixed_srtp_keys(GetParam()),
                                Side::kClient);
        if (!c.ok()) {
          EXPECT_EQ(c.error().code, "ERR_SRTP_INIT");
        }
        return c.ok();
      },
      [&] { works(**c, GetParam()); }, &failed);
  EXPECT_GT(allocations, 0);
  EXPECT_GT(failed, 0);
}

// A protect and its check: what the receiver, which never fails, reads back
// is the packet.
struct Outbound {
  Outbound(Profile p, Bytes packet, bool rtcp)
      : profile(p), plain(std::move(packet)), rtcp(rtcp) {}
  void setup() { sender = context(profile, Side::kClient); }
  bool op() {
    wire = plain;
    wire.resize(plain.size() + kMaxTrailer);
    const PacketResult r = rtcp ? sender->protect_rtcp(wire, plain.size())
                                : sender->protect_rtp(wire, plain.size());
    if (!r.ok()) {
      EXPECT_EQ(r.status, PacketStatus::kFailed);
      return false;
    }
    wire.resize(r.length);
    return true;
  }
  void check() {
    auto receiver = context(profile, Side::kServer);
    const PacketResult u =
        rtcp ? receiver->unprotect_rtcp(wire) : receiver->unprotect_rtp(wire);
    ASSERT_TRUE(u.ok()) << packet_status_code(u.status);
    EXPECT_EQ(Bytes(wire.begin(), wire.begin() + u.length), plain);
  }
  const Profile profile;
  const Bytes plain;
  const bool rtcp;
  std::unique_ptr<SrtpContext> sender;
  Bytes wire;
};

// An unprotect and its check: a failure drops the packet, and the same
// packet again is read (the failed one moved no replay window).
struct Inbound {
  Inbound(Profile p, Bytes packet, bool rtcp)
      : profile(p), plain(std::move(packet)), rtcp(rtcp) {
    Outbound out(p, plain, rtcp);
    out.setup();
    EXPECT_TRUE(out.op());
    wire = out.wire;
  }
  void setup() { receiver = context(profile, Side::kServer); }
  bool op() {
    read = wire;
    const PacketResult u =
        rtcp ? receiver->unprotect_rtcp(read) : receiver->unprotect_rtp(read);
    if (!u.ok()) {
      EXPECT_EQ(u.status, PacketStatus::kFailed);
      return false;
    }
    read.resize(u.length);
    return true;
  }
  void check() { EXPECT_EQ(read, plain); }
  const Profile profile;
  const Bytes plain;
  const bool rtcp;
  std::unique_ptr<SrtpContext> receiver;
  Bytes wire, read;
};

// Every failed allocation fails the packet: none is one OpenSSL gets by
// without.
template <class Direction>
long run(Direction& d) {
  long failed = 0;
  const long allocations = each_allocation_failing(
      [&] { d.setup(); }, [&] { return d.op(); }, [&] { d.check(); }, &failed);
  EXPECT_EQ(failed, allocations);
  return allocations;
}

// The fast path's first packet each way: its cipher contexts are made then.
TEST_P(OpensslOutOfMemory, FirstRtpPacketOut) {
  Outbound d(GetParam(), testing::make_rtp(0x5eed, 1, 160), false);
  EXPECT_GT(run(d), 0);
  EXPECT_EQ(d.sender->counters().rtp_packets_protected, 1u);
}

TEST_P(OpensslOutOfMemory, FirstRtpPacketIn) {
  Inbound d(GetParam(), testing::make_rtp(0x5eed, 1, 160), false);
  EXPECT_GT(run(d), 0);
  EXPECT_EQ(d.receiver->counters().rtp_packets_unprotected, 1u);
}

// SRTCP stays on libsrtp: a new SSRC's stream is cloned from the template,
// with cipher contexts of its own (libsrtp's alloc_fail and cipher_fail).
TEST_P(OpensslOutOfMemory, FirstRtcpPacketOut) {
  Outbound d(GetParam(), testing::make_rtcp(0x5eed), true);
  run(d);
  EXPECT_EQ(d.sender->counters().rtcp_packets_protected, 1u);
}

TEST_P(OpensslOutOfMemory, FirstRtcpPacketIn) {
  Inbound d(GetParam(), testing::make_rtcp(0x5eed), true);
  run(d);
  EXPECT_EQ(d.receiver->counters().rtcp_packets_unprotected, 1u);
}

INSTANTIATE_TEST_SUITE_P(AllProfiles, OpensslOutOfMemory,
                         ::testing::Values(Profile::kAes128CmSha1_80,
                                           Profile::kAes128CmSha1_32,
                                           Profile::kAeadAes128Gcm,
                                           Profile::kAeadAes256Gcm),
                         [](const auto& info) {
                           return std::string(profile_info(info.param).name);
                         });

}  // namespace
}  // namespace dtls::srtp
