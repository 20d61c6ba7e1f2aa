// Makes OpenSSL's random generator fail in this process while it lives, for
// tests of code that must fail closed: RAND_bytes and RAND_priv_bytes return 0.
// Process-wide (RAND_set_rand_method), so only one at a time, and only in
// tests whose other threads draw no random bytes meanwhile.
#ifndef DTLS_SRTP_TESTS_TESTING_FAILING_RANDOM_H_
#define DTLS_SRTP_TESTS_TESTING_FAILING_RANDOM_H_

#include <cstddef>

namespace dtls::testing {

class FailingRandom {
 public:
  // Every request fails.
  FailingRandom();
  // Only requests of `size` bytes fail; the others are served by OpenSSL's
  // own generator. For code that needs randomness before the draw under test
  // (a key before a certificate's serial).
  explicit FailingRandom(size_t size);
  // Puts OpenSSL's generator back.
  ~FailingRandom();
  FailingRandom(const FailingRandom&) = delete;
  FailingRandom& operator=(const FailingRandom&) = delete;

  // Requests refused so far.
  int refused() const;
};

}  // namespace dtls::testing

#endif  // DTLS_SRTP_TESTS_TESTING_FAILING_RANDOM_H_
