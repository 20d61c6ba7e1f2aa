#include "transport/io/send_batch.h"

#include <netinet/udp.h>

#include <cerrno>
#include <cstring>

// glibc before 2.28 lacks it; the kernel's value (include/uapi/linux/udp.h).
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

namespace dtls {

SendBatch::SendBatch() : storage_(kCapacity * kSlotSize) {}

std::span<std::uint8_t> SendBatch::next_slot() {
  return std::span(storage_).subspan(size_ * kSlotSize, kSlotSize);
}

void SendBatch::commit(size_t length, const sockaddr* to) {
  const size_t i = size_++;
  iov_[i].iov_base = storage_.data() + i * kSlotSize;
  iov_[i].iov_len = length;
  mmsghdr& m = msgs_[i];
  m = mmsghdr{};
  m.msg_hdr.msg_iov = &iov_[i];
  m.msg_hdr.msg_iovlen = 1;
  has_to_[i] = to != nullptr;
  if (to != nullptr) {
    const socklen_t len =
        to->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
    std::memcpy(&to_[i], to, len);
    m.msg_hdr.msg_name = &to_[i];
    m.msg_hdr.msg_namelen = len;
  }
  // A run needs two neighbours to one destination. A fan-out's batch (each
  // datagram to another subscriber) has none, and leaves as it is, without
  // the pass that builds runs (200 instructions a datagram in a fan-out to
  // 300 subscribers).
  if (segmentation_ && i > 0 && !joinable_ && same_destination(i - 1, i))
    joinable_ = true;
}

SendBatch::Sent SendBatch::send_messages(int fd, mmsghdr* msgs, size_t n) {
  Sent out;
  int r;
  do {
    r = ::sendmmsg(fd, msgs, static_cast<unsigned>(n), MSG_DONTWAIT);
  } while (r < 0 && errno == EINTR);
  // sendmmsg reports an error only when the first message failed; a later
  // failure shows as a short count, and the next call reports it.
  if (r < 0) {
    out.error = -errno;
    return out;
  }
  out.messages = static_cast<size_t>(r);
  return out;
}

SendBatch::Sent SendBatch::send(int fd, size_t from) {
  if (from >= size_) return {};
  if (segmentation_ && joinable_) {
    const size_t runs = build_runs(from);
    Sent out = send_messages(fd, runs_.data(), runs);
    // A refused segmentation fails the whole run before anything leaves.
    if ((out.error == -EINVAL || out.error == -EIO) && run_length_[0] > 1) {
      segmentation_ = false;
      return send(fd, from);
    }
    for (size_t k = 0; k < out.messages; ++k) out.count += run_length_[k];
    return out;
  }
  Sent out = send_messages(fd, &msgs_[from], size_ - from);
  out.count = out.messages;
  return out;
}

size_t SendBatch::build_runs(size_t from) {
  size_t n = 0;
  for (size_t i = from; i < size_; ++n) {
    const size_t segment = iov_[i].iov_len;
    size_t j = i + 1, bytes = segment;
    // Every datagram of a run is `segment` long but the last, which may be
    // shorter (the kernel cuts at each multiple of the segment size).
    while (segment > 0 && j < size_ && j - i < kMaxSegments &&
           iov_[j].iov_len > 0 && iov_[j].iov_len <= segment &&
           bytes + iov_[j].iov_len <= kMaxRunBytes && same_destination(i, j)) {
      bytes += iov_[j].iov_len;
      if (iov_[j++].iov_len < segment) break;
    }
    mmsghdr& m = runs_[n];
    m = mmsghdr{};
    m.msg_hdr.msg_name = msgs_[i].msg_hdr.msg_name;
    m.msg_hdr.msg_namelen = msgs_[i].msg_hdr.msg_namelen;
    m.msg_hdr.msg_iov = &iov_[i];
    m.msg_hdr.msg_iovlen = j - i;
    if (j - i > 1) {
      m.msg_hdr.msg_control = controls_[n].bytes;
      m.msg_hdr.msg_controllen = sizeof(controls_[n].bytes);
      cmsghdr* c = CMSG_FIRSTHDR(&m.msg_hdr);
      c->cmsg_level = SOL_UDP;
      c->cmsg_type = UDP_SEGMENT;
      c->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
      const auto size = static_cast<std::uint16_t>(segment);
      std::memcpy(CMSG_DATA(c), &size, sizeof(size));
    }
    run_length_[n] = j - i;
    i = j;
  }
  return n;
}

std::span<const std::uint8_t> SendBatch::datagram(size_t i) const {
  return {storage_.data() + i * kSlotSize, iov_[i].iov_len};
}

const sockaddr* SendBatch::destination(size_t i) const {
  return has_to_[i] ? &to_[i].sa : nullptr;
}

}  // namespace dtls
