// The handshake's retransmission schedule in simulated time (RFC 6347
// §4.2.4.1, RFC 9147 §5.8): the fixed schedule, the adaptive one that follows
// the round trip measured on earlier flights, its floor and cap, and Karn's
// rule for a spurious retransmission. The link's one-way delay sets the RTT;
// the filters drop or hold back chosen datagrams and record when each left.
#include <gtest/gtest.h>

#include <vector>

#include "tests/testing/dtls_pair.h"
#include "transport/dtls/dtls_association.h"

namespace dtls {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::DtlsPair;
using testing::PairConfig;
using testing::test_credentials;

long ms(Duration d) {
  return static_cast<long>(std::chrono::duration_cast<milliseconds>(d).count());
}

// WebRTC-style pair, `one_way` delay each way (RTT twice that), no loss.
PairConfig pair_config(Duration one_way, bool adaptive) {
  PairConfig c;
  c.client_context.credentials = test_credentials("client");
  c.server_context.credentials = test_credentials("server");
  auto fp = [](const certs::Credentials& cr) {
    return certs::Fingerprint::of(cr.leaf(), certs::HashAlgorithm::kSha256);
  };
  c.client.peer_fingerprints = {fp(test_credentials("server"))};
  c.server.peer_fingerprints = {fp(test_credentials("client"))};
  c.client_to_server.delay = one_way;
  c.server_to_client.delay = one_way;
  c.client.adaptive_retransmit = adaptive;
  c.server.adaptive_retransmit = adaptive;
  return c;
}

// When the client sent each datagram; `drop(n)` loses the n-th (from 0).
struct Recorded {
  std::vector<TimePoint> sent;
};

// A filter that records when each datagram left and drops those `drop`
// picks.
auto recording_filter(Recorded& r, DtlsPair*& pair,
                      std::function<bool(int)> drop) {
  return [&r, &pair, drop](const std::vector<std::uint8_t>&,
                           int n) -> std::optional<Duration> {
    r.sent.push_back(pair->now);
    if (drop(n)) return std::nullopt;
    return Duration::zero();
  };
}

void record_client(PairConfig& c, Recorded& r, DtlsPair*& pair,
                   std::function<bool(int)> drop) {
  c.client_filter = recording_filter(r, pair, std::move(drop));
}

// Client datagrams: 0 the first ClientHello, 1 the one with the cookie, 2 its
// last flight (one datagram at this MTU). Losing 2 once makes the client
// retransmit it: after 1 s on the fixed schedule, after about three RTTs (RFC
// 6298's first RTO, 3 R) with adaptation, R being what the cookie exchange
// and the ServerHello flight measured.
TEST(DtlsRetransmit, ALostFlightIsResentAfterTheMeasuredRoundTrip) {
  for (long one_way : {25L, 75L}) {
    for (bool adaptive : {false, true}) {
      SCOPED_TRACE("RTT " + std::to_string(2 * one_way) + " ms, adaptive " +
                   std::to_string(adaptive));
      PairConfig c = pair_config(milliseconds(one_way), adaptive);
      Recorded r;
      DtlsPair* pair = nullptr;
      record_client(c, r, pair, [](int n) { return n == 2; });
      DtlsPair p(c);
      pair = &p;
      ASSERT_TRUE(p.start());
      p.run_handshake();
      ASSERT_TRUE(p.both_open());
      ASSERT_GE(r.sent.size(), 4u);
      const long resent_after = ms(r.sent[3] - r.sent[2]);
      if (!adaptive) {
        EXPECT_EQ(resent_after, 1000);
      } else {
        // SRTT = R, RTTVAR from R/2 to 3/8 R after the second (equal)
        // sample: RTO = R + 4 * 3/8 R = 2.5 R, at least the 200 ms floor.
        const long rtt = 2 * one_way;
        EXPECT_EQ(resent_after, std::max(200L, rtt * 5 / 2));
        EXPECT_EQ(ms(*p.client()->retransmit_timer().smoothed_rtt()), rtt);
      }
      EXPECT_EQ(p.client()->stats().retransmit_count, 1u);
    }
  }
}

// The cookie exchange is the first round trip either side measures: the
// client times it from its first ClientHello to the HelloVerifyRequest, the
// server reads it from the cookie's issued-at stamp (CookieGate). So the
// ClientHello with the cookie (client datagram 1) and the server's first
// flight (server datagram 1) are each resent after RFC 6298's first RTO, 3 R,
// when lost once; 1 s on the fixed schedule.
TEST(DtlsRetransmit, TheCookieExchangeTimesTheNextFlights) {
  for (long one_way : {25L, 75L}) {
    for (bool adaptive : {false, true}) {
      for (bool server_side : {false, true}) {
        SCOPED_TRACE("RTT " + std::to_string(2 * one_way) + " ms, adaptive " +
                     std::to_string(adaptive) + ", lost by the " +
                     (server_side ? "server" : "client"));
        PairConfig c = pair_config(milliseconds(one_way), adaptive);
        DtlsPair* pair = nullptr;
        Recorded r;
        auto filter = recording_filter(r, pair, [](int n) { return n == 1; });
        if (server_side) {
          c.server_filter = filter;
        } else {
          c.client_filter = filter;
        }
        DtlsPair p(c);
        pair = &p;
        ASSERT_TRUE(p.start());
        p.run_handshake();
        ASSERT_TRUE(p.both_open());
        ASSERT_GE(r.sent.size(), 3u);
        const long rtt = 2 * one_way;
        EXPECT_EQ(ms(r.sent[2] - r.sent[1]),
                  adaptive ? std::max(200L, 3 * rtt) : 1000L);
        const DtlsAssociation* a = server_side ? p.server() : p.client();
        EXPECT_EQ(a->stats().retransmit_count, 1u);
      }
    }
  }
}

// A round trip known beforehand (ICE's, an earlier session's) is the first
// sample: the first ClientHello, lost once, goes again after 3 R instead of
// the initial 1 s; without adaptive_retransmit it changes nothing.
TEST(DtlsRetransmit, AKnownRoundTripTimesTheFirstFlight) {
  for (long one_way : {25L, 75L}) {
    for (bool adaptive : {false, true}) {
      SCOPED_TRACE("RTT " + std::to_string(2 * one_way) + " ms, adaptive " +
                   std::to_string(adaptive));
      PairConfig c = pair_config(milliseconds(one_way), adaptive);
      c.client.initial_rtt = milliseconds(2 * one_way);
      Recorded r;
      DtlsPair* pair = nullptr;
      record_client(c, r, pair, [](int n) { return n == 0; });
      DtlsPair p(c);
      pair = &p;
      ASSERT_TRUE(p.start());
      p.run_handshake();
      ASSERT_TRUE(p.both_open());
      ASSERT_GE(r.sent.size(), 2u);
      const long rtt = 2 * one_way;
      EXPECT_EQ(ms(r.sent[1] - r.sent[0]),
                adaptive ? std::max(200L, 3 * rtt) : 1000L);
      // Every side reports its estimate, from whatever samples it had.
      ASSERT_TRUE(p.client()->stats().smoothed_rtt.has_value());
      EXPECT_EQ(ms(*p.client()->stats().smoothed_rtt), rtt);
      ASSERT_TRUE(p.server()->stats().smoothed_rtt.has_value());
      EXPECT_EQ(ms(*p.server()->stats().smoothed_rtt), rtt);
    }
  }
}

// The server's last flight always lost: the client's last flight goes again
// after the adaptive first timeout (2.5 R, as above), doubling, capped by
// max_retransmit_timeout.
TEST(DtlsRetransmit, AdaptiveTimeoutsDoubleAndAreCapped) {
  PairConfig c = pair_config(milliseconds(75), true);
  c.client.max_retransmit_timeout = seconds(1);
  c.client.handshake_timeout = seconds(10);
  c.server_filter = [](const std::vector<std::uint8_t>&,
                       int n) -> std::optional<Duration> {
    // 0: the HelloVerifyRequest, 1: ServerHello .. ServerHelloDone.
    if (n >= 2) return std::nullopt;
    return Duration::zero();
  };
  Recorded r;
  DtlsPair* pair = nullptr;
  record_client(c, r, pair, [](int) { return false; });
  DtlsPair p(c);
  pair = &p;
  ASSERT_TRUE(p.start());
  p.run_for(seconds(6));
  // A resent flight leaves as several datagrams at once: one time each.
  std::vector<TimePoint> flights;
  for (TimePoint t : r.sent)
    if (flights.empty() || t != flights.back()) flights.push_back(t);
  ASSERT_GE(flights.size(), 7u);
  EXPECT_EQ(ms(flights[3] - flights[2]), 375);  // 2.5 R at R = 150 ms
  EXPECT_EQ(ms(flights[4] - flights[3]), 750);
  EXPECT_EQ(ms(flights[5] - flights[4]), 1000);  // capped
  EXPECT_EQ(ms(flights[6] - flights[5]), 1000);
}

// A round trip far below the floor (a LAN): the timeout stays at the floor.
TEST(DtlsRetransmit, AdaptiveTimeoutHasAFloor) {
  PairConfig c = pair_config(milliseconds(1), true);
  Recorded r;
  DtlsPair* pair = nullptr;
  record_client(c, r, pair, [](int n) { return n == 2; });
  DtlsPair p(c);
  pair = &p;
  ASSERT_TRUE(p.start());
  p.run_handshake();
  ASSERT_TRUE(p.both_open());
  ASSERT_GE(r.sent.size(), 4u);
  EXPECT_EQ(ms(r.sent[3] - r.sent[2]), 200);
}

// The server's last flight is held back 400 ms once: the client's 200 ms
// timer fires and resends its flight (a spurious retransmission), which the
// server answers again. That answer gives no sample (Karn: it may answer
// either transmission), so the estimate stays at the true 50 ms.
TEST(DtlsRetransmit, ASpuriousRetransmissionGivesNoSample) {
  PairConfig c = pair_config(milliseconds(25), true);
  c.server_filter = [](const std::vector<std::uint8_t>&,
                       int n) -> std::optional<Duration> {
    if (n == 2) return milliseconds(400);  // the last flight, first sent
    return Duration::zero();
  };
  DtlsPair p(c);
  ASSERT_TRUE(p.start());
  p.run_handshake();
  ASSERT_TRUE(p.both_open());
  EXPECT_GE(p.client()->stats().retransmit_count, 1u);
  const RetransmitTimer& t = p.client()->retransmit_timer();
  // The cookie exchange and the ServerHello flight; not the last one.
  EXPECT_EQ(t.samples(), 2);
  EXPECT_EQ(ms(*t.smoothed_rtt()), 50);
}

// No loss: adaptation adds no retransmission at any of these round trips.
TEST(DtlsRetransmit, NoRetransmissionWithoutLoss) {
  for (long one_way : {1L, 25L, 75L, 200L}) {
    for (std::uint64_t seed = 1; seed <= 5; ++seed) {
      PairConfig c = pair_config(milliseconds(one_way), true);
      c.seed = seed;
      DtlsPair p(c);
      ASSERT_TRUE(p.start());
      p.run_handshake();
      ASSERT_TRUE(p.both_open()) << one_way << " ms, seed " << seed;
      EXPECT_EQ(p.client()->stats().retransmit_count, 0u) << one_way;
      EXPECT_EQ(p.server()->stats().retransmit_count, 0u) << one_way;
    }
  }
}

TEST(DtlsRetransmit, OptionsAreValidated) {
  AssociationOptions o;
  o.max_retransmit_timeout = milliseconds(500);  // below the initial 1 s
  EXPECT_EQ(validate_association_options(o).error().code, "ERR_OUT_OF_RANGE");
  o.max_retransmit_timeout = seconds(61);
  EXPECT_EQ(validate_association_options(o).error().code, "ERR_OUT_OF_RANGE");
  o.max_retransmit_timeout = seconds(60);
  o.initial_retransmit_timeout = milliseconds(50);  // floor follows it down
  o.adaptive_retransmit = true;
  EXPECT_TRUE(validate_association_options(o).ok());
  o.initial_rtt = milliseconds(-1);
  EXPECT_EQ(validate_association_options(o).error().code, "ERR_OUT_OF_RANGE");
  o.initial_rtt = seconds(61);
  EXPECT_EQ(validate_association_options(o).error().code, "ERR_OUT_OF_RANGE");
  o.initial_rtt = seconds(60);
  EXPECT_TRUE(validate_association_options(o).ok());
}

}  // namespace
}  // namespace dtls
