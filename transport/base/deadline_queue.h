// Every session's next deadline in one indexed min-heap, so an endpoint runs
// one timer for all of them (not a timer per session). Sans-I/O: it stores
// times, it never reads a clock.
#ifndef DTLS_SRTP_TRANSPORT_BASE_DEADLINE_QUEUE_H_
#define DTLS_SRTP_TRANSPORT_BASE_DEADLINE_QUEUE_H_

#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "transport/base/time.h"

namespace dtls {

class DeadlineQueue {
 public:
  using Id = std::uint64_t;

  // Sets (or moves) `id`'s deadline; nullopt removes it. O(log n).
  void set(Id id, std::optional<TimePoint> deadline);
  void erase(Id id) { set(id, std::nullopt); }

  // The earliest deadline, if any: what the endpoint's single timer is armed
  // for.
  std::optional<TimePoint> next() const;
  // Removes and returns the earliest entry whose deadline is at or before
  // `now`.
  std::optional<Id> pop_due(TimePoint now);

  std::optional<TimePoint> deadline_of(Id id) const;
  size_t size() const { return heap_.size(); }
  bool empty() const { return heap_.empty(); }

 private:
  struct Entry {
    TimePoint at;
    Id id;
  };
  void sift_up(size_t i);
  void sift_down(size_t i);
  void place(size_t i, Entry e);
  void remove_at(size_t i);

  std::vector<Entry> heap_;
  std::unordered_map<Id, size_t> index_;  // id -> position in heap_
};

}  // namespace dtls

#endif  // DTLS_SRTP_TRANSPORT_BASE_DEADLINE_QUEUE_H_
