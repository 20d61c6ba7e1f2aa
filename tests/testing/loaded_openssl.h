// Which OpenSSL a process really runs on: the version string of the libcrypto
// in memory and the files the dynamic loader mapped for libssl and libcrypto
// (so a run meant for another build, through LD_LIBRARY_PATH, can prove it used
// it).
#ifndef DTLS_SRTP_TESTS_TESTING_LOADED_OPENSSL_H_
#define DTLS_SRTP_TESTS_TESTING_LOADED_OPENSSL_H_

#include <string>

namespace dtls::testing {

struct LoadedOpenssl {
  std::string version;         // OpenSSL_version(OPENSSL_VERSION), e.g.
                               // "OpenSSL 3.0.20 7 Apr 2026"
  std::string libssl_path;     // as the loader mapped it; empty if not mapped
  std::string libcrypto_path;  // likewise
};

LoadedOpenssl loaded_openssl();

}  // namespace dtls::testing

#endif  // DTLS_SRTP_TESTS_TESTING_LOADED_OPENSSL_H_
