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

// A child process with piped standard input and output (stderr merged into
// stdout), for driving command-line peers (openssl s_server, gnutls-cli) while
// the test does its own I/O. The destructor ends it by PID (SIGTERM, then
// SIGKILL) and reaps it.
class ChildProcess {
 public:
  explicit ChildProcess(const std::vector<std::string>& argv);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  bool running() const { return pid_ > 0; }
  int pid() const { return pid_; }
  // The fd to poll for output (non-blocking).
  int output_fd() const { return out_fd_; }
  // Reads whatever output is available now and returns all output so far.
  const std::string& read_available();
  const std::string& output() const { return output_; }
  void write_stdin(std::string_view data);
  void close_stdin();
  // Ends the child and returns its exit code (-1 when killed by a signal).
  int stop();

 private:
  int pid_ = -1;
  int in_fd_ = -1;
  int out_fd_ = -1;
  std::string output_;
};

// A fresh path inside $TEST_TMPDIR (or /tmp) with the given file name suffix.
std::string temp_path(std::string_view suffix);
void write_file(const std::string& path, std::string_view contents);
std::string read_file(const std::string& path);

}  // namespace dtls::testing

#endif  // DTLS_SRTP_TESTS_TESTING_PROCESS_H_
