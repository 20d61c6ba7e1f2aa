#include "transport/dtls/datagram_bio.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "certs/openssl_ptr.h"

namespace dtls {
namespace {

// A record header (RFC 6347 §4.1) and `length` bytes of body.
std::vector<std::uint8_t> record(std::uint16_t epoch, std::uint64_t sequence,
                                 std::uint16_t length) {
  std::vector<std::uint8_t> r = {23, 0xFE, 0xFD,
                                 static_cast<std::uint8_t>(epoch >> 8),
                                 static_cast<std::uint8_t>(epoch)};
  for (int shift = 40; shift >= 0; shift -= 8)
    r.push_back(static_cast<std::uint8_t>(sequence >> shift));
  r.push_back(static_cast<std::uint8_t>(length >> 8));
  r.push_back(static_cast<std::uint8_t>(length));
  r.resize(r.size() + length, 0xAB);
  return r;
}

// What a record layer of ours must write above: every protected record
// written, through the BIO or pushed, several to a datagram too.
TEST(DatagramBio, NotesTheHighestProtectedSequenceWritten) {
  DatagramQueue q;
  ossl::BioPtr bio(new_datagram_bio(&q));
  EXPECT_FALSE(q.last_protected_sequence().has_value());
  auto plain = record(0, 40, 10);  // epoch 0: not protected
  ASSERT_EQ(BIO_write(bio.get(), plain.data(), static_cast<int>(plain.size())),
            static_cast<int>(plain.size()));
  EXPECT_FALSE(q.last_protected_sequence().has_value());
  auto two = record(1, 7, 30);
  auto six = record(1, 6, 3);
  two.insert(two.end(), six.begin(), six.end());
  ASSERT_GT(BIO_write(bio.get(), two.data(), static_cast<int>(two.size())), 0);
  EXPECT_EQ(q.last_protected_sequence(), 7u);
  q.push(record(1, 9, 0));
  EXPECT_EQ(q.last_protected_sequence(), 9u);
  // A cut record ends the walk: what it claims is not counted.
  auto cut = record(1, 100, 20);
  cut.resize(cut.size() - 1);
  q.push(cut);
  EXPECT_EQ(q.last_protected_sequence(), 9u);
  EXPECT_EQ(q.size(), 4u);
  EXPECT_EQ(q.datagrams_written(), 4u);
  std::vector<std::uint8_t> d;
  while (q.pop(d)) {
  }
  EXPECT_EQ(d, cut);
}

TEST(DatagramBio, EachWriteIsOneDatagram) {
  DatagramQueue q;
  ossl::BioPtr bio(new_datagram_bio(&q));
  ASSERT_TRUE(bio);
  EXPECT_EQ(BIO_write(bio.get(), "abc", 3), 3);
  EXPECT_EQ(BIO_write(bio.get(), "de", 2), 2);
  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(q.datagrams_written(), 2u);
  EXPECT_EQ(q.bytes_written(), 5u);
  std::vector<std::uint8_t> d;
  ASSERT_TRUE(q.pop(d));
  EXPECT_EQ(d, (std::vector<std::uint8_t>{'a', 'b', 'c'}));
  ASSERT_TRUE(q.pop(d));
  EXPECT_EQ(d, (std::vector<std::uint8_t>{'d', 'e'}));
  EXPECT_FALSE(q.pop(d));
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(BIO_flush(bio.get()), 1);
  EXPECT_EQ(BIO_wpending(bio.get()), 0);
}

// Within a Burst writes join the burst's last datagram up to the limit; a
// datagram from before the burst, or one already popped, is never extended.
TEST(DatagramBio, WritesOfABurstShareDatagramsUpToTheLimit) {
  DatagramQueue q;
  ossl::BioPtr bio(new_datagram_bio(&q));
  ASSERT_EQ(BIO_write(bio.get(), "old", 3), 3);
  {
    DatagramQueue::Burst burst(q, 6);
    ASSERT_EQ(BIO_write(bio.get(), "ab", 2), 2);       // a new datagram
    ASSERT_EQ(BIO_write(bio.get(), "cd", 2), 2);       // joins it: 4
    ASSERT_EQ(BIO_write(bio.get(), "ef", 2), 2);       // 6, the limit
    ASSERT_EQ(BIO_write(bio.get(), "g", 1), 1);        // would be 7: a new one
    ASSERT_EQ(BIO_write(bio.get(), "hijklmn", 7), 7);  // over the limit alone
  }
  ASSERT_EQ(BIO_write(bio.get(), "o", 1), 1);  // after the burst: its own
  EXPECT_EQ(q.datagrams_written(), 5u);
  EXPECT_EQ(q.bytes_written(), 18u);
  std::vector<std::string> got;
  std::vector<std::uint8_t> d;
  while (q.pop(d)) got.emplace_back(d.begin(), d.end());
  EXPECT_EQ(got,
            (std::vector<std::string>{"old", "abcdef", "g", "hijklmn", "o"}));
  // A popped datagram is gone: the next write of a burst starts one.
  DatagramQueue::Burst burst(q, 100);
  ASSERT_EQ(BIO_write(bio.get(), "p", 1), 1);
  ASSERT_TRUE(q.pop(d));
  ASSERT_EQ(BIO_write(bio.get(), "q", 1), 1);
  ASSERT_TRUE(q.pop(d));
  EXPECT_EQ(std::string(d.begin(), d.end()), "q");
}

TEST(DatagramBio, FirstInFirstOutAcrossInterleavedWritesAndPops) {
  DatagramQueue q;
  ossl::BioPtr bio(new_datagram_bio(&q));
  std::vector<std::uint8_t> d;
  ASSERT_EQ(BIO_write(bio.get(), "1", 1), 1);
  ASSERT_EQ(BIO_write(bio.get(), "2", 1), 1);
  ASSERT_TRUE(q.pop(d));
  EXPECT_EQ(d[0], '1');
  ASSERT_EQ(BIO_write(bio.get(), "3", 1), 1);
  EXPECT_EQ(q.size(), 2u);
  ASSERT_TRUE(q.pop(d));
  EXPECT_EQ(d[0], '2');
  ASSERT_TRUE(q.pop(d));
  EXPECT_EQ(d[0], '3');
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(q.pop(d));
}

TEST(DatagramBio, RecyclesBuffersUntilToldToStop) {
  DatagramQueue q;
  ossl::BioPtr bio(new_datagram_bio(&q));
  std::vector<std::uint8_t> d;
  for (int i = 0; i < 3; ++i) ASSERT_EQ(BIO_write(bio.get(), "abcd", 4), 4);
  while (q.pop(d)) {
  }
  EXPECT_EQ(q.spare_count(), 3u);  // the next writes reuse them
  ASSERT_EQ(BIO_write(bio.get(), "e", 1), 1);
  EXPECT_EQ(q.spare_count(), 2u);
  q.stop_recycling();
  EXPECT_EQ(q.spare_count(), 0u);
  ASSERT_TRUE(q.pop(d));
  EXPECT_EQ(d, (std::vector<std::uint8_t>{'e'}));
  ASSERT_EQ(BIO_write(bio.get(), "fg", 2), 2);
  ASSERT_TRUE(q.pop(d));
  EXPECT_EQ(d, (std::vector<std::uint8_t>{'f', 'g'}));
  EXPECT_EQ(q.spare_count(), 0u);
  EXPECT_EQ(q.datagrams_written(), 5u);
}

TEST(DatagramBio, ReadReturnsTheDatagramOnceThenRetry) {
  DatagramQueue q;
  ossl::BioPtr bio(new_datagram_bio(&q));
  char buf[16];
  EXPECT_EQ(BIO_read(bio.get(), buf, sizeof(buf)), -1);
  EXPECT_TRUE(BIO_should_retry(bio.get()));
  EXPECT_TRUE(BIO_should_read(bio.get()));
  std::vector<std::uint8_t> in = {1, 2, 3, 4};
  q.set_input(in);
  EXPECT_EQ(BIO_pending(bio.get()), 4);
  EXPECT_EQ(BIO_read(bio.get(), buf, sizeof(buf)), 4);
  EXPECT_EQ(buf[3], 4);
  EXPECT_FALSE(BIO_should_retry(bio.get()));
  EXPECT_EQ(BIO_read(bio.get(), buf, sizeof(buf)), -1);
  EXPECT_TRUE(BIO_should_retry(bio.get()));
  EXPECT_EQ(BIO_pending(bio.get()), 0);
}

TEST(DatagramBio, OversizeDatagramIsTruncatedLikeRecvfrom) {
  DatagramQueue q;
  ossl::BioPtr bio(new_datagram_bio(&q));
  std::vector<std::uint8_t> in(32, 7);
  q.set_input(in);
  char buf[8];
  EXPECT_EQ(BIO_read(bio.get(), buf, sizeof(buf)), 8);
  EXPECT_FALSE(q.has_input());
}

TEST(DatagramBio, ReportsNoMtuOverheadAndNoPeer) {
  DatagramQueue q;
  ossl::BioPtr bio(new_datagram_bio(&q));
  EXPECT_EQ(BIO_ctrl(bio.get(), BIO_CTRL_DGRAM_GET_MTU_OVERHEAD, 0, nullptr),
            0);
  EXPECT_EQ(BIO_ctrl(bio.get(), BIO_CTRL_DGRAM_QUERY_MTU, 0, nullptr), 0);
  BIO_ADDR* addr = BIO_ADDR_new();
  EXPECT_LE(BIO_dgram_get_peer(bio.get(), addr), 0);
  BIO_ADDR_free(addr);
}

TEST(DatagramBio, PoppedBuffersAreReused) {
  DatagramQueue q;
  ossl::BioPtr bio(new_datagram_bio(&q));
  std::vector<std::uint8_t> d;
  std::string big(1000, 'x');
  BIO_write(bio.get(), big.data(), static_cast<int>(big.size()));
  ASSERT_TRUE(q.pop(d));
  const std::uint8_t* first = d.data();
  std::vector<std::uint8_t> spare;
  spare.swap(
      d);  // hand the buffer back by popping into an empty vector next time
  BIO_write(bio.get(), big.data(), static_cast<int>(big.size()));
  ASSERT_TRUE(q.pop(spare));
  BIO_write(bio.get(), "y", 1);
  ASSERT_TRUE(q.pop(d));
  EXPECT_EQ(d.size(), 1u);
  // The 1000-byte buffer that came back to the queue carried the third write.
  EXPECT_GE(d.capacity(), 1000u);
  (void)first;
}

}  // namespace
}  // namespace dtls
