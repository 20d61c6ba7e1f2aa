// Part of every run of tools/older_openssl_tests.sh: the run's test processes
// must have loaded the libssl3 build it is meant for, not the system's. The
// script passes DTLS_SRTP_EXPECT_OPENSSL (the upstream version, e.g. "3.0.20")
// and DTLS_SRTP_EXPECT_OPENSSL_DIR (the folder it put on LD_LIBRARY_PATH)
// through --test_env. Without them (the ordinary test runs) there is nothing to
// check and the test is skipped.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "tests/testing/loaded_openssl.h"

namespace dtls::testing {
namespace {

// The folder, without symbolic links or "..", as the loader's path and
// LD_LIBRARY_PATH may spell the same folder differently.
std::string canonical_folder(const std::filesystem::path& folder) {
  std::error_code ec;
  auto canonical = std::filesystem::canonical(folder, ec);
  return ec ? folder.string() : canonical.string();
}

TEST(LoadedOpenssl, IsTheBuildThisRunIsFor) {
  const char* version = std::getenv("DTLS_SRTP_EXPECT_OPENSSL");
  const char* dir = std::getenv("DTLS_SRTP_EXPECT_OPENSSL_DIR");
  if (version == nullptr && dir == nullptr) {
    GTEST_SKIP() << "no DTLS_SRTP_EXPECT_OPENSSL: not a run against another "
                    "OpenSSL build";
  }
  auto loaded = loaded_openssl();
  RecordProperty("openssl_version", loaded.version);
  RecordProperty("libssl", loaded.libssl_path);
  RecordProperty("libcrypto", loaded.libcrypto_path);
  if (version != nullptr) {
    EXPECT_THAT(loaded.version,
                ::testing::StartsWith("OpenSSL " + std::string(version) + " "));
  }
  if (dir != nullptr) {
    ASSERT_FALSE(loaded.libssl_path.empty());
    ASSERT_FALSE(loaded.libcrypto_path.empty());
    std::filesystem::path libssl(loaded.libssl_path);
    std::filesystem::path libcrypto(loaded.libcrypto_path);
    EXPECT_EQ(canonical_folder(libssl.parent_path()), canonical_folder(dir));
    EXPECT_EQ(canonical_folder(libcrypto.parent_path()), canonical_folder(dir));
  }
}

}  // namespace
}  // namespace dtls::testing
