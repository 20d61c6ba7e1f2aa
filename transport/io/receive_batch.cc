#include "transport/io/receive_batch.h"

#include <netinet/udp.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

// glibc before 2.28 lacks it; the kernel's value (include/uapi/linux/udp.h).
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

namespace dtls {

ReceiveBatch::ReceiveBatch(size_t capacity)
    : capacity_(std::clamp<size_t>(capacity, 1, kMaxCapacity)),
      storage_(std::make_unique_for_overwrite<std::uint8_t[]>(capacity_ *
                                                              kSlotSize)),
      iov_(capacity_),
      msgs_(capacity_),
      from_(capacity_),
      control_(capacity_),
      segment_(capacity_) {
  for (size_t i = 0; i < capacity_; ++i) {
    iov_[i].iov_base = storage_.get() + i * kSlotSize;
    iov_[i].iov_len = kSlotSize;
    msgs_[i].msg_hdr.msg_iov = &iov_[i];
    msgs_[i].msg_hdr.msg_iovlen = 1;
    msgs_[i].msg_hdr.msg_name = &from_[i];
  }
}

bool ReceiveBatch::enable_coalescing(int fd) {
  int on = 1;
  return ::setsockopt(fd, SOL_UDP, UDP_GRO, &on, sizeof(on)) == 0;
}

ReceiveBatch::Received ReceiveBatch::receive(int fd) {
  // The kernel writes back the lengths of the name and the control data.
  for (size_t i = 0; i < capacity_; ++i) {
    msghdr& h = msgs_[i].msg_hdr;
    h.msg_namelen = sizeof(sockaddr_storage);
    h.msg_control = control_[i].bytes;
    h.msg_controllen = sizeof(Control::bytes);
    h.msg_flags = 0;
  }
  Received out;
  int r;
  do {
    r = ::recvmmsg(fd, msgs_.data(), static_cast<unsigned>(capacity_),
                   MSG_DONTWAIT, nullptr);
  } while (r < 0 && errno == EINTR);
  // Like sendmmsg, an error after the first message shows as a short count
  // and is reported by the next call.
  if (r < 0) {
    out.error = -errno;
    return out;
  }
  out.messages = static_cast<size_t>(r);
  for (size_t i = 0; i < out.messages; ++i) {
    segment_[i] = read_segment(i);
    out.datagrams += message(i).count();
  }
  return out;
}

// UDP GRO: the datagrams' length when the kernel coalesced several, from
// the UDP_GRO control message; 0 for one datagram.
size_t ReceiveBatch::read_segment(size_t i) {
  msghdr& h = msgs_[i].msg_hdr;
  const size_t length = std::min<size_t>(msgs_[i].msg_len, kSlotSize);
  for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c)) {
    if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO &&
        c->cmsg_len >= CMSG_LEN(sizeof(int))) {
      int segment = 0;
      std::memcpy(&segment, CMSG_DATA(c), sizeof(segment));
      if (segment > 0 && static_cast<size_t>(segment) < length)
        return static_cast<size_t>(segment);
    }
  }
  return 0;
}

ReceiveBatch::Message ReceiveBatch::message(size_t i) {
  msghdr& h = msgs_[i].msg_hdr;
  Message m;
  m.data = {storage_.get() + i * kSlotSize,
            std::min<size_t>(msgs_[i].msg_len, kSlotSize)};
  m.from = h.msg_namelen > 0 ? reinterpret_cast<const sockaddr*>(&from_[i])
                             : nullptr;
  m.segment = segment_[i];
  return m;
}

std::span<std::uint8_t> ReceiveBatch::datagram(const Message& m, size_t k) {
  if (m.segment == 0) return m.data;
  const size_t at = k * m.segment;
  std::span<std::uint8_t> d =
      m.data.subspan(at, std::min(m.segment, m.data.size() - at));
  if (reinterpret_cast<std::uintptr_t>(d.data()) % kAlignment == 0) return d;
  // operator new[] aligns to at least 16 on this ABI.
  if (!scratch_)
    scratch_ = std::make_unique_for_overwrite<std::uint8_t[]>(kSlotSize);
  std::memcpy(scratch_.get(), d.data(), d.size());
  return {scratch_.get(), d.size()};
}

}  // namespace dtls
