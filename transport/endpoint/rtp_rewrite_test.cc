#include "transport/endpoint/rtp_rewrite.h"

#include <gtest/gtest.h>

#include <vector>

namespace dtls {
namespace {

using Bytes = std::vector<std::uint8_t>;

// M=1, PT 96, seq 0x0102, ts 0x03040506, SSRC 0x0708090a, two payload bytes.
Bytes packet() {
  return {0x80, 0xe0, 0x01, 0x02, 0x03, 0x04, 0x05,
          0x06, 0x07, 0x08, 0x09, 0x0a, 0xaa, 0xbb};
}

TEST(RtpRewrite, ChangesOnlyTheFieldsGiven) {
  Bytes p = packet();
  EXPECT_TRUE(RtpRewrite{}.apply(p));
  EXPECT_EQ(p, packet());
  RtpRewrite all{.ssrc = 0x11223344u,
                 .payload_type = 111,
                 .sequence = 0xfffe,
                 .timestamp = 0xa0b0c0d0u};
  ASSERT_TRUE(all.apply(p));
  EXPECT_EQ(p, (Bytes{0x80, 0x80 | 111, 0xff, 0xfe, 0xa0, 0xb0, 0xc0, 0xd0,
                      0x11, 0x22, 0x33, 0x44, 0xaa, 0xbb}));
  Bytes q = packet();
  ASSERT_TRUE(RtpRewrite{.ssrc = 5}.apply(q));
  EXPECT_EQ(q[8], 0);
  EXPECT_EQ(q[11], 5);
  EXPECT_EQ(q[1], 0xe0);  // marker and payload type kept
}

TEST(RtpRewrite, RefusesWhatIsNotAFixedHeader) {
  Bytes short_one(11, 0x80);
  EXPECT_FALSE(RtpRewrite{.ssrc = 1}.apply(short_one));
  EXPECT_EQ(short_one, Bytes(11, 0x80));
  Bytes v1 = packet();
  v1[0] = 0x40;
  EXPECT_FALSE(RtpRewrite{.ssrc = 1}.apply(v1));
  Bytes p = packet();
  EXPECT_FALSE(RtpRewrite{.payload_type = 128}.apply(p));
  EXPECT_EQ(p, packet());
}

}  // namespace
}  // namespace dtls
