#include "transport/endpoint/demux.h"

#include <gtest/gtest.h>

#include <vector>

namespace dtls {
namespace {

PacketKind first(std::uint8_t b, std::uint8_t second = 0) {
  std::vector<std::uint8_t> d = {b, second};
  return classify(d);
}

TEST(Demux, EveryFirstByte) {
  for (int b = 0; b < 256; ++b) {
    PacketKind want = PacketKind::kUnknown;
    if (b <= 3)
      want = PacketKind::kStun;
    else if (b >= 16 && b <= 19)
      want = PacketKind::kZrtp;
    else if (b >= 20 && b <= 63)
      want = PacketKind::kDtls;
    else if (b >= 64 && b <= 79)
      want = PacketKind::kTurn;
    else if (b >= 128 && b <= 191)
      want = PacketKind::kRtp;
    EXPECT_EQ(first(static_cast<std::uint8_t>(b), 96), want) << b;
  }
}

TEST(Demux, RtcpBySecondByte) {
  // RTP version 2 (0x80): payload type 96 with and without marker is RTP; 200
  // (SR), 201 (RR), 206 (PSFB) are RTCP; the range is 192..223.
  EXPECT_EQ(first(0x80, 96), PacketKind::kRtp);
  EXPECT_EQ(first(0x80, 96 | 0x80), PacketKind::kRtp);
  EXPECT_EQ(first(0x80, 111), PacketKind::kRtp);
  EXPECT_EQ(first(0x81, 200), PacketKind::kRtcp);
  EXPECT_EQ(first(0x80, 201), PacketKind::kRtcp);
  EXPECT_EQ(first(0x8f, 206), PacketKind::kRtcp);
  EXPECT_EQ(first(0x80, 191), PacketKind::kRtp);
  EXPECT_EQ(first(0x80, 192), PacketKind::kRtcp);
  EXPECT_EQ(first(0x80, 223), PacketKind::kRtcp);
  EXPECT_EQ(first(0x80, 224), PacketKind::kRtp);
}

TEST(Demux, ShortDatagrams) {
  EXPECT_EQ(classify({}), PacketKind::kUnknown);
  std::vector<std::uint8_t> one = {0x80};
  EXPECT_EQ(
      classify(one),
      PacketKind::kRtp);  // too short to be valid; the RTP layer rejects it
  std::vector<std::uint8_t> dtls = {22};
  EXPECT_EQ(classify(dtls), PacketKind::kDtls);
}

TEST(Demux, Counters) {
  DemuxCounters c;
  c.count(PacketKind::kDtls);
  c.count(PacketKind::kDtls);
  c.count(PacketKind::kUnknown);
  EXPECT_EQ(c[PacketKind::kDtls], 2u);
  EXPECT_EQ(c[PacketKind::kUnknown], 1u);
  EXPECT_EQ(c[PacketKind::kStun], 0u);
  EXPECT_STREQ(to_string(PacketKind::kRtcp), "rtcp");
}

}  // namespace
}  // namespace dtls
