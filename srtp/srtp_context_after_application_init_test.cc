// An application that runs libsrtp itself and called srtp_init() before its
// first session: the library uses that kernel (libsrtp refuses a second
// srtp_init with bad_param) rather than failing, and leaves it up. A binary
// of its own: srtp_init must come before anything else in the process.
#include <gtest/gtest.h>
#include <srtp2/srtp.h>

#include "srtp/srtp_context.h"
#include "tests/testing/rtp_packets.h"
#include "tests/testing/srtp_test_keys.h"

namespace dtls::srtp {
namespace {

TEST(SrtpContextAfterApplicationInit, UsesTheApplicationsKernel) {
  ASSERT_EQ(srtp_init(), srtp_err_status_ok);
  for (const ProfileInfo& info : all_profiles()) {
    SCOPED_TRACE(std::string(info.name));
    const SrtpKeys k = testing::fixed_srtp_keys(info.profile);
    auto sender = SrtpContext::create(k, Side::kClient);
    auto receiver = SrtpContext::create(k, Side::kServer);
    ASSERT_TRUE(sender.ok()) << sender.error().to_string();
    ASSERT_TRUE(receiver.ok()) << receiver.error().to_string();
    for (bool rtcp : {false, true}) {
      const std::vector<std::uint8_t> plain =
          rtcp ? testing::make_rtcp(3) : testing::make_rtp(3, 1, 50);
      std::vector<std::uint8_t> wire = plain;
      wire.resize(plain.size() + kMaxTrailer);
      const PacketResult p = rtcp ? (*sender)->protect_rtcp(wire, plain.size())
                                  : (*sender)->protect_rtp(wire, plain.size());
      ASSERT_TRUE(p.ok());
      wire.resize(p.length);
      const PacketResult u = rtcp ? (*receiver)->unprotect_rtcp(wire)
                                  : (*receiver)->unprotect_rtp(wire);
      ASSERT_TRUE(u.ok()) << packet_status_code(u.status);
      EXPECT_EQ(
          std::vector<std::uint8_t>(wire.begin(), wire.begin() + u.length),
          plain);
    }
  }
  // The application's kernel is still up: its own session works.
  srtp_policy_t policy{};
  srtp_crypto_policy_set_rtp_default(&policy.rtp);
  srtp_crypto_policy_set_rtcp_default(&policy.rtcp);
  unsigned char key[30] = {1};
  policy.key = key;
  policy.ssrc.type = ssrc_any_outbound;
  srtp_t session = nullptr;
  EXPECT_EQ(srtp_create(&session, &policy), srtp_err_status_ok);
  if (session != nullptr) srtp_dealloc(session);
}

}  // namespace
}  // namespace dtls::srtp
