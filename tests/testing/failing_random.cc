// RAND_METHOD is deprecated in OpenSSL 3.0 but still honoured by RAND_bytes
// and RAND_priv_bytes, and it is the one in-process way to make them fail.
#define OPENSSL_SUPPRESS_DEPRECATED

#include "tests/testing/failing_random.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cassert>
#include <optional>

namespace dtls::testing {
namespace {

const RAND_METHOD* g_saved = nullptr;
std::optional<size_t> g_size;
int g_refused = 0;

int bytes(unsigned char* out, int num) {
  if (!g_size || static_cast<size_t>(num) == *g_size) {
    g_refused++;
    return 0;
  }
  // Straight to the public DRBG: RAND_bytes would come back here.
  return EVP_RAND_generate(RAND_get0_public(nullptr), out,
                           static_cast<size_t>(num), 0, 0, nullptr, 0);
}

int status() { return 1; }

const RAND_METHOD kMethod = {
    nullptr, bytes, nullptr, nullptr, bytes, status,
};

void install(std::optional<size_t> size) {
  assert(g_saved == nullptr && "one FailingRandom at a time");
  g_saved = RAND_get_rand_method();
  g_size = size;
  g_refused = 0;
  RAND_set_rand_method(&kMethod);
}

}  // namespace

FailingRandom::FailingRandom() { install(std::nullopt); }

FailingRandom::FailingRandom(size_t size) { install(size); }

FailingRandom::~FailingRandom() {
  RAND_set_rand_method(g_saved);
  g_saved = nullptr;
}

int FailingRandom::refused() const { return g_refused; }

}  // namespace dtls::testing
