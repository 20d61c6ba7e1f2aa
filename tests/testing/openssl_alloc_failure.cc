#include "tests/testing/openssl_alloc_failure.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstdlib>

namespace dtls::testing {
namespace {

thread_local long allowed = -1;  // negative: never fail
thread_local long failures = 0;

bool fail_now() {
  if (allowed < 0) return false;
  if (allowed > 0) {
    --allowed;
    return false;
  }
  ++failures;
  return true;
}

void* crypto_malloc(size_t n, const char*, int) {
  return fail_now() ? nullptr : std::malloc(n);
}
void* crypto_realloc(void* p, size_t n, const char*, int) {
  return fail_now() ? nullptr : std::realloc(p, n);
}
void crypto_free(void* p, const char*, int) { std::free(p); }

bool install() {
  if (CRYPTO_set_mem_functions(crypto_malloc, crypto_realloc, crypto_free) !=
      1) {
    return false;
  }
  // OpenSSL builds all of a provider's algorithms of a kind (digests, MACs,
  // ciphers) on the first fetch of one, and out of memory part way through
  // leaves the process without them for good. Digests and MACs are built
  // here; ciphers are left to each test (see evp_cipher_test).
  EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  EVP_MD_free(md);
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  EVP_MAC_free(mac);
  return md != nullptr && mac != nullptr;
}

const bool hooked = install();

}  // namespace

bool openssl_allocations_hooked() { return hooked; }

void fail_openssl_allocations_after(long k) {
  failures = 0;
  allowed = k;
}

void allow_openssl_allocations() { allowed = -1; }

long openssl_allocation_failures() { return failures; }

}  // namespace dtls::testing
