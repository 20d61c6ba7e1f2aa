// Heap allocations per packet, counted by interposing malloc and friends in
// this binary (sanitizers bring their own, so it skips under them): after a
// stream's first packet nothing allocates, whatever the profile.
#include <gtest/gtest.h>

#include "srtp/srtp_context.h"
#include "tests/testing/alloc_counter.h"
#include "tests/testing/srtp_test_keys.h"

namespace dtls::srtp {
namespace {

TEST(SrtpContextAllocations, NonePerPacketInSteadyState) {
  if (!testing::counting_allocations()) GTEST_SKIP() << "sanitizer build";
#ifdef SYSTEM_LIBSRTP
  GTEST_SKIP() << "Debian's libsrtp2 (NSS crypto) allocates inside NSS";
#endif
  for (const ProfileInfo& info : all_profiles()) {
    SCOPED_TRACE(std::string(info.name));
    const SrtpKeys k = testing::fixed_srtp_keys(info.profile);
    auto sender = std::move(SrtpContext::create(k, Side::kClient)).value();
    auto receiver = std::move(SrtpContext::create(k, Side::kServer)).value();
    std::vector<std::uint8_t> buf(1200 + kMaxTrailer);
    auto one = [&](std::uint16_t seq, bool rtcp) {
      std::fill(buf.begin(), buf.end(), 0xab);
      buf[0] = 0x80;
      buf[1] = rtcp ? 200 : 96;
      buf[2] = static_cast<std::uint8_t>(seq >> 8);
      buf[3] = static_cast<std::uint8_t>(seq);
      PacketResult p = rtcp ? sender->protect_rtcp(buf, 1200)
                            : sender->protect_rtp(buf, 1200);
      ASSERT_TRUE(p.ok());
      PacketResult u =
          rtcp ? receiver->unprotect_rtcp(std::span(buf).first(p.length))
               : receiver->unprotect_rtp(std::span(buf).first(p.length));
      ASSERT_TRUE(u.ok()) << packet_status_code(u.status);
    };
    // The first packets of a stream make its state (libsrtp allocates then).
    one(0, false);
    one(0, true);
    // None at all: libsrtp's OpenSSL HMAC (2 allocations per packet under
    // OpenSSL 3.0) is replaced by srtp/hmac_sha1.
    const long before = testing::allocation_count();
    for (std::uint16_t seq = 1; seq <= 2000; ++seq) one(seq, seq % 10 == 0);
    EXPECT_EQ(testing::allocation_count() - before, 0);
    // A packet that fails authentication allocates nothing either.
    std::vector<std::uint8_t> junk(100, 0x80);
    const long before_junk = testing::allocation_count();
    EXPECT_FALSE(receiver->unprotect_rtp(junk).ok());
    EXPECT_EQ(testing::allocation_count() - before_junk, 0);
  }
  EXPECT_GT(testing::allocation_count(), 0);  // the counter does count
}

}  // namespace
}  // namespace dtls::srtp
