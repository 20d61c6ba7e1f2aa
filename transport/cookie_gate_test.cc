#include "transport/cookie_gate.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <optional>
#include <random>

#include "tests/testing/alloc_counter.h"
#include "tests/testing/dtls_pair.h"
#include "tests/testing/failing_random.h"

namespace dtls {
namespace {

const std::vector<std::uint8_t> kPeer = {4, 10, 0, 0, 1, 0x13, 0x88};
const std::vector<std::uint8_t> kOtherPeer = {4, 10, 0, 0, 2, 0x13, 0x88};

struct Client {
  std::unique_ptr<DtlsAssociation> a;
  std::vector<std::uint8_t> first_hello;
};

Client new_client() {
  auto ctx = DtlsContext::create({});
  auto c = DtlsAssociation::connect(*ctx, {}, TimePoint{});
  Client out{std::move(c).value(), {}};
  EXPECT_TRUE(out.a->pop_datagram(out.first_hello));
  return out;
}

// Hands the HelloVerifyRequest to the client and returns its second
// ClientHello.
std::vector<std::uint8_t> answer(Client& c, std::span<const std::uint8_t> hvr) {
  c.a->handle_datagram(hvr, TimePoint{});
  std::vector<std::uint8_t> d;
  EXPECT_TRUE(c.a->pop_datagram(d));
  return d;
}

// The client's second ClientHello, carrying the cookie `gate` issued for its
// first one.
std::vector<std::uint8_t> second_hello(CookieGate& gate, Client& c) {
  auto d = gate.inspect(c.first_hello, kPeer);
  EXPECT_EQ(d.verdict, CookieGate::Verdict::kHelloVerify);
  return answer(c, std::vector<std::uint8_t>(d.reply.begin(), d.reply.end()));
}

TEST(CookieGate, HelloVerifyRequestThenAccept) {
  CookieGate gate;
  Client c = new_client();
  auto d1 = gate.inspect(c.first_hello, kPeer);
  ASSERT_EQ(d1.verdict, CookieGate::Verdict::kHelloVerify);
  EXPECT_LE(d1.reply.size(), c.first_hello.size());
  // RFC 6347 §4.2.1: the HelloVerifyRequest echoes the ClientHello's record
  // sequence number.
  auto hello = parse_record_header(c.first_hello);
  auto hvr = parse_record_header(d1.reply);
  ASSERT_TRUE(hello && hvr);
  EXPECT_EQ(hvr->sequence, hello->sequence);
  EXPECT_EQ(hvr->epoch, 0);
  EXPECT_EQ(d1.reply[kRecordHeaderSize], kHandshakeHelloVerifyRequest);

  std::vector<std::uint8_t> reply(d1.reply.begin(), d1.reply.end());
  auto second = answer(c, reply);
  auto prefix = parse_client_hello_prefix(second);
  ASSERT_TRUE(prefix);
  EXPECT_EQ(prefix->cookie.size(), CookieGate::kCookieSize);
  EXPECT_EQ(prefix->message_seq, 1);
  auto d2 = gate.inspect(second, kPeer);
  EXPECT_EQ(d2.verdict, CookieGate::Verdict::kAccept);
  EXPECT_EQ(d2.cookie.size(), CookieGate::kCookieSize);
}

TEST(CookieGate, CookieIsBoundToThePeerAddress) {
  CookieGate gate;
  Client c = new_client();
  auto second = second_hello(gate, c);
  EXPECT_NE(gate.inspect(second, kOtherPeer).verdict,
            CookieGate::Verdict::kAccept);
  EXPECT_EQ(gate.inspect(second, kPeer).verdict, CookieGate::Verdict::kAccept);
}

TEST(CookieGate, ForgedCookiesNeverVerify) {
  CookieGate gate;
  Client c = new_client();
  auto second = second_hello(gate, c);
  auto prefix = parse_client_hello_prefix(second);
  ASSERT_TRUE(prefix);
  const size_t cookie_at =
      static_cast<size_t>(prefix->cookie.data() - second.data());
  for (size_t i = 0; i < CookieGate::kCookieSize; ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      auto forged = second;
      forged[cookie_at + i] ^= static_cast<std::uint8_t>(1 << bit);
      ASSERT_NE(gate.inspect(forged, kPeer).verdict,
                CookieGate::Verdict::kAccept);
    }
  }
  // Another gate (another secret) does not accept our cookie either.
  CookieGate other;
  EXPECT_NE(other.inspect(second, kPeer).verdict, CookieGate::Verdict::kAccept);
}

TEST(CookieGate, PreviousSecretStillVerifiesOnce) {
  CookieGate gate;
  Client c = new_client();
  auto second = second_hello(gate, c);
  gate.rotate();
  EXPECT_EQ(gate.inspect(second, kPeer).verdict, CookieGate::Verdict::kAccept);
  gate.rotate();
  EXPECT_EQ(gate.inspect(second, kPeer).verdict,
            CookieGate::Verdict::kHelloVerify);
}

// Fail closed: a gate whose secret could not be drawn answers nothing (a
// cookie under a predictable secret could be forged) and accepts nothing.
TEST(CookieGate, WithoutARandomSecretItAnswersAndAcceptsNothing) {
  Client c = new_client();
  std::optional<CookieGate> gate;
  {
    testing::FailingRandom no_random;
    gate.emplace();
    EXPECT_EQ(no_random.refused(), 1);
  }
  EXPECT_FALSE(gate->has_secret());
  auto d = gate->inspect(c.first_hello, kPeer);
  EXPECT_EQ(d.verdict, CookieGate::Verdict::kDrop);
  EXPECT_TRUE(d.reply.empty());
  EXPECT_EQ(gate->refused(), 1u);
  // A rotation that gets its random bytes brings the gate back.
  gate->rotate();
  EXPECT_TRUE(gate->has_secret());
  EXPECT_EQ(gate->inspect(c.first_hello, kPeer).verdict,
            CookieGate::Verdict::kHelloVerify);
  EXPECT_EQ(gate->refused(), 1u);
}

TEST(CookieGate, AFailedRotationRefusesEvenCookiesItIssued) {
  CookieGate gate;
  Client c = new_client();
  auto second = second_hello(gate, c);
  ASSERT_EQ(gate.inspect(second, kPeer).verdict, CookieGate::Verdict::kAccept);
  {
    testing::FailingRandom no_random;
    gate.rotate();
    EXPECT_EQ(no_random.refused(), 1);
  }
  EXPECT_FALSE(gate.has_secret());
  EXPECT_EQ(gate.inspect(second, kPeer).verdict, CookieGate::Verdict::kDrop);
  EXPECT_EQ(gate.inspect(c.first_hello, kPeer).verdict,
            CookieGate::Verdict::kDrop);
  EXPECT_EQ(gate.refused(), 2u);
}

TEST(CookieGate, SharedSecretAcrossWorkers) {
  std::array<std::uint8_t, CookieGate::kSecretSize> secret{};
  secret[0] = 7;
  CookieGate a(secret), b(secret);
  Client c = new_client();
  auto second = second_hello(a, c);
  EXPECT_EQ(b.inspect(second, kPeer).verdict, CookieGate::Verdict::kAccept);
}

// Workers that share a master derive the same secret per period, and a
// worker one period behind still takes the newer cookies once it rotates.
TEST(CookieGate, DerivedSecretsAgreePerPeriod) {
  std::array<std::uint8_t, CookieGate::kSecretSize> master{}, other{};
  master[0] = 1;
  other[0] = 2;
  EXPECT_EQ(CookieGate::derive_secret(master, 41),
            CookieGate::derive_secret(master, 41));
  EXPECT_NE(CookieGate::derive_secret(master, 41),
            CookieGate::derive_secret(master, 42));
  EXPECT_NE(CookieGate::derive_secret(master, 41),
            CookieGate::derive_secret(other, 41));
  CookieGate ahead(CookieGate::derive_secret(master, 42));
  CookieGate behind(CookieGate::derive_secret(master, 41));
  Client c = new_client();
  auto second = second_hello(ahead, c);
  EXPECT_EQ(behind.inspect(second, kPeer).verdict,
            CookieGate::Verdict::kHelloVerify);
  behind.rotate(CookieGate::derive_secret(master, 42));
  EXPECT_EQ(behind.inspect(second, kPeer).verdict,
            CookieGate::Verdict::kAccept);
  CookieGate stranger(CookieGate::derive_secret(other, 42));
  EXPECT_EQ(stranger.inspect(second, kPeer).verdict,
            CookieGate::Verdict::kHelloVerify);
}

TEST(CookieGate, CookielessFloodNeverAccepts) {
  CookieGate gate;
  Client c = new_client();
  std::mt19937 rng(5);
  for (int i = 0; i < 2000; ++i) {
    std::vector<std::uint8_t> peer = {4,
                                      127,
                                      0,
                                      static_cast<std::uint8_t>(rng()),
                                      static_cast<std::uint8_t>(rng()),
                                      static_cast<std::uint8_t>(rng()),
                                      1};
    auto d = gate.inspect(c.first_hello, peer);
    ASSERT_EQ(d.verdict, CookieGate::Verdict::kHelloVerify);
    ASSERT_LE(d.reply.size(), c.first_hello.size());
  }
}

// The smallest datagram the parser accepts (a ClientHello fragment that ends
// right after an empty cookie, 61 bytes) still gets a reply no larger than
// itself (48 bytes): there is no input the gate amplifies.
TEST(CookieGate, NeverAmplifiesEvenTheSmallestHello) {
  Client c = new_client();
  const size_t prefix_len =
      kRecordHeaderSize + kHandshakeHeaderSize + 2 + 32 + 1 + 1;
  std::vector<std::uint8_t> tiny(c.first_hello.begin(),
                                 c.first_hello.begin() + prefix_len);
  const std::uint16_t body =
      static_cast<std::uint16_t>(prefix_len - kRecordHeaderSize);
  tiny[11] = static_cast<std::uint8_t>(body >> 8);
  tiny[12] = static_cast<std::uint8_t>(body);
  const std::uint32_t frag = body - kHandshakeHeaderSize;
  tiny[22] = tiny[23] = 0;
  tiny[24] = static_cast<std::uint8_t>(frag);
  ASSERT_TRUE(parse_client_hello_prefix(tiny));
  CookieGate gate;
  auto d = gate.inspect(tiny, kPeer);
  ASSERT_EQ(d.verdict, CookieGate::Verdict::kHelloVerify);
  EXPECT_LE(d.reply.size(), tiny.size());
  EXPECT_EQ(d.reply.size(), kRecordHeaderSize + kHandshakeHeaderSize + 3 +
                                CookieGate::kCookieSize);
  // One byte shorter and it is no ClientHello prefix at all.
  tiny.pop_back();
  EXPECT_EQ(gate.inspect(tiny, kPeer).verdict, CookieGate::Verdict::kDrop);
}

TEST(CookieGate, DropsWhatIsNotAClientHello) {
  CookieGate gate;
  std::vector<std::uint8_t> junk(200, 0x42);
  EXPECT_EQ(gate.inspect(junk, kPeer).verdict, CookieGate::Verdict::kDrop);
  EXPECT_EQ(gate.inspect({}, kPeer).verdict, CookieGate::Verdict::kDrop);
  Client c = new_client();
  std::vector<std::uint8_t> long_peer(256, 1);
  EXPECT_EQ(gate.inspect(c.first_hello, long_peer).verdict,
            CookieGate::Verdict::kDrop);
}

// The cookie is HMAC-SHA256(secret, len(peer) | len(session_id) | peer |
// client_version | random | session_id), truncated to 20 bytes (see
// CookieGate::compute): checked against OpenSSL's own HMAC.
TEST(CookieGate, CookieIsTheDocumentedHmac) {
  std::array<std::uint8_t, CookieGate::kSecretSize> secret;
  for (size_t i = 0; i < secret.size(); ++i)
    secret[i] = static_cast<std::uint8_t>(i * 7 + 1);
  CookieGate gate(secret);
  Client c = new_client();
  auto d = gate.inspect(c.first_hello, kPeer);
  ASSERT_EQ(d.verdict, CookieGate::Verdict::kHelloVerify);
  auto hello = parse_client_hello_prefix(c.first_hello);
  ASSERT_TRUE(hello);
  std::vector<std::uint8_t> input = {
      static_cast<std::uint8_t>(kPeer.size()),
      static_cast<std::uint8_t>(hello->session_id.size())};
  input.insert(input.end(), kPeer.begin(), kPeer.end());
  input.push_back(static_cast<std::uint8_t>(hello->client_version >> 8));
  input.push_back(static_cast<std::uint8_t>(hello->client_version));
  input.insert(input.end(), hello->random.begin(), hello->random.end());
  input.insert(input.end(), hello->session_id.begin(), hello->session_id.end());
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       input.data(), input.size(), mac, &len);
  // The cookie is the reply's last 20 bytes.
  std::vector<std::uint8_t> cookie(d.reply.end() - CookieGate::kCookieSize,
                                   d.reply.end());
  EXPECT_EQ(cookie,
            std::vector<std::uint8_t>(mac, mac + CookieGate::kCookieSize));
}

// A flood of spoofed hellos costs no allocation per hello.
TEST(CookieGate, AnsweringAHelloAllocatesNothing) {
  if (!testing::counting_allocations()) GTEST_SKIP() << "sanitizer build";
  CookieGate gate;
  Client c = new_client();
  gate.inspect(c.first_hello, kPeer);  // the reply buffer exists from here
  auto second = second_hello(gate, c);
  const long before = testing::allocation_count();
  for (int i = 0; i < 1000; ++i) {
    c.first_hello[40] = static_cast<std::uint8_t>(i);  // a new random
    ASSERT_EQ(gate.inspect(c.first_hello, kPeer).verdict,
              CookieGate::Verdict::kHelloVerify);
  }
  EXPECT_EQ(gate.inspect(second, kPeer).verdict, CookieGate::Verdict::kAccept);
  gate.rotate();
  EXPECT_EQ(gate.inspect(second, kPeer).verdict, CookieGate::Verdict::kAccept);
  EXPECT_EQ(testing::allocation_count() - before, 0);
}

}  // namespace
}  // namespace dtls
