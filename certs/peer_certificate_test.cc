#include "certs/peer_certificate.h"

#include <gtest/gtest.h>

#include "certs/fingerprint.h"
#include "certs/generate.h"
#include "tests/testing/process.h"

namespace dtls::certs {
namespace {

using testing::run_command;
using testing::temp_path;
using testing::write_file;

Credentials make(GenerateOptions o) {
  auto c = generate_certificate(o);
  EXPECT_TRUE(c.ok()) << c.error().to_string();
  return std::move(c).value();
}

TEST(Describe, SubjectIssuerAndAltNames) {
  GenerateOptions ca_o;
  ca_o.is_ca = true;
  ca_o.common_name = "Example CA";
  ca_o.subject = {{"C", "SE"}, {"O", "Example"}};
  Credentials ca = make(ca_o);

  GenerateOptions o;
  o.common_name = "media.example.com";
  o.subject = {{"C", "US"},   {"ST", "CA"},  {"L", "SF"},
               {"O", "Acme"}, {"OU", "RTC"}, {"OU", "Edge"}};
  o.subject_alt_names = {"DNS:media.example.com",
                         "DNS:*.media.example.com",
                         "IP:127.0.0.1",
                         "IP:::1",
                         "URI:spiffe://example/sfu",
                         "email:ops@example.com"};
  o.extended_key_usage = {"serverAuth", "clientAuth"};
  o.issuer = &ca;
  Credentials leaf = make(o);
  PeerCertificate d = describe(leaf.leaf());

  EXPECT_EQ(d.subject.get("C"), "US");
  EXPECT_EQ(d.subject.get("ST"), "CA");
  EXPECT_EQ(d.subject.get("L"), "SF");
  EXPECT_EQ(d.subject.get("O"), "Acme");
  EXPECT_EQ(d.subject.get_all("OU"), (std::vector<std::string>{"RTC", "Edge"}));
  EXPECT_EQ(d.subject.get("CN"), "media.example.com");
  EXPECT_EQ(d.subject.get("nope"), "");
  EXPECT_EQ(d.issuer.get("CN"), "Example CA");
  EXPECT_EQ(d.issuer.get("O"), "Example");
  EXPECT_EQ(
      d.subjectaltname,
      "DNS:media.example.com, DNS:*.media.example.com, IP Address:127.0.0.1, "
      "IP Address:0:0:0:0:0:0:0:1, URI:spiffe://example/sfu, "
      "email:ops@example.com");
  EXPECT_EQ(d.dns_names.size(), 2u);
  ASSERT_EQ(d.ip_addresses.size(), 2u);
  EXPECT_EQ(d.ip_addresses[0], (std::vector<std::uint8_t>{127, 0, 0, 1}));
  EXPECT_EQ(d.uris, (std::vector<std::string>{"spiffe://example/sfu"}));
  EXPECT_EQ(d.ext_key_usage, (std::vector<std::string>{"1.3.6.1.5.5.7.3.1",
                                                       "1.3.6.1.5.5.7.3.2"}));
  EXPECT_FALSE(d.ca);
  EXPECT_TRUE(describe(ca.leaf()).ca);
}

TEST(Describe, FingerprintsRawAndEcKey) {
  Credentials c = make({});
  PeerCertificate d = describe(c.leaf());
  EXPECT_EQ(d.fingerprint,
            Fingerprint::of(c.leaf(), HashAlgorithm::kSha1).colon_hex());
  EXPECT_EQ(d.fingerprint256,
            Fingerprint::of(c.leaf(), HashAlgorithm::kSha256).colon_hex());
  EXPECT_EQ(d.fingerprint512,
            Fingerprint::of(c.leaf(), HashAlgorithm::kSha512).colon_hex());
  EXPECT_EQ(d.raw, c.leaf().to_der());
  // Uncompressed P-256 point: 0x04 || X || Y.
  ASSERT_EQ(d.pubkey.size(), 65u);
  EXPECT_EQ(d.pubkey[0], 0x04);
  EXPECT_EQ(d.bits, 256);
  EXPECT_TRUE(d.exponent.empty());
  EXPECT_TRUE(d.modulus.empty());
  EXPECT_TRUE(d.subjectaltname.empty());
  EXPECT_TRUE(d.ext_key_usage.empty());
}

TEST(Describe, RsaKeyMatchesOpensslCli) {
  GenerateOptions o;
  o.key_type = KeyType::kRsa;
  Credentials c = make(o);
  PeerCertificate d = describe(c.leaf());
  std::string path = temp_path(".pem");
  write_file(path, c.leaf().to_pem());
  auto mod =
      run_command({"openssl", "x509", "-in", path, "-noout", "-modulus"});
  ASSERT_EQ(mod.exit_code, 0) << mod.output;
  EXPECT_EQ(mod.output, "Modulus=" + d.modulus + "\n");
  auto serial =
      run_command({"openssl", "x509", "-in", path, "-noout", "-serial"});
  ASSERT_EQ(serial.exit_code, 0);
  EXPECT_EQ(serial.output, "serial=" + d.serial_number + "\n");
  auto dates = run_command(
      {"openssl", "x509", "-in", path, "-noout", "-startdate", "-enddate"});
  ASSERT_EQ(dates.exit_code, 0);
  EXPECT_EQ(dates.output,
            "notBefore=" + d.valid_from + "\nnotAfter=" + d.valid_to + "\n");
  // DER SubjectPublicKeyInfo of a 2048-bit key is 294 bytes.
  EXPECT_EQ(d.pubkey.size(), 294u);
  EXPECT_EQ(d.bits, 2048);
}

TEST(Describe, ValidityStringsLookLikeNodes) {
  PeerCertificate d = describe(make({}).leaf());
  // "Mar  4 12:00:00 2025 GMT"
  EXPECT_EQ(d.valid_from.size(), 24u) << d.valid_from;
  EXPECT_EQ(d.valid_from.substr(d.valid_from.size() - 4), " GMT");
  EXPECT_LT(d.valid_from_time, d.valid_to_time);
}

}  // namespace
}  // namespace dtls::certs
