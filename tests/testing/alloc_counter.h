// Counts heap allocations in a test binary: linking this library interposes
// malloc, calloc and realloc (forwarding to glibc's). Sanitizer builds bring
// their own allocator, so there it counts nothing and says so.
#ifndef DTLS_SRTP_TESTS_TESTING_ALLOC_COUNTER_H_
#define DTLS_SRTP_TESTS_TESTING_ALLOC_COUNTER_H_

namespace dtls::testing {

// Whether allocations are counted in this build.
bool counting_allocations();
// Allocations since the process started.
long allocation_count();

}  // namespace dtls::testing

#endif  // DTLS_SRTP_TESTS_TESTING_ALLOC_COUNTER_H_
