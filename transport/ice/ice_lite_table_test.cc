#include "transport/ice/ice_lite_table.h"

#include <gtest/gtest.h>

#include "tests/testing/ice_check.h"
#include "tests/testing/record_bytes.h"
#include "transport/dtls/dtls_record.h"
#include "transport/ice/stun_message.h"

namespace dtls {
namespace {

using std::chrono::milliseconds;

constexpr char kPwd[] = "abcdefghijklmnopqrstuvwx";

PeerAddress address(std::uint16_t port) {
  return std::move(PeerAddress::parse("192.0.2.1", port)).value();
}

IceSessionOptions session(std::string ufrag,
                          milliseconds consent = milliseconds(1000),
                          size_t max_addresses = 8) {
  IceSessionOptions o;
  o.local = {std::move(ufrag), kPwd};
  o.consent_timeout = consent;
  o.max_addresses = max_addresses;
  return o;
}

// A valid check for `ufrag` from `from`, through the session's responder and
// into the table, as the endpoint core does it.
IceLiteResponder::Reply check(IceLiteTable& table, const std::string& ufrag,
                              const PeerAddress& from, TimePoint now) {
  IceLiteTable::Session* s = table.find(ufrag);
  EXPECT_NE(s, nullptr);
  auto bytes = testing::ice_check(ufrag + ":remote", kPwd, false);
  auto m = stun::Message::parse(bytes);
  EXPECT_TRUE(m);
  auto reply = s->responder.handle(*m, from, now);
  EXPECT_EQ(reply.outcome, IceLiteResponder::Outcome::kSuccess);
  table.checked(*s, from, reply.evicted);
  return reply;
}

std::vector<std::uint8_t> hello_record(std::uint16_t epoch = 0,
                                       std::uint8_t type = kContentHandshake,
                                       std::uint8_t marker = 0) {
  return testing::dtls_record_bytes(type, kDtls12Version, epoch, 0,
                                    {1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, marker});
}

TEST(IceLiteTable, AddValidatesAndKeepsUfragsUnique) {
  IceLiteTable table(milliseconds(2000), 64);
  const TimePoint t0{};
  EXPECT_TRUE(table.add(session("lite"), t0).ok());
  EXPECT_EQ(table.add(session("lite"), t0).error().code,
            "ERR_ICE_UFRAG_IN_USE");
  EXPECT_EQ(table.add(session("a"), t0).error().code,
            "ERR_INVALID_ARG_VALUE");  // ufrag too short
  EXPECT_EQ(table.add(session("other", milliseconds(0)), t0).error().code,
            "ERR_OUT_OF_RANGE");
  EXPECT_EQ(
      table.add(session("other", milliseconds(1000), 65), t0).error().code,
      "ERR_OUT_OF_RANGE");
  IceSessionOptions bad_remote = session("other");
  bad_remote.remote_ufrag = "x";
  EXPECT_EQ(table.add(bad_remote, t0).error().code, "ERR_INVALID_ARG_VALUE");
  EXPECT_EQ(table.size(), 1u);
  ASSERT_NE(table.find("lite"), nullptr);
  EXPECT_EQ(table.find("other"), nullptr);
  EXPECT_EQ(table.next_deadline(), t0 + milliseconds(1000));
}

TEST(IceLiteTable, ChecksIndexAddressesAndEvictionsUnindexThem) {
  IceLiteTable table(milliseconds(2000), 64);
  const TimePoint t0{};
  ASSERT_TRUE(table.add(session("lite", milliseconds(1000), 2), t0).ok());
  ASSERT_TRUE(table.add(session("second"), t0).ok());
  EXPECT_FALSE(table.has_addresses());
  EXPECT_EQ(table.by_address(address(1)), nullptr);
  check(table, "lite", address(1), t0);
  check(table, "lite", address(2), t0);
  check(table, "second", address(9), t0);
  EXPECT_EQ(table.by_address(address(1)), table.find("lite"));
  EXPECT_EQ(table.by_address(address(9)), table.find("second"));
  // A third address makes the responder forget its oldest (max_addresses 2).
  auto reply = check(table, "lite", address(3), t0);
  ASSERT_TRUE(reply.evicted);
  EXPECT_EQ(*reply.evicted, address(1));
  EXPECT_EQ(table.by_address(address(1)), nullptr);
  EXPECT_EQ(table.by_address(address(3)), table.find("lite"));
  // Removing a session takes its addresses and its deadline with it.
  table.remove(table.find("lite"));
  EXPECT_EQ(table.by_address(address(2)), nullptr);
  EXPECT_EQ(table.by_address(address(3)), nullptr);
  EXPECT_EQ(table.by_address(address(9)), table.find("second"));
  EXPECT_EQ(table.size(), 1u);
}

TEST(IceLiteTable, ConsentRunsFromCreationThenFromTheLastCheck) {
  IceLiteTable table(milliseconds(2000), 64);
  const TimePoint t0{};
  ASSERT_TRUE(table.add(session("early", milliseconds(100)), t0).ok());
  ASSERT_TRUE(table.add(session("checked", milliseconds(100)), t0).ok());
  check(table, "checked", address(1), t0 + milliseconds(60));
  EXPECT_EQ(table.next_deadline(), t0 + milliseconds(100));
  EXPECT_EQ(table.pop_expired(t0 + milliseconds(99)), nullptr);
  // RFC 7675 §5.1: without a check, consent ends at creation + timeout.
  IceLiteTable::Session* expired = table.pop_expired(t0 + milliseconds(100));
  ASSERT_NE(expired, nullptr);
  EXPECT_EQ(expired->options.local.ufrag, "early");
  table.remove(expired);
  EXPECT_EQ(table.pop_expired(t0 + milliseconds(100)), nullptr);
  // The check at 60 ms moved the other one's to 160 ms.
  EXPECT_EQ(table.next_deadline(), t0 + milliseconds(160));
  EXPECT_EQ(table.pop_expired(t0 + milliseconds(159)), nullptr);
  ASSERT_EQ(table.pop_expired(t0 + milliseconds(160)), table.find("checked"));
}

TEST(IceLiteTable, HoldsOnlyEpochZeroHandshakesBoundedInTimeAndCount) {
  IceLiteTable table(milliseconds(100), 3);
  const TimePoint t0{};
  EXPECT_FALSE(table.hold(hello_record(1), address(1), t0));
  EXPECT_FALSE(
      table.hold(hello_record(0, kContentApplicationData), address(1), t0));
  EXPECT_FALSE(table.hold(std::vector<std::uint8_t>{22, 1}, address(1), t0));
  EXPECT_EQ(table.held_count(), 0u);
  EXPECT_TRUE(
      table.hold(hello_record(0, kContentHandshake, 1), address(1), t0));
  EXPECT_TRUE(
      table.hold(hello_record(0, kContentHandshake, 2), address(2), t0));
  EXPECT_TRUE(table.hold(hello_record(0, kContentHandshake, 3), address(1),
                         t0 + milliseconds(50)));
  // The fourth makes room by dropping the oldest.
  EXPECT_TRUE(table.hold(hello_record(0, kContentHandshake, 4), address(1),
                         t0 + milliseconds(60)));
  EXPECT_EQ(table.held_count(), 3u);
  // At 130 ms the one held at 50 ms is still fresh, the one at 0 ms is gone.
  auto mine = table.take_held(address(1), t0 + milliseconds(130));
  ASSERT_EQ(mine.size(), 2u);
  EXPECT_EQ(mine[0], hello_record(0, kContentHandshake, 3));
  EXPECT_EQ(mine[1], hello_record(0, kContentHandshake, 4));
  EXPECT_EQ(table.held_count(), 1u);
  // Stale ones are forgotten without being handed back.
  EXPECT_TRUE(table.take_held(address(2), t0 + milliseconds(101)).empty());
  EXPECT_EQ(table.held_count(), 0u);
  IceLiteTable none(milliseconds(100), 0);
  EXPECT_FALSE(none.hold(hello_record(), address(1), t0));
}

TEST(IceLiteTable, TakeAllEmptiesTheTableButKeepsTheSessionsAlive) {
  IceLiteTable table(milliseconds(2000), 64);
  const TimePoint t0{};
  ASSERT_TRUE(table.add(session("lite"), t0).ok());
  check(table, "lite", address(1), t0);
  ASSERT_TRUE(table.hold(hello_record(), address(2), t0));
  IceLiteTable::Sessions all = table.take_all();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all.begin()->second->options.local.ufrag, "lite");
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.by_address(address(1)), nullptr);
  EXPECT_EQ(table.held_count(), 0u);
  EXPECT_FALSE(table.next_deadline());
  // Removing a session the table no longer holds does nothing.
  table.remove(all.begin()->second.get());
  EXPECT_TRUE(table.add(session("lite"), t0).ok());
}

}  // namespace
}  // namespace dtls
