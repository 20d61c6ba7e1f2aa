#include "certs/credentials.h"

#include <gtest/gtest.h>

#include "certs/generate.h"

namespace dtls::certs {
namespace {

using std::chrono::hours;

Credentials make(GenerateOptions o = {}) {
  auto c = generate_certificate(o);
  EXPECT_TRUE(c.ok()) << c.error().to_string();
  return std::move(c).value();
}

TEST(LoadPemCredentials, LoadsAPair) {
  Credentials c = make();
  auto loaded = load_pem_credentials(c.leaf().to_pem(), c.key.to_pem());
  ASSERT_TRUE(loaded.ok()) << loaded.error().to_string();
  EXPECT_TRUE(loaded->leaf() == c.leaf());
  EXPECT_EQ(loaded->chain.size(), 1u);
}

TEST(LoadPemCredentials, EncryptedKey) {
  Credentials c = make();
  LoadOptions o;
  o.passphrase = "pw";
  auto loaded = load_pem_credentials(c.leaf().to_pem(), c.key.to_pem("pw"), o);
  ASSERT_TRUE(loaded.ok()) << loaded.error().to_string();
  o.passphrase = "bad";
  auto bad = load_pem_credentials(c.leaf().to_pem(), c.key.to_pem("pw"), o);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "ERR_KEY_PASSPHRASE");
}

TEST(LoadPemCredentials, MismatchedKey) {
  Credentials a = make();
  Credentials b = make();
  auto r = load_pem_credentials(a.leaf().to_pem(), b.key.to_pem());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "ERR_CERT_KEY_MISMATCH");
}

TEST(LoadPemCredentials, MismatchedKeyTypes) {
  GenerateOptions rsa;
  rsa.key_type = KeyType::kRsa;
  Credentials a = make(rsa);
  Credentials b = make();
  auto r = load_pem_credentials(a.leaf().to_pem(), b.key.to_pem());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "ERR_CERT_KEY_MISMATCH");
}

TEST(LoadPemCredentials, ExpiredAndNotYetValid) {
  GenerateOptions expired;
  expired.not_before_offset = -hours(48);
  expired.validity = hours(24);
  Credentials e = make(expired);
  auto r = load_pem_credentials(e.leaf().to_pem(), e.key.to_pem());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "ERR_CERT_HAS_EXPIRED");

  GenerateOptions future;
  future.not_before_offset = hours(24);
  Credentials f = make(future);
  auto r2 = load_pem_credentials(f.leaf().to_pem(), f.key.to_pem());
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.error().code, "ERR_CERT_NOT_YET_VALID");

  LoadOptions skip;
  skip.now = std::nullopt;
  EXPECT_TRUE(
      load_pem_credentials(e.leaf().to_pem(), e.key.to_pem(), skip).ok());
}

TEST(LoadPemCredentials, ChainWithIntermediate) {
  GenerateOptions root_o;
  root_o.is_ca = true;
  root_o.common_name = "Root";
  Credentials root = make(root_o);
  GenerateOptions mid_o;
  mid_o.is_ca = true;
  mid_o.common_name = "Intermediate";
  mid_o.issuer = &root;
  Credentials mid = make(mid_o);
  GenerateOptions leaf_o;
  leaf_o.common_name = "leaf";
  leaf_o.issuer = &mid;
  Credentials leaf = make(leaf_o);
  // The generator appends the issuer chain without the self-signed root.
  ASSERT_EQ(leaf.chain.size(), 2u);
  std::string pem;
  for (const auto& c : leaf.chain) pem += c.to_pem();
  auto loaded = load_pem_credentials(pem, leaf.key.to_pem());
  ASSERT_TRUE(loaded.ok()) << loaded.error().to_string();
  ASSERT_EQ(loaded->chain.size(), 2u);
  EXPECT_TRUE(loaded->chain[0] == leaf.leaf());
  EXPECT_TRUE(loaded->chain[1] == mid.leaf());
}

TEST(LoadPemCredentials, BadPems) {
  Credentials c = make();
  auto r = load_pem_credentials("nope", c.key.to_pem());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "ERR_CERT_PEM_INVALID");
  auto r2 = load_pem_credentials(c.leaf().to_pem(), "nope");
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.error().code, "ERR_KEY_PEM_INVALID");
}

TEST(Pkcs12, RoundTripWithChain) {
  GenerateOptions ca_o;
  ca_o.is_ca = true;
  Credentials ca = make(ca_o);
  GenerateOptions mid_o;
  mid_o.is_ca = true;
  mid_o.issuer = &ca;
  Credentials mid = make(mid_o);
  GenerateOptions leaf_o;
  leaf_o.issuer = &mid;
  Credentials leaf = make(leaf_o);
  auto pfx = to_pkcs12(leaf, "pfx-pass");
  ASSERT_FALSE(pfx.empty());
  LoadOptions o;
  o.passphrase = "pfx-pass";
  auto loaded = load_pkcs12(pfx, o);
  ASSERT_TRUE(loaded.ok()) << loaded.error().to_string();
  EXPECT_TRUE(loaded->leaf() == leaf.leaf());
  ASSERT_EQ(loaded->chain.size(), 2u);
  EXPECT_TRUE(loaded->chain[1] == mid.leaf());
  EXPECT_EQ(EVP_PKEY_eq(loaded->key.get(), leaf.key.get()), 1);
}

TEST(Pkcs12, WrongOrMissingPassphrase) {
  Credentials c = make();
  auto pfx = to_pkcs12(c, "right");
  LoadOptions o;
  o.passphrase = "wrong";
  auto r = load_pkcs12(pfx, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "ERR_KEY_PASSPHRASE");
  auto r2 = load_pkcs12(pfx);
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.error().code, "ERR_KEY_PASSPHRASE");
}

TEST(Pkcs12, EmptyPassphrase) {
  Credentials c = make();
  auto pfx = to_pkcs12(c, "");
  auto r = load_pkcs12(pfx);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
}

TEST(Pkcs12, Garbage) {
  std::vector<std::uint8_t> junk(100, 0x42);
  auto r = load_pkcs12(junk);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "ERR_PKCS12_INVALID");
  auto r2 = load_pkcs12(std::span<const std::uint8_t>());
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.error().code, "ERR_PKCS12_INVALID");
}

TEST(Pkcs12, ExpiredCertificateInBundle) {
  GenerateOptions expired;
  expired.not_before_offset = -hours(48);
  expired.validity = hours(1);
  Credentials c = make(expired);
  auto r = load_pkcs12(to_pkcs12(c, "x"), LoadOptions{"x"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "ERR_CERT_HAS_EXPIRED");
}

TEST(CaList, SeveralPemsEachWithSeveralCerts) {
  Credentials a = make(), b = make(), c = make();
  std::vector<std::string> pems = {a.leaf().to_pem() + b.leaf().to_pem(),
                                   c.leaf().to_pem()};
  auto list = load_ca_list(pems);
  ASSERT_TRUE(list.ok()) << list.error().to_string();
  ASSERT_EQ(list->size(), 3u);
  EXPECT_TRUE((*list)[2] == c.leaf());
}

TEST(CaList, NamesTheBadEntry) {
  Credentials a = make();
  std::vector<std::string> pems = {a.leaf().to_pem(), "garbage"};
  auto list = load_ca_list(pems);
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.error().code, "ERR_CA_PEM_INVALID");
  EXPECT_EQ(list.error().message.rfind("ca[1]", 0), 0u);
}

TEST(CaList, EmptyListIsEmpty) {
  auto list = load_ca_list({});
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
}

}  // namespace
}  // namespace dtls::certs
