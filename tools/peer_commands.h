// `dtls-srtp serve` (an echo server, the spec's listen example) and `dtls-srtp
// connect` (a client that sends messages and prints the replies, the spec's
// connect example).
#ifndef DTLS_SRTP_TOOLS_PEER_COMMANDS_H_
#define DTLS_SRTP_TOOLS_PEER_COMMANDS_H_

#include <ostream>
#include <string>
#include <vector>

namespace dtls::tools {

// Exit codes: 0 done, 1 a DTLS or network failure, 2 a usage error ("CODE:
// message").
int run_serve_command(const std::vector<std::string>& args, std::ostream& out,
                      std::ostream& err);
int run_connect_command(const std::vector<std::string>& args, std::ostream& out,
                        std::ostream& err);

extern const char kServeUsage[];
extern const char kConnectUsage[];

}  // namespace dtls::tools

#endif  // DTLS_SRTP_TOOLS_PEER_COMMANDS_H_
