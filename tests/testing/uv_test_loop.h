// A private libuv loop for tests: run until a condition holds (checked from a 1
// ms uv timer, so the loop blocks in the kernel in between, no sleeping) or a
// real-time limit passes. The destructor runs the remaining close callbacks and
// fails the test if a handle was left open.
#ifndef DTLS_SRTP_TESTS_TESTING_UV_TEST_LOOP_H_
#define DTLS_SRTP_TESTS_TESTING_UV_TEST_LOOP_H_

#include <uv.h>

#include <chrono>
#include <functional>

namespace dtls::testing {

class UvTestLoop {
 public:
  UvTestLoop();
  ~UvTestLoop();
  UvTestLoop(const UvTestLoop&) = delete;
  UvTestLoop& operator=(const UvTestLoop&) = delete;

  uv_loop_t* get() { return &loop_; }
  bool run_until(const std::function<bool()>& done,
                 std::chrono::milliseconds limit = std::chrono::seconds(10));

 private:
  uv_loop_t loop_;
};

}  // namespace dtls::testing

#endif  // DTLS_SRTP_TESTS_TESTING_UV_TEST_LOOP_H_
