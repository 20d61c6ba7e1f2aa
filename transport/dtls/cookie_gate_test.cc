#include "transport/dtls/cookie_gate.h"

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
const TimePoint kNow{};

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
  auto d = gate.inspect(c.first_hello, kPeer, kNow);
  EXPECT_EQ(d.verdict, CookieGate::Verdict::kHelloVerify);
  return answer(c, std::vector<std::uint8_t>(d.reply.begin(), d.reply.end()));
}

TEST(CookieGate, HelloVerifyRequestThenAccept) {
  CookieGate gate;
  Client c = new_client();
  auto d1 = gate.inspect(c.first_hello, kPeer, kNow);
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
  auto d2 = gate.inspect(second, kPeer, kNow);
  EXPECT_EQ(d2.verdict, CookieGate::Verdict::kAccept);
  EXPECT_EQ(d2.cookie.size(), CookieGate::kCookieSize);
}

TEST(CookieGate, CookieIsBoundToThePeerAddress) {
  CookieGate gate;
  Client c = new_client();
  auto second = second_hello(gate, c);
  EXPECT_NE(gate.inspect(second, kOtherPeer, kNow).verdict,
            CookieGate::Verdict::kAccept);
  EXPECT_EQ(gate.inspect(second, kPeer, kNow).verdict,
            CookieGate::Verdict::kAccept);
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
      ASSERT_NE(gate.inspect(forged, kPeer, kNow).verdict,
                CookieGate::Verdict::kAccept);
    }
  }
  // Another gate (another secret) does not accept our cookie either.
  CookieGate other;
  EXPECT_NE(other.inspect(second, kPeer, kNow).verdict,
            CookieGate::Verdict::kAccept);
}

TEST(CookieGate, PreviousSecretStillVerifiesOnce) {
  CookieGate gate;
  Client c = new_client();
  auto second = second_hello(gate, c);
  gate.rotate();
  EXPECT_EQ(gate.inspect(second, kPeer, kNow).verdict,
            CookieGate::Verdict::kAccept);
  gate.rotate();
  EXPECT_EQ(gate.inspect(second, kPeer, kNow).verdict,
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
  auto d = gate->inspect(c.first_hello, kPeer, kNow);
  EXPECT_EQ(d.verdict, CookieGate::Verdict::kDrop);
  EXPECT_TRUE(d.reply.empty());
  EXPECT_EQ(gate->refused(), 1u);
  // A rotation that gets its random bytes brings the gate back.
  gate->rotate();
  EXPECT_TRUE(gate->has_secret());
  EXPECT_EQ(gate->inspect(c.first_hello, kPeer, kNow).verdict,
            CookieGate::Verdict::kHelloVerify);
  EXPECT_EQ(gate->refused(), 1u);
}

TEST(CookieGate, AFailedRotationRefusesEvenCookiesItIssued) {
  CookieGate gate;
  Client c = new_client();
  auto second = second_hello(gate, c);
  ASSERT_EQ(gate.inspect(second, kPeer, kNow).verdict,
            CookieGate::Verdict::kAccept);
  {
    testing::FailingRandom no_random;
    gate.rotate();
    EXPECT_EQ(no_random.refused(), 1);
  }
  EXPECT_FALSE(gate.has_secret());
  EXPECT_EQ(gate.inspect(second, kPeer, kNow).verdict,
            CookieGate::Verdict::kDrop);
  EXPECT_EQ(gate.inspect(c.first_hello, kPeer, kNow).verdict,
            CookieGate::Verdict::kDrop);
  EXPECT_EQ(gate.refused(), 2u);
}

TEST(CookieGate, SharedSecretAcrossWorkers) {
  std::array<std::uint8_t, CookieGate::kSecretSize> secret{};
  secret[0] = 7;
  CookieGate a(secret), b(secret);
  Client c = new_client();
  auto second = second_hello(a, c);
  EXPECT_EQ(b.inspect(second, kPeer, kNow).verdict,
            CookieGate::Verdict::kAccept);
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
  EXPECT_EQ(behind.inspect(second, kPeer, kNow).verdict,
            CookieGate::Verdict::kHelloVerify);
  behind.rotate(CookieGate::derive_secret(master, 42));
  EXPECT_EQ(behind.inspect(second, kPeer, kNow).verdict,
            CookieGate::Verdict::kAccept);
  CookieGate stranger(CookieGate::derive_secret(other, 42));
  EXPECT_EQ(stranger.inspect(second, kPeer, kNow).verdict,
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
    auto d = gate.inspect(c.first_hello, peer, kNow);
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
  auto d = gate.inspect(tiny, kPeer, kNow);
  ASSERT_EQ(d.verdict, CookieGate::Verdict::kHelloVerify);
  EXPECT_LE(d.reply.size(), tiny.size());
  EXPECT_EQ(d.reply.size(), kRecordHeaderSize + kHandshakeHeaderSize + 3 +
                                CookieGate::kCookieSize);
  // One byte shorter and it is no ClientHello prefix at all.
  tiny.pop_back();
  EXPECT_EQ(gate.inspect(tiny, kPeer, kNow).verdict,
            CookieGate::Verdict::kDrop);
}

TEST(CookieGate, DropsWhatIsNotAClientHello) {
  CookieGate gate;
  std::vector<std::uint8_t> junk(200, 0x42);
  EXPECT_EQ(gate.inspect(junk, kPeer, kNow).verdict,
            CookieGate::Verdict::kDrop);
  EXPECT_EQ(gate.inspect({}, kPeer, kNow).verdict, CookieGate::Verdict::kDrop);
  Client c = new_client();
  std::vector<std::uint8_t> long_peer(256, 1);
  EXPECT_EQ(gate.inspect(c.first_hello, long_peer, kNow).verdict,
            CookieGate::Verdict::kDrop);
}

// The cookie is issued_at | HMAC-SHA256(secret, issued_at | len(peer) |
// len(session_id) | peer | client_version | random | session_id) truncated to
// 16 bytes, issued_at being the time in milliseconds (mod 2^32) plus an offset
// of the secret's, big-endian (see CookieGate::compute): checked against
// OpenSSL's own HMAC.
TEST(CookieGate, CookieIsTheDocumentedHmac) {
  std::array<std::uint8_t, CookieGate::kSecretSize> secret;
  for (size_t i = 0; i < secret.size(); ++i)
    secret[i] = static_cast<std::uint8_t>(i * 7 + 1);
  CookieGate gate(secret);
  Client c = new_client();
  const TimePoint at{std::chrono::milliseconds(0x1234567890)};
  auto d = gate.inspect(c.first_hello, kPeer, at);
  ASSERT_EQ(d.verdict, CookieGate::Verdict::kHelloVerify);
  auto hello = parse_client_hello_prefix(c.first_hello);
  ASSERT_TRUE(hello);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  static constexpr char kLabel[] = "dtls-srtp cookie clock";
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(kLabel), sizeof(kLabel) - 1, mac,
       &len);
  const std::uint32_t offset = std::uint32_t{mac[0]} << 24 |
                               std::uint32_t{mac[1]} << 16 |
                               std::uint32_t{mac[2]} << 8 | mac[3];
  const std::uint32_t issued_at = 0x34567890u + offset;
  std::vector<std::uint8_t> input = {
      static_cast<std::uint8_t>(issued_at >> 24),
      static_cast<std::uint8_t>(issued_at >> 16),
      static_cast<std::uint8_t>(issued_at >> 8),
      static_cast<std::uint8_t>(issued_at),
      static_cast<std::uint8_t>(kPeer.size()),
      static_cast<std::uint8_t>(hello->session_id.size())};
  input.insert(input.end(), kPeer.begin(), kPeer.end());
  input.push_back(static_cast<std::uint8_t>(hello->client_version >> 8));
  input.push_back(static_cast<std::uint8_t>(hello->client_version));
  input.insert(input.end(), hello->random.begin(), hello->random.end());
  input.insert(input.end(), hello->session_id.begin(), hello->session_id.end());
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       input.data(), input.size(), mac, &len);
  std::vector<std::uint8_t> expected(input.begin(), input.begin() + 4);
  expected.insert(expected.end(), mac, mac + CookieGate::kMacSize);
  // The cookie is the reply's last 20 bytes.
  std::vector<std::uint8_t> cookie(d.reply.end() - CookieGate::kCookieSize,
                                   d.reply.end());
  EXPECT_EQ(cookie, expected);
}

// The cookie tells the server, with no state kept, how long the exchange
// took: the client's round trip, for the first retransmission timeout.
TEST(CookieGate, AnAcceptedCookieGivesItsAge) {
  CookieGate gate;
  Client c = new_client();
  const TimePoint sent{std::chrono::hours(1000)};
  auto d = gate.inspect(c.first_hello, kPeer, sent);
  ASSERT_EQ(d.verdict, CookieGate::Verdict::kHelloVerify);
  auto second =
      answer(c, std::vector<std::uint8_t>(d.reply.begin(), d.reply.end()));
  auto accepted =
      gate.inspect(second, kPeer, sent + std::chrono::milliseconds(37));
  ASSERT_EQ(accepted.verdict, CookieGate::Verdict::kAccept);
  EXPECT_EQ(accepted.cookie_age, std::chrono::milliseconds(37));
  // Under the previous secret too.
  gate.rotate();
  accepted = gate.inspect(second, kPeer, sent + std::chrono::milliseconds(90));
  ASSERT_EQ(accepted.verdict, CookieGate::Verdict::kAccept);
  EXPECT_EQ(accepted.cookie_age, std::chrono::milliseconds(90));
}

// Milliseconds wrap every 2^32 (49 days); an age across the wrap is right.
TEST(CookieGate, CookieAgeSurvivesTheClockWrap) {
  std::array<std::uint8_t, CookieGate::kSecretSize> secret{9};
  CookieGate gate(secret);
  Client c = new_client();
  for (std::int64_t base : {std::int64_t{0}, (std::int64_t{1} << 32) - 5,
                            (std::int64_t{3} << 32) - 1}) {
    Client c = new_client();
    const TimePoint sent{std::chrono::milliseconds(base)};
    auto d = gate.inspect(c.first_hello, kPeer, sent);
    ASSERT_EQ(d.verdict, CookieGate::Verdict::kHelloVerify);
    auto second =
        answer(c, std::vector<std::uint8_t>(d.reply.begin(), d.reply.end()));
    auto accepted =
        gate.inspect(second, kPeer, sent + std::chrono::milliseconds(20));
    ASSERT_EQ(accepted.verdict, CookieGate::Verdict::kAccept) << base;
    EXPECT_EQ(accepted.cookie_age, std::chrono::milliseconds(20)) << base;
  }
}

// The stamp is covered by the MAC: a client cannot claim a shorter round
// trip (an earlier stamp would make the server retransmit sooner).
TEST(CookieGate, ATamperedStampDoesNotVerify) {
  CookieGate gate;
  Client c = new_client();
  auto second = second_hello(gate, c);
  auto prefix = parse_client_hello_prefix(second);
  ASSERT_TRUE(prefix);
  const size_t at = static_cast<size_t>(prefix->cookie.data() - second.data());
  for (size_t i = 0; i < CookieGate::kTimeSize; ++i) {
    auto forged = second;
    forged[at + i] ^= 0x01;
    EXPECT_NE(gate.inspect(forged, kPeer, kNow).verdict,
              CookieGate::Verdict::kAccept)
        << i;
  }
  EXPECT_EQ(gate.inspect(second, kPeer, kNow).verdict,
            CookieGate::Verdict::kAccept);
}

// A flood of spoofed hellos costs no allocation per hello.
TEST(CookieGate, AnsweringAHelloAllocatesNothing) {
  if (!testing::counting_allocations()) GTEST_SKIP() << "sanitizer build";
  CookieGate gate;
  Client c = new_client();
  gate.inspect(c.first_hello, kPeer,
               kNow);  // the reply buffer exists from here
  auto second = second_hello(gate, c);
  const long before = testing::allocation_count();
  for (int i = 0; i < 1000; ++i) {
    c.first_hello[40] = static_cast<std::uint8_t>(i);  // a new random
    ASSERT_EQ(gate.inspect(c.first_hello, kPeer, kNow).verdict,
              CookieGate::Verdict::kHelloVerify);
  }
  EXPECT_EQ(gate.inspect(second, kPeer, kNow).verdict,
            CookieGate::Verdict::kAccept);
  gate.rotate();
  EXPECT_EQ(gate.inspect(second, kPeer, kNow).verdict,
            CookieGate::Verdict::kAccept);
  EXPECT_EQ(testing::allocation_count() - before, 0);
}

}  // namespace
}  // namespace dtls
