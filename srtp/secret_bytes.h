// Key material on the heap that is wiped (OPENSSL_cleanse) whenever its
// buffer goes back to the heap: when it is dropped, and when it grows, since
// a reallocation hands the old buffer back too and would leave a copy in
// freed memory. Every container of SRTP keys and salts is one of these, so
// copies are wiped in their turn.
#ifndef DTLS_SRTP_SRTP_SECRET_BYTES_H_
#define DTLS_SRTP_SRTP_SECRET_BYTES_H_

#include <openssl/crypto.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace dtls::srtp {

template <typename T>
struct CleansingAllocator {
  using value_type = T;

  CleansingAllocator() = default;
  template <typename U>
  CleansingAllocator(const CleansingAllocator<U>&) noexcept {}  // NOLINT

  T* allocate(std::size_t n) { return std::allocator<T>().allocate(n); }
  void deallocate(T* p, std::size_t n) noexcept {
    OPENSSL_cleanse(p, n * sizeof(T));
    std::allocator<T>().deallocate(p, n);
  }

  friend bool operator==(const CleansingAllocator&, const CleansingAllocator&) {
    return true;
  }
};

using SecretBytes = std::vector<std::uint8_t, CleansingAllocator<std::uint8_t>>;

}  // namespace dtls::srtp

#endif  // DTLS_SRTP_SRTP_SECRET_BYTES_H_
