#include "tools/bench/crypto_floor_bench.h"

#include <gtest/gtest.h>

#include <cmath>

namespace dtls::bench {
namespace {

CryptoFloorOptions small() {
  CryptoFloorOptions o;
  o.profiles = {"SRTP_AES128_CM_SHA1_80", "SRTP_AEAD_AES_256_GCM"};
  o.payloads = {200, 1200};
  o.slices = 3;
  o.packets = 8;
  o.rounds = 2;
  return o;
}

// Every profile and payload gets a point whose figures are real timings (the
// packets round-tripped, or the run fails), with its profile's goal.
TEST(CryptoFloorBench, SmallRunMeasuresEveryProfileAndPayload) {
  auto r = run_crypto_floor_bench(small());
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  ASSERT_EQ(r->points.size(), 4u);
  EXPECT_EQ(r->points[0].profile, "SRTP_AES128_CM_SHA1_80");
  EXPECT_EQ(r->points[0].payload, 200u);
  EXPECT_EQ(r->points[3].profile, "SRTP_AEAD_AES_256_GCM");
  EXPECT_EQ(r->points[3].payload, 1200u);
  EXPECT_DOUBLE_EQ(r->points[0].goal, kCmFloorGoal);
  EXPECT_DOUBLE_EQ(r->points[2].goal, kAeadFloorGoal);
  for (const CryptoFloorPoint& p : r->points) {
    for (double ns : {p.ours_protect_ns, p.floor_protect_ns,
                      p.ours_unprotect_ns, p.floor_unprotect_ns}) {
      EXPECT_GT(ns, 0);
      EXPECT_LT(ns, 1e6);  // a packet, not a millisecond
    }
    EXPECT_TRUE(std::isfinite(p.protect_ratio) && p.protect_ratio > 0);
    EXPECT_TRUE(std::isfinite(p.unprotect_ratio) && p.unprotect_ratio > 0);
  }

  const std::string table = to_crypto_floor_table(*r);
  EXPECT_NE(table.find("SRTP_AEAD_AES_256_GCM"), std::string::npos);
  const std::string json = crypto_floor_json(*r);
  for (const char* key : {"\"protect_ratio\"", "\"unprotect_ratio\"",
                          "\"floor_protect_ns\"", "\"meets_goal\""}) {
    EXPECT_NE(json.find(key), std::string::npos) << key;
  }
}

TEST(CryptoFloorBench, MeetsGoalReadsBothRatios) {
  CryptoFloorPoint p;
  p.goal = 1.15;
  p.protect_ratio = 1.10;
  p.unprotect_ratio = 1.15;
  EXPECT_TRUE(p.meets_goal());
  p.unprotect_ratio = 1.16;
  EXPECT_FALSE(p.meets_goal());
}

TEST(CryptoFloorBench, BadOptionsAreRefused) {
  CryptoFloorOptions o = small();
  o.profiles = {"SRTP_NOPE"};
  auto r = run_crypto_floor_bench(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "ERR_INVALID_ARG_VALUE");
  o = small();
  o.slices = 0;
  EXPECT_FALSE(run_crypto_floor_bench(o).ok());
  o = small();
  o.payloads = {5000};
  EXPECT_FALSE(run_crypto_floor_bench(o).ok());
}

}  // namespace
}  // namespace dtls::bench
