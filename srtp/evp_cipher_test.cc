// The AES ciphers fetched once: a fetch that fails is tried again. OpenSSL's
// allocator is replaced (the first fetch must fail for want of memory, before
// anything else in the process fetched these ciphers): a binary of its own.
#include "srtp/evp_cipher.h"

#include <gtest/gtest.h>

#include "tests/testing/openssl_alloc_failure.h"

namespace dtls::srtp {
namespace {

// The process's first fetch of a cipher, with every allocation failing,
// fails (OpenSSL builds its ciphers then); with memory back the next call
// fetches. Later ones may be answered from what that build made.
TEST(EvpCipher, AFailedFetchIsNotKept) {
  ASSERT_TRUE(testing::openssl_allocations_hooked());
  for (size_t key : {16, 32}) {
    SCOPED_TRACE(key);
    testing::fail_openssl_allocations_after(0);
    const EVP_CIPHER* gcm = aes_gcm_cipher(key);
    const EVP_CIPHER* ctr = aes_ctr_cipher(key);
    const EVP_CIPHER* ecb = aes_ecb_cipher(key);
    testing::allow_openssl_allocations();
    if (key == 16) {
      ASSERT_GT(testing::openssl_allocation_failures(), 0);
      EXPECT_EQ(gcm, nullptr);
      EXPECT_EQ(ctr, nullptr);
      EXPECT_EQ(ecb, nullptr);
    }
    // With memory back: fetched (again, when it had failed), then the same
    // object every time.
    const EVP_CIPHER* gcm_again = aes_gcm_cipher(key);
    const EVP_CIPHER* ctr_again = aes_ctr_cipher(key);
    const EVP_CIPHER* ecb_again = aes_ecb_cipher(key);
    ASSERT_NE(gcm_again, nullptr);
    ASSERT_NE(ctr_again, nullptr);
    ASSERT_NE(ecb_again, nullptr);
    if (gcm != nullptr) {
      EXPECT_EQ(gcm, gcm_again);
    }
    if (ctr != nullptr) {
      EXPECT_EQ(ctr, ctr_again);
    }
    if (ecb != nullptr) {
      EXPECT_EQ(ecb, ecb_again);
    }
    EXPECT_EQ(EVP_CIPHER_get_key_length(gcm_again), static_cast<int>(key));
    EXPECT_EQ(EVP_CIPHER_get_mode(gcm_again), EVP_CIPH_GCM_MODE);
    EXPECT_EQ(EVP_CIPHER_get_key_length(ctr_again), static_cast<int>(key));
    EXPECT_EQ(EVP_CIPHER_get_mode(ctr_again), EVP_CIPH_CTR_MODE);
    EXPECT_EQ(EVP_CIPHER_get_key_length(ecb_again), static_cast<int>(key));
    EXPECT_EQ(EVP_CIPHER_get_mode(ecb_again), EVP_CIPH_ECB_MODE);
    EXPECT_EQ(aes_gcm_cipher(key), gcm_again);
    EXPECT_EQ(aes_ctr_cipher(key), ctr_again);
    EXPECT_EQ(aes_ecb_cipher(key), ecb_again);
  }
  EXPECT_EQ(aes_gcm_cipher(24), nullptr);
  EXPECT_EQ(aes_ctr_cipher(24), nullptr);
  EXPECT_EQ(aes_ecb_cipher(24), nullptr);
}

}  // namespace
}  // namespace dtls::srtp
