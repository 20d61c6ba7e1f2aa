#include "tools/bench/bench_command.h"

#include <gtest/gtest.h>
#include <sched.h>

#include <algorithm>
#include <sstream>

#include "tools/bench/bench_support.h"

namespace dtls::bench {
namespace {

// A small real run: every phase, every figure present and consistent (no
// timing asserted: figures are the tool's output, not a test's).
TEST(BenchCommand, SmallRunReportsEveryPhase) {
  BenchOptions o;
  o.handshakes = 12;
  o.concurrency = 4;
  o.sessions = 2;
  o.payloads = {200, 1200};
  o.duration_s = 0.1;
  o.repeats = 2;
  o.profiles = {"SRTP_AES128_CM_SHA1_80", "SRTP_AEAD_AES_128_GCM"};
  o.idle_sessions = 40;
  o.half_open = 50;
  o.soak_seconds = 3;
  o.self_path = "tools/dtls-srtp";  // runfiles: the child runs the real tool
  std::vector<std::string> progress;
  auto r = run_loopback_bench(
      o, [&](const std::string& line) { progress.push_back(line); });
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->handshake.count, 12);
  EXPECT_EQ(r->handshake.failures, 0);
  EXPECT_GT(r->handshake.per_second, 0);
  EXPECT_LE(r->handshake.p50_ms, r->handshake.p99_ms);
  EXPECT_GT(r->handshake.server_cpu_s, 0);
  EXPECT_GT(r->handshake.ceiling_per_second, 0);
  EXPECT_EQ(r->handshake.workers, 1);
  // Pinning the loop to one core works on Linux (CI included): one slice of
  // ours (all its handshakes) after one of the ceiling per repeat, and the
  // clients' CPU counted with the server's, on their shared loop.
  const HandshakeResult& one = r->handshake_one_core;
  EXPECT_EQ(one.count, 12 * 2);
  EXPECT_EQ(one.failures, 0);
  EXPECT_GT(one.per_second, 0);
  EXPECT_GT(one.server_cpu_s, 0);
  EXPECT_EQ(one.client_cpu_s, 0);
  EXPECT_LE(one.p50_ms, one.p99_ms);
  ASSERT_EQ(one.slices.size(), 2u);
  std::vector<double> hs;
  for (const auto& s : one.slices) {
    EXPECT_GT(s.ours_per_s, 0);
    EXPECT_GT(s.ceiling_per_s, 0);
    hs.push_back(s.ours_per_s / s.ceiling_per_s);
  }
  EXPECT_DOUBLE_EQ(one.ratio(), (hs[0] + hs[1]) / 2);
  // The ceiling printed beside the two-loop figure is the slices' median.
  EXPECT_DOUBLE_EQ(
      r->handshake.ceiling_per_second,
      (one.slices[0].ceiling_per_s + one.slices[1].ceiling_per_s) / 2);
  ASSERT_EQ(r->handshake_workers.size(), 1u);  // max_workers 2 by default
  EXPECT_EQ(r->handshake_workers[0].workers, 2);
  // Resumption: every resumed handshake reused the session; the full ones
  // none.
  EXPECT_EQ(r->tickets_full.count, 12);
  EXPECT_EQ(r->tickets_full.reused, 0);
  EXPECT_EQ(r->tickets_resumed.failures, 0);
  EXPECT_EQ(r->tickets_resumed.reused, 12);
  EXPECT_GT(r->tickets_resumed.per_second, 0);
  EXPECT_EQ(r->handshake_workers[0].failures, 0);
  EXPECT_GT(r->handshake_workers[0].per_second, 0);
  EXPECT_EQ(r->memory.sessions, 40);
  EXPECT_EQ(r->memory.failures, 0);
  EXPECT_GT(r->memory.rss_after_kib, 0);
  if (memory_measurable()) {
    EXPECT_GT(r->memory.heap_kib_per_session, 0);
  }
  EXPECT_EQ(r->memory.client_processes, 1);
  // The OpenSSL floor over as many sessions (at most 2,000).
  EXPECT_EQ(r->memory.floor_sessions, 40);
  if (memory_measurable()) {
    EXPECT_GT(r->memory.floor_kib_per_session, 0);
  }
  // Idle sessions hold no deadline: the endpoint's own (cookie rotation) at
  // most, and a few for handshakes that still settle.
  EXPECT_GE(r->memory.idle_cpu_ms_per_s, 0);
  EXPECT_LE(r->memory.idle_deadlines, 3u);
  // Handshakes beside the idle sessions and beside none, one pair per slice;
  // the ratio is between the slices' own.
  ASSERT_EQ(r->memory.slices.size(), 2u);
  std::vector<double> beside;
  for (const auto& s : r->memory.slices) {
    EXPECT_GT(s.idle_per_s, 0);
    EXPECT_GT(s.empty_per_s, 0);
    beside.push_back(s.idle_per_s / s.empty_per_s);
  }
  EXPECT_DOUBLE_EQ(r->memory.handshake_ratio(), (beside[0] + beside[1]) / 2);
  // Peers that took a cookie and went silent, each held by the server.
  EXPECT_EQ(r->memory.half_open, 50);
  EXPECT_EQ(r->memory.half_open_failures, 0);
  EXPECT_GT(r->memory.kib_per_half_open, 0);
  ASSERT_EQ(r->media.size(), 4u);
  for (const MediaResult& m : r->media) {
    SCOPED_TRACE(m.profile + " " + std::to_string(m.payload));
    EXPECT_GT(m.sent, 0u);
    EXPECT_GT(m.received, 0u);
    EXPECT_LE(m.received, m.sent);
    EXPECT_GE(m.loss, 0);
    EXPECT_GT(m.udp_ceiling_pps, 0);
    EXPECT_GT(m.srtp_ceiling_pps, 0);
    EXPECT_GT(m.ratio(), 0);
    // One sample per slice; the point's figures are their medians, between
    // the slices' own.
    ASSERT_EQ(m.slices.size(), 2u);
    std::vector<double> r;
    for (const auto& s : m.slices)
      r.push_back(s.ours_pps / std::min(s.udp_pps, m.srtp_ceiling_pps));
    EXPECT_GE(m.ratio(), *std::min_element(r.begin(), r.end()) - 1e-12);
    EXPECT_LE(m.ratio(), *std::max_element(r.begin(), r.end()) + 1e-12);
    // A sender paying for both is slower than one paying for either.
    EXPECT_GT(m.serial_bound_pps(), 0);
    EXPECT_LT(m.serial_bound_pps(), m.udp_ceiling_pps);
    EXPECT_LT(m.serial_bound_pps(), 2 * m.srtp_ceiling_pps);
    EXPECT_GT(m.bound_ratio(), 0);
    EXPECT_NEAR(m.gbit_per_s, m.received_pps * m.payload * 8 / 1e9, 1e-9);
  }
  // The media server's receive buffer as the kernel granted it: never above
  // what was asked, and Linux reports twice what it grants.
  EXPECT_GT(r->recv_buffer_granted, 0);
  EXPECT_LE(r->recv_buffer_granted / 2, static_cast<int>(o.recv_buffer));
  EXPECT_TRUE(r->udp_offload);
  // With two CPUs or more, each side of the media phase has its own.
  cpu_set_t allowed;
  ASSERT_EQ(sched_getaffinity(0, sizeof(allowed), &allowed), 0);
  if (CPU_COUNT(&allowed) >= 2) {
    EXPECT_GE(r->media_cores.sender, 0);
    EXPECT_GE(r->media_cores.receiver, 0);
    EXPECT_NE(r->media_cores.sender, r->media_cores.receiver);
  }
  // The soak: sessions joined and left, media flowed, sampled over time.
  ASSERT_TRUE(r->soak.has_value());
  ASSERT_GE(r->soak->samples.size(), 3u);
  const SoakSample& last = r->soak->samples.back();
  EXPECT_GT(last.joined, 0u);
  EXPECT_GT(last.left, 0u);
  EXPECT_EQ(last.failures, 0u);
  EXPECT_GT(last.sent, 0u);
  EXPECT_GT(last.descriptors, 0);
  EXPECT_GT(last.rss_kib, 0);
  EXPECT_NE(to_table(*r).find("soak: 100 sessions"), std::string::npos);
  // Memory, handshakes, their ceiling, and each media point.
  EXPECT_GE(progress.size(), 7u);
  std::string json = to_json(o, *r);
  for (const char* key : {"\"handshake\"",
                          "\"per_second\"",
                          "\"p99_ms\"",
                          "\"media\"",
                          "\"handshake_workers\"",
                          "\"kib_per_session\"",
                          "\"ratio\"",
                          "\"kib_per_half_open\"",
                          "\"handshake_one_core\"",
                          "\"udp_ceiling_pps\"",
                          "\"slices\"",
                          "\"bound_ratio\"",
                          "\"media_cores\"",
                          "\"ceiling_per_s\"",
                          "\"recv_buffer_granted\"",
                          "\"udp_offload\": true",
                          "\"SRTP_AEAD_AES_128_GCM\"",
                          "\"floor_kib_per_session\"",
                          "\"handshake_ratio\"",
                          "\"soak\"",
                          "\"descriptor_growth\"",
                          "\"idle_deadlines\""}) {
    EXPECT_NE(json.find(key), std::string::npos) << key;
  }
  // The crypto phase, when it ran, under its own key.
  CryptoFloorResult crypto;
  crypto.points.push_back({"SRTP_AEAD_AES_128_GCM", 200, kAeadFloorGoal});
  EXPECT_EQ(json.find("\"crypto_floor\""), std::string::npos);
  json = to_json(o, *r, nullptr, nullptr, nullptr, nullptr, &crypto);
  EXPECT_NE(json.find("\"crypto_floor\": {\"slices\""), std::string::npos);
  std::string svg = to_svg(*r);
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  size_t lines = 0;
  for (size_t at = 0; (at = svg.find("<polyline", at)) != std::string::npos;
       ++at)
    ++lines;
  EXPECT_EQ(lines, 4u);  // ours and ceiling, per profile
  EXPECT_NE(to_table(*r).find("ours/ceiling"), std::string::npos);
  EXPECT_NE(to_table(*r).find("resumed/full"), std::string::npos);
  EXPECT_NE(json.find("\"tickets_resumed\""), std::string::npos);
}

TEST(MediaResult, RatioIsTheMedianOfTheSlices) {
  MediaResult m;
  m.received_pps = 100;
  m.udp_ceiling_pps = 200;
  m.srtp_ceiling_pps = 400;
  // No slices (no ceilings measured per slice): ours over the lower ceiling.
  EXPECT_DOUBLE_EQ(m.ceiling_pps(), 200);
  EXPECT_DOUBLE_EQ(m.ratio(), 0.5);
  // 1 / (1/200 + 1/800) = 160: a sender paying for both.
  EXPECT_DOUBLE_EQ(m.serial_bound_pps(), 160);
  EXPECT_DOUBLE_EQ(m.bound_ratio(), 100.0 / 160);
  // One slice stolen by a neighbour moves one sample, not the figure.
  m.slices = {{180, 200}, {20, 100}, {160, 200}};
  EXPECT_DOUBLE_EQ(m.ratio(), 0.8);
  m.slices = {{180, 200}, {120, 200}};
  EXPECT_DOUBLE_EQ(m.ratio(), 0.75);
  // Per slice, that slice's UDP ceiling: 100 / min(100, 400).
  m.slices = {{100, 100}};
  EXPECT_DOUBLE_EQ(m.ratio(), 1.0);
  EXPECT_DOUBLE_EQ(m.bound_ratio(), 100 / (1 / (1 / 100.0 + 1 / 800.0)));
  // A slice without its ceiling gives no figure rather than a wrong one.
  m.slices = {{100, 0}};
  m.srtp_ceiling_pps = 0;
  EXPECT_DOUBLE_EQ(m.bound_ratio(), 0);
}

TEST(HandshakeResult, RatioIsTheMedianOfTheSlices) {
  HandshakeResult h;
  EXPECT_DOUBLE_EQ(h.ratio(), 0);  // no ceiling, no figure
  h.per_second = 300;
  h.ceiling_per_second = 400;
  EXPECT_DOUBLE_EQ(h.ratio(), 0.75);
  // A slice the VM slowed on one side only moves one sample.
  h.slices = {{800, 1000}, {300, 1000}, {900, 1200}};
  EXPECT_DOUBLE_EQ(h.ratio(), 0.75);
  h.slices = {{800, 1000}, {700, 1000}};
  EXPECT_DOUBLE_EQ(h.ratio(), 0.75);
  h.slices = {{800, 1000}, {700, 0}};
  EXPECT_DOUBLE_EQ(h.ratio(), 0);
}

// The cross-thread phase on a few windows: every packet delivered both
// ways, figures present, table and JSON carry them.
TEST(BenchCommand, CrossThreadPhase) {
  CrossThreadOptions o;
  o.packets = 2000;
  auto r = run_cross_thread_bench(o);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->packets, 2000);
  EXPECT_EQ(r->foreign_delivered, 2000u);
  EXPECT_EQ(r->loop_delivered, 2000u);
  EXPECT_GT(r->foreign_ns, 0);
  EXPECT_GT(r->loop_ns, 0);
  EXPECT_GT(r->loop_cpu_ns_when_fed, 0);
  EXPECT_EQ(r->asks, o.asks);
  EXPECT_GT(r->ask_ns, 0);
  EXPECT_GT(r->ask_burst_ns, 0);
  // The answer comes after the call returned.
  EXPECT_GT(r->ask_round_trip_us_p50 * 1000, r->ask_ns);
  EXPECT_GE(r->ask_round_trip_us_p99, r->ask_round_trip_us_p50);
  const std::string table = to_cross_thread_table(*r);
  EXPECT_NE(table.find("ns per call"), std::string::npos);
  EXPECT_NE(table.find("stats() asked"), std::string::npos);
  std::printf("%s", table.c_str());
  o.window = 0;
  EXPECT_EQ(run_cross_thread_bench(o).error().code, "ERR_OUT_OF_RANGE");
  o = {};
  o.packets = 0;  // skipped
  EXPECT_EQ(run_cross_thread_bench(o)->foreign_delivered, 0u);
}

// The fan-out phase on a few subscribers: both figures for every point, no
// refusals, every subscriber reached with the publisher's packets, table
// and JSON carry them; bad options are refused.
TEST(BenchCommand, FanOutPhase) {
  FanOutOptions o;
  o.subscribers = {1, 3};
  o.payloads = {200};
  o.profiles = {"SRTP_AEAD_AES_128_GCM"};
  o.seconds = 0.02;
  auto r = run_fanout_bench(o, [](const std::string&) {});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  ASSERT_EQ(r->points.size(), 2u);
  for (const FanOutPoint& p : r->points) {
    EXPECT_GT(p.ours_pps, 0);
    EXPECT_GT(p.bound_pps, 0);
    EXPECT_GT(p.bare_pps, 0);
    EXPECT_GT(p.bare_ratio, 0);
    EXPECT_EQ(p.failed, 0u) << p.first_refusal;
    EXPECT_GT(p.gbit_per_s(), 0);
  }
  EXPECT_EQ(r->subscribers_sent_to, 3u);
  EXPECT_EQ(r->subscribers_reached, 3u);
  EXPECT_TRUE(r->sample_ok);
  const std::string table = to_fanout_table(*r);
  EXPECT_NE(table.find("ours/bound"), std::string::npos);
  EXPECT_NE(table.find("ours/bare"), std::string::npos);
  std::printf("%s", table.c_str());
  o.subscribers = {0};
  EXPECT_EQ(run_fanout_bench(o, [](const std::string&) {}).error().code,
            "ERR_OUT_OF_RANGE");
  o.subscribers = {1};
  o.profiles = {"SRTP_NULL"};
  EXPECT_EQ(run_fanout_bench(o, [](const std::string&) {}).error().code,
            "ERR_INVALID_ARG_VALUE");
  std::ostringstream out, err;
  EXPECT_EQ(run_bench_command({"--fanout", "10,x"}, out, err), 2);
}

TEST(BenchCommand, UsageErrors) {
  std::ostringstream out, err;
  EXPECT_EQ(run_bench_command({"--handshakes", "0"}, out, err), 2);
  EXPECT_EQ(run_bench_command({"--payloads", "200,x"}, out, err), 2);
  EXPECT_EQ(run_bench_command({"--bogus"}, out, err), 2);
  EXPECT_EQ(run_bench_command({"--crypto-slices", "-1"}, out, err), 2);
  EXPECT_EQ(run_bench_command({"--recv-buffer", "-1"}, out, err), 2);
  EXPECT_EQ(run_bench_command({"--recv-buffer", "1073741824"}, out, err), 2);
  EXPECT_EQ(
      run_bench_command({"--profiles", "SRTP_NULL", "--no-ceilings"}, out, err),
      2);
  EXPECT_NE(err.str().find("ERR_INVALID_ARG_VALUE"), std::string::npos);
  std::ostringstream help;
  EXPECT_EQ(run_bench_command({"--help"}, help, err), 0);
  EXPECT_NE(help.str().find("--concurrency"), std::string::npos);
  EXPECT_NE(help.str().find("--no-offload"), std::string::npos);
  EXPECT_NE(help.str().find("--recv-buffer"), std::string::npos);
  EXPECT_NE(help.str().find("--fanout"), std::string::npos);
  EXPECT_NE(help.str().find("--crypto-slices"), std::string::npos);
}

// The UDP ceiling counts every datagram whether runs cross the kernel as
// one (GSO and GRO) or one by one, with the receive buffer asked for.
TEST(UdpCeiling, CountsDatagramsWithAndWithoutOffload) {
  for (bool offload : {true, false}) {
    SCOPED_TRACE(offload ? "offload" : "no offload");
    EXPECT_GT(udp_loopback_pps(1200, 0.05, 16, {}, {1 << 20, offload}), 0);
  }
  // Linux doubles a granted request and reports that.
  EXPECT_EQ(granted_receive_buffer(65536), 131072);
  EXPECT_GT(granted_receive_buffer(0), 0);
}

}  // namespace
}  // namespace dtls::bench
