#include "transport/dtls/dtls_record.h"

#include <gtest/gtest.h>

#include "tests/testing/dtls_pair.h"
#include "tests/testing/fake_wall_clock.h"

namespace dtls {
namespace {

// A real ClientHello from OpenSSL (our client association's first datagram).
std::vector<std::uint8_t> client_hello(std::uint32_t mtu = 1200,
                                       std::vector<std::string> alpn = {}) {
  DtlsContextOptions o;
  o.alpn_protocols = std::move(alpn);
  auto ctx = DtlsContext::create(o);
  AssociationOptions a;
  a.mtu = mtu;
  auto c = DtlsAssociation::connect(*ctx, a, TimePoint{});
  std::vector<std::uint8_t> d;
  EXPECT_TRUE((*c)->pop_datagram(d));
  return d;
}

TEST(RecordHeader, Parses) {
  std::vector<std::uint8_t> d = {22, 0xfe, 0xfd, 0, 1, 0,    0,   0,
                                 0,  1,    2,    0, 2, 0xaa, 0xbb};
  auto h = parse_record_header(d);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->content_type, 22);
  EXPECT_EQ(h->version, 0xfefd);
  EXPECT_EQ(h->epoch, 1);
  EXPECT_EQ(h->sequence, 0x0102u);
  EXPECT_EQ(h->length, 2);
}

TEST(RecordHeader, RefusesShortAndOverlongRecords) {
  std::vector<std::uint8_t> d = {22, 0xfe, 0xfd, 0, 1, 0,    0,   0,
                                 0,  1,    2,    0, 3, 0xaa, 0xbb};
  EXPECT_FALSE(parse_record_header(d));  // length 3 > 2 bytes left
  for (size_t n = 0; n < kRecordHeaderSize; ++n) {
    EXPECT_FALSE(parse_record_header(std::span(d).first(n)));
  }
}

TEST(ClientHelloPrefix, ParsesOpenSslsClientHello) {
  auto d = client_hello();
  auto p = parse_client_hello_prefix(d);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->record.epoch, 0);
  EXPECT_EQ(p->message_seq, 0);
  EXPECT_EQ(p->client_version, 0xfefd);  // DTLS 1.2
  EXPECT_EQ(p->random.size(), 32u);
  EXPECT_TRUE(p->cookie.empty());
  EXPECT_EQ(p->fragment_length, p->message_length);
}

TEST(ClientHelloPrefix, EveryTruncationIsRefusedOrSafe) {
  auto d = client_hello();
  auto full = parse_client_hello_prefix(d);
  ASSERT_TRUE(full);
  for (size_t n = 0; n < d.size(); ++n) {
    // A shorter datagram breaks the record length; nothing may read past the
    // end (ASan checks).
    EXPECT_FALSE(parse_client_hello_prefix(std::span(d).first(n))) << n;
  }
}

TEST(ClientHelloPrefix, FirstFragmentOnly) {
  // At MTU 256 with a long ALPN list OpenSSL fragments the ClientHello.
  std::vector<std::string> alpn;
  for (int i = 0; i < 40; ++i) alpn.push_back("protocol-" + std::to_string(i));
  DtlsContextOptions o;
  o.alpn_protocols = alpn;
  auto ctx = DtlsContext::create(o);
  AssociationOptions a;
  a.mtu = 256;
  auto c = DtlsAssociation::connect(*ctx, a, TimePoint{});
  std::vector<std::vector<std::uint8_t>> fragments;
  std::vector<std::uint8_t> d;
  while ((*c)->pop_datagram(d)) fragments.push_back(d);
  ASSERT_GE(fragments.size(), 2u);
  auto first = parse_client_hello_prefix(fragments[0]);
  ASSERT_TRUE(first);
  EXPECT_LT(first->fragment_length, first->message_length);
  for (size_t i = 1; i < fragments.size(); ++i) {
    EXPECT_LE(fragments[i].size(), 256u);
    EXPECT_FALSE(parse_client_hello_prefix(fragments[i])) << "fragment " << i;
  }
}

TEST(ClientHelloPrefix, RefusesOtherRecordsAndMessages) {
  auto d = client_hello();
  auto mutate = [&](size_t at, std::uint8_t v) {
    auto m = d;
    m[at] = v;
    return parse_client_hello_prefix(m).has_value();
  };
  EXPECT_FALSE(mutate(0, 23));            // application data
  EXPECT_FALSE(mutate(1, 0x03));          // TLS, not DTLS
  EXPECT_FALSE(mutate(4, 1));             // epoch 1
  EXPECT_FALSE(mutate(13, 2));            // ServerHello
  EXPECT_FALSE(mutate(20, 1));            // fragment offset != 0
  EXPECT_FALSE(mutate(25, 0x03));         // client_version 0x03xx
  EXPECT_FALSE(mutate(25 + 2 + 32, 33));  // session id longer than 32
}

}  // namespace
}  // namespace dtls
