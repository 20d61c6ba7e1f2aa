#include "transport/dtls/retransmit_timer.h"

#include <gtest/gtest.h>

namespace dtls {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(RetransmitTimer, FixedScheduleWithoutAdaptation) {
  RetransmitTimer t(
      {.initial = seconds(1), .max = seconds(60), .adaptive = false});
  const TimePoint t0{};
  t.flight_sent(t0);
  t.flight_answered(t0 + milliseconds(50));
  // Measured, but not used.
  EXPECT_EQ(t.samples(), 1);
  EXPECT_EQ(t.first_timeout(), seconds(1));
  // RFC 6347 §4.2.4.1: doubling, capped.
  EXPECT_EQ(t.next_timeout(seconds(1)), seconds(2));
  EXPECT_EQ(t.next_timeout(seconds(32)), seconds(60));
  RetransmitTimer capped({.initial = seconds(1), .max = seconds(3)});
  EXPECT_EQ(capped.next_timeout(seconds(2)), seconds(3));
}

// RFC 6298 §2.2-2.3: the first sample R gives SRTT R, RTTVAR R/2, RTO 3R;
// later samples move them by 1/8 and 1/4.
TEST(RetransmitTimer, AdaptiveFollowsRfc6298) {
  RetransmitTimer t({.initial = seconds(1),
                     .max = seconds(60),
                     .adaptive = true,
                     .floor = milliseconds(100)});
  const TimePoint t0{};
  EXPECT_EQ(t.first_timeout(), seconds(1));  // nothing measured yet
  t.flight_sent(t0);
  t.flight_answered(t0 + milliseconds(50));
  EXPECT_EQ(t.smoothed_rtt(), milliseconds(50));
  EXPECT_EQ(t.rtt_variation(), milliseconds(25));
  EXPECT_EQ(t.first_timeout(), milliseconds(150));
  t.flight_sent(t0 + seconds(1));
  t.flight_answered(t0 + seconds(1) + milliseconds(90));
  // SRTT = 7/8 50 + 1/8 90 = 55; RTTVAR = 3/4 25 + 1/4 40 = 28.75.
  EXPECT_EQ(t.smoothed_rtt(), milliseconds(55));
  EXPECT_EQ(t.rtt_variation(), std::chrono::microseconds(28750));
  EXPECT_EQ(t.first_timeout(), milliseconds(170));
  // A second answer to the same flight is no sample.
  t.flight_answered(t0 + seconds(2));
  EXPECT_EQ(t.samples(), 2);
}

TEST(RetransmitTimer, FloorAndInitialBoundTheAdaptiveTimeout) {
  RetransmitTimer t({.initial = seconds(1),
                     .max = seconds(60),
                     .adaptive = true,
                     .floor = milliseconds(100)});
  const TimePoint t0{};
  t.flight_sent(t0);
  t.flight_answered(t0 + milliseconds(1));  // loopback
  EXPECT_EQ(t.first_timeout(), milliseconds(100));
  RetransmitTimer slow({.initial = seconds(1),
                        .max = seconds(60),
                        .adaptive = true,
                        .floor = milliseconds(100)});
  slow.flight_sent(t0);
  slow.flight_answered(t0 + milliseconds(600));  // RTO 1.8 s
  EXPECT_EQ(slow.first_timeout(), seconds(1));
}

// RFC 6298 §5 (Karn): a flight sent twice gives no sample, and the backed-off
// timeout stays until a clean sample.
TEST(RetransmitTimer, RetransmittedFlightsGiveNoSampleAndKeepTheBackoff) {
  RetransmitTimer t({.initial = seconds(1),
                     .max = seconds(60),
                     .adaptive = true,
                     .floor = milliseconds(100)});
  const TimePoint t0{};
  t.flight_sent(t0);
  t.flight_answered(t0 + milliseconds(50));
  ASSERT_EQ(t.first_timeout(), milliseconds(150));
  // The next flight times out once (150 -> 300 ms) and is answered late.
  t.flight_sent(t0 + seconds(1));
  t.note_timeout(milliseconds(150));
  t.flight_retransmitted();
  t.note_timeout(t.next_timeout(milliseconds(150)));
  t.flight_answered(t0 + seconds(1) + milliseconds(400));
  EXPECT_EQ(t.samples(), 1);
  EXPECT_EQ(t.smoothed_rtt(), milliseconds(50));
  EXPECT_EQ(t.first_timeout(), milliseconds(300));
  // A clean sample ends the backoff.
  t.flight_sent(t0 + seconds(2));
  t.flight_answered(t0 + seconds(2) + milliseconds(50));
  EXPECT_LT(t.first_timeout(), milliseconds(300));
}

// RFC 9147 §5.8.2: 1 s, but 400 ms for DTLS-SRTP; never above the cap.
TEST(RetransmitTimer, DefaultInitialTimeout) {
  EXPECT_EQ(default_initial_timeout(false, seconds(60)), seconds(1));
  EXPECT_EQ(default_initial_timeout(true, seconds(60)), milliseconds(400));
  EXPECT_EQ(default_initial_timeout(false, milliseconds(300)),
            milliseconds(300));
  EXPECT_EQ(default_initial_timeout(true, milliseconds(300)),
            milliseconds(300));
}

// With a 400 ms initial value a measured 500 ms round trip (RTO 1.5 s) is
// not held at 400 ms, which would send every flight twice: adaptive timeouts
// reach 1 s, as the fixed 1 s schedule would wait, and no more.
TEST(RetransmitTimer, AShortInitialValueDoesNotCapALongRoundTrip) {
  RetransmitTimer t({.initial = milliseconds(400),
                     .max = seconds(60),
                     .adaptive = true,
                     .floor = milliseconds(200)});
  EXPECT_EQ(t.adaptive_ceiling(), seconds(1));
  const TimePoint t0{};
  t.flight_sent(t0);
  t.flight_answered(t0 + milliseconds(300));  // RTO 900 ms
  EXPECT_EQ(t.first_timeout(), milliseconds(900));
  t.flight_sent(t0 + seconds(1));
  t.flight_answered(t0 + seconds(1) + milliseconds(800));
  EXPECT_EQ(t.first_timeout(), seconds(1));
  // A longer initial value is its own ceiling; `max` caps both.
  EXPECT_EQ(RetransmitTimer({.initial = seconds(3), .adaptive = true})
                .adaptive_ceiling(),
            seconds(3));
  EXPECT_EQ(RetransmitTimer({.initial = milliseconds(400),
                             .max = milliseconds(700),
                             .adaptive = true})
                .adaptive_ceiling(),
            milliseconds(700));
}

// The first flight went twice before its answer (no sample, Karn): the next
// flight starts from the backed-off value, not from the short initial one
// that just proved too short (RFC 9147 §5.8.2).
TEST(RetransmitTimer, BackoffWithoutASampleOutlivesTheFlight) {
  RetransmitTimer t({.initial = milliseconds(400),
                     .max = seconds(60),
                     .adaptive = true,
                     .floor = milliseconds(200)});
  const TimePoint t0{};
  t.flight_sent(t0);
  t.note_timeout(milliseconds(400));
  t.flight_retransmitted();
  t.note_timeout(t.next_timeout(milliseconds(400)));
  t.flight_answered(t0 + milliseconds(500));
  EXPECT_EQ(t.samples(), 0);
  EXPECT_EQ(t.first_timeout(), milliseconds(800));
  // Without adaptation the schedule stays fixed.
  RetransmitTimer fixed({.initial = milliseconds(400), .adaptive = false});
  fixed.flight_sent(t0);
  fixed.note_timeout(milliseconds(400));
  fixed.flight_retransmitted();
  fixed.note_timeout(milliseconds(800));
  fixed.flight_answered(t0 + milliseconds(500));
  EXPECT_EQ(fixed.first_timeout(), milliseconds(400));
}

// A round trip remembered from an earlier handshake (RttCache) shortens the
// first wait but never lengthens it past the initial value, until this
// handshake measures one; then the estimator alone decides (up to 1 s).
TEST(RetransmitTimer, ARememberedRoundTripOnlyShortensTheFirstWaits) {
  const RetransmitConfig config{.initial = milliseconds(400),
                                .max = seconds(60),
                                .adaptive = true,
                                .floor = milliseconds(200)};
  RetransmitTimer fast(config);
  fast.remember(milliseconds(50));  // RTO 150 ms, at the floor
  EXPECT_EQ(fast.first_timeout(), milliseconds(200));
  RetransmitTimer slow(config);
  slow.remember(milliseconds(150));  // RTO 450 ms
  EXPECT_EQ(slow.first_timeout(), milliseconds(400));
  EXPECT_EQ(slow.samples(), 1);
  EXPECT_EQ(slow.measured(), 0);
  // The path's own sample replaces the remembered one and lifts the cap:
  // RTO 150 + 4 x 75 ms.
  const TimePoint t0{};
  slow.flight_sent(t0);
  slow.flight_answered(t0 + milliseconds(150));
  EXPECT_EQ(slow.measured(), 1);
  EXPECT_EQ(slow.smoothed_rtt(), milliseconds(150));
  EXPECT_EQ(slow.first_timeout(), milliseconds(450));
  slow.add_sample(milliseconds(600));
  EXPECT_GT(slow.first_timeout(), milliseconds(450));
  // A stale memory (300 ms) of a path now at 50 ms leaves no trace once the
  // first flight is answered: the floor, not 4.8 times it.
  RetransmitTimer stale(config);
  stale.remember(milliseconds(300));
  EXPECT_EQ(stale.first_timeout(), milliseconds(400));
  stale.flight_sent(t0);
  stale.flight_answered(t0 + milliseconds(50));
  EXPECT_EQ(stale.smoothed_rtt(), milliseconds(50));
  EXPECT_EQ(stale.first_timeout(), milliseconds(200));
  // A caller's initial_rtt (add_sample) is trusted as measured: no cap.
  RetransmitTimer known(config);
  known.add_sample(milliseconds(150));
  EXPECT_EQ(known.first_timeout(), milliseconds(450));
  // A first flight sent twice keeps its backoff over the cap (Karn).
  RetransmitTimer backed(config);
  backed.remember(milliseconds(150));
  backed.flight_sent(t0);
  backed.note_timeout(milliseconds(400));
  backed.flight_retransmitted();
  backed.note_timeout(backed.next_timeout(milliseconds(400)));
  backed.flight_answered(t0 + milliseconds(900));
  EXPECT_EQ(backed.first_timeout(), milliseconds(800));
}

TEST(RetransmitTimer, ConfigIsValidated) {
  EXPECT_TRUE(validate_retransmit_config({}).ok());
  EXPECT_EQ(
      validate_retransmit_config({.initial = milliseconds(10)}).error().code,
      "ERR_OUT_OF_RANGE");
  EXPECT_EQ(
      validate_retransmit_config({.initial = seconds(2), .max = seconds(1)})
          .error()
          .code,
      "ERR_OUT_OF_RANGE");
  EXPECT_EQ(validate_retransmit_config({.max = seconds(61)}).error().code,
            "ERR_OUT_OF_RANGE");
  EXPECT_EQ(validate_retransmit_config({.initial = milliseconds(20),
                                        .max = milliseconds(19),
                                        .floor = milliseconds(10)})
                .error()
                .message,
            "retransmit_max must be 20 ms..60 s");
  EXPECT_EQ(validate_retransmit_config(
                {.initial = milliseconds(50), .floor = milliseconds(100)})
                .error()
                .code,
            "ERR_OUT_OF_RANGE");
}

}  // namespace
}  // namespace dtls
