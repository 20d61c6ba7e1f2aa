#include "transport/base/error.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/evp.h>

namespace dtls {
namespace {

Result<int> half(int x) {
  if (x % 2) return make_error("ERR_INVALID_ARG_VALUE", "odd");
  return x / 2;
}

TEST(Result, HoldsValueOrError) {
  auto a = half(4);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, 2);
  auto b = half(3);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code, "ERR_INVALID_ARG_VALUE");
  EXPECT_EQ(b.error().to_string(), "ERR_INVALID_ARG_VALUE: odd");
}

// Typed codes: the enumerator, its stable name and default message, a
// std::error_code in the "dtls" category; codes made at run time keep their
// name as kOther.
TEST(Errc, NamesMessagesAndErrorCodes) {
  EXPECT_EQ(errc_name(Errc::kSendQueueFull), "ERR_SEND_QUEUE_FULL");
  EXPECT_EQ(errc_from_name("ERR_SEND_QUEUE_FULL"), Errc::kSendQueueFull);
  EXPECT_EQ(errc_from_name("ERR_NOT_A_CODE"), Errc::kOther);
  EXPECT_FALSE(errc_message(Errc::kDtlsSessionNotOpen).empty());
  // Every listed code round-trips through its name.
  for (int i = 1;; ++i) {
    const auto e = static_cast<Errc>(i);
    if (errc_name(e).empty()) break;
    EXPECT_EQ(errc_from_name(errc_name(e)), e) << errc_name(e);
    EXPECT_EQ(errc_name(e).substr(0, 4), "ERR_");
  }
  const Error typed = make_error(Errc::kSrtpPacketTooLarge);
  EXPECT_EQ(typed.code, "ERR_SRTP_PACKET_TOO_LARGE");
  EXPECT_TRUE(typed.message.empty());
  EXPECT_EQ(typed.text(), errc_message(Errc::kSrtpPacketTooLarge));
  EXPECT_EQ(typed.to_string(),
            "ERR_SRTP_PACKET_TOO_LARGE: " + std::string(typed.text()));
  const std::error_code ec = typed.error_code();
  EXPECT_EQ(ec, Errc::kSrtpPacketTooLarge);
  EXPECT_STREQ(ec.category().name(), "dtls");
  EXPECT_EQ(ec.message(), std::string(typed.text()));
  // By name: a listed code gets its enumerator and keeps the message.
  const Error named = make_error("ERR_OUT_OF_RANGE", "mtu must be 256..65535");
  EXPECT_EQ(named.errc, Errc::kOutOfRange);
  EXPECT_EQ(named.text(), "mtu must be 256..65535");
  // A code made at run time is kept, as kOther.
  std::string dynamic = "ERR_DTLS_ALERT_";
  dynamic += "DECRYPT_ERROR";
  const Error other = make_error(dynamic, "the peer sent an alert");
  dynamic.clear();  // the Error does not point into the caller's string
  EXPECT_EQ(other.errc, Errc::kOther);
  EXPECT_EQ(other.code, "ERR_DTLS_ALERT_DECRYPT_ERROR");
}

TEST(Status, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  Status f = make_error("ERR_X", "y");
  EXPECT_FALSE(f.ok());
  EXPECT_EQ(f.error().message, "y");
}

TEST(DrainOpensslErrors, ReportsAndClearsQueue) {
  EXPECT_EQ(drain_openssl_errors(), "");
  // An unknown cipher name leaves an error on the queue.
  EXPECT_EQ(EVP_CIPHER_fetch(nullptr, "no-such-cipher", nullptr), nullptr);
  std::string first = drain_openssl_errors();
  EXPECT_FALSE(first.empty());
  EXPECT_EQ(ERR_peek_error(), 0u);
  EXPECT_EQ(drain_openssl_errors(), "");
}

}  // namespace
}  // namespace dtls
