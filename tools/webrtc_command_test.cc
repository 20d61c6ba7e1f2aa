#include "tools/webrtc_command.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>

namespace dtls::tools {
namespace {

int run(const std::vector<std::string>& args, std::string* out_text,
        std::string* err_text) {
  std::ostringstream out, err;
  int rc = run_webrtc_command(args, out, err);
  *out_text = out.str();
  *err_text = err.str();
  return rc;
}

TEST(WebrtcCommand, UsageErrorsHaveCodes) {
  std::string out, err;
  struct Case {
    std::vector<std::string> args;
    const char* code;
  };
  const Case cases[] = {
      {{"--rounds", "sideways:SRTP_AES128_CM_SHA1_80"},
       "ERR_INVALID_ARG_VALUE"},
      {{"--rounds", "passive"}, "ERR_INVALID_ARG_VALUE"},
      {{"--seconds", "0"}, "ERR_OUT_OF_RANGE"},
      {{"--timeout", "x"}, "ERR_OUT_OF_RANGE"},
      {{"--http-port"}, "ERR_INVALID_ARG_VALUE"},
      {{"--what"}, "ERR_INVALID_ARG_VALUE"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(run(c.args, &out, &err), 2) << c.args[0];
    EXPECT_NE(err.find(c.code), std::string::npos) << err;
  }
  EXPECT_EQ(run({"--help"}, &out, &err), 0);
  EXPECT_NE(out.find("--rounds"), std::string::npos);
}

TEST(WebrtcCommand, AnUnknownSrtpProfileFailsAtStart) {
  std::string out, err;
  EXPECT_EQ(run({"--rounds", "passive:SRTP_NOPE"}, &out, &err), 1);
  EXPECT_NE(err.find("ERR_"), std::string::npos) << err;
}

TEST(WebrtcCommand, ABrowserThatCannotStartIsReported) {
  std::string out, err;
  EXPECT_EQ(run({"--browser", "/nonexistent/chromium", "--json"}, &out, &err),
            1);
  EXPECT_NE(out.find("\"ok\":false"), std::string::npos) << out;
  EXPECT_NE(out.find("ERR_BROWSER"), std::string::npos) << out;
}

TEST(WebrtcCommand, ThePageSignalsThroughTheServer) {
  const std::string page = kWebrtcPage;
  for (const char* want :
       {"/offer?round=", "/result?round=", "/config", "getUserMedia",
        "getStats", "srtpCipher", "dtlsRole", "inbound-rtp"}) {
    EXPECT_NE(page.find(want), std::string::npos) << want;
  }
}

}  // namespace
}  // namespace dtls::tools
