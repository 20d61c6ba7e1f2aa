#include "transport/dtls/record_expansion.h"

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

// Before a suite is chosen, the bound for each enabled list. OpenSSL buffers
// the protected records that arrive then and decrypts them later with the
// chosen suite; OpenSSL 3.0 ends the handshake on an AEAD record below that
// suite's nonce and tag. With the defaults (AES-GCM 24, ChaCha20 16) the bound
// was 16 (the least, TLS 1.3's suites included): a forged 16..23-byte epoch-1
// record sent to a client before its ServerHello ended every handshake that
// then chose AES-GCM.
TEST(RecordExpansion, BeforeASuiteIsChosenNoSuiteThatMayBeChosenIsUndercut) {
  struct Case {
    const char* list;
    size_t expected;
  } cases[] = {
      // The default list: AES-GCM's 24, not ChaCha20's 16.
      {"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
       "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
       "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305",
       24},
      {"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-CCM", 24},
      // One suite: its own smallest record (TLS 1.3 suites, which OpenSSL
      // lists for DTLS too, left out).
      {"ECDHE-ECDSA-AES128-GCM-SHA256", 24},
      {"ECDHE-ECDSA-CHACHA20-POLY1305", 16},
      {"ECDHE-ECDSA-AES128-CCM8", 16},
      {"ECDHE-RSA-AES256-SHA384", 80},
      {"PSK-NULL-SHA256:@SECLEVEL=0", 32},
      // CBC and NULL records too short for the suite are discarded silently:
      // the AEAD suites set the bound, or the least of the rest.
      {"ECDHE-RSA-AES128-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256", 24},
      {"ECDHE-RSA-AES256-SHA384:ECDHE-RSA-AES128-SHA", 48},
  };
  for (const Case& c : cases) {
    std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(
        SSL_CTX_new(DTLS_method()), SSL_CTX_free);
    ASSERT_EQ(SSL_CTX_set_cipher_list(ctx.get(), c.list), 1) << c.list;
    std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), SSL_free);
    EXPECT_EQ(min_protected_record_length(ssl.get()), c.expected) << c.list;
  }
}

// A client offering to resume a ChaCha20 session: the server may decline and
// choose AES-GCM, so the session's cipher (SSL_get_current_cipher) does not
// set the bound before the ServerHello.
TEST(RecordExpansion, AResumingClientsSessionCipherMayBeDeclined) {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(
      SSL_CTX_new(DTLS_method()), SSL_CTX_free);
  ASSERT_EQ(SSL_CTX_set_cipher_list(
                ctx.get(),
                "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305"),
            1);
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), SSL_free);
  SSL_set_connect_state(ssl.get());
  std::unique_ptr<SSL_SESSION, decltype(&SSL_SESSION_free)> session(
      SSL_SESSION_new(), SSL_SESSION_free);
  ASSERT_TRUE(SSL_SESSION_set_protocol_version(session.get(), DTLS1_2_VERSION));
  ASSERT_TRUE(SSL_SESSION_set_cipher(session.get(),
                                     suite("ECDHE-ECDSA-CHACHA20-POLY1305")));
  ASSERT_EQ(SSL_set_session(ssl.get(), session.get()), 1);
  ASSERT_NE(SSL_get_current_cipher(ssl.get()), nullptr);
  EXPECT_EQ(min_protected_record_length(ssl.get()), 24u);
}

}  // namespace
}  // namespace dtls
