// Fails OpenSSL's allocations on demand: CRYPTO_malloc and CRYPTO_realloc
// are replaced (CRYPTO_set_mem_functions) before main, so before OpenSSL's
// first allocation, which is the only time OpenSSL takes them. A binary that
// links this library runs with them. OpenSSL's own start (its init, the
// default provider's, and its digests and MACs, which stay failed once they
// fail) is then made with memory, as any process's first crypto calls make
// it: what a test fails is what the code under test allocates.
#ifndef DTLS_SRTP_TESTS_TESTING_OPENSSL_ALLOC_FAILURE_H_
#define DTLS_SRTP_TESTS_TESTING_OPENSSL_ALLOC_FAILURE_H_

namespace dtls::testing {

// Whether the replacement took (false: OpenSSL had allocated already).
bool openssl_allocations_hooked();
// On this thread: let `k` more allocations through and fail every one after
// them until allow_openssl_allocations(); resets the failure count.
void fail_openssl_allocations_after(long k);
void allow_openssl_allocations();
// Allocations failed on this thread since the last fail_..._after().
long openssl_allocation_failures();

}  // namespace dtls::testing

#endif  // DTLS_SRTP_TESTS_TESTING_OPENSSL_ALLOC_FAILURE_H_
