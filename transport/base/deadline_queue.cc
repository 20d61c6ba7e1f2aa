#include "transport/base/deadline_queue.h"

namespace dtls {

void DeadlineQueue::place(size_t i, Entry e) {
  heap_[i] = e;
  index_[e.id] = i;
}

void DeadlineQueue::sift_up(size_t i) {
  Entry e = heap_[i];
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!(e.at < heap_[parent].at)) break;
    place(i, heap_[parent]);
    i = parent;
  }
  place(i, e);
}

void DeadlineQueue::sift_down(size_t i) {
  Entry e = heap_[i];
  const size_t n = heap_.size();
  while (true) {
    size_t child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && heap_[child + 1].at < heap_[child].at) ++child;
    if (!(heap_[child].at < e.at)) break;
    place(i, heap_[child]);
    i = child;
  }
  place(i, e);
}

void DeadlineQueue::remove_at(size_t i) {
  index_.erase(heap_[i].id);
  Entry last = heap_.back();
  heap_.pop_back();
  if (i == heap_.size()) return;
  place(i, last);
  sift_down(i);
  sift_up(index_[last.id]);
}

void DeadlineQueue::set(Id id, std::optional<TimePoint> deadline) {
  auto it = index_.find(id);
  if (!deadline) {
    if (it != index_.end()) remove_at(it->second);
    return;
  }
  if (it == index_.end()) {
    heap_.push_back(Entry{*deadline, id});
    index_[id] = heap_.size() - 1;
    sift_up(heap_.size() - 1);
    return;
  }
  size_t i = it->second;
  TimePoint old = heap_[i].at;
  heap_[i].at = *deadline;
  if (*deadline < old) {
    sift_up(i);
  } else {
    sift_down(i);
  }
}

std::optional<TimePoint> DeadlineQueue::next() const {
  if (heap_.empty()) return std::nullopt;
  return heap_.front().at;
}

std::optional<DeadlineQueue::Id> DeadlineQueue::pop_due(TimePoint now) {
  if (heap_.empty() || heap_.front().at > now) return std::nullopt;
  Id id = heap_.front().id;
  remove_at(0);
  return id;
}

std::optional<TimePoint> DeadlineQueue::deadline_of(Id id) const {
  auto it = index_.find(id);
  if (it == index_.end()) return std::nullopt;
  return heap_[it->second].at;
}

}  // namespace dtls
