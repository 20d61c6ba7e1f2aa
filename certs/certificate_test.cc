#include "certs/certificate.h"

#include <gtest/gtest.h>

#include "certs/generate.h"

namespace dtls::certs {
namespace {

using std::chrono::hours;

Credentials make(const std::string& cn) {
  GenerateOptions o;
  o.common_name = cn;
  auto c = generate_certificate(o);
  EXPECT_TRUE(c.ok()) << c.error().to_string();
  return std::move(c).value();
}

TEST(Certificate, PemRoundTrip) {
  Credentials c = make("a");
  std::string pem = c.leaf().to_pem();
  EXPECT_EQ(pem.rfind("-----BEGIN CERTIFICATE-----", 0), 0u);
  auto back = Certificate::from_pem(pem);
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_TRUE(*back == c.leaf());
}

TEST(Certificate, DerRoundTrip) {
  Credentials c = make("a");
  auto der = c.leaf().to_der();
  auto back = Certificate::from_der(der);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(*back == c.leaf());
}

TEST(Certificate, DerWithTrailingBytesIsRefused) {
  auto der = make("a").leaf().to_der();
  der.push_back(0);
  auto back = Certificate::from_der(der);
  ASSERT_FALSE(back.ok());
  EXPECT_EQ(back.error().code, "ERR_CERT_DER_INVALID");
}

TEST(Certificate, GarbageDerIsRefused) {
  std::vector<std::uint8_t> junk = {0x30, 0x03, 0x01, 0x02};
  auto r = Certificate::from_der(junk);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "ERR_CERT_DER_INVALID");
}

TEST(Certificate, ChainKeepsOrder) {
  Credentials a = make("first");
  Credentials b = make("second");
  auto chain =
      Certificate::chain_from_pem(a.leaf().to_pem() + b.leaf().to_pem());
  ASSERT_TRUE(chain.ok());
  ASSERT_EQ(chain->size(), 2u);
  EXPECT_TRUE((*chain)[0] == a.leaf());
  EXPECT_TRUE((*chain)[1] == b.leaf());
}

TEST(Certificate, EmptyAndGarbagePemAreRefused) {
  for (std::string_view pem :
       {std::string_view(""), std::string_view("hello"),
        std::string_view("-----BEGIN CERTIFICATE-----\nAAAA\n"
                         "-----END CERTIFICATE-----\n")}) {
    auto r = Certificate::from_pem(pem);
    ASSERT_FALSE(r.ok()) << pem;
    EXPECT_EQ(r.error().code, "ERR_CERT_PEM_INVALID");
  }
}

TEST(Certificate, KeyPemIsNotACertificate) {
  auto r = Certificate::from_pem(make("a").key.to_pem());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "ERR_CERT_PEM_INVALID");
}

TEST(Certificate, TruncatedSecondCertificateIsAnError) {
  Credentials a = make("a");
  std::string second = make("b").leaf().to_pem();
  std::string pem = a.leaf().to_pem() + second.substr(0, second.size() / 2);
  auto r = Certificate::chain_from_pem(pem);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "ERR_CERT_PEM_INVALID");
}

TEST(Certificate, ValidityWindow) {
  auto now = Clock::now();
  GenerateOptions o;
  o.not_before_offset = std::chrono::seconds(0);
  o.validity = hours(10);
  auto c = generate_certificate(o, now);
  ASSERT_TRUE(c.ok());
  const Certificate& cert = c->leaf();
  EXPECT_TRUE(cert.check_validity(now + hours(1)).ok());
  Status early = cert.check_validity(now - hours(1));
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.error().code, "ERR_CERT_NOT_YET_VALID");
  Status late = cert.check_validity(now + hours(11));
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, "ERR_CERT_HAS_EXPIRED");
  EXPECT_LE(std::chrono::abs(cert.not_after() - cert.not_before() - hours(10)),
            std::chrono::seconds(1));
}

TEST(Certificate, CopiesShareTheObject) {
  Credentials c = make("a");
  Certificate copy = c.leaf();
  EXPECT_EQ(copy.get(), c.leaf().get());
  Certificate assigned = make("b").leaf();
  assigned = copy;
  EXPECT_EQ(assigned.get(), c.leaf().get());
  assigned = assigned;  // self-assignment keeps the object alive
  EXPECT_EQ(assigned.get(), c.leaf().get());
}

TEST(PrivateKey, PlainPemRoundTrip) {
  Credentials c = make("a");
  auto k = PrivateKey::from_pem(c.key.to_pem());
  ASSERT_TRUE(k.ok()) << k.error().to_string();
  EXPECT_EQ(EVP_PKEY_eq(k->get(), c.key.get()), 1);
}

TEST(PrivateKey, EncryptedPemNeedsTheRightPassphrase) {
  Credentials c = make("a");
  std::string pem = c.key.to_pem("s3cret");
  EXPECT_NE(pem.find("ENCRYPTED PRIVATE KEY"), std::string::npos);
  auto ok = PrivateKey::from_pem(pem, "s3cret");
  ASSERT_TRUE(ok.ok()) << ok.error().to_string();
  EXPECT_EQ(EVP_PKEY_eq(ok->get(), c.key.get()), 1);

  auto wrong = PrivateKey::from_pem(pem, "nope");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, "ERR_KEY_PASSPHRASE");
  EXPECT_NE(wrong.error().message.find("wrong passphrase"), std::string::npos);

  auto missing = PrivateKey::from_pem(pem);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, "ERR_KEY_PASSPHRASE");
  EXPECT_NE(missing.error().message.find("no passphrase"), std::string::npos);
}

TEST(PrivateKey, GarbageIsRefused) {
  for (std::string_view pem :
       {std::string_view(""),
        std::string_view("-----BEGIN PRIVATE KEY-----\nAA==\n"
                         "-----END PRIVATE KEY-----\n")}) {
    auto r = PrivateKey::from_pem(pem);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "ERR_KEY_PEM_INVALID");
  }
}

TEST(PrivateKey, CertificatePemIsNotAKey) {
  auto r = PrivateKey::from_pem(make("a").leaf().to_pem());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "ERR_KEY_PEM_INVALID");
}

}  // namespace
}  // namespace dtls::certs
