// `dtls-srtp relay`: the impairing relay as a command, for a person who wants
// to put loss and delay between any two UDP programs on this host (openssl
// s_client and s_server, a browser and `dtls-srtp webrtc`, ...).
#ifndef DTLS_SRTP_TOOLS_RELAY_RELAY_COMMAND_H_
#define DTLS_SRTP_TOOLS_RELAY_RELAY_COMMAND_H_

#include <ostream>
#include <string>
#include <vector>

namespace dtls::relay {

// Runs until --duration passes (bounded: 1 h at most) and prints what the
// relay did. Exit codes: 0 done, 1 it could not start, 2 a usage error.
int run_relay_command(const std::vector<std::string>& args, std::ostream& out,
                      std::ostream& err);

extern const char kRelayUsage[];

}  // namespace dtls::relay

#endif  // DTLS_SRTP_TOOLS_RELAY_RELAY_COMMAND_H_
