#include "certs/generate.h"

#include <gtest/gtest.h>
#include <openssl/x509_vfy.h>

#include <set>

#include "certs/fingerprint.h"
#include "certs/peer_certificate.h"
#include "tests/testing/failing_random.h"
#include "tests/testing/process.h"

namespace dtls::certs {
namespace {

using testing::run_command;
using testing::temp_path;
using testing::write_file;

TEST(Generate, DefaultIsSelfSignedEcdsaP256WebRtc) {
  auto c = generate_certificate();
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  PeerCertificate d = describe(c->leaf());
  EXPECT_EQ(d.subject.get("CN"), "WebRTC");
  EXPECT_EQ(d.issuer.get("CN"), "WebRTC");
  EXPECT_EQ(d.asn1_curve, "prime256v1");
  EXPECT_EQ(d.nist_curve, "P-256");
  EXPECT_EQ(d.bits, 256);
  EXPECT_FALSE(d.ca);
  // Self-signed: verifies with its own key.
  EXPECT_EQ(X509_verify(c->leaf().get(), X509_get0_pubkey(c->leaf().get())), 1);
  EXPECT_EQ(X509_check_private_key(c->leaf().get(), c->key.get()), 1);
}

// Fail closed: no certificate with a serial from a failed random draw. Only
// the serial's 8-byte draw fails here; the key and the signature draw other
// sizes and succeed, so nothing else would have stopped it.
TEST(Generate, FailsWhenTheSerialCannotBeRandom) {
  testing::FailingRandom no_random(8);
  auto c = generate_certificate();
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, "ERR_CERT_GENERATE");
  EXPECT_EQ(no_random.refused(), 1);
}

TEST(Generate, DefaultValidityIsBackdatedThirtyDays) {
  auto now = Clock::now();
  auto c = generate_certificate({}, now);
  ASSERT_TRUE(c.ok());
  auto nb = c->leaf().not_before();
  auto na = c->leaf().not_after();
  EXPECT_LE(std::chrono::abs(nb - (now - std::chrono::hours(24))),
            std::chrono::seconds(2));
  EXPECT_LE(std::chrono::abs(na - nb - std::chrono::hours(24 * 30)),
            std::chrono::seconds(2));
}

TEST(Generate, Rsa) {
  GenerateOptions o;
  o.key_type = KeyType::kRsa;
  o.common_name = "rsa.example";
  auto c = generate_certificate(o);
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  PeerCertificate d = describe(c->leaf());
  EXPECT_EQ(d.bits, 2048);
  EXPECT_EQ(d.exponent, "0x10001");
  EXPECT_EQ(d.modulus.size(), 512u);
  EXPECT_TRUE(d.asn1_curve.empty());
}

TEST(Generate, SerialsAreRandomAndPositive) {
  std::set<std::string> serials;
  for (int i = 0; i < 20; ++i) {
    auto c = generate_certificate();
    ASSERT_TRUE(c.ok());
    const ASN1_INTEGER* s = X509_get0_serialNumber(c->leaf().get());
    ossl::BignumPtr bn(ASN1_INTEGER_to_BN(s, nullptr));
    EXPECT_FALSE(BN_is_negative(bn.get()));
    EXPECT_FALSE(BN_is_zero(bn.get()));
    serials.insert(describe(c->leaf()).serial_number);
  }
  EXPECT_EQ(serials.size(), 20u);
}

TEST(Generate, IssuedBySignsWithTheIssuer) {
  GenerateOptions ca_o;
  ca_o.is_ca = true;
  ca_o.common_name = "Test CA";
  auto ca = generate_certificate(ca_o);
  ASSERT_TRUE(ca.ok());
  EXPECT_TRUE(describe(ca->leaf()).ca);
  GenerateOptions leaf_o;
  leaf_o.common_name = "server";
  leaf_o.subject_alt_names = {"DNS:server.test", "IP:127.0.0.1"};
  leaf_o.extended_key_usage = {"serverAuth"};
  leaf_o.issuer = &*ca;
  auto leaf = generate_certificate(leaf_o);
  ASSERT_TRUE(leaf.ok()) << leaf.error().to_string();
  EXPECT_EQ(leaf->chain.size(), 1u);  // the self-signed root is not appended
  EXPECT_EQ(describe(leaf->leaf()).issuer.get("CN"), "Test CA");

  // A real chain verification with OpenSSL's verifier.
  ossl::X509StorePtr store(X509_STORE_new());
  X509_STORE_add_cert(store.get(), ca->leaf().get());
  ossl::X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  X509_STORE_CTX_init(ctx.get(), store.get(), leaf->leaf().get(), nullptr);
  EXPECT_EQ(X509_verify_cert(ctx.get()), 1)
      << X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
}

TEST(Generate, OptionErrors) {
  struct Case {
    const char* name;
    void (*mutate)(GenerateOptions&);
    const char* code;
  } cases[] = {
      {"rsa too small",
       [](GenerateOptions& o) {
         o.key_type = KeyType::kRsa;
         o.rsa_bits = 1024;
       },
       "ERR_OUT_OF_RANGE"},
      {"rsa too large",
       [](GenerateOptions& o) {
         o.key_type = KeyType::kRsa;
         o.rsa_bits = 16384;
       },
       "ERR_OUT_OF_RANGE"},
      {"zero validity",
       [](GenerateOptions& o) { o.validity = std::chrono::seconds(0); },
       "ERR_OUT_OF_RANGE"},
      {"empty cn", [](GenerateOptions& o) { o.common_name = ""; },
       "ERR_INVALID_ARG_VALUE"},
      {"long cn",
       [](GenerateOptions& o) { o.common_name = std::string(65, 'a'); },
       "ERR_INVALID_ARG_VALUE"},
      {"san without type",
       [](GenerateOptions& o) { o.subject_alt_names = {"example.com"}; },
       "ERR_INVALID_ARG_VALUE"},
      {"san bad type",
       [](GenerateOptions& o) { o.subject_alt_names = {"FOO:bar"}; },
       "ERR_INVALID_ARG_VALUE"},
      {"san bad ip",
       [](GenerateOptions& o) { o.subject_alt_names = {"IP:1.2.3"}; },
       "ERR_INVALID_ARG_VALUE"},
      {"san comma",
       [](GenerateOptions& o) { o.subject_alt_names = {"DNS:a,IP:1.2.3.4"}; },
       "ERR_INVALID_ARG_VALUE"},
      {"san empty", [](GenerateOptions& o) { o.subject_alt_names = {"DNS:"}; },
       "ERR_INVALID_ARG_VALUE"},
      {"bad eku",
       [](GenerateOptions& o) { o.extended_key_usage = {"noSuchUsage"}; },
       "ERR_INVALID_ARG_VALUE"},
      {"bad subject field",
       [](GenerateOptions& o) {
         o.subject = {{"XX", "y"}};
       },
       "ERR_INVALID_ARG_VALUE"},
  };
  for (const Case& c : cases) {
    GenerateOptions o;
    c.mutate(o);
    auto r = generate_certificate(o);
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_EQ(r.error().code, c.code) << c.name << ": " << r.error().message;
  }
}

// The openssl command line reads what we generate, and agrees on the
// fingerprint.
TEST(Generate, OpensslCliParsesItAndAgreesOnFingerprints) {
  for (KeyType type : {KeyType::kEcdsaP256, KeyType::kRsa}) {
    GenerateOptions o;
    o.key_type = type;
    o.common_name = "cli.test";
    o.subject_alt_names = {"DNS:cli.test"};
    auto c = generate_certificate(o);
    ASSERT_TRUE(c.ok());
    std::string path = temp_path(".pem");
    write_file(path, c->leaf().to_pem());
    auto text =
        run_command({"openssl", "x509", "-in", path, "-noout", "-text"});
    ASSERT_EQ(text.exit_code, 0) << text.output;
    EXPECT_NE(text.output.find("CN = cli.test"), std::string::npos)
        << text.output;
    EXPECT_NE(text.output.find("DNS:cli.test"), std::string::npos);

    for (auto [alg, flag] : {std::pair{HashAlgorithm::kSha1, "-sha1"},
                             std::pair{HashAlgorithm::kSha256, "-sha256"},
                             std::pair{HashAlgorithm::kSha512, "-sha512"}}) {
      auto fp = run_command(
          {"openssl", "x509", "-in", path, "-noout", "-fingerprint", flag});
      ASSERT_EQ(fp.exit_code, 0) << fp.output;
      // "sha256 Fingerprint=AB:CD:...\n"
      std::string printed = fp.output.substr(fp.output.find('=') + 1);
      while (!printed.empty() && printed.back() == '\n') printed.pop_back();
      EXPECT_EQ(printed, Fingerprint::of(c->leaf(), alg).colon_hex()) << flag;
    }

    std::string key_path = temp_path(".key");
    write_file(key_path, c->key.to_pem());
    auto key_check =
        run_command({"openssl", "pkey", "-in", key_path, "-noout", "-check"});
    ASSERT_EQ(key_check.exit_code, 0) << key_check.output;
  }
}

}  // namespace
}  // namespace dtls::certs
