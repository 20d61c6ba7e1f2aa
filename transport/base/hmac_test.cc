#include "transport/base/hmac.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <string>
#include <vector>

#include "tests/testing/alloc_counter.h"

namespace dtls::crypto {
namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes repeat(std::uint8_t byte, size_t n) { return Bytes(n, byte); }

Bytes text(std::string_view s) { return Bytes(s.begin(), s.end()); }

Bytes counting(std::uint8_t from, std::uint8_t to) {
  Bytes out;
  for (int b = from; b <= to; ++b) out.push_back(static_cast<std::uint8_t>(b));
  return out;
}

std::string hex(std::span<const std::uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (std::uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

struct Vector {
  Bytes key;
  Bytes data;
  std::string digest;  // hex; shorter than the digest: a truncated MAC
};

// RFC 2202 §3.
std::vector<Vector> rfc2202() {
  return {
      {repeat(0x0b, 20), text("Hi There"),
       "b617318655057264e28bc0b6fb378c8ef146be00"},
      {text("Jefe"), text("what do ya want for nothing?"),
       "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"},
      {repeat(0xaa, 20), repeat(0xdd, 50),
       "125d7342b9ac11cd91a39af48aa17b4f63f175d3"},
      {counting(0x01, 0x19), repeat(0xcd, 50),
       "4c9007f4026250c6bc8414f9bf50c86c2d7235da"},
      {repeat(0x0c, 20), text("Test With Truncation"),
       "4c1a03424b55e07fe7f27be1d58bb9324a9a5a04"},
      {repeat(0xaa, 80),
       text("Test Using Larger Than Block-Size Key - Hash Key First"),
       "aa4ae5e15272d00e95705637ce8a3b55ed402112"},
      {repeat(0xaa, 80),
       text("Test Using Larger Than Block-Size Key and Larger Than One "
            "Block-Size Data"),
       "e8e99d0f45237d786d6bbaa7965c7808bbff1a91"},
  };
}

// RFC 4231 §4.
std::vector<Vector> rfc4231() {
  return {
      {repeat(0x0b, 20), text("Hi There"),
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      {text("Jefe"), text("what do ya want for nothing?"),
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {repeat(0xaa, 20), repeat(0xdd, 50),
       "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
      {counting(0x01, 0x19), repeat(0xcd, 50),
       "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
      // Test case 5 gives only the first 128 bits.
      {repeat(0x0c, 20), text("Test With Truncation"),
       "a3b6167473100ee06e0c796c2955552b"},
      {repeat(0xaa, 131),
       text("Test Using Larger Than Block-Size Key - Hash Key First"),
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
      {repeat(0xaa, 131),
       text("This is a test using a larger than block-size key and a larger "
            "than block-size data. The key needs to be hashed before being "
            "used by the HMAC algorithm."),
       "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
  };
}

template <class Key>
void check_vectors(const std::vector<Vector>& vectors) {
  for (size_t i = 0; i < vectors.size(); ++i) {
    const Vector& v = vectors[i];
    SCOPED_TRACE("test case " + std::to_string(i + 1));
    Key key(v.key);
    EXPECT_EQ(hex(key.mac(v.data)).substr(0, v.digest.size()), v.digest);
    // The same in pieces, split inside and across the hash's blocks.
    typename Key::Mac m(key);
    const size_t half = v.data.size() / 2;
    m.update(std::span(v.data).first(half));
    m.update(std::span(v.data).subspan(half));
    EXPECT_EQ(hex(m.finish()).substr(0, v.digest.size()), v.digest);
  }
}

TEST(Hmac, Rfc2202Sha1) { check_vectors<HmacSha1>(rfc2202()); }

TEST(Hmac, Rfc4231Sha256) { check_vectors<HmacSha256>(rfc4231()); }

Bytes openssl_hmac(const EVP_MD* md, const Bytes& key, const Bytes& data) {
  static const std::uint8_t kEmpty = 0;
  Bytes out(EVP_MAX_MD_SIZE);
  unsigned len = 0;
  HMAC(md, key.empty() ? &kEmpty : key.data(), static_cast<int>(key.size()),
       data.data(), data.size(), out.data(), &len);
  out.resize(len);
  return out;
}

// Keys around the block size (64) and messages around block boundaries, the
// empty ones included, against OpenSSL's own HMAC.
TEST(Hmac, MatchesOpenSslAcrossLengths) {
  for (size_t key_len : {0, 1, 20, 32, 63, 64, 65, 128, 200}) {
    Bytes key(key_len);
    for (size_t i = 0; i < key_len; ++i)
      key[i] = static_cast<std::uint8_t>(i * 7 + 1);
    HmacSha1 k1(key);
    HmacSha256 k256(key);
    for (size_t data_len : {0, 1, 55, 56, 63, 64, 65, 119, 128, 1500}) {
      Bytes data(data_len);
      for (size_t i = 0; i < data_len; ++i)
        data[i] = static_cast<std::uint8_t>(i * 13 + key_len);
      SCOPED_TRACE(std::to_string(key_len) + "-byte key, " +
                   std::to_string(data_len) + "-byte message");
      EXPECT_EQ(hex(k1.mac(data)), hex(openssl_hmac(EVP_sha1(), key, data)));
      EXPECT_EQ(hex(k256.mac(data)),
                hex(openssl_hmac(EVP_sha256(), key, data)));
    }
  }
}

TEST(Hmac, EmptyKeyIsTheDefault) {
  const Bytes data = text("message");
  EXPECT_EQ(HmacSha256().mac(data), HmacSha256(Bytes{}).mac(data));
  EXPECT_EQ(hex(HmacSha1().mac(data)), hex(openssl_hmac(EVP_sha1(), {}, data)));
}

TEST(Hmac, RestartStartsTheNextMessage) {
  HmacSha1 key(text("key"));
  HmacSha1::Mac m(key);
  m.update(text("first"));
  EXPECT_EQ(m.finish(), key.mac(text("first")));
  m.restart();
  m.update(text("second"));
  EXPECT_EQ(m.finish(), key.mac(text("second")));
  m.update(text("dropped"));
  m.restart();
  m.update(text("third"));
  EXPECT_EQ(m.finish(), key.mac(text("third")));
}

TEST(Hmac, CopiesAndReassignmentCarryTheKey) {
  const Bytes data = text("data");
  HmacSha256 a(text("a"));
  HmacSha256 copy = a;
  EXPECT_EQ(copy.mac(data), a.mac(data));
  copy = HmacSha256(text("b"));
  EXPECT_EQ(copy.mac(data), HmacSha256(text("b")).mac(data));
  EXPECT_NE(copy.mac(data), a.mac(data));
}

// The point of the helper: per-message MACs cost no heap allocation (OpenSSL
// 3.0's HMAC() allocates a context each time).
TEST(Hmac, NoAllocationPerMessage) {
  if (!testing::counting_allocations()) GTEST_SKIP() << "not counted here";
  const Bytes data(1200, 0x42);
  const Bytes key = text("key");
  const Bytes long_key(100, 0x17);
  const long before = testing::allocation_count();
  HmacSha1 k1(key);
  HmacSha256 k256(long_key);
  HmacSha1::Mac m(k1);
  std::uint8_t sink = 0;
  for (int i = 0; i < 100; ++i) {
    sink ^= k1.mac(data)[0];
    sink ^= k256.mac(data)[0];
    m.restart();
    m.update(data);
    sink ^= m.finish()[0];
  }
  EXPECT_EQ(testing::allocation_count() - before, 0);
  (void)sink;
}

}  // namespace
}  // namespace dtls::crypto
