#include "transport/send_batch.h"

#include <cerrno>
#include <cstring>

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
}

SendBatch::Sent SendBatch::send(int fd, size_t from) {
  Sent out;
  if (from >= size_) return out;
  int r;
  do {
    r = ::sendmmsg(fd, &msgs_[from], static_cast<unsigned>(size_ - from),
                   MSG_DONTWAIT);
  } while (r < 0 && errno == EINTR);
  // sendmmsg reports an error only when the first datagram failed; a later
  // failure shows as a short count, and the next call reports it.
  if (r < 0) {
    out.error = -errno;
    return out;
  }
  out.count = static_cast<size_t>(r);
  return out;
}

std::span<const std::uint8_t> SendBatch::datagram(size_t i) const {
  return {storage_.data() + i * kSlotSize, iov_[i].iov_len};
}

const sockaddr* SendBatch::destination(size_t i) const {
  return has_to_[i] ? &to_[i].sa : nullptr;
}

}  // namespace dtls
