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

#include "tools/browser_launch.h"  // detect_browser, kFirefoxUserJs
#include "transport/base/error.h"

namespace dtls::tools {

// Exit codes: 0 every round reported, 1 a failure or timeout, 2 a usage
// error.
int run_webrtc_command(const std::vector<std::string>& args, std::ostream& out,
                       std::ostream& err);

extern const char kWebrtcUsage[];

// The page the browser runs (served at /).
extern const char kWebrtcPage[];

}  // namespace dtls::tools

#endif  // DTLS_SRTP_TOOLS_WEBRTC_COMMAND_H_
