#include "tools/browser_launch.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <optional>

namespace dtls::tools {

// Measured with Firefox ESR 153 on Debian 12 (README, "WebRTC"). A run
// needs streams.fake, ice.loopback and a capture permission (either one:
// without, Firefox gathers no 127.0.0.1 candidate at all, even with
// ice.loopback); the rest keep prompts away, candidates readable and the
// network quiet. Firefox offers DTLS 1.3: no version pref, so the fallback to
// our 1.2 is what gets tested.
const char kFirefoxUserJs[] =
    R"JS(// Fake camera and microphone, granted without a prompt.
user_pref("media.navigator.streams.fake", true);
user_pref("media.navigator.permission.disabled", true);
user_pref("permissions.default.camera", 1);
user_pref("permissions.default.microphone", 1);
// Host candidates on loopback, as raw addresses rather than mDNS names.
user_pref("media.peerconnection.ice.loopback", true);
user_pref("media.peerconnection.ice.obfuscate_host_addresses", false);
// No network use but 127.0.0.1 (remote settings needs the env var
// MOZ_REMOTE_SETTINGS_DEVTOOLS=1 to take this URL).
user_pref("services.settings.server", "data:,#remote-settings-dummy/v1");
user_pref("browser.region.network.url", "");
user_pref("network.captive-portal-service.enabled", false);
user_pref("network.connectivity-service.enabled", false);
user_pref("network.trr.mode", 5);
user_pref("app.normandy.enabled", false);
user_pref("dom.push.connection.enabled", false);
user_pref("datareporting.usage.uploadEnabled", false);
user_pref("browser.safebrowsing.update.enabled", false);
user_pref("media.gmp-manager.updateEnabled", false);
user_pref("extensions.systemAddon.update.enabled", false);
user_pref("extensions.getAddons.cache.enabled", false);
user_pref("extensions.update.enabled", false);
user_pref("browser.newtabpage.enabled", false);
user_pref("browser.newtab.preload", false);
user_pref("browser.startup.homepage_override.mstone", "ignore");
// Without these two, Firefox 153 still looks up www.mozilla.org (the
// first-run privacy notice) and ads.mozilla.org (sponsored top sites).
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("browser.newtabpage.activity-stream.showSponsoredTopSites", false);
// The page's console on stdout, kept in the run's browser.log.
user_pref("devtools.console.stdout.content", true);
)JS";

namespace {

std::string lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

std::optional<BrowserKind> kind_from_text(const std::string& text) {
  const std::string t = lower(text);
  if (t.find("firefox") != std::string::npos) return BrowserKind::kFirefox;
  if (t.find("chrom") != std::string::npos) return BrowserKind::kChromium;
  return std::nullopt;
}

// Runs `path --version` in its own process group; its output, or an error
// when it cannot start, fails, or outlives `timeout_ms`.
Result<std::string> version_output(const std::string& path, int timeout_ms) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0)
    return make_error("ERR_BROWSER", "cannot make a pipe");
  std::string arg0 = path, arg1 = "--version";
  char* argv[] = {arg0.data(), arg1.data(), nullptr};
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return make_error("ERR_BROWSER", "cannot fork");
  }
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    setpgid(0, 0);
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    execv(argv[0], argv);
    _exit(127);
  }
  close(fds[1]);
  setpgid(pid, pid);  // either side may win the race; both set the same
  std::string out;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  bool timed_out = false;
  bool exited = false;
  int status = 0;
  // Until EOF, or until the process has exited and its output is drained: a
  // wrapper script's leftover helper may hold the pipe open.
  while (out.size() < 4096) {
    if (!exited) {
      // WNOWAIT: not reaped yet, so that its pid stays its group's id for
      // the kill below.
      siginfo_t info{};
      exited = waitid(P_PID, static_cast<id_t>(pid), &info,
                      WEXITED | WNOHANG | WNOWAIT) == 0 &&
               info.si_pid == pid;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    if (left <= 0) {
      timed_out = !exited;
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    const int r =
        poll(&p, 1, exited ? 0 : static_cast<int>(std::min<long>(left, 20)));
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) {
      if (exited) break;
      continue;
    }
    char buf[512];
    const ssize_t n = read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF
    out.append(buf, static_cast<size_t>(n));
  }
  close(fds[0]);
  // Whatever is left of its process group (helpers, or all of it on a
  // timeout) ends here.
  kill(-pid, SIGKILL);
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) {
    return make_error("ERR_BROWSER", "'" + path + " --version' took over " +
                                         std::to_string(timeout_ms) + " ms");
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && out.empty())
    return make_error("ERR_BROWSER", "cannot run " + path);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return make_error("ERR_BROWSER",
                      "'" + path + " --version' failed: " + out.substr(0, 200));
  }
  return out;
}

}  // namespace

Result<BrowserKind> detect_browser(const std::string& path, int timeout_ms) {
  const std::filesystem::path p(path);
  if (auto k = kind_from_text(p.filename().string())) return *k;
  std::error_code ec;
  const auto target = std::filesystem::canonical(p, ec);
  if (!ec) {
    if (auto k = kind_from_text(target.filename().string())) return *k;
  }
  // A wrapper or an alternatives link (x-www-browser): ask the binary.
  auto version = version_output(path, timeout_ms);
  if (!version.ok()) return version.error();
  if (auto k = kind_from_text(*version)) return *k;
  std::string said = version->substr(0, 200);
  while (!said.empty() && (said.back() == '\n' || said.back() == '\r'))
    said.pop_back();
  return make_error("ERR_BROWSER",
                    "cannot tell whether " + path +
                        " is Chromium or Firefox (--version said '" + said +
                        "')");
}

Result<BrowserLaunch> prepare_browser_launch(BrowserKind kind,
                                             const std::string& path,
                                             const std::string& url) {
  BrowserLaunch l;
  l.kind = kind;
  const bool firefox = kind == BrowserKind::kFirefox;
  l.name = firefox ? "firefox" : "chromium";
  const char* tmp = getenv("TEST_TMPDIR");
  if (tmp == nullptr) tmp = getenv("TMPDIR");
  std::string templ =
      std::string(tmp ? tmp : "/tmp") + "/dtls-srtp-" + l.name + "-XXXXXX";
  if (mkdtemp(templ.data()) == nullptr)
    return make_error("ERR_BROWSER", "cannot make a profile directory");
  l.work_dir = templ;
  const std::filesystem::path profile = l.work_dir / "profile";
  const std::filesystem::path home = l.work_dir / "home";
  std::error_code ec;
  std::filesystem::create_directories(profile, ec);
  std::filesystem::create_directories(home, ec);
  if (firefox) {
    std::ofstream user_js(profile / "user.js");
    user_js << kFirefoxUserJs;
    if (!user_js.flush()) {
      return make_error("ERR_BROWSER",
                        "cannot write " + (profile / "user.js").string());
    }
  }
  if (firefox) {
    // ../shared/notes/firefox-webrtc.md: headless runs as root, no display.
    l.argv = {path,        "--headless",     "--no-remote",
              "--profile", profile.string(), url};
  } else {
    // Flags measured on these machines (../shared/notes/chromium-webrtc.md):
    // loopback candidates need --allow-loopback-in-peer-connection, and the
    // fake-UI flag gives raw IP host candidates. The autoplay policy lets
    // the room's page play what it receives without a user gesture.
    l.argv = {path,
              "--headless",
              "--no-sandbox",
              "--disable-gpu",
              "--disable-quic",
              "--no-first-run",
              "--disable-background-networking",
              "--disable-component-update",
              "--disable-sync",
              "--use-fake-device-for-media-stream",
              "--use-fake-ui-for-media-stream",
              "--allow-loopback-in-peer-connection",
              "--autoplay-policy=no-user-gesture-required",
              "--user-data-dir=" + profile.string(),
              url};
  }
  // The browser writes caches, crash and telemetry data under HOME: the
  // throw-away directory. Remote settings honours the profile's data: URL
  // only with MOZ_REMOTE_SETTINGS_DEVTOOLS.
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string v = *e;
    if (v.starts_with("HOME=")) continue;
    l.env.push_back(v);
  }
  l.env.push_back("HOME=" + home.string());
  if (firefox) l.env.push_back("MOZ_REMOTE_SETTINGS_DEVTOOLS=1");
  l.log = l.work_dir / "browser.log";
  return l;
}

int spawn_browser(uv_loop_t* loop, uv_process_t* process,
                  const BrowserLaunch& launch, uv_exit_cb exit_cb) {
  std::vector<std::string> argv_s = launch.argv, env_s = launch.env;
  std::vector<char*> argv, env;
  for (std::string& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (std::string& e : env_s) env.push_back(e.data());
  env.push_back(nullptr);
  // Its output (with Firefox, the page's console too) goes to a log the
  // caller can show when the run fails.
  const int log_fd =
      open(launch.log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  uv_stdio_container_t stdio[3] = {};
  stdio[0].flags = UV_IGNORE;
  for (int i = 1; i < 3; ++i) {
    stdio[i].flags = log_fd >= 0 ? UV_INHERIT_FD : UV_IGNORE;
    stdio[i].data.fd = log_fd;
  }
  uv_process_options_t po{};
  po.file = argv_s[0].c_str();
  po.args = argv.data();
  po.env = env.data();
  po.stdio = stdio;
  po.stdio_count = 3;
  // Its own session and process group, so that the end takes its helpers
  // (renderers, GPU, content processes) too.
  po.flags = UV_PROCESS_DETACHED;
  po.exit_cb = exit_cb;
  const int r = uv_spawn(loop, process, &po);
  if (log_fd >= 0) close(log_fd);
  return r;
}

}  // namespace dtls::tools
