// A small lossy phase, end to end: our three schedules and openssl's through
// the impairing relay on loopback.
#include "tools/bench/lossy_bench.h"

#include <gtest/gtest.h>

#include "tools/bench/bench_command.h"

namespace dtls::bench {
namespace {

TEST(LossyBench, SmallRunReportsEveryStackAndPoint) {
  LossyOptions o;
  o.handshakes = 12;
  o.openssl_handshakes = 3;
  o.rtts_ms = {40};
  o.losses = {0, 0.2};
  // Starts spread enough that the server is never the delay: a cookie
  // exchange queued behind other handshakes' public-key work (ASan makes it
  // ten times dearer) would outlast the 200 ms first timeout that the
  // remembered round trip gives `adaptive`, and resend a ClientHello that was
  // not lost.
  o.spread_s = 3;
  // A handshake that loses too much fails at 4 s: counted, not waited for.
  o.timeout_s = 4;
  o.seed = 3;
  auto r = run_lossy_bench(o, nullptr);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_FALSE(r->openssl_version.empty());
  ASSERT_EQ(r->points.size(), 10u);  // 2 losses x (4 of ours + openssl)
  for (const LossyPoint& p : r->points) {
    SCOPED_TRACE(p.stack + " loss " + std::to_string(p.loss));
    EXPECT_EQ(p.rtt_ms, 40);
    EXPECT_EQ(p.count, p.stack == "openssl" ? 3 : 12);
    EXPECT_LE(p.p50_ms, p.p90_ms);
    EXPECT_LE(p.p90_ms, p.p99_ms);
    EXPECT_LE(p.p99_ms, p.max_ms);
    if (p.loss == 0) {
      // Three round trips at least (cookie, key exchange, Finished), and
      // nothing lost: no failure, no retransmission.
      EXPECT_EQ(p.failures, 0);
      EXPECT_GE(p.p50_ms, 3 * 40 * 0.9);
      EXPECT_GE(p.datagrams_per_handshake, 6);
      if (p.stack != "openssl") {
        EXPECT_EQ(p.retransmits_per_handshake, 0);
      }
    }
  }
  // The table and JSON carry every point.
  const std::string table = to_lossy_table(*r);
  for (const char* s :
       {"fixed", "fixed400", "adapt-1st", "adaptive", "openssl"})
    EXPECT_NE(table.find(s), std::string::npos) << s;
}

TEST(LossyBench, BadOptionsAreRefused) {
  LossyOptions o;
  o.losses = {1.0};
  EXPECT_EQ(run_lossy_bench(o, nullptr).error().code, "ERR_OUT_OF_RANGE");
  o = {};
  o.rtts_ms = {};
  EXPECT_EQ(run_lossy_bench(o, nullptr).error().code, "ERR_INVALID_ARG_VALUE");
  o = {};
  o.handshakes = 0;
  o.openssl_handshakes = 1;
  o.openssl = "/nonexistent/openssl";
  EXPECT_EQ(run_lossy_bench(o, nullptr).error().code, "ERR_LOSSY_OPENSSL");
}

TEST(LossyBench, CommandLineOptions) {
  std::ostringstream out, err;
  EXPECT_EQ(run_bench_command({"--lossy-losses", "150"}, out, err), 2);
  EXPECT_EQ(run_bench_command({"--lossy-rtts", "x"}, out, err), 2);
  EXPECT_EQ(run_bench_command({"--lossy", "-1"}, out, err), 2);
  EXPECT_EQ(run_bench_command({"--lossy-seed", "x"}, out, err), 2);
  std::ostringstream json;
  ASSERT_EQ(run_bench_command(
                {"--lossy-only", "--lossy", "4", "--lossy-openssl", "0",
                 "--lossy-rtts", "20", "--lossy-losses", "0", "--lossy-spread",
                 "0.5", "--lossy-seed", "9", "--json", "-"},
                json, err),
            0)
      << err.str();
  EXPECT_NE(json.str().find("\"lossy\": {"), std::string::npos);
  EXPECT_NE(json.str().find("\"stack\": \"adapt-1st\""), std::string::npos);
}

}  // namespace
}  // namespace dtls::bench
