#include "tools/relay/relay_command.h"

#include <gtest/gtest.h>

#include <sstream>

namespace dtls::relay {
namespace {

int run(const std::vector<std::string>& args, std::string& out) {
  std::ostringstream o, e;
  const int rc = run_relay_command(args, o, e);
  out = o.str() + e.str();
  return rc;
}

TEST(RelayCommand, UsageErrors) {
  std::string out;
  EXPECT_EQ(run({}, out), 2);  // no target
  EXPECT_NE(out.find("--target is required"), std::string::npos);
  EXPECT_EQ(run({"--target", "127.0.0.1"}, out), 2);
  EXPECT_EQ(run({"--target", "127.0.0.1:99999"}, out), 2);
  EXPECT_EQ(run({"--target", "127.0.0.1:9", "--both", "loss=2"}, out), 2);
  EXPECT_EQ(run({"--target", "127.0.0.1:9", "--duration", "0"}, out), 2);
  EXPECT_EQ(run({"--target", "127.0.0.1:9", "--bogus", "1"}, out), 2);
  EXPECT_EQ(run({"--target", "127.0.0.1:9", "--flow-idle", "-1"}, out), 2);
  EXPECT_NE(out.find("--flow-idle must be"), std::string::npos);
  EXPECT_EQ(run({"--help"}, out), 0);
  EXPECT_NE(out.find("--to-target"), std::string::npos);
}

TEST(RelayCommand, RunsForItsDurationAndReports) {
  std::string out;
  ASSERT_EQ(
      run({"--target", "[::1]:9", "--listen", "[::1]:0", "--both",
           "loss=10%,delay=5ms", "--flow-idle", "30", "--duration", "0.2"},
          out),
      0)
      << out;
  EXPECT_NE(out.find("relay [::1]:"), std::string::npos) << out;
  EXPECT_NE(out.find("loss=0.1,delay=5ms"), std::string::npos) << out;
  EXPECT_NE(out.find("flows 0, refused 0, expired 0"), std::string::npos)
      << out;
  // An address this host does not have (TEST-NET-1).
  EXPECT_EQ(run({"--target", "127.0.0.1:9", "--listen", "192.0.2.1:5000",
                 "--duration", "0.1"},
                out),
            1);
  EXPECT_NE(out.find("ERR_SOCKET_BIND"), std::string::npos) << out;
}

}  // namespace
}  // namespace dtls::relay
