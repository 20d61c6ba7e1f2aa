#include "srtp/replay_window.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>

#ifndef SYSTEM_LIBSRTP
// libsrtp's own srtp_rdbx_* (private header of the source Bazel builds).
#include "config.h"  // before any of its headers
#include "rdbx.h"
#endif

namespace dtls::srtp {
namespace {

using Check = ReplayWindow::Check;

TEST(ReplayWindow, RoundsTheWindowAsLibsrtp) {
  EXPECT_EQ(ReplayWindow(64).length(), 64u);
  EXPECT_EQ(ReplayWindow(65).length(), 96u);
  EXPECT_EQ(ReplayWindow(1024).length(), 1024u);
  EXPECT_EQ(ReplayWindow(32768).length(), 32768u);
}

// RFC 3711 §3.3.2 by hand: newer is fine, seen is a replay, older than the
// window is too old.
TEST(ReplayWindow, RefusesReplaysAndPacketsOlderThanTheWindow) {
  ReplayWindow w(64);
  w.add(w.estimate(100).delta);
  EXPECT_EQ(w.index(), 100u);
  EXPECT_EQ(w.check(w.estimate(100).delta), Check::kReplayed);
  EXPECT_EQ(w.check(w.estimate(99).delta), Check::kOk);
  EXPECT_EQ(w.check(w.estimate(101).delta), Check::kOk);
  EXPECT_EQ(w.check(w.estimate(37).delta), Check::kOk);      // 63 behind
  EXPECT_EQ(w.check(w.estimate(36).delta), Check::kTooOld);  // 64 behind
  w.add(w.estimate(40).delta);
  EXPECT_EQ(w.check(w.estimate(40).delta), Check::kReplayed);
  EXPECT_EQ(w.index(), 100u);
}

// RFC 3711 §3.3.1: past 2^15 the ROC follows the sequence number across a
// wrap, both ways.
TEST(ReplayWindow, EstimatesTheRolloverCounterAcrossAWrap) {
  ReplayWindow w(1024);
  w.add(w.estimate(0xfff0).delta);
  ReplayWindow::Estimate e = w.estimate(0x0005);
  EXPECT_EQ(e.index, 0x10005u);
  EXPECT_EQ(e.delta, 0x15);
  w.add(e.delta);
  e = w.estimate(0xfffe);
  EXPECT_EQ(e.index, 0xfffeu);
  EXPECT_EQ(e.delta, -7);
  EXPECT_EQ(w.check(e.delta), Check::kOk);
}

#ifndef SYSTEM_LIBSRTP
struct Rdbx {
  explicit Rdbx(unsigned long window) {
    EXPECT_EQ(srtp_rdbx_init(&r, window), srtp_err_status_ok);
  }
  ~Rdbx() { srtp_rdbx_dealloc(&r); }
  srtp_rdbx_t r;
};

Check from(srtp_err_status_t e) {
  if (e == srtp_err_status_ok) return Check::kOk;
  return e == srtp_err_status_replay_fail ? Check::kReplayed : Check::kTooOld;
}

// The same decisions as libsrtp over random streams: steps forward and back
// around the window's edge, duplicates, jumps past 2^15 and many wraps, for a
// receiver (add only what passed) and a sender that repeats (add anyway).
TEST(ReplayWindow, DecidesAsLibsrtpOverRandomStreams) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  for (size_t window : {64u, 100u, 1024u, 4096u}) {
    for (bool sender : {false, true}) {
      SCOPED_TRACE("window " + std::to_string(window) +
                   (sender ? " sender" : " receiver"));
      ReplayWindow ours(window);
      Rdbx theirs(window);
      std::uint16_t seq = static_cast<std::uint16_t>(rng());
      bool first = true;
      for (int i = 0; i < 20000; ++i) {
        const int kind = static_cast<int>(rng() % 100);
        const int w = static_cast<int>(window);
        int step = 1;
        if (kind < 50) {
          step = 1 + static_cast<int>(rng() % 4);
        } else if (kind < 70) {
          step = -static_cast<int>(rng() % 8);  // reorder, duplicate
        } else if (kind < 85) {
          step = -w + static_cast<int>(rng() % 5) - 2;  // the window's edge
        } else if (kind < 95) {
          step = static_cast<int>(rng() % 3000);
        } else {
          step = static_cast<int>(rng() % 0x10000);  // any: past 2^15 too
        }
        seq = static_cast<std::uint16_t>(seq + step);
        ReplayWindow::Estimate e{seq, seq};
        srtp_xtd_seq_num_t est = seq;
        int delta = seq;
        // A new stream's first packet (libsrtp's provisional stream): index
        // = seq, no check.
        if (!first) {
          e = ours.estimate(seq);
          delta = srtp_rdbx_estimate_index(&theirs.r, &est, seq);
          ASSERT_EQ(e.index, est) << "packet " << i;
          ASSERT_EQ(e.delta, delta) << "packet " << i;
          const Check c = ours.check(e.delta);
          ASSERT_EQ(c, from(srtp_rdbx_check(&theirs.r, delta)))
              << "packet " << i << " delta " << delta;
          if (c == Check::kTooOld || (c == Check::kReplayed && !sender))
            continue;
        }
        first = false;
        ours.add(e.delta);
        srtp_rdbx_add_index(&theirs.r, delta);
        ASSERT_EQ(ours.index(), srtp_rdbx_get_packet_index(&theirs.r))
            << "packet " << i;
      }
    }
  }
}
#endif

}  // namespace
}  // namespace dtls::srtp
