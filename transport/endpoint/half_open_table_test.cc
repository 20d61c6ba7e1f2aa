#include "transport/endpoint/half_open_table.h"

#include <gtest/gtest.h>

#include <string>

namespace dtls {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

PeerAddress at(const std::string& ip, std::uint16_t port) {
  return std::move(PeerAddress::parse(ip, port)).value();
}

using Verdict = HalfOpenTable::Admission::Verdict;

// The victim admit() names, or nullopt when it admits or refuses.
std::optional<PeerAddress> victim(const HalfOpenTable& t, const PeerAddress& p,
                                  TimePoint now, bool full = false) {
  auto a = t.admit(p, now, full);
  if (a.verdict != Verdict::kReplace) return std::nullopt;
  return a.victim;
}

TEST(HalfOpenTable, RoomUntilABoundIsReached) {
  HalfOpenTable t({.per_address = 2,
                   .total = 4,
                   .timeout = seconds(10),
                   .grace = milliseconds(0)});
  const TimePoint now{};
  const TimePoint later = now + milliseconds(10);
  EXPECT_EQ(t.admit(at("10.0.0.1", 1), now).verdict, Verdict::kAdmit);
  t.add(at("10.0.0.1", 1), now);
  t.add(at("10.0.0.1", 2), now + milliseconds(1));
  EXPECT_EQ(t.count_for_address(at("10.0.0.1", 99)), 2u);
  // The address is at its bound: its oldest goes, others are untouched.
  EXPECT_EQ(victim(t, at("10.0.0.1", 3), later), at("10.0.0.1", 1));
  EXPECT_EQ(t.admit(at("10.0.0.2", 1), now).verdict, Verdict::kAdmit);
  t.add(at("10.0.0.2", 1), now + milliseconds(2));
  t.add(at("::1", 1), now + milliseconds(3));
  EXPECT_EQ(t.size(), 4u);
  // The table is full: the oldest of all goes.
  EXPECT_EQ(victim(t, at("10.0.0.3", 1), later), at("10.0.0.1", 1));
  t.remove(at("10.0.0.1", 1));
  EXPECT_EQ(t.admit(at("10.0.0.3", 1), now).verdict, Verdict::kAdmit);
  // The endpoint at max_sessions: make room from the oldest half-open one,
  // or refuse when there is none.
  EXPECT_EQ(victim(t, at("10.0.0.3", 1), later, true), at("10.0.0.1", 2));
  HalfOpenTable empty;
  EXPECT_EQ(empty.admit(at("10.0.0.3", 1), now, true).verdict,
            Verdict::kRefuse);
}

// A half-open handshake is safe from replacement for its grace: a correct
// client answers within a round trip. Until then, newcomers are refused (and
// retransmit their hello).
TEST(HalfOpenTable, NothingIsReplacedWithinItsGrace) {
  HalfOpenTable t({.per_address = 1,
                   .total = 2,
                   .timeout = seconds(10),
                   .grace = seconds(1)});
  const TimePoint t0{};
  t.add(at("10.0.0.1", 1), t0);
  EXPECT_EQ(t.admit(at("10.0.0.1", 2), t0 + milliseconds(999)).verdict,
            Verdict::kRefuse);
  EXPECT_EQ(victim(t, at("10.0.0.1", 2), t0 + seconds(1)), at("10.0.0.1", 1));
  t.add(at("10.0.0.2", 1), t0 + seconds(1));
  // Full: the oldest of all is past its grace, the newest is not.
  EXPECT_EQ(victim(t, at("10.0.0.3", 1), t0 + seconds(1)), at("10.0.0.1", 1));
  t.remove(at("10.0.0.1", 1));
  t.add(at("10.0.0.3", 1), t0 + seconds(1));
  EXPECT_EQ(t.admit(at("10.0.0.4", 1), t0 + milliseconds(1500)).verdict,
            Verdict::kRefuse);
  EXPECT_EQ(t.admit(at("10.0.0.4", 1), t0 + seconds(2)).verdict,
            Verdict::kReplace);
}

// An IPv6 host usually holds a whole /64: its addresses count as one.
TEST(HalfOpenTable, AnIpv6Slash64IsOneAddress) {
  HalfOpenTable t({.per_address = 2, .total = 10, .timeout = seconds(10)});
  t.add(at("2001:db8:1:2::1", 1), TimePoint{});
  t.add(at("2001:db8:1:2:ffff::9", 1), TimePoint{});
  EXPECT_EQ(t.count_for_address(at("2001:db8:1:2:abcd::", 7)), 2u);
  EXPECT_EQ(t.count_for_address(at("2001:db8:1:3::1", 1)), 0u);
  EXPECT_EQ(t.count_for_address(at("10.0.0.1", 1)), 0u);
}

TEST(HalfOpenTable, ProgressAndEndingLeaveTheTable) {
  HalfOpenTable t({.per_address = 1, .total = 10, .timeout = seconds(10)});
  t.add(at("10.0.0.1", 1), TimePoint{});
  EXPECT_TRUE(t.contains(at("10.0.0.1", 1)));
  t.remove(at("10.0.0.1", 1));
  t.remove(at("10.0.0.1", 1));  // twice: no-op
  EXPECT_FALSE(t.contains(at("10.0.0.1", 1)));
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.count_for_address(at("10.0.0.1", 1)), 0u);
  EXPECT_EQ(t.admit(at("10.0.0.1", 2), TimePoint{}).verdict, Verdict::kAdmit);
  // Adding a peer again restarts its clock.
  t.add(at("10.0.0.2", 1), TimePoint{});
  t.add(at("10.0.0.2", 1), TimePoint{} + seconds(5));
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.next_deadline(), TimePoint{} + seconds(15));
}

TEST(HalfOpenTable, TheOldestExpiresFirst) {
  HalfOpenTable t({.per_address = 8, .total = 8, .timeout = seconds(10)});
  const TimePoint t0{};
  EXPECT_EQ(t.next_deadline(), std::nullopt);
  t.add(at("10.0.0.1", 1), t0);
  t.add(at("10.0.0.2", 1), t0 + seconds(3));
  t.add(at("10.0.0.1", 2), t0 + seconds(4));
  t.remove(at("10.0.0.2", 1));  // progressed
  EXPECT_EQ(t.next_deadline(), t0 + seconds(10));
  EXPECT_EQ(t.pop_expired(t0 + seconds(9)), std::nullopt);
  EXPECT_EQ(t.pop_expired(t0 + seconds(10)), at("10.0.0.1", 1));
  EXPECT_EQ(t.next_deadline(), t0 + seconds(14));
  EXPECT_EQ(t.pop_expired(t0 + seconds(20)), at("10.0.0.1", 2));
  EXPECT_EQ(t.pop_expired(t0 + seconds(20)), std::nullopt);
  EXPECT_EQ(t.size(), 0u);
}

// Thousands of half-open handshakes from one address and from many: the
// table never holds more than its bounds, and each bound evicts from the
// right place.
TEST(HalfOpenTable, FloodsStayWithinTheBounds) {
  HalfOpenTable t({.per_address = 16,
                   .total = 256,
                   .timeout = seconds(10),
                   .grace = milliseconds(0)});
  TimePoint now{};
  size_t evicted = 0;
  auto admit = [&](const PeerAddress& p) {
    if (auto v = victim(t, p, now)) {
      t.remove(*v);
      evicted++;
    }
    t.add(p, now);
    now += milliseconds(1);
  };
  for (std::uint16_t port = 1; port <= 5000; ++port)
    admit(at("192.0.2.1", port));
  EXPECT_EQ(t.count_for_address(at("192.0.2.1", 0)), 16u);
  EXPECT_EQ(evicted, 5000u - 16);
  // The 16 kept are the newest.
  EXPECT_TRUE(t.contains(at("192.0.2.1", 5000)));
  EXPECT_FALSE(t.contains(at("192.0.2.1", 4984)));
  evicted = 0;
  for (int i = 0; i < 5000; ++i) {
    admit(at("198.51.100." + std::to_string(i % 250),
             static_cast<std::uint16_t>(i)));
  }
  EXPECT_EQ(t.size(), 256u);
  EXPECT_LE(t.count_for_address(at("198.51.100.7", 0)), 16u);
  EXPECT_EQ(evicted, 5000u + 16 - 256);
  EXPECT_FALSE(t.contains(at("192.0.2.1", 5000)));  // the oldest went first
}

TEST(HalfOpenTable, LimitsAreValidated) {
  EXPECT_TRUE(validate_half_open_limits({}).ok());
  EXPECT_EQ(validate_half_open_limits({.per_address = 0}).error().code,
            "ERR_OUT_OF_RANGE");
  EXPECT_EQ(validate_half_open_limits({.total = 0}).error().code,
            "ERR_OUT_OF_RANGE");
  EXPECT_EQ(
      validate_half_open_limits({.timeout = milliseconds(99)}).error().code,
      "ERR_OUT_OF_RANGE");
  EXPECT_EQ(validate_half_open_limits({.timeout = std::chrono::hours(2)})
                .error()
                .code,
            "ERR_OUT_OF_RANGE");
  EXPECT_EQ(validate_half_open_limits(
                {.timeout = seconds(1), .grace = milliseconds(1001)})
                .error()
                .code,
            "ERR_OUT_OF_RANGE");
  EXPECT_TRUE(validate_half_open_limits({.grace = milliseconds(0)}).ok());
}

}  // namespace
}  // namespace dtls
