#include "srtp/replay_window.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

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

// Runs `seqs` through ReplayWindow and libsrtp's rdbx side by side, as a
// receiver (adds only what passed) or a sender that repeats (adds replays
// too), and expects the same estimate, decision and index at every step.
void expect_as_libsrtp(size_t window, const std::vector<std::uint16_t>& seqs,
                       bool sender) {
  ReplayWindow ours(window);
  Rdbx theirs(window);
  bool first = true;
  for (size_t i = 0; i < seqs.size(); ++i) {
    const std::uint16_t seq = seqs[i];
    // A new stream's first packet (libsrtp's provisional stream): index =
    // seq, no check.
    ReplayWindow::Estimate e{seq, seq};
    srtp_xtd_seq_num_t est = seq;
    int delta = seq;
    if (!first) {
      e = ours.estimate(seq);
      delta = srtp_rdbx_estimate_index(&theirs.r, &est, seq);
      ASSERT_EQ(e.index, est) << "packet " << i << " seq " << seq;
      ASSERT_EQ(e.delta, delta) << "packet " << i << " seq " << seq;
      const Check c = ours.check(e.delta);
      ASSERT_EQ(c, from(srtp_rdbx_check(&theirs.r, delta)))
          << "packet " << i << " seq " << seq << " delta " << delta;
      if (c == Check::kTooOld || (c == Check::kReplayed && !sender)) continue;
    }
    first = false;
    ours.add(e.delta);
    srtp_rdbx_add_index(&theirs.r, delta);
    ASSERT_EQ(ours.index(), srtp_rdbx_get_packet_index(&theirs.r))
        << "packet " << i << " seq " << seq;
  }
}

// Steps forward and back around the window's edge, duplicates, jumps past
// 2^15 and many wraps.
std::vector<std::uint16_t> random_stream(std::mt19937& rng, int window,
                                         size_t n) {
  std::vector<std::uint16_t> seqs;
  std::uint16_t seq = static_cast<std::uint16_t>(rng());
  for (size_t i = 0; i < n; ++i) {
    const int kind = static_cast<int>(rng() % 100);
    int step = 1;
    if (kind < 50) {
      step = 1 + static_cast<int>(rng() % 4);
    } else if (kind < 70) {
      step = -static_cast<int>(rng() % 8);  // reorder, duplicate
    } else if (kind < 85) {
      step = -window + static_cast<int>(rng() % 5) - 2;  // the window's edge
    } else if (kind < 95) {
      step = static_cast<int>(rng() % 3000);
    } else {
      step = static_cast<int>(rng() % 0x10000);  // any: past 2^15 too
    }
    seq = static_cast<std::uint16_t>(seq + step);
    seqs.push_back(seq);
  }
  return seqs;
}

TEST(ReplayWindow, DecidesAsLibsrtpOverRandomStreams) {
  for (std::uint32_t seed : {1u, 2u, 3u, 4u}) {
    for (size_t window : {64u, 100u, 1024u, 4096u}) {
      for (bool sender : {false, true}) {
        SCOPED_TRACE("seed " + std::to_string(seed) + " window " +
                     std::to_string(window) +
                     (sender ? " sender" : " receiver"));
        std::mt19937 rng(seed);
        expect_as_libsrtp(
            window, random_stream(rng, static_cast<int>(window), 5000), sender);
      }
    }
  }
}

// The edges by hand: first packets at 0 and 65535; the index at exactly 2^15
// and just past it (where estimation switches to guessing the ROC); steps of
// the window's length and of the ring's and more; a young stream reaching
// below index 0; a sender repeating old indices.
TEST(ReplayWindow, DecidesAsLibsrtpAtTheEdges) {
  const std::vector<std::vector<std::uint16_t>> cases = {
      {0, 0, 1, 0, 65535, 1},
      {65535, 0, 65535, 1, 65534},
      {0x7fff, 0x8000, 0, 0x8000, 0x8001, 0x0001, 0x0002, 0xffff, 0x0000},
      {0x8000, 0x8001, 0x0000, 0x7fff, 0x0001},
      {0x8001, 0x0001, 0x0000, 0xffff, 0x8001},
      {10, 5, 0, 1, 11, 0},
      {100, 100 + 1024, 101, 100, 100 + 1023, 100 + 1024 + 1024, 101 + 1024},
      {5, 5 + 5000, 6 + 5000, 5 + 4000, 5 + 5000 + 0x7000, 5},
      {0xfff0, 0x0010, 0xfff0, 0xffff, 0x8010, 0x8011, 0x0010},
  };
  for (size_t window : {64u, 96u, 1024u, 32767u}) {
    for (bool sender : {false, true}) {
      for (size_t c = 0; c < cases.size(); ++c) {
        SCOPED_TRACE("case " + std::to_string(c) + " window " +
                     std::to_string(window) +
                     (sender ? " sender" : " receiver"));
        expect_as_libsrtp(window, cases[c], sender);
      }
    }
  }
}
#endif

}  // namespace
}  // namespace dtls::srtp
