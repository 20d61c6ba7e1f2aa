// Headless browsers as WebRTC peers for the commands' CI runs (`dtls-srtp
// webrtc`, `dtls-srtp sfu`): which engine a path runs, and its launch with a
// throw-away profile and HOME, in its own process group so that the run's
// end takes its helper processes too. One place, so that both commands start
// Chromium and Firefox with the same measured flags and prefs
// (../shared/notes/chromium-webrtc.md, firefox-webrtc.md).
#ifndef DTLS_SRTP_TOOLS_BROWSER_LAUNCH_H_
#define DTLS_SRTP_TOOLS_BROWSER_LAUNCH_H_

#include <uv.h>

#include <filesystem>
#include <string>
#include <vector>

#include "transport/base/error.h"

namespace dtls::tools {

enum class BrowserKind { kChromium, kFirefox };

// Which engine `path` runs: by its file name (or its symlink target's), as
// "chromium"/"chrome" or "firefox"; else by what `path --version` prints
// within `timeout_ms` (its process group is killed after that).
// ERR_BROWSER when it cannot run or names neither.
Result<BrowserKind> detect_browser(const std::string& path, int timeout_ms);

// The user.js of Firefox's throw-away profile: fake camera and microphone
// without a prompt, host candidates on loopback as raw addresses, and no
// network use but 127.0.0.1 (README, "WebRTC").
extern const char kFirefoxUserJs[];

// One browser run's command line and environment, and the directory that
// holds its profile, its HOME and its output (browser.log). The caller
// removes `work_dir` once the browser has ended.
struct BrowserLaunch {
  BrowserKind kind = BrowserKind::kChromium;
  std::string name;  // "chromium" or "firefox"
  std::filesystem::path work_dir;
  std::filesystem::path log;
  std::vector<std::string> argv;
  std::vector<std::string> env;  // this process's, HOME replaced
};

// Makes the work directory under $TEST_TMPDIR, else $TMPDIR, else /tmp
// (with Firefox's user.js in its profile) and the command line that opens
// `url` headless. ERR_BROWSER when the directory cannot be written.
Result<BrowserLaunch> prepare_browser_launch(BrowserKind kind,
                                             const std::string& path,
                                             const std::string& url);

// Starts the prepared browser on `loop` as `process` (its data and exit_cb
// as the caller set them in `exit_cb`), stdout and stderr to launch.log, in
// a session and process group of its own: end it with
// uv_kill(-process->pid, SIGKILL). Returns uv_spawn's result.
int spawn_browser(uv_loop_t* loop, uv_process_t* process,
                  const BrowserLaunch& launch, uv_exit_cb exit_cb);

}  // namespace dtls::tools

#endif  // DTLS_SRTP_TOOLS_BROWSER_LAUNCH_H_
