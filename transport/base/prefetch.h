#ifndef DTLS_SRTP_TRANSPORT_BASE_PREFETCH_H_
#define DTLS_SRTP_TRANSPORT_BASE_PREFETCH_H_

#include <array>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <span>

namespace dtls {

inline constexpr size_t kCacheLine = 64;

// Calls fn with the address of each cache line of [p, p + bytes) until it
// returns false.
template <class Fn>
void for_each_line(const void* p, size_t bytes, Fn fn) {
  const auto first = reinterpret_cast<std::uintptr_t>(p) & ~(kCacheLine - 1);
  const auto end = reinterpret_cast<std::uintptr_t>(p) + bytes;
  for (std::uintptr_t line = first; line < end; line += kCacheLine) {
    if (!fn(reinterpret_cast<const void*>(line))) return;
  }
}

// Asks for the cache lines of [p, p + bytes) without waiting for them. A
// fan-out to a thousand subscribers finds none of their state in cache (the
// kernel's sendmmsg between batches evicts it, and with page-table isolation
// flushes the TLB too): each dependent load costs a miss, so the send fetches
// a later subscriber's state while this one's cipher runs.
inline void prefetch(const void* p, size_t bytes = 1) {
  for_each_line(p, bytes, [](const void* line) {
    __builtin_prefetch(line);
    return true;
  });
}

template <class T>
void prefetch_object(const T* p) {
  prefetch(p, sizeof(T));
}

// The cache lines a later call will read, kept by the code that knows them,
// so that a caller with other work first fetches them all in one step rather
// than following the pointers that lead to them, a miss at each. A hint:
// what does not fit is left out, and the addresses are never read through.
class FetchList {
 public:
  static constexpr size_t kMaxLines = 24;

  size_t size() const { return count_; }
  // Keeps the first n lines (n <= size()).
  void resize(size_t n) {
    assert(n <= count_);
    count_ = static_cast<std::uint8_t>(n);
  }
  // Each line of [p, p + bytes), as room allows.
  void add(const void* p, size_t bytes) {
    for_each_line(p, bytes, [this](const void* line) {
      if (count_ == kMaxLines) return false;
      lines_[count_++] = line;
      return true;
    });
  }
  std::span<const void* const> lines() const { return {lines_.data(), count_}; }
  void prefetch() const {
    for (size_t i = 0; i < count_; ++i) __builtin_prefetch(lines_[i]);
  }

 private:
  std::uint8_t count_ = 0;  // first: a short list reads one line less
  std::array<const void*, kMaxLines> lines_{};
};

}  // namespace dtls

#endif  // DTLS_SRTP_TRANSPORT_BASE_PREFETCH_H_
