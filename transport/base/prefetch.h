#ifndef DTLS_SRTP_TRANSPORT_BASE_PREFETCH_H_
#define DTLS_SRTP_TRANSPORT_BASE_PREFETCH_H_

#include <cstddef>
#include <cstdint>

namespace dtls {

inline constexpr size_t kCacheLine = 64;

// Asks for the cache lines of [p, p + bytes) without waiting for them. A
// fan-out to a thousand subscribers finds none of their state in cache (the
// kernel's sendmmsg between batches evicts it, and with page-table isolation
// flushes the TLB too): each dependent load costs a miss, so the send fetches
// a later subscriber's state while this one's cipher runs.
inline void prefetch(const void* p, size_t bytes = 1) {
  const auto first = reinterpret_cast<std::uintptr_t>(p) & ~(kCacheLine - 1);
  const auto end = reinterpret_cast<std::uintptr_t>(p) + bytes;
  for (std::uintptr_t line = first; line < end; line += kCacheLine)
    __builtin_prefetch(reinterpret_cast<const void*>(line));
}

template <class T>
void prefetch_object(const T* p) {
  prefetch(p, sizeof(T));
}

}  // namespace dtls

#endif  // DTLS_SRTP_TRANSPORT_BASE_PREFETCH_H_
