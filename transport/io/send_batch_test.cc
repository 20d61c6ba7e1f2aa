#include "transport/io/send_batch.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <utility>
#include <vector>

#include "tests/testing/loopback_socket.h"

namespace dtls {
namespace {

using Socket = testing::LoopbackSocket;

void add(SendBatch& b, const std::string& text, const sockaddr* to) {
  auto slot = b.next_slot();
  ASSERT_GE(slot.size(), text.size());
  std::copy(text.begin(), text.end(), slot.begin());
  b.commit(text.size(), to);
}

TEST(SendBatch, OneCallSendsEveryDatagramToItsOwnDestinationInOrder) {
  Socket sender, a, b;
  SendBatch batch;
  EXPECT_TRUE(batch.empty());
  add(batch, "a1", a.sa());
  add(batch, "b1", b.sa());
  add(batch, "a2", a.sa());
  EXPECT_EQ(batch.size(), 3u);
  EXPECT_EQ(std::string(batch.datagram(1).begin(), batch.datagram(1).end()),
            "b1");
  SendBatch::Sent sent = batch.send(sender.fd, 0);
  EXPECT_EQ(sent.count, 3u);
  EXPECT_EQ(sent.error, 0);
  EXPECT_EQ(a.receive(), "a1");
  EXPECT_EQ(a.receive(), "a2");
  EXPECT_EQ(b.receive(), "b1");
  batch.clear();
  EXPECT_TRUE(batch.empty());
}

TEST(SendBatch, ConnectedSocketTakesNoDestination) {
  Socket sender, peer;
  ASSERT_EQ(::connect(sender.fd, peer.sa(), sizeof(sockaddr_in)), 0);
  SendBatch batch;
  add(batch, "x", nullptr);
  add(batch, "y", nullptr);
  EXPECT_EQ(batch.destination(0), nullptr);
  EXPECT_EQ(batch.send(sender.fd, 0).count, 2u);
  EXPECT_EQ(peer.receive(), "x");
  EXPECT_EQ(peer.receive(), "y");
}

TEST(SendBatch, SendsFromAnOffsetAndReportsTheFirstFailure) {
  Socket sender, peer;
  SendBatch batch;
  add(batch, "skipped", peer.sa());
  add(batch, "sent", peer.sa());
  EXPECT_EQ(batch.send(sender.fd, 1).count, 1u);
  EXPECT_EQ(peer.receive(), "sent");
  EXPECT_EQ(peer.receive(), "");
  // An unconnected socket with no destination: the kernel refuses the first.
  SendBatch bad;
  add(bad, "nowhere", nullptr);
  SendBatch::Sent sent = bad.send(sender.fd, 0);
  EXPECT_EQ(sent.count, 0u);
  EXPECT_EQ(sent.error, -EDESTADDRREQ);
  EXPECT_EQ(bad.send(sender.fd, 1).count, 0u);  // past the end: nothing
}

TEST(SendBatch, FillsToCapacity) {
  Socket sender, peer;
  SendBatch batch;
  for (size_t i = 0; i < SendBatch::kCapacity; ++i)
    add(batch, std::to_string(i), peer.sa());
  EXPECT_TRUE(batch.full());
  EXPECT_EQ(batch.send(sender.fd, 0).count, SendBatch::kCapacity);
  for (size_t i = 0; i < SendBatch::kCapacity; ++i)
    EXPECT_EQ(peer.receive(), std::to_string(i));
}

// Datagram i of `sizes`: its length, filled with a byte that tells it apart.
std::string numbered(size_t i, size_t size) {
  return std::string(size, static_cast<char>('A' + i));
}

TEST(SendBatchSegmentation, RunsToOneDestinationLeaveAsOneMessageEach) {
  Socket sender, a, b;
  SendBatch batch;
  EXPECT_TRUE(batch.segmentation());  // on by default
  // A run ends at a shorter datagram (it may only be the last), at another
  // destination, and at a longer one.
  const std::vector<std::pair<size_t, const Socket*>> plan = {
      {1000, &a}, {1000, &a}, {1000, &a}, {600, &a},  // run 1
      {1000, &a}, {1000, &a},                         // run 2
      {1000, &b}, {1000, &b},                         // run 3
      {1200, &b},                                     // run 4 (longer)
  };
  for (size_t i = 0; i < plan.size(); ++i)
    add(batch, numbered(i, plan[i].first), plan[i].second->sa());
  SendBatch::Sent sent = batch.send(sender.fd, 0);
  EXPECT_EQ(sent.error, 0);
  EXPECT_EQ(sent.count, plan.size());
  EXPECT_TRUE(batch.segmentation()) << "this kernel refused UDP_SEGMENT";
  EXPECT_EQ(sent.messages, 4u);
  // Each arrives as its own datagram, whole and in order.
  for (size_t i = 0; i < plan.size(); ++i) {
    Socket& to = plan[i].second == &a ? a : b;
    EXPECT_EQ(to.receive(), numbered(i, plan[i].first)) << i;
  }
  EXPECT_EQ(a.receive(), "");
  EXPECT_EQ(b.receive(), "");
}

// A fan-out's batch: no two neighbours share a destination (here the same
// address, other ports), so each datagram is its own message. After a
// clear(), a batch whose last two share one joins them again.
TEST(SendBatchSegmentation, NeighboursToOtherDestinationsNeverJoin) {
  Socket sender, a, b;
  SendBatch batch;
  const Socket* to[] = {&a, &b, &a, &b, &a};
  for (size_t i = 0; i < 5; ++i) add(batch, numbered(i, 400), to[i]->sa());
  SendBatch::Sent sent = batch.send(sender.fd, 0);
  EXPECT_EQ(sent.error, 0);
  EXPECT_EQ(sent.count, 5u);
  EXPECT_EQ(sent.messages, 5u);
  for (size_t i = 0; i < 5; ++i) {
    Socket& s = to[i] == &a ? a : b;
    EXPECT_EQ(s.receive(), numbered(i, 400)) << i;
  }
  batch.clear();
  add(batch, numbered(0, 400), a.sa());
  add(batch, numbered(1, 400), b.sa());
  add(batch, numbered(2, 400), b.sa());
  sent = batch.send(sender.fd, 0);
  EXPECT_EQ(sent.count, 3u);
  EXPECT_EQ(sent.messages, 2u);
  EXPECT_EQ(a.receive(), numbered(0, 400));
  EXPECT_EQ(b.receive(), numbered(1, 400));
  EXPECT_EQ(b.receive(), numbered(2, 400));
}

TEST(SendBatchSegmentation, FromTheMiddleAndOnAConnectedSocket) {
  Socket sender, a;
  ASSERT_EQ(::connect(sender.fd, a.sa(), sizeof(sockaddr_in)), 0);
  SendBatch batch;
  for (size_t i = 0; i < 5; ++i) add(batch, numbered(i, 300), nullptr);
  SendBatch::Sent sent = batch.send(sender.fd, 2);
  EXPECT_EQ(sent.count, 3u);
  EXPECT_EQ(sent.messages, 1u);
  for (size_t i = 2; i < 5; ++i) EXPECT_EQ(a.receive(), numbered(i, 300));
  EXPECT_EQ(a.receive(), "");
}

TEST(SendBatchSegmentation, OffSendsOneMessagePerDatagram) {
  Socket sender, a;
  SendBatch batch;
  batch.set_segmentation(false);
  for (size_t i = 0; i < 4; ++i) add(batch, numbered(i, 500), a.sa());
  SendBatch::Sent sent = batch.send(sender.fd, 0);
  EXPECT_EQ(sent.count, 4u);
  EXPECT_EQ(sent.messages, 4u);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(a.receive(), numbered(i, 500));
}

// A socket without UDP checksums cannot segment (the kernel answers EINVAL):
// the batch turns segmentation off and sends the same datagrams without it.
TEST(SendBatchSegmentation, ARefusalTurnsItOffAndNothingIsLost) {
  Socket sender, a;
  int one = 1;
  ASSERT_EQ(::setsockopt(sender.fd, SOL_SOCKET, SO_NO_CHECK, &one, sizeof(one)),
            0);
  SendBatch batch;
  for (size_t i = 0; i < 6; ++i) add(batch, numbered(i, 800), a.sa());
  SendBatch::Sent sent = batch.send(sender.fd, 0);
  EXPECT_EQ(sent.error, 0);
  EXPECT_EQ(sent.count, 6u);
  EXPECT_FALSE(batch.segmentation());
  EXPECT_EQ(sent.messages, 6u);
  for (size_t i = 0; i < 6; ++i) EXPECT_EQ(a.receive(), numbered(i, 800));
  EXPECT_EQ(a.receive(), "");
}

}  // namespace
}  // namespace dtls
