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
