#include "tools/cert_command.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <sstream>

#include "certs/credentials.h"
#include "certs/fingerprint.h"
#include "certs/peer_certificate.h"
#include "tests/testing/process.h"

namespace dtls::tools {
namespace {

using testing::read_file;
using testing::run_command;
using testing::temp_path;

struct CliRun {
  int code;
  std::string out, err;
};

CliRun run(std::vector<std::string> args) {
  std::ostringstream out, err;
  int code = run_cert_command(args, out, err);
  return {code, out.str(), err.str()};
}

TEST(CertCommand, WritesPairAndPrintsFingerprintOpensslAgreesWith) {
  std::string cert = temp_path(".pem"), key = temp_path(".key");
  CliRun r = run({"--cert", cert, "--key", key, "--cn", "sfu.test"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto creds = certs::load_pem_credentials(read_file(cert), read_file(key));
  ASSERT_TRUE(creds.ok()) << creds.error().to_string();
  EXPECT_EQ(certs::describe(creds->leaf()).subject.get("CN"), "sfu.test");
  std::string expected =
      "a=fingerprint:" +
      certs::Fingerprint::of(creds->leaf(), certs::HashAlgorithm::kSha256)
          .to_sdp() +
      "\n";
  EXPECT_EQ(r.out, expected);
  // Cross-check with the openssl command line.
  auto fp = run_command(
      {"openssl", "x509", "-in", cert, "-noout", "-fingerprint", "-sha256"});
  ASSERT_EQ(fp.exit_code, 0);
  EXPECT_NE(fp.output.find(expected.substr(
                std::string("a=fingerprint:sha-256 ").size(), 95)),
            std::string::npos);
  struct stat st {};
  ASSERT_EQ(stat(key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(CertCommand, RsaEncryptedSha1) {
  std::string cert = temp_path(".pem"), key = temp_path(".key");
  CliRun r =
      run({"--cert", cert, "--key", key, "--rsa", "3072", "--passphrase", "pw",
           "--hash", "sha-1", "--days", "2", "--san", "DNS:x.test"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("a=fingerprint:sha-1 ", 0), 0u);
  certs::LoadOptions lo;
  lo.passphrase = "pw";
  auto creds = certs::load_pem_credentials(read_file(cert), read_file(key), lo);
  ASSERT_TRUE(creds.ok()) << creds.error().to_string();
  auto d = certs::describe(creds->leaf());
  EXPECT_EQ(d.bits, 3072);
  EXPECT_EQ(d.subjectaltname, "DNS:x.test");
  EXPECT_LE(creds->leaf().not_after() - creds->leaf().not_before(),
            std::chrono::hours(48) + std::chrono::seconds(1));
}

TEST(CertCommand, UsageErrors) {
  struct Case {
    std::vector<std::string> args;
    const char* code;
  } cases[] = {
      {{"--bogus"}, "ERR_INVALID_ARG_VALUE"},
      {{"--cert"}, "ERR_INVALID_ARG_VALUE"},
      {{"--days", "x"}, "ERR_INVALID_ARG_VALUE"},
      {{"--days", "0"}, "ERR_OUT_OF_RANGE"},
      {{"--hash", "md5"}, "ERR_SDP_FINGERPRINT_INVALID"},
      {{"--rsa", "1024", "--cert", temp_path(".pem"), "--key",
        temp_path(".key")},
       "ERR_OUT_OF_RANGE"},
      {{"--san", "nope", "--cert", temp_path(".pem"), "--key",
        temp_path(".key")},
       "ERR_INVALID_ARG_VALUE"},
  };
  for (const Case& c : cases) {
    CliRun r = run(c.args);
    EXPECT_EQ(r.code, 2) << c.args[0];
    EXPECT_EQ(r.err.rfind(c.code, 0), 0u) << r.err;
  }
}

TEST(CertCommand, UnwritablePathFails) {
  CliRun r =
      run({"--cert", "/nonexistent-dir/c.pem", "--key", temp_path(".key")});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err.rfind("ERR_FS_WRITE", 0), 0u);
}

TEST(CertCommand, Help) {
  CliRun r = run({"--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("--passphrase"), std::string::npos);
}

}  // namespace
}  // namespace dtls::tools
