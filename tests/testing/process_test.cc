#include "tests/testing/process.h"

#include <gtest/gtest.h>
#include <unistd.h>

namespace dtls::testing {
namespace {

TEST(RunCommand, CapturesOutputAndExitCode) {
  auto r = run_command({"sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.output.find("out"), std::string::npos);
  EXPECT_NE(r.output.find("err"), std::string::npos);
}

TEST(RunCommand, MissingProgramIs127) {
  EXPECT_EQ(run_command({"no-such-program-dtls-srtp"}).exit_code, 127);
}

TEST(RunCommand, TimeoutKills) {
  auto r = run_command({"sleep", "30"}, 1);
  EXPECT_EQ(r.exit_code, -1);
}

TEST(ChildProcess, PipesBothWaysAndStops) {
  ChildProcess cat({"cat"});
  ASSERT_TRUE(cat.running());
  cat.write_stdin("ping\n");
  for (int i = 0;
       i < 200 && cat.read_available().find("ping") == std::string::npos; ++i) {
    usleep(5000);
  }
  EXPECT_NE(cat.output().find("ping"), std::string::npos);
  EXPECT_EQ(cat.stop(), 0);  // stdin EOF ends cat by itself
  EXPECT_FALSE(cat.running());
}

TEST(ChildProcess, StopKillsAStubbornChild) {
  ChildProcess s({"sleep", "30"});
  ASSERT_TRUE(s.running());
  EXPECT_EQ(s.stop(), -1);
  EXPECT_FALSE(s.running());
}

TEST(TempFiles, RoundTrip) {
  std::string p = temp_path(".txt");
  write_file(p, std::string("a\0b", 3));
  EXPECT_EQ(read_file(p), std::string("a\0b", 3));
  EXPECT_NE(temp_path(".txt"), p);
}

}  // namespace
}  // namespace dtls::testing
