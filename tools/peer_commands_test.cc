#include "tools/peer_commands.h"

#include <gtest/gtest.h>

#include <sstream>

namespace dtls::tools {
namespace {

struct CliRun {
  int code;
  std::string out, err;
};

CliRun serve(std::vector<std::string> args) {
  std::ostringstream out, err;
  int code = run_serve_command(args, out, err);
  return {code, out.str(), err.str()};
}

CliRun connect(std::vector<std::string> args) {
  std::ostringstream out, err;
  int code = run_connect_command(args, out, err);
  return {code, out.str(), err.str()};
}

TEST(PeerCommands, UsageErrors) {
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"--bogus"},
                                             {"--port", "x"},
                                             {"--port", "70000"},
                                             {"--cert", "/no/such/file"},
                                             {"--mtu"},
                                             {"--host"}}) {
    CliRun r = serve(args);
    EXPECT_EQ(r.code, 2) << args[0];
    EXPECT_EQ(r.err.rfind("ERR_INVALID_ARG_VALUE", 0), 0u) << r.err;
  }
  for (const auto& args :
       std::vector<std::vector<std::string>>{{},
                                             {"127.0.0.1"},
                                             {"127.0.0.1", "0"},
                                             {"127.0.0.1", "x"},
                                             {"h", "1", "--nope"}}) {
    CliRun r = connect(args);
    EXPECT_EQ(r.code, 2);
    EXPECT_EQ(r.err.rfind("ERR_INVALID_ARG_VALUE", 0), 0u) << r.err;
  }
}

TEST(PeerCommands, OptionErrorsFromTheApiKeepTheirCodes) {
  CliRun r = serve({"--port", "0", "--mtu", "100"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err.rfind("ERR_OUT_OF_RANGE", 0), 0u) << r.err;
  CliRun f = connect({"127.0.0.1", "9", "--fingerprint", "md5 00"});
  EXPECT_EQ(f.code, 2);
  EXPECT_EQ(f.err.rfind("ERR_SDP_FINGERPRINT_INVALID", 0), 0u) << f.err;
}

TEST(PeerCommands, Help) {
  CliRun s = serve({"--help"});
  EXPECT_EQ(s.code, 0);
  EXPECT_NE(s.out.find("--count"), std::string::npos);
  CliRun c = connect({"--help"});
  EXPECT_EQ(c.code, 0);
  EXPECT_NE(c.out.find("--message"), std::string::npos);
}

}  // namespace
}  // namespace dtls::tools
