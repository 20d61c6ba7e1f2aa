#include "transport/endpoint/rtt_cache.h"

#include <gtest/gtest.h>

namespace dtls {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

PeerAddress at(const char* ip, std::uint16_t port) {
  return PeerAddress::parse(ip, port).value();
}

const TimePoint t0 = TimePoint{} + std::chrono::hours(1);

TEST(RttCache, KeysByHostSoAReconnectFromANewPortFindsIt) {
  RttCache c;
  EXPECT_FALSE(c.find(at("10.0.0.1", 5000), t0));
  c.note(at("10.0.0.1", 5000), milliseconds(48), t0);
  EXPECT_EQ(c.find(at("10.0.0.1", 6001), t0 + seconds(1)), milliseconds(48));
  EXPECT_FALSE(c.find(at("10.0.0.2", 5000), t0 + seconds(1)));
  // IPv6 hosts are their own, and never match an IPv4 one by their bytes.
  EXPECT_FALSE(c.find(at("::ffff:10.0.0.1", 5000), t0));
  c.note(at("::1", 7), milliseconds(3), t0);
  EXPECT_EQ(c.find(at("::1", 8), t0), milliseconds(3));
  EXPECT_EQ(c.size(), 2u);
}

TEST(RttCache, TheLatestSampleWins) {
  RttCache c;
  c.note(at("10.0.0.1", 1), milliseconds(50), t0);
  c.note(at("10.0.0.1", 2), milliseconds(150), t0 + seconds(5));
  EXPECT_EQ(c.find(at("10.0.0.1", 3), t0 + seconds(6)), milliseconds(150));
  EXPECT_EQ(c.size(), 1u);
}

// RFC 8489 §6.2.1: stale after 10 minutes without a transaction.
TEST(RttCache, ASampleIsForgottenTenMinutesAfterItWasNoted) {
  RttCache c;
  c.note(at("10.0.0.1", 1), milliseconds(50), t0);
  EXPECT_EQ(c.find(at("10.0.0.1", 1), t0 + minutes(10)), milliseconds(50));
  EXPECT_FALSE(c.find(at("10.0.0.1", 1), t0 + minutes(10) + milliseconds(1)));
  EXPECT_EQ(c.size(), 0u);
  // A later handshake notes it again, and the clock starts over.
  c.note(at("10.0.0.1", 1), milliseconds(60), t0 + minutes(11));
  EXPECT_EQ(c.find(at("10.0.0.1", 1), t0 + minutes(20)), milliseconds(60));
}

TEST(RttCache, TheLeastRecentlyNotedHostMakesRoom) {
  RttCache c(2);
  c.note(at("10.0.0.1", 1), milliseconds(1), t0);
  c.note(at("10.0.0.2", 1), milliseconds(2), t0);
  // Noting the first again makes the second the oldest.
  c.note(at("10.0.0.1", 1), milliseconds(3), t0 + seconds(1));
  c.note(at("10.0.0.3", 1), milliseconds(4), t0 + seconds(2));
  EXPECT_EQ(c.size(), 2u);
  EXPECT_EQ(c.find(at("10.0.0.1", 1), t0 + seconds(2)), milliseconds(3));
  EXPECT_FALSE(c.find(at("10.0.0.2", 1), t0 + seconds(2)));
  EXPECT_EQ(c.find(at("10.0.0.3", 1), t0 + seconds(2)), milliseconds(4));
}

TEST(RttCache, NothingIsNotedForAnEmptyAddressOrNoRoundTrip) {
  RttCache c;
  c.note(PeerAddress(), milliseconds(5), t0);
  c.note(at("10.0.0.1", 1), milliseconds(0), t0);
  EXPECT_EQ(c.size(), 0u);
  EXPECT_FALSE(c.find(PeerAddress(), t0));
}

}  // namespace
}  // namespace dtls
