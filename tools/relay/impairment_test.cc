#include "tools/relay/impairment.h"

#include <gtest/gtest.h>

#include <vector>

namespace dtls::relay {
namespace {

using std::chrono::milliseconds;

const TimePoint kT0{std::chrono::hours(1)};

TEST(Impairment, NothingConfiguredDeliversEverythingAtOnce) {
  Impairment path({}, 1);
  for (int i = 0; i < 100; ++i) {
    auto f = path.offer(100, kT0);
    ASSERT_EQ(f.copies, 1);
    EXPECT_EQ(f.at[0], kT0);
  }
  EXPECT_EQ(path.stats().delivered, 100u);
  EXPECT_EQ(path.stats().lost, 0u);
}

TEST(Impairment, LossRateIsNearTheConfiguredOne) {
  ImpairmentConfig c;
  c.loss = 0.1;
  Impairment path(c, 7);
  for (int i = 0; i < 20000; ++i) path.offer(100, kT0);
  const double rate = static_cast<double>(path.stats().lost) / 20000;
  EXPECT_NEAR(rate, 0.1, 0.01);
  EXPECT_EQ(path.stats().lost + path.stats().delivered, 20000u);
}

// The n-th datagram's fate depends on the seed and n only: not on its size,
// its time, or what happened to the ones before.
TEST(Impairment, FatesRepeatPerSeedWhateverTheTraffic) {
  ImpairmentConfig c;
  c.loss = 0.2;
  c.duplicate = 0.1;
  c.reorder = 0.1;
  c.reorder_delay = milliseconds(30);
  c.jitter = milliseconds(10);
  Impairment a(c, 42), b(c, 42), other(c, 43);
  int differ = 0;
  for (int i = 0; i < 1000; ++i) {
    auto fa = a.offer(100, kT0 + milliseconds(i));
    auto fb = b.offer(1200, kT0 + milliseconds(3 * i));
    auto fo = other.offer(100, kT0 + milliseconds(i));
    ASSERT_EQ(fa.copies, fb.copies) << i;
    if (fa.copies > 0) {
      EXPECT_EQ(fa.at[0] - (kT0 + milliseconds(i)),
                fb.at[0] - (kT0 + milliseconds(3 * i)))
          << i;
    }
    if (fa.copies != fo.copies) differ++;
  }
  EXPECT_GT(differ, 100);
}

TEST(Impairment, DelayJitterAndReorderShiftDelivery) {
  ImpairmentConfig c;
  c.delay = milliseconds(25);
  c.jitter = milliseconds(10);
  c.reorder = 0.5;
  c.reorder_delay = milliseconds(100);
  Impairment path(c, 3);
  int held = 0;
  for (int i = 0; i < 1000; ++i) {
    auto f = path.offer(100, kT0);
    ASSERT_EQ(f.copies, 1);
    const Duration d = f.at[0] - kT0;
    if (d >= milliseconds(125)) {
      held++;
      EXPECT_LE(d, milliseconds(135));
    } else {
      EXPECT_GE(d, milliseconds(25));
      EXPECT_LE(d, milliseconds(35));
    }
  }
  EXPECT_EQ(static_cast<std::uint64_t>(held), path.stats().reordered);
  EXPECT_NEAR(held, 500, 60);
}

TEST(Impairment, DuplicatesArriveTwice) {
  ImpairmentConfig c;
  c.duplicate = 1;
  Impairment path(c, 1);
  auto f = path.offer(100, kT0);
  EXPECT_EQ(f.copies, 2);
  EXPECT_EQ(path.stats().duplicated, 1u);
  EXPECT_EQ(path.stats().delivered, 2u);
}

// 1 Mbit/s: a 1,250-byte datagram takes 10 ms on the link; back-to-back ones
// queue behind each other; past 5,000 queued bytes the tail is dropped.
TEST(Impairment, RateLimitQueuesThenDrops) {
  ImpairmentConfig c;
  c.rate_bps = 1'000'000;
  c.queue_bytes = 5000;
  c.delay = milliseconds(5);
  Impairment path(c, 1);
  std::vector<TimePoint> at;
  for (int i = 0; i < 8; ++i) {
    auto f = path.offer(1250, kT0);
    if (f.copies == 1) at.push_back(f.at[0]);
  }
  // Queued before each: 0, 1250, 2500, 3750 bytes (the 5th would make 6250).
  ASSERT_EQ(at.size(), 4u);
  for (size_t i = 0; i < at.size(); ++i)
    EXPECT_EQ(at[i] - kT0, milliseconds(10 * (i + 1) + 5)) << i;
  EXPECT_EQ(path.stats().queue_dropped, 4u);
  // Once the link has drained, datagrams flow again.
  auto f = path.offer(1250, kT0 + milliseconds(100));
  EXPECT_EQ(f.copies, 1);
  EXPECT_EQ(f.at[0] - kT0, milliseconds(115));
}

TEST(Impairment, SpecsParseAndBadOnesAreRefused) {
  auto c = parse_impairment(
      "loss=10%,delay=25ms,jitter=0.005s,reorder=0.02,reorder_delay=30,"
      "duplicate=0.01,rate=2mbit,queue=64k");
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  EXPECT_DOUBLE_EQ(c->loss, 0.1);
  EXPECT_EQ(c->delay, milliseconds(25));
  EXPECT_EQ(c->jitter, milliseconds(5));
  EXPECT_EQ(c->reorder_delay, milliseconds(30));
  EXPECT_EQ(c->rate_bps, 2'000'000u);
  EXPECT_EQ(c->queue_bytes, 64'000u);
  EXPECT_TRUE(parse_impairment("").ok());
  EXPECT_EQ(parse_impairment("loss=1.5").error().code, "ERR_OUT_OF_RANGE");
  EXPECT_EQ(parse_impairment("rate=10").error().code, "ERR_OUT_OF_RANGE");
  EXPECT_EQ(parse_impairment("lost=0.1").error().code, "ERR_INVALID_ARG_VALUE");
  EXPECT_EQ(parse_impairment("delay=fast").error().code,
            "ERR_INVALID_ARG_VALUE");
  EXPECT_EQ(parse_impairment("loss").error().code, "ERR_INVALID_ARG_VALUE");
}

}  // namespace
}  // namespace dtls::relay
