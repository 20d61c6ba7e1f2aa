#include "transport/endpoint/forward_table.h"

#include <gtest/gtest.h>

namespace dtls {
namespace {

using std::chrono::seconds;

PeerAddress at(std::uint16_t port) {
  return PeerAddress::parse("10.0.0.1", port).value();
}

const TimePoint t0 = TimePoint{} + std::chrono::hours(1);

TEST(ForwardTable, EntriesLiveTtlAfterTheirLastCheck) {
  ForwardTable t(seconds(30), 8);
  EXPECT_FALSE(t.next_deadline());
  t.set(at(1), 2, t0);
  t.set(at(2), 3, t0 + seconds(10));
  EXPECT_EQ(t.find(at(1)), 2u);
  EXPECT_EQ(t.find(at(2)), 3u);
  EXPECT_FALSE(t.find(at(3)));
  EXPECT_EQ(t.next_deadline(), t0 + seconds(30));
  // A refresh moves the first entry behind the second.
  t.set(at(1), 2, t0 + seconds(20));
  EXPECT_EQ(t.next_deadline(), t0 + seconds(40));
  t.expire(t0 + seconds(39));
  EXPECT_EQ(t.size(), 2u);
  t.expire(t0 + seconds(40));
  EXPECT_FALSE(t.find(at(2)));
  EXPECT_EQ(t.find(at(1)), 2u);
  EXPECT_EQ(t.next_deadline(), t0 + seconds(50));
  t.expire(t0 + seconds(50));
  EXPECT_TRUE(t.empty());
  EXPECT_FALSE(t.next_deadline());
}

TEST(ForwardTable, ANewOwnerReplacesTheOld) {
  ForwardTable t(seconds(30), 8);
  t.set(at(1), 2, t0);
  t.set(at(1), 5, t0 + seconds(1));
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.find(at(1)), 5u);
  t.erase(at(1));
  EXPECT_FALSE(t.find(at(1)));
  t.erase(at(1));  // twice is harmless
  EXPECT_TRUE(t.empty());
}

TEST(ForwardTable, AtCapacityTheLongestUncheckedMakesRoom) {
  ForwardTable t(seconds(30), 3);
  for (std::uint16_t p = 1; p <= 3; ++p) t.set(at(p), p, t0 + seconds(p));
  t.set(at(1), 1, t0 + seconds(4));  // refreshed: at(2) is now the oldest
  t.set(at(9), 9, t0 + seconds(5));
  EXPECT_EQ(t.size(), 3u);
  EXPECT_FALSE(t.find(at(2)));
  EXPECT_TRUE(t.find(at(1)));
  EXPECT_TRUE(t.find(at(3)));
  EXPECT_TRUE(t.find(at(9)));
  EXPECT_EQ(t.next_deadline(), t0 + seconds(33));
}

}  // namespace
}  // namespace dtls
