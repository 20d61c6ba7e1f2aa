#include "transport/io/receive_batch.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "tests/testing/loopback_socket.h"
#include "transport/io/send_batch.h"

namespace dtls {
namespace {

using Socket = testing::LoopbackSocket;

std::string text(std::span<const std::uint8_t> s) {
  return std::string(s.begin(), s.end());
}

std::uint16_t port_of(const sockaddr* sa) {
  return ntohs(reinterpret_cast<const sockaddr_in*>(sa)->sin_port);
}

// Everything that waits on `fd`, datagram by datagram, and how many messages
// carried it.
struct Drained {
  std::vector<std::string> datagrams;
  size_t messages = 0;
  size_t coalesced = 0;  // messages holding more than one datagram
};
Drained drain(ReceiveBatch& batch, int fd) {
  Drained d;
  for (int calls = 0; calls < 100; ++calls) {
    ReceiveBatch::Received r = batch.receive(fd);
    if (r.error != 0) {
      EXPECT_EQ(r.error, -EAGAIN);
      break;
    }
    for (size_t i = 0; i < r.messages; ++i) {
      ReceiveBatch::Message m = batch.message(i);
      d.messages++;
      if (m.count() > 1) d.coalesced++;
      for (size_t k = 0; k < m.count(); ++k) {
        std::span<std::uint8_t> datagram = batch.datagram(m, k);
        // Aligned for libsrtp wherever it sat in the run.
        EXPECT_EQ(reinterpret_cast<std::uintptr_t>(datagram.data()) %
                      ReceiveBatch::kAlignment,
                  0u);
        d.datagrams.push_back(text(datagram));
      }
    }
  }
  return d;
}

TEST(ReceiveBatch, CapacityIsClamped) {
  EXPECT_EQ(ReceiveBatch(0).capacity(), 1u);
  EXPECT_EQ(ReceiveBatch(16).capacity(), 16u);
  EXPECT_EQ(ReceiveBatch(1000).capacity(), ReceiveBatch::kMaxCapacity);
}

TEST(ReceiveBatch, NothingWaitingIsEagain) {
  Socket rx;
  ReceiveBatch batch(4);
  ReceiveBatch::Received r = batch.receive(rx.fd);
  EXPECT_EQ(r.messages, 0u);
  EXPECT_EQ(r.error, -EAGAIN);
}

TEST(ReceiveBatch, OneCallTakesSeveralDatagramsWithTheirSenders) {
  Socket rx, a, b;
  ASSERT_TRUE(a.send_to(rx, "a1"));
  ASSERT_TRUE(b.send_to(rx, "b1"));
  ASSERT_TRUE(a.send_to(rx, "a2-longer"));
  ReceiveBatch batch(8);
  ReceiveBatch::Received r = batch.receive(rx.fd);
  ASSERT_EQ(r.error, 0);
  ASSERT_EQ(r.messages, 3u);
  const std::vector<std::pair<std::string, const Socket*>> want = {
      {"a1", &a}, {"b1", &b}, {"a2-longer", &a}};
  for (size_t i = 0; i < 3; ++i) {
    ReceiveBatch::Message m = batch.message(i);
    EXPECT_EQ(text(m.data), want[i].first);
    EXPECT_EQ(m.segment, 0u);
    EXPECT_EQ(m.count(), 1u);
    EXPECT_EQ(text(batch.datagram(m, 0)), want[i].first);
    ASSERT_NE(m.from, nullptr);
    EXPECT_EQ(port_of(m.from), ntohs(want[i].second->addr.sin_port));
  }
  EXPECT_EQ(batch.receive(rx.fd).error, -EAGAIN);
}

TEST(ReceiveBatch, ASmallBatchTakesTheQueueInTurns) {
  Socket rx, tx;
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(tx.send_to(rx, "d" + std::to_string(i)));
  ReceiveBatch batch(2);
  std::vector<size_t> per_call;
  std::vector<std::string> got;
  for (int calls = 0; calls < 10; ++calls) {
    ReceiveBatch::Received r = batch.receive(rx.fd);
    if (r.error != 0) break;
    per_call.push_back(r.messages);
    for (size_t i = 0; i < r.messages; ++i)
      got.push_back(text(batch.message(i).data));
  }
  EXPECT_EQ(per_call, (std::vector<size_t>{2, 2, 1}));
  EXPECT_EQ(got, (std::vector<std::string>{"d0", "d1", "d2", "d3", "d4"}));
}

// A run sent with UDP GSO arrives as one message when the receiver coalesces
// (GRO), and message() gives back every datagram with its own boundaries.
std::vector<std::string> run_of(size_t n, size_t length, size_t last) {
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i) {
    out.push_back(std::string(i + 1 == n ? last : length,
                              static_cast<char>('a' + i % 26)));
  }
  return out;
}

void send_segmented(const Socket& tx, const Socket& rx,
                    const std::vector<std::string>& datagrams) {
  SendBatch out;
  for (const std::string& d : datagrams) {
    auto slot = out.next_slot();
    std::copy(d.begin(), d.end(), slot.begin());
    out.commit(d.size(), rx.sa());
  }
  ASSERT_TRUE(out.segmentation());
  SendBatch::Sent sent = out.send(tx.fd, 0);
  ASSERT_EQ(sent.error, 0);
  ASSERT_EQ(sent.count, datagrams.size());
  ASSERT_EQ(sent.messages, 1u);  // one run
}

TEST(ReceiveBatch, ACoalescedRunIsCutBackIntoItsDatagrams) {
  struct Case {
    size_t count, length, last, capacity;
  } cases[] = {
      // 1222 B (1200 B of payload in AES-CM SRTP): most datagrams of the
      // run sit at offsets a 64-bit read is not aligned for.
      {10, 1222, 700, 4},
      // All of one length: the last is a whole segment too.
      {7, 300, 300, 1},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::to_string(c.count) + " x " + std::to_string(c.length));
    Socket rx, tx;
    if (!ReceiveBatch::enable_coalescing(rx.fd))
      GTEST_SKIP() << "this kernel has no UDP_GRO";
    const auto datagrams = run_of(c.count, c.length, c.last);
    send_segmented(tx, rx, datagrams);
    ReceiveBatch batch(c.capacity);
    Drained d = drain(batch, rx.fd);
    EXPECT_EQ(d.datagrams, datagrams);
    // Loopback hands the GSO run to a GRO socket whole.
    EXPECT_EQ(d.messages, 1u);
    EXPECT_EQ(d.coalesced, 1u);
  }
}

TEST(ReceiveBatch, WithoutCoalescingTheKernelCutsTheRun) {
  Socket rx, tx;
  const auto datagrams = run_of(6, 500, 20);
  send_segmented(tx, rx, datagrams);
  ReceiveBatch batch(16);
  Drained d = drain(batch, rx.fd);
  EXPECT_EQ(d.datagrams, datagrams);
  EXPECT_EQ(d.messages, datagrams.size());
  EXPECT_EQ(d.coalesced, 0u);
}

// RFC 1122 §4.1.3.3: an ICMP port unreachable for a connected socket comes
// back as the next receive's error.
TEST(ReceiveBatch, ASocketErrorIsReported) {
  Socket tx;
  sockaddr_in gone{};
  {
    Socket closed;
    gone = closed.addr;
  }
  ASSERT_EQ(::connect(tx.fd, reinterpret_cast<sockaddr*>(&gone), sizeof(gone)),
            0);
  ASSERT_EQ(::send(tx.fd, "x", 1, 0), 1);
  ReceiveBatch batch(4);
  // Waits for the error to be pending (POLLERR), not for a time.
  pollfd p{tx.fd, POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 5000), 1);
  EXPECT_TRUE(p.revents & POLLERR);
  ReceiveBatch::Received r = batch.receive(tx.fd);
  EXPECT_EQ(r.error, -ECONNREFUSED);
  EXPECT_EQ(r.messages, 0u);
  EXPECT_EQ(batch.receive(tx.fd).error, -EAGAIN);  // reported once
}

}  // namespace
}  // namespace dtls
