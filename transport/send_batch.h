// Datagrams gathered for one sendmmsg(2): the send side of the batching that
// recvmmsg gives the receive side. Storage is allocated once, when the batch
// is made, so filling and sending it allocates nothing.
#ifndef DTLS_SRTP_TRANSPORT_SEND_BATCH_H_
#define DTLS_SRTP_TRANSPORT_SEND_BATCH_H_

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <span>
#include <vector>

namespace dtls {

class SendBatch {
 public:
  // Datagrams per system call (the kernel's UIO_MAXIOV is far above).
  static constexpr size_t kCapacity = 32;
  // Room per datagram: the largest media packet an endpoint protects.
  static constexpr size_t kSlotSize = 2048;

  SendBatch();
  SendBatch(const SendBatch&) = delete;
  SendBatch& operator=(const SendBatch&) = delete;

  bool empty() const { return size_ == 0; }
  bool full() const { return size_ == kCapacity; }
  size_t size() const { return size_; }

  // Where the next datagram is written (kSlotSize bytes); it joins the batch
  // with commit(). Not to be called on a full batch.
  std::span<std::uint8_t> next_slot();
  // `to` null: a connected socket (no destination).
  void commit(size_t length, const sockaddr* to);

  struct Sent {
    size_t count = 0;  // datagrams [from, from + count) left
    int error = 0;     // 0, or -errno for datagram from + count
  };
  // One sendmmsg of datagrams [from, size()) on `fd`.
  Sent send(int fd, size_t from);

  std::span<const std::uint8_t> datagram(size_t i) const;
  const sockaddr* destination(size_t i) const;
  void clear() { size_ = 0; }

 private:
  union Address {
    sockaddr sa;
    sockaddr_in v4;
    sockaddr_in6 v6;
  };
  std::vector<std::uint8_t> storage_;
  std::array<Address, kCapacity> to_{};
  std::array<bool, kCapacity> has_to_{};
  std::array<iovec, kCapacity> iov_{};
  std::array<mmsghdr, kCapacity> msgs_{};
  size_t size_ = 0;
};

}  // namespace dtls

#endif  // DTLS_SRTP_TRANSPORT_SEND_BATCH_H_
