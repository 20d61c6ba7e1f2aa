// dtls-srtp: the project's command-line tool. One subcommand per job.
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "tools/bench/bench_command.h"
#include "tools/cert_command.h"
#include "tools/peer_commands.h"
#include "tools/relay/relay_command.h"
#include "tools/sfu_command.h"
#include "tools/webrtc_command.h"

namespace {

constexpr char kUsage[] =
    "usage: dtls-srtp <command> [options]\n"
    "commands:\n"
    "  bench    the loopback DTLS-SRTP benchmark, with this machine's "
    "ceilings\n"
    "  cert     write a new certificate and key, print its SDP fingerprint\n"
    "  serve    a DTLS echo server\n"
    "  connect  a DTLS client: send messages, print the replies\n"
    "  relay    an impairing UDP relay (loss, delay, reordering, ...)\n"
    "  sfu      a room: browsers send media, each receives all the others'\n"
    "  webrtc   a browser sends media to an ICE-lite endpoint, which echoes "
    "it\n"
    "run 'dtls-srtp <command> --help' for a command's options\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string_view(argv[1]) == "--help" ||
      std::string_view(argv[1]) == "-h") {
    (argc < 2 ? std::cerr : std::cout) << kUsage;
    return argc < 2 ? 2 : 0;
  }
  std::string_view command = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  if (command == "bench-idle-clients" && args.size() == 5) {
    // The sessions phase's child processes (see tools/bench/scale_bench.h).
    return dtls::bench::run_idle_clients(
        static_cast<std::uint16_t>(std::stoi(args[0])), std::stoi(args[1]),
        args[2], args[3], args[4]);
  }
  if (command == "bench") {
    return dtls::bench::run_bench_command(args, std::cout, std::cerr);
  }
  if (command == "cert") {
    return dtls::tools::run_cert_command(args, std::cout, std::cerr);
  }
  if (command == "serve") {
    return dtls::tools::run_serve_command(args, std::cout, std::cerr);
  }
  if (command == "webrtc") {
    return dtls::tools::run_webrtc_command(args, std::cout, std::cerr);
  }
  if (command == "sfu") {
    return dtls::tools::run_sfu_command(args, std::cout, std::cerr);
  }
  if (command == "relay") {
    return dtls::relay::run_relay_command(args, std::cout, std::cerr);
  }
  if (command == "connect") {
    return dtls::tools::run_connect_command(args, std::cout, std::cerr);
  }
  std::cerr << "ERR_INVALID_ARG_VALUE: unknown command '" << command << "'\n"
            << kUsage;
  return 2;
}
