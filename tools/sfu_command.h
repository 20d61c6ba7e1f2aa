// `dtls-srtp sfu`: the room of tools/sfu_room.h behind a local page. The
// page on 127.0.0.1 joins the room (camera and microphone, with receive
// slots for the others), shows every other participant with live packet
// counts, and leaves with a button or when it closes. Open it in several
// browser windows: each is a participant. With --browser the command
// launches headless Chromium itself with N participants in one page, lets
// one leave halfway, and reports what every side saw (the CI test).
#ifndef DTLS_SRTP_TOOLS_SFU_COMMAND_H_
#define DTLS_SRTP_TOOLS_SFU_COMMAND_H_

#include <ostream>
#include <string>
#include <vector>

namespace dtls::tools {

// Exit codes: 0 the run ended well (with --browser: the page reported; by
// hand: interrupted or --timeout), 1 a failure, 2 a usage error.
int run_sfu_command(const std::vector<std::string>& args, std::ostream& out,
                    std::ostream& err);

extern const char kSfuUsage[];
// The page the browser runs (served at /).
extern const char kSfuPage[];

}  // namespace dtls::tools

#endif  // DTLS_SRTP_TOOLS_SFU_COMMAND_H_
