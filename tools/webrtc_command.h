// `dtls-srtp webrtc`: a browser sends camera and microphone media to an
// ICE-lite endpoint on 127.0.0.1, which answers its offer, completes DTLS with
// the browser's certificate pinned from the offer, decrypts its SRTP and
// echoes the RTP back. A local HTTP page does the signalling. With --browser
// the command launches headless Chromium or Firefox itself and reports what
// both sides saw (the CI tests); without it, it prints the URL for a person
// and shows live packet counts.
#ifndef DTLS_SRTP_TOOLS_WEBRTC_COMMAND_H_
#define DTLS_SRTP_TOOLS_WEBRTC_COMMAND_H_

#include <ostream>
#include <string>
#include <vector>

#include "transport/base/error.h"

namespace dtls::tools {

// Exit codes: 0 every round reported, 1 a failure or timeout, 2 a usage
// error.
int run_webrtc_command(const std::vector<std::string>& args, std::ostream& out,
                       std::ostream& err);

extern const char kWebrtcUsage[];

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
// The page the browser runs (served at /).
extern const char kWebrtcPage[];

}  // namespace dtls::tools

#endif  // DTLS_SRTP_TOOLS_WEBRTC_COMMAND_H_
