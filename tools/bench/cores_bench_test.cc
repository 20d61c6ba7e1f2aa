#include "tools/bench/cores_bench.h"

#include <gtest/gtest.h>

#include <numeric>

namespace dtls::bench {
namespace {

std::uint64_t sum(const std::vector<std::uint64_t>& v) {
  return std::accumulate(v.begin(), v.end(), std::uint64_t{0});
}

TEST(CoresBench, MeasuresOneAndTwoLoopsOnOnePort) {
  CoresOptions o;
  o.sessions = 16;
  o.handshakes = 40;
  o.concurrency = 8;
  o.seconds = 0.05;
  o.repeats = 1;
  o.payload = 200;
  auto r = run_cores_bench(o);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  for (const CoresFigure* f : {&r->handshakes_1, &r->handshakes_2}) {
    EXPECT_EQ(f->count, 40u) << f->name;
    EXPECT_EQ(f->failures, 0u) << f->name;
    EXPECT_EQ(sum(f->per_loop), 40u) << f->name;  // served, loop by loop
    EXPECT_GT(f->capacity(), 0) << f->name;
  }
  EXPECT_EQ(r->handshakes_1.loops, 1);
  EXPECT_EQ(r->handshakes_2.loops, 2);
  for (const CoresFigure* f : {&r->media_1, &r->media_2, &r->media_ice_2}) {
    EXPECT_GT(f->sent, 0u) << f->name;
    EXPECT_GT(f->count, 0u) << f->name;
    EXPECT_LE(f->count, f->sent) << f->name;
    EXPECT_EQ(sum(f->per_loop), f->count) << f->name;
    EXPECT_GT(f->per_cpu_second(), 0) << f->name;
  }
  // Plain peers stay on the loop the kernel picked; ICE peers whose session
  // is on the other loop are handed over ((1/2)^16 that none is).
  EXPECT_EQ(r->media_2.handed_over, 0u);
  EXPECT_GT(r->media_ice_2.handed_over, 0u);
  // The ICE sessions were added to the loops in turn: both deliver.
  ASSERT_EQ(r->media_ice_2.per_loop.size(), 2u);
  EXPECT_GT(r->media_ice_2.per_loop[0], 0u);
  EXPECT_GT(r->media_ice_2.per_loop[1], 0u);
  EXPECT_GT(r->handshake_capacity_ratio, 0);
  EXPECT_GT(r->media_capacity_ratio, 0);
  EXPECT_GT(r->ice_capacity_ratio, 0);
  // Fan-out from loop 0 to the senders' server ends, on both loops.
  const CrossLoopFanOut& f = r->fanout;
  EXPECT_EQ(f.local_subscribers + f.remote_subscribers, 16);
  if (f.local_subscribers > 0 && f.remote_subscribers > 0) {
    EXPECT_GT(f.local_sent, 0u);
    EXPECT_GT(f.remote_queued, 0u);
    EXPECT_EQ(f.remote_sent, f.remote_queued);  // every chunk was drained
    EXPECT_GT(f.local_ns, 0);
    EXPECT_GT(f.remote_send_ns, 0);
    EXPECT_GT(f.capacity_ratio(), 0);
  }
  // The split's arithmetic: half the subscribers on each loop, queueing
  // free and sending as dear there as here, is twice one loop.
  CrossLoopFanOut even;
  even.local_subscribers = even.remote_subscribers = 8;
  even.local_ns = even.remote_send_ns = 1000;
  EXPECT_DOUBLE_EQ(even.capacity_ratio(), 2.0);
  even.remote_queue_ns = 1000;  // as dear as sending: no gain
  EXPECT_DOUBLE_EQ(even.capacity_ratio(), 1.0);
  const std::string table = to_cores_table(*r);
  EXPECT_NE(table.find("2 loops, ICE"), std::string::npos);
  EXPECT_NE(table.find("handed over"), std::string::npos);
  const std::string json = cores_json(*r);
  for (const char* key :
       {"\"handshakes\"", "\"media\"", "\"capacity\"", "\"per_loop\"",
        "\"handed_over\"", "\"media_capacity_ratio\"",
        "\"handshake_efficiency\"", "\"ice_capacity_ratio\"",
        "\"remote_send_ns\""}) {
    EXPECT_NE(json.find(key), std::string::npos) << key;
  }
}

TEST(CoresBench, RefusesEmptyWork) {
  CoresOptions o;
  o.sessions = 0;
  EXPECT_EQ(run_cores_bench(o).error().code, "ERR_INVALID_ARG_VALUE");
  o = {};
  o.payload = 5000;
  EXPECT_EQ(run_cores_bench(o).error().code, "ERR_INVALID_ARG_VALUE");
}

}  // namespace
}  // namespace dtls::bench
