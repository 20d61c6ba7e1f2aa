#include "certs/fingerprint.h"

#include <gtest/gtest.h>

#include "certs/generate.h"

namespace dtls::certs {
namespace {

Certificate make() {
  auto c = generate_certificate();
  EXPECT_TRUE(c.ok());
  return c->leaf();
}

TEST(Fingerprint, LengthsAndForm) {
  Certificate cert = make();
  EXPECT_EQ(Fingerprint::of(cert, HashAlgorithm::kSha1).digest().size(), 20u);
  EXPECT_EQ(Fingerprint::of(cert, HashAlgorithm::kSha256).digest().size(), 32u);
  EXPECT_EQ(Fingerprint::of(cert, HashAlgorithm::kSha384).digest().size(), 48u);
  EXPECT_EQ(Fingerprint::of(cert, HashAlgorithm::kSha512).digest().size(), 64u);
  std::string hex = Fingerprint::of(cert, HashAlgorithm::kSha256).colon_hex();
  ASSERT_EQ(hex.size(), 32u * 3 - 1);
  for (size_t i = 0; i < hex.size(); ++i) {
    if (i % 3 == 2) {
      EXPECT_EQ(hex[i], ':');
    } else {
      EXPECT_TRUE(std::isdigit(hex[i]) || (hex[i] >= 'A' && hex[i] <= 'F'))
          << hex;
    }
  }
}

TEST(Fingerprint, ColonHexOfBytes) {
  std::vector<std::uint8_t> b = {0x00, 0x0a, 0xff};
  EXPECT_EQ(colon_hex(b), "00:0A:FF");
  EXPECT_EQ(colon_hex({}), "");
}

TEST(Fingerprint, SdpRoundTrip) {
  Certificate cert = make();
  for (auto a : {HashAlgorithm::kSha1, HashAlgorithm::kSha256,
                 HashAlgorithm::kSha384, HashAlgorithm::kSha512}) {
    Fingerprint fp = Fingerprint::of(cert, a);
    std::string sdp = fp.to_sdp();
    EXPECT_EQ(sdp.rfind(std::string(hash_name(a)) + " ", 0), 0u);
    auto parsed = Fingerprint::parse_sdp(sdp);
    ASSERT_TRUE(parsed.ok()) << parsed.error().to_string();
    EXPECT_TRUE(*parsed == fp);
    EXPECT_TRUE(parsed->matches(cert));
  }
}

TEST(Fingerprint, SdpAttributeLineCaseAndLowercaseHex) {
  Certificate cert = make();
  Fingerprint fp = Fingerprint::of(cert, HashAlgorithm::kSha256);
  std::string lower = fp.colon_hex();
  for (char& c : lower) c = static_cast<char>(std::tolower(c));
  auto parsed =
      Fingerprint::parse_sdp("a=fingerprint:SHA-256 " + lower + "\r\n");
  ASSERT_TRUE(parsed.ok()) << parsed.error().to_string();
  EXPECT_TRUE(parsed->matches(cert));
}

TEST(Fingerprint, DoesNotMatchAnotherCertificate) {
  Certificate a = make();
  Certificate b = make();
  EXPECT_FALSE(Fingerprint::of(a, HashAlgorithm::kSha256).matches(b));
  EXPECT_FALSE(Fingerprint::of(a, HashAlgorithm::kSha256) ==
               Fingerprint::of(a, HashAlgorithm::kSha1));
}

TEST(Fingerprint, ParseErrors) {
  std::string good =
      Fingerprint::of(make(), HashAlgorithm::kSha256).colon_hex();
  std::string bad_digit = good;
  bad_digit[0] = 'G';
  std::string bad_sep = good;
  bad_sep[2] = '-';
  for (const std::string& text : {
           std::string(""),
           std::string("sha-256"),
           "md5 " + good,
           "sha-256 " + good.substr(3),
           "sha-256 " + good + ":00",
           "sha-1 " + good,
           "sha-256 " + bad_digit,
           "sha-256 " + bad_sep,
           "sha-256  " + good,
       }) {
    auto r = Fingerprint::parse_sdp(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.error().code, "ERR_SDP_FINGERPRINT_INVALID") << text;
  }
}

TEST(Fingerprint, HashNames) {
  EXPECT_EQ(hash_name(HashAlgorithm::kSha1), "sha-1");
  EXPECT_EQ(hash_name(HashAlgorithm::kSha512), "sha-512");
  auto a = parse_hash_name("SHA-384");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, HashAlgorithm::kSha384);
  EXPECT_FALSE(parse_hash_name("sha256").ok());
}

}  // namespace
}  // namespace dtls::certs
