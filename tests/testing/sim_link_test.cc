#include "tests/testing/sim_link.h"

#include <gtest/gtest.h>

namespace dtls::testing {
namespace {

using std::chrono::milliseconds;

std::vector<std::uint8_t> bytes(std::uint8_t tag, size_t n = 10) {
  return std::vector<std::uint8_t>(n, tag);
}

TEST(SimLink, DeliversAfterDelayInOrder) {
  SimLink link(1, LinkConfig{}, LinkConfig{});
  TimePoint t0{};
  link.send(Side::kA, bytes(1), t0);
  link.send(Side::kA, bytes(2), t0);
  ASSERT_EQ(link.next_delivery(), t0 + milliseconds(10));
  Side to;
  std::vector<std::uint8_t> d;
  EXPECT_FALSE(link.pop_due(t0 + milliseconds(9), to, d));
  ASSERT_TRUE(link.pop_due(t0 + milliseconds(10), to, d));
  EXPECT_EQ(to, Side::kB);
  EXPECT_EQ(d[0], 1);
  ASSERT_TRUE(link.pop_due(t0 + milliseconds(10), to, d));
  EXPECT_EQ(d[0], 2);
  EXPECT_FALSE(link.next_delivery().has_value());
}

TEST(SimLink, LossDuplicationAndReorderFollowTheSeed) {
  LinkConfig lossy;
  lossy.loss = 0.3;
  lossy.duplicate = 0.2;
  lossy.reorder = 0.3;
  auto run = [&](std::uint64_t seed) {
    SimLink link(seed, lossy, lossy);
    for (int i = 0; i < 1000; ++i)
      link.send(Side::kA, bytes(static_cast<std::uint8_t>(i)), TimePoint{});
    std::vector<std::uint8_t> order;
    Side to;
    std::vector<std::uint8_t> d;
    while (link.pop_due(TimePoint{} + std::chrono::seconds(1), to, d))
      order.push_back(d[0]);
    return std::make_pair(order, link.stats(Side::kA));
  };
  auto [order1, s1] = run(42);
  auto [order2, s2] = run(42);
  EXPECT_EQ(order1, order2);
  EXPECT_NEAR(static_cast<double>(s1.dropped) / 1000, 0.3, 0.05);
  EXPECT_GT(s1.duplicated, 100u);
  EXPECT_GT(s1.reordered, 150u);
  EXPECT_EQ(s1.delivered, s1.sent - s1.dropped + s1.duplicated);
  auto [order3, s3] = run(43);
  EXPECT_NE(order1, order3);
}

TEST(SimLink, CountsOversizeDatagrams) {
  LinkConfig small;
  small.mtu = 100;
  SimLink link(1, small, small);
  link.send(Side::kB, bytes(1, 100), TimePoint{});
  link.send(Side::kB, bytes(1, 101), TimePoint{});
  EXPECT_EQ(link.stats(Side::kB).oversize, 1u);
  EXPECT_EQ(link.stats(Side::kB).largest, 101u);
}

}  // namespace
}  // namespace dtls::testing
