#include "transport/endpoint/forward_table.h"

#include <gtest/gtest.h>

#include <string>

namespace dtls {
namespace {

using std::chrono::seconds;

PeerAddress at(std::uint16_t port) {
  return PeerAddress::parse("10.0.0.1", port).value();
}

const TimePoint t0 = TimePoint{} + std::chrono::hours(1);

std::optional<ForwardTable::Member> member(const ForwardTable& t,
                                           std::uint16_t port) {
  const ForwardTable::Entry* e = t.find(at(port));
  if (e == nullptr) return std::nullopt;
  return e->member;
}

TEST(ForwardTable, EntriesLiveTtlAfterTheirLastCheck) {
  ForwardTable t(seconds(30), 8);
  EXPECT_FALSE(t.next_deadline());
  t.set(at(1), 2, "a", t0);
  t.set(at(2), 3, "b", t0 + seconds(10));
  EXPECT_EQ(member(t, 1), 2u);
  EXPECT_EQ(t.find(at(1))->ufrag, "a");
  EXPECT_EQ(member(t, 2), 3u);
  EXPECT_FALSE(member(t, 3));
  EXPECT_EQ(t.next_deadline(), t0 + seconds(30));
  // A refresh moves the first entry behind the second.
  t.set(at(1), 2, "a", t0 + seconds(20));
  EXPECT_EQ(t.next_deadline(), t0 + seconds(40));
  t.expire(t0 + seconds(39));
  EXPECT_EQ(t.size(), 2u);
  t.expire(t0 + seconds(40));
  EXPECT_FALSE(member(t, 2));
  EXPECT_EQ(member(t, 1), 2u);
  EXPECT_EQ(t.next_deadline(), t0 + seconds(50));
  t.expire(t0 + seconds(50));
  EXPECT_TRUE(t.empty());
  EXPECT_EQ(t.count("a"), 0u);
  EXPECT_FALSE(t.next_deadline());
}

TEST(ForwardTable, ANewOwnerReplacesTheOld) {
  ForwardTable t(seconds(30), 8);
  t.set(at(1), 2, "a", t0);
  t.set(at(1), 5, "b", t0 + seconds(1));
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(member(t, 1), 5u);
  EXPECT_EQ(t.count("a"), 0u);
  EXPECT_EQ(t.count("b"), 1u);
  t.erase(at(1));
  EXPECT_FALSE(member(t, 1));
  t.erase(at(1));  // twice is harmless
  EXPECT_TRUE(t.empty());
  EXPECT_EQ(t.count("b"), 0u);
}

TEST(ForwardTable, AtCapacityTheLongestUncheckedMakesRoom) {
  ForwardTable t(seconds(30), 3);
  for (std::uint16_t p = 1; p <= 3; ++p)
    t.set(at(p), p, std::to_string(p), t0 + seconds(p));
  t.set(at(1), 1, "1", t0 + seconds(4));  // refreshed: at(2) is the oldest
  t.set(at(9), 9, "9", t0 + seconds(5));
  EXPECT_EQ(t.size(), 3u);
  EXPECT_FALSE(member(t, 2));
  EXPECT_TRUE(member(t, 1));
  EXPECT_TRUE(member(t, 3));
  EXPECT_TRUE(member(t, 9));
  EXPECT_EQ(t.next_deadline(), t0 + seconds(33));
}

// One session's credentials from many (spoofed) sources push out only that
// session's own addresses.
TEST(ForwardTable, ASessionHoldsAtMostItsShare) {
  ForwardTable t(seconds(30), 1000, 4);
  t.set(at(1), 1, "peer", t0);
  for (std::uint16_t p = 100; p < 120; ++p)
    t.set(at(p), 2, "flood", t0 + seconds(1));
  EXPECT_EQ(t.count("flood"), 4u);
  EXPECT_EQ(t.size(), 5u);
  EXPECT_EQ(member(t, 1), 1u);
  // The newest four are kept.
  for (std::uint16_t p = 116; p < 120; ++p) EXPECT_TRUE(member(t, p)) << p;
  EXPECT_FALSE(member(t, 115));
}

}  // namespace
}  // namespace dtls
