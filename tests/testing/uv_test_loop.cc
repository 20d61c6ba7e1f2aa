#include "tests/testing/uv_test_loop.h"

#include <gtest/gtest.h>

#include "transport/io/uv_run_until.h"

namespace dtls::testing {

UvTestLoop::UvTestLoop() { uv_loop_init(&loop_); }

UvTestLoop::~UvTestLoop() {
  uv_run(&loop_, UV_RUN_DEFAULT);  // let every close callback run
  EXPECT_EQ(uv_loop_close(&loop_), 0) << "a libuv handle was left open";
}

bool UvTestLoop::run_until(const std::function<bool()>& done,
                           std::chrono::milliseconds limit) {
  return uv_run_until(&loop_, done, limit);
}

}  // namespace dtls::testing
