// Prints the OpenSSL this binary runs on, as the loader found it (see
// tests/testing/loaded_openssl.h): the version string on the first line, then
// "libssl PATH" and "libcrypto PATH". tools/older_openssl_tests.sh runs it with
// the LD_LIBRARY_PATH of each libssl3 build it tests.
#include <cstdio>

#include "tests/testing/loaded_openssl.h"

int main() {
  auto loaded = dtls::testing::loaded_openssl();
  std::printf("%s\nlibssl %s\nlibcrypto %s\n", loaded.version.c_str(),
              loaded.libssl_path.c_str(), loaded.libcrypto_path.c_str());
  return loaded.libssl_path.empty() || loaded.libcrypto_path.empty() ? 1 : 0;
}
