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

// RFC 9147 §5.8.2's DTLS-SRTP default: with use_srtp offered and no
// retransmit_initial set, a lost first ClientHello goes again after 400 ms,
// with or without adaptation; without use_srtp after 1 s; a set value wins.
TEST(DtlsRetransmit, DtlsSrtpFirstFlightsWait400Ms) {
  struct Case {
    bool srtp, adaptive;
    milliseconds initial, expected;
  };
  for (const Case& k :
       {Case{true, true, {}, milliseconds(400)},
        Case{true, false, {}, milliseconds(400)},
        Case{false, true, {}, milliseconds(1000)},
        Case{true, true, milliseconds(700), milliseconds(700)}}) {
    SCOPED_TRACE("srtp " + std::to_string(k.srtp) + ", adaptive " +
                 std::to_string(k.adaptive) + ", initial " +
                 std::to_string(k.initial.count()));
    PairConfig c = pair_config(milliseconds(25), k.adaptive);
    if (k.srtp) {
      c.client_context.srtp_profiles = "SRTP_AEAD_AES_128_GCM";
      c.server_context.srtp_profiles = "SRTP_AEAD_AES_128_GCM";
    }
    c.client.initial_retransmit_timeout = k.initial;
    Recorded r;
    DtlsPair* pair = nullptr;
    record_client(c, r, pair, [](int n) { return n == 0; });
    DtlsPair p(c);
    pair = &p;
    ASSERT_TRUE(p.start());
    p.run_handshake();
    ASSERT_TRUE(p.both_open());
    ASSERT_GE(r.sent.size(), 2u);
    EXPECT_EQ(ms(r.sent[1] - r.sent[0]), k.expected.count());
    EXPECT_EQ(p.client()->retransmit_timer().config().initial, k.expected);
  }
}

// DTLS-SRTP's 400 ms is shorter than a long path's round trip (RFC 9147
// §5.8.2 expects real-time paths below it): at RTT 500 ms the first
// ClientHello goes twice, once spuriously, and the flights after it do not,
// because the backed-off value stays until a clean sample (Karn), and the
// measured round trip then lifts the timeout above 400 ms.
TEST(DtlsRetransmit, DtlsSrtpOnALongPathResendsOnlyTheFirstFlight) {
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    PairConfig c = pair_config(milliseconds(250), true);
    c.seed = seed;
    c.client_context.srtp_profiles = "SRTP_AEAD_AES_128_GCM";
    c.server_context.srtp_profiles = "SRTP_AEAD_AES_128_GCM";
    DtlsPair p(c);
    ASSERT_TRUE(p.start());
    p.run_handshake();
    ASSERT_TRUE(p.both_open()) << "seed " << seed;
    EXPECT_EQ(p.client()->stats().retransmit_count, 1u) << "seed " << seed;
    EXPECT_EQ(p.server()->stats().retransmit_count, 0u) << "seed " << seed;
  }
}

// OpenSSL 3.0 flushes after each retransmitted message; the association
// packs what one timeout resends into datagrams up to the MTU, as OpenSSL
// packs a first transmission. So the client's last flight (certificate, key
// exchange, verify, ChangeCipherSpec, Finished), lost once, goes again in as
// many datagrams as the first time, not one per message (five), and the
// server's last flight, resent by the open server for the repeated Finished,
// also as one.
TEST(DtlsRetransmit, AResentFlightIsPackedLikeTheFirst) {
  for (std::uint32_t mtu : {1200u, 400u}) {
    SCOPED_TRACE("mtu " + std::to_string(mtu));
    PairConfig c = pair_config(milliseconds(25), true);
    c.client.mtu = mtu;
    c.server.mtu = mtu;
    struct Sent {
      TimePoint at;
      size_t size;
    };
    std::vector<Sent> client_sent, server_sent;
    DtlsPair* pair = nullptr;
    // Client datagrams: the two ClientHellos, then the last flight. The first
    // transmission of the server's last flight is lost, so the client
    // resends its own and the open server answers with its last flight again.
    int server_last = -1;
    c.client_filter = [&](const std::vector<std::uint8_t>& d,
                          int) -> std::optional<Duration> {
      client_sent.push_back({pair->now, d.size()});
      return Duration::zero();
    };
    c.server_filter = [&](const std::vector<std::uint8_t>& d,
                          int n) -> std::optional<Duration> {
      server_sent.push_back({pair->now, d.size()});
      if (pair->server() != nullptr && server_last < 0 &&
          pair->server()->state() == DtlsAssociation::State::kOpen) {
        server_last = n;
      }
      if (n == server_last && pair->client()->stats().retransmit_count == 0)
        return std::nullopt;
      return Duration::zero();
    };
    DtlsPair p(c);
    pair = &p;
    ASSERT_TRUE(p.start());
    p.run_handshake();
    ASSERT_TRUE(p.both_open());
    ASSERT_EQ(p.client()->stats().retransmit_count, 1u);
    // Datagrams per burst (one simulated instant each).
    auto bursts = [](const std::vector<Sent>& sent) {
      std::vector<int> counts;
      for (size_t i = 0; i < sent.size(); ++i) {
        if (i == 0 || sent[i].at != sent[i - 1].at) counts.push_back(0);
        counts.back()++;
      }
      return counts;
    };
    for (const Sent& s : client_sent) EXPECT_LE(s.size, mtu);
    for (const Sent& s : server_sent) EXPECT_LE(s.size, mtu);
    const std::vector<int> cb = bursts(client_sent), sb = bursts(server_sent);
    // Client: ClientHello, ClientHello with the cookie, last flight, resent.
    ASSERT_EQ(cb.size(), 4u);
    EXPECT_EQ(cb[3], cb[2]);
    if (mtu == 1200) {
      EXPECT_EQ(cb[2], 1);
    }
    // Server: HelloVerifyRequest, its flight, its last flight, resent.
    ASSERT_EQ(sb.size(), 4u);
    EXPECT_EQ(sb[3], sb[2]);
    EXPECT_EQ(sb[2], 1);
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

// No loss: adaptation adds no retransmission at any of these round trips:
// DTLS-SRTP (first timeout 400 ms) up to RTT 300 ms, plain DTLS (1 s) at 400
// ms. RFC 9147 §5.8.2 expects real-time paths below 400 ms; above, see
// DtlsSrtpOnALongPathResendsOnlyTheFirstFlight.
TEST(DtlsRetransmit, NoRetransmissionWithoutLoss) {
  for (long one_way : {1L, 25L, 75L, 150L, 200L}) {
    for (std::uint64_t seed = 1; seed <= 5; ++seed) {
      PairConfig c = pair_config(milliseconds(one_way), true);
      c.seed = seed;
      if (one_way <= 150) {
        c.client_context.srtp_profiles = "SRTP_AEAD_AES_128_GCM";
        c.server_context.srtp_profiles = "SRTP_AEAD_AES_128_GCM";
      }
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
  o.max_retransmit_timeout = milliseconds(500);  // the default is capped
  EXPECT_TRUE(validate_association_options(o).ok());
  EXPECT_EQ(retransmit_config(o, false).initial, milliseconds(500));
  EXPECT_EQ(retransmit_config(o, true).initial, milliseconds(400));
  o.initial_retransmit_timeout = seconds(1);  // a set one is not
  EXPECT_EQ(validate_association_options(o).error().code, "ERR_OUT_OF_RANGE");
  o.initial_retransmit_timeout = milliseconds(-1);
  EXPECT_EQ(validate_association_options(o).error().code, "ERR_OUT_OF_RANGE");
  o.initial_retransmit_timeout = {};
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
