#include "transport/record_expansion.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace dtls {
namespace {

// The suite named `name` as OpenSSL knows it for DTLS.
const SSL_CIPHER* suite(const std::string& name) {
  static SSL_CTX* ctx = SSL_CTX_new(DTLS_method());
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx), SSL_free);
  const unsigned char* id = nullptr;
  STACK_OF(SSL_CIPHER)* all = nullptr;
  (void)id;
  SSL_set_cipher_list(ssl.get(), "ALL:COMPLEMENTOFALL:@SECLEVEL=0");
  all = SSL_get_ciphers(ssl.get());
  for (int i = 0; i < sk_SSL_CIPHER_num(all); ++i) {
    const SSL_CIPHER* c = sk_SSL_CIPHER_value(all, i);
    if (name == SSL_CIPHER_get_name(c)) return c;  // static tables: outlive ssl
  }
  return nullptr;
}

TEST(RecordExpansion, SmallestRecordOfEachKindOfSuite) {
  struct Case {
    const char* name;
    size_t expected;
  } cases[] = {
      // 8-byte explicit nonce + 16-byte tag (RFC 5288).
      {"ECDHE-ECDSA-AES128-GCM-SHA256", 24},
      {"ECDHE-RSA-AES256-GCM-SHA384", 24},
      // No explicit nonce (RFC 7905).
      {"ECDHE-ECDSA-CHACHA20-POLY1305", 16},
      // CCM and CCM_8 (RFC 6655, 7251).
      {"ECDHE-ECDSA-AES128-CCM", 24},
      {"ECDHE-ECDSA-AES128-CCM8", 16},
      // CBC: 16-byte IV, then MAC + 1 rounded up to 16.
      {"ECDHE-RSA-AES128-SHA", 16 + 32},     // SHA-1: 20 + 1 -> 32
      {"ECDHE-RSA-AES128-SHA256", 16 + 48},  // 32 + 1 -> 48
      {"ECDHE-RSA-AES256-SHA384", 16 + 64},  // 48 + 1 -> 64
      // NULL encryption: the MAC alone.
      {"PSK-NULL-SHA256", 32},
  };
  for (const Case& c : cases) {
    const SSL_CIPHER* cipher = suite(c.name);
    ASSERT_NE(cipher, nullptr) << c.name;
    EXPECT_EQ(min_protected_record_length(cipher), c.expected) << c.name;
  }
  EXPECT_EQ(
      min_protected_record_length(static_cast<const SSL_CIPHER*>(nullptr)), 0u);
}

TEST(RecordExpansion, BeforeASuiteIsChosenTheLeastOfTheEnabledOnes) {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(
      SSL_CTX_new(DTLS_method()), SSL_CTX_free);
  ASSERT_EQ(
      SSL_CTX_set_cipher_list(
          ctx.get(), "ECDHE-RSA-AES128-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256"),
      1);
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), SSL_free);
  // TLS 1.3 suites in the list (never used by DTLS 1.2) are AEAD without an
  // explicit nonce in DTLS 1.3 terms; OpenSSL lists them for DTLS too, so the
  // least may be theirs. Either way it is no more than GCM's 24.
  EXPECT_LE(min_protected_record_length(ssl.get()), 24u);
  EXPECT_GT(min_protected_record_length(ssl.get()), 0u);
}

}  // namespace
}  // namespace dtls
