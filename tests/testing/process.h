// Running command-line tools from tests, and scratch files in the test's temp
// folder.
#ifndef DTLS_SRTP_TESTS_TESTING_PROCESS_H_
#define DTLS_SRTP_TESTS_TESTING_PROCESS_H_

#include <string>
#include <string_view>
#include <vector>

namespace dtls::testing {

struct CommandResult {
  int exit_code =
      -1;  // -1 when the command could not be run or was killed by a signal
  std::string output;  // stdout and stderr, interleaved
};

// Runs argv[0] (looked up in PATH) with the arguments, no shell, standard input
// closed, and waits for it. `timeout_seconds` bounds the run: the child is
// killed when it is over.
CommandResult run_command(const std::vector<std::string>& argv,
                          int timeout_seconds = 60);

// A fresh path inside $TEST_TMPDIR (or /tmp) with the given file name suffix.
std::string temp_path(std::string_view suffix);
void write_file(const std::string& path, std::string_view contents);
std::string read_file(const std::string& path);

}  // namespace dtls::testing

#endif  // DTLS_SRTP_TESTS_TESTING_PROCESS_H_
