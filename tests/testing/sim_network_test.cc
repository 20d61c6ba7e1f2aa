#include "tests/testing/sim_network.h"

#include <gtest/gtest.h>

namespace dtls::testing {
namespace {

using std::chrono::milliseconds;

// 1 Mbit/s: a 1,250-byte datagram takes 10 ms on the link. Ten at once
// through a 5,000-byte queue: four leave, 10 ms apart, plus the link's delay;
// the rest are dropped at the queue.
TEST(SimNetwork, ABottleneckPacesAndDropsAtItsQueue) {
  SimNetwork net(1);
  LinkConfig slow;
  slow.delay = milliseconds(5);
  slow.rate_bps = 1'000'000;
  slow.queue_bytes = 5000;
  const PeerAddress a = sim_address(1), b = sim_address(2);
  net.set_link(a, b, slow);
  for (int i = 0; i < 10; ++i)
    net.send(a, b,
             std::vector<std::uint8_t>(1250, static_cast<std::uint8_t>(i)));
  EXPECT_EQ(net.stats().queue_dropped, 6u);
  std::vector<size_t> arrived;
  for (int step = 0; step < 6; ++step) {
    net.run_for(milliseconds(10));
    arrived.push_back(net.take_collected(b).size());
  }
  // At 10 ms nothing yet (10 ms on the link + 5 ms delay), then one per 10 ms.
  EXPECT_EQ(arrived, (std::vector<size_t>{0, 1, 1, 1, 1, 0}));
  // The other direction has no bottleneck.
  net.send(b, a, std::vector<std::uint8_t>(1250));
  net.run_for(milliseconds(10));
  EXPECT_EQ(net.take_collected(a).size(), 1u);
}

}  // namespace
}  // namespace dtls::testing
