// `dtls-srtp cert`: write a new certificate and key as PEM and print the SDP
// fingerprint.
#ifndef DTLS_SRTP_TOOLS_CERT_COMMAND_H_
#define DTLS_SRTP_TOOLS_CERT_COMMAND_H_

#include <ostream>
#include <string>
#include <vector>

namespace dtls::tools {

// `args` excludes the program and subcommand names. Returns the process exit
// code: 0 on success, 2 for a usage error, 1 when writing or generating failed.
// Errors print as "CODE: message" on `err`.
int run_cert_command(const std::vector<std::string>& args, std::ostream& out,
                     std::ostream& err);

extern const char kCertUsage[];

}  // namespace dtls::tools

#endif  // DTLS_SRTP_TOOLS_CERT_COMMAND_H_
