// Datagrams gathered for one sendmmsg(2): the send side of the batching that
// recvmmsg gives the receive side. Storage is allocated once, when the batch
// is made, so filling and sending it allocates nothing.
//
// With segmentation (UDP GSO, UDP_SEGMENT, Linux 4.18+), a run of datagrams
// to one destination, all of one length but a shorter last, leaves as one
// message that the kernel cuts back into those datagrams after one pass
// through the stack: 2.4x the datagrams per second on loopback here. A kernel
// or route that refuses it (EINVAL: no checksum, a path MTU below the
// datagrams; EIO: no checksum offload, IPsec) turns it off for the batch, and
// that send is made again without.
#ifndef DTLS_SRTP_TRANSPORT_IO_SEND_BATCH_H_
#define DTLS_SRTP_TRANSPORT_IO_SEND_BATCH_H_

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <cstring>
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
    size_t count = 0;     // datagrams [from, from + count) left
    int error = 0;        // 0, or -errno for datagram from + count
    size_t messages = 0;  // what the kernel took: runs, or datagrams
  };
  // One sendmmsg of datagrams [from, size()) on `fd`.
  Sent send(int fd, size_t from);

  std::span<const std::uint8_t> datagram(size_t i) const;
  const sockaddr* destination(size_t i) const;
  void clear() {
    size_ = 0;
    joinable_ = false;
  }

  // Before the first commit(): datagrams already in the batch are not
  // looked at again for runs.
  void set_segmentation(bool on) { segmentation_ = on; }
  bool segmentation() const { return segmentation_; }

  // Segments per run: the kernel's UDP_MAX_SEGMENTS is 64 (128 since 6.9).
  static constexpr size_t kMaxSegments = 64;
  // Bytes per run: below the largest UDP payload over IPv4 (65,507).
  static constexpr size_t kMaxRunBytes = 65000;

 private:
  union Address {
    sockaddr sa;
    sockaddr_in v4;
    sockaddr_in6 v6;
  };
  std::vector<std::uint8_t> storage_;
  std::array<Address, kCapacity> to_{};
  std::array<bool, kCapacity> has_to_{};
  // Inline: commit() asks it of each datagram until two neighbours share a
  // destination (while segmentation is on).
  bool same_destination(size_t i, size_t j) const {
    if (has_to_[i] != has_to_[j]) return false;
    if (!has_to_[i]) return true;  // a connected socket's one peer
    if (to_[i].sa.sa_family == AF_INET && to_[j].sa.sa_family == AF_INET) {
      return to_[i].v4.sin_port == to_[j].v4.sin_port &&
             to_[i].v4.sin_addr.s_addr == to_[j].v4.sin_addr.s_addr;
    }
    const socklen_t len = msgs_[i].msg_hdr.msg_namelen;
    return len == msgs_[j].msg_hdr.msg_namelen &&
           std::memcmp(&to_[i], &to_[j], len) == 0;
  }
  // Fills runs_ from datagram `from` on; returns how many.
  size_t build_runs(size_t from);
  Sent send_messages(int fd, mmsghdr* msgs, size_t n);

  std::array<iovec, kCapacity> iov_{};
  std::array<mmsghdr, kCapacity> msgs_{};
  size_t size_ = 0;
  bool segmentation_ = true;
  bool joinable_ = false;  // two neighbours share a destination
  union Control {
    cmsghdr header;
    char bytes[CMSG_SPACE(sizeof(std::uint16_t))];
  };
  std::array<mmsghdr, kCapacity> runs_{};
  std::array<Control, kCapacity> controls_{};
  std::array<size_t, kCapacity> run_length_{};
};

}  // namespace dtls

#endif  // DTLS_SRTP_TRANSPORT_IO_SEND_BATCH_H_
