#include "tools/webrtc_command.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
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

// An executable shell script `name` in the test's temp dir.
std::string script(const std::string& name, const std::string& body) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string path = std::string(tmp ? tmp : "/tmp") + "/" + name;
  {
    std::ofstream f(path);
    f << "#!/bin/sh\n" << body << "\n";
  }
  chmod(path.c_str(), 0755);
  return path;
}

TEST(DetectBrowser, ByTheFileNameWithoutRunningIt) {
  EXPECT_EQ(detect_browser("/nonexistent/firefox-esr", 1000).value(),
            BrowserKind::kFirefox);
  EXPECT_EQ(detect_browser("/nonexistent/Firefox", 1000).value(),
            BrowserKind::kFirefox);
  EXPECT_EQ(detect_browser("/nonexistent/chromium", 1000).value(),
            BrowserKind::kChromium);
  EXPECT_EQ(detect_browser("/opt/google/chrome/google-chrome", 1000).value(),
            BrowserKind::kChromium);
  // A link (like /usr/bin/x-www-browser) by its target's name; the target
  // fails when run, so the name alone decided.
  const std::string target = script("fake-firefox-esr", "exit 3");
  const std::string link =
      std::filesystem::path(target).parent_path() / "x-www-browser";
  std::filesystem::remove(link);
  std::filesystem::create_symlink(target, link);
  EXPECT_EQ(detect_browser(link, 1000).value(), BrowserKind::kFirefox);
}

TEST(DetectBrowser, ByWhatVersionPrints) {
  EXPECT_EQ(
      detect_browser(script("b1", "echo Mozilla Firefox 153.8.0esr"), 5000)
          .value(),
      BrowserKind::kFirefox);
  EXPECT_EQ(detect_browser(script("b2",
                                  "echo Chromium 156.0.7000.1 built on "
                                  "Debian GNU/Linux 12 \"(bookworm)\""),
                           5000)
                .value(),
            BrowserKind::kChromium);
  // A helper left behind holding stdout does not hold the answer up.
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(
      detect_browser(script("b3", "sleep 30 & echo Mozilla Firefox"), 20000)
          .value(),
      BrowserKind::kFirefox);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST(DetectBrowser, SaysWhyItCannotTell) {
  auto lynx = detect_browser(script("b4", "echo Lynx Version 2.9.0"), 5000);
  ASSERT_FALSE(lynx.ok());
  EXPECT_EQ(lynx.error().code, "ERR_BROWSER");
  EXPECT_NE(lynx.error().message.find("Chromium or Firefox"),
            std::string::npos);
  EXPECT_NE(lynx.error().message.find("Lynx Version 2.9.0"), std::string::npos)
      << lynx.error().message;
  auto failing = detect_browser(script("b5", "echo broken >&2; exit 3"), 5000);
  ASSERT_FALSE(failing.ok());
  EXPECT_NE(failing.error().message.find("failed: broken"), std::string::npos)
      << failing.error().message;
  auto missing = detect_browser("/nonexistent/some-browser", 5000);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, "ERR_BROWSER");
  EXPECT_NE(missing.error().message.find("cannot run"), std::string::npos)
      << missing.error().message;
  // One that never answers is given up on at the deadline, group and all.
  const auto start = std::chrono::steady_clock::now();
  auto hung = detect_browser(script("b6", "sleep 30"), 300);
  ASSERT_FALSE(hung.ok());
  EXPECT_NE(hung.error().message.find("took over 300 ms"), std::string::npos)
      << hung.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST(WebrtcCommand, ABrowserItCannotTellApartIsReported) {
  std::string out, err;
  EXPECT_EQ(
      run({"--browser", script("b7", "echo Lynx Version 2.9.0"), "--json"},
          &out, &err),
      1);
  EXPECT_NE(out.find("\"ok\":false"), std::string::npos) << out;
  EXPECT_NE(out.find("ERR_BROWSER"), std::string::npos) << out;
  EXPECT_NE(out.find("Chromium or Firefox"), std::string::npos) << out;
}

TEST(WebrtcCommand, FirefoxPrefsCoverWhatARunNeeds) {
  const std::string js = kFirefoxUserJs;
  for (const char* want : {
           "\"media.navigator.streams.fake\", true",
           "\"media.navigator.permission.disabled\", true",
           "\"permissions.default.camera\", 1",
           "\"permissions.default.microphone\", 1",
           "\"media.peerconnection.ice.loopback\", true",
           "\"media.peerconnection.ice.obfuscate_host_addresses\", false",
           "\"services.settings.server\"",
           "\"network.trr.mode\", 5",
       }) {
    EXPECT_NE(js.find(want), std::string::npos) << want;
  }
  // DTLS 1.3 stays on offer, so the fallback to 1.2 is exercised.
  EXPECT_EQ(js.find("dtls.version"), std::string::npos);
}

std::vector<std::string> pref_lines(std::istream& in) {
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("user_pref(")) out.push_back(line);
  }
  return out;
}

// The README lists the prefs for people who start Firefox by hand.
TEST(WebrtcCommand, TheReadmeListsTheFirefoxPrefsTheToolWrites) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  ASSERT_NE(srcdir, nullptr);
  ASSERT_NE(workspace, nullptr);
  std::ifstream readme(std::string(srcdir) + "/" + workspace + "/README.md");
  ASSERT_TRUE(readme.good());
  std::istringstream js(kFirefoxUserJs);
  const auto ours = pref_lines(js);
  EXPECT_GE(ours.size(), 20u);
  EXPECT_EQ(pref_lines(readme), ours);
}

TEST(WebrtcCommand, ThePageSignalsThroughTheServer) {
  const std::string page = kWebrtcPage;
  for (const char* want :
       {"/offer?round=", "/result?round=", "/config", "getUserMedia",
        "getStats", "srtpCipher", "dtlsRole", "tlsVersion", "dtlsCipher",
        "inbound-rtp", "createDataChannel"}) {
    EXPECT_NE(page.find(want), std::string::npos) << want;
  }
}

// The shared launcher (tools/browser_launch.h) gives each engine its own
// throw-away profile and HOME, whichever command starts it.
TEST(BrowserLaunch, EachEngineGetsAThrowAwayProfileAndHome) {
  setenv("HOME", "/the/users/home", 1);
  auto ff = prepare_browser_launch(BrowserKind::kFirefox,
                                   "/usr/bin/firefox-esr", "http://x/");
  ASSERT_TRUE(ff.ok()) << ff.error().to_string();
  EXPECT_EQ(ff->name, "firefox");
  const std::filesystem::path profile = ff->work_dir / "profile";
  const std::vector<std::string> want_argv = {
      "/usr/bin/firefox-esr", "--headless", "--no-remote", "--profile",
      profile.string(),       "http://x/"};
  EXPECT_EQ(ff->argv, want_argv);
  std::ifstream user_js(profile / "user.js");
  std::stringstream written;
  written << user_js.rdbuf();
  EXPECT_EQ(written.str(), kFirefoxUserJs);
  std::vector<std::string> homes;
  bool devtools = false;
  for (const std::string& e : ff->env) {
    if (e.starts_with("HOME=")) homes.push_back(e);
    devtools |= e == "MOZ_REMOTE_SETTINGS_DEVTOOLS=1";
  }
  EXPECT_EQ(homes, std::vector<std::string>{"HOME=" +
                                            (ff->work_dir / "home").string()});
  EXPECT_TRUE(std::filesystem::is_directory(ff->work_dir / "home"));
  EXPECT_TRUE(devtools);
  EXPECT_EQ(ff->log, ff->work_dir / "browser.log");

  auto ch = prepare_browser_launch(BrowserKind::kChromium, "/usr/bin/chromium",
                                   "http://x/");
  ASSERT_TRUE(ch.ok()) << ch.error().to_string();
  EXPECT_EQ(ch->name, "chromium");
  EXPECT_NE(ch->work_dir, ff->work_dir);
  EXPECT_FALSE(std::filesystem::exists(ch->work_dir / "profile" / "user.js"));
  EXPECT_EQ(ch->argv.back(), "http://x/");
  EXPECT_NE(std::find(ch->argv.begin(), ch->argv.end(),
                      "--user-data-dir=" + (ch->work_dir / "profile").string()),
            ch->argv.end());
  for (const std::string& e : ch->env) {
    EXPECT_NE(e, "MOZ_REMOTE_SETTINGS_DEVTOOLS=1");
    EXPECT_NE(e, "HOME=/the/users/home");
  }
  std::error_code ec;
  std::filesystem::remove_all(ff->work_dir, ec);
  std::filesystem::remove_all(ch->work_dir, ec);
}

}  // namespace
}  // namespace dtls::tools
