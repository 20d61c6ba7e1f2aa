// Datagrams taken by one recvmmsg(2): the receive side of SendBatch, for the
// I/O layer (a socket descriptor, no libuv). Storage is allocated once, when
// the batch is made, so receiving allocates nothing.
//
// With coalescing (UDP GRO, the UDP_GRO socket option, Linux 5.0+), the
// kernel may hand over a run of datagrams from one sender, all of one length
// but a shorter last, as one message with the length in a cmsg; message()
// cuts it back into those datagrams. On loopback a run sent with UDP GSO then
// crosses the receive path once instead of once per datagram: 1.6x the
// datagrams per second a receiving core takes here (1.15M/s against 0.71M/s
// at 1240 B).
#ifndef DTLS_SRTP_TRANSPORT_IO_RECEIVE_BATCH_H_
#define DTLS_SRTP_TRANSPORT_IO_RECEIVE_BATCH_H_

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace dtls {

class ReceiveBatch {
 public:
  // Room per message: a whole coalesced run (a UDP payload is at most
  // 65,507 bytes over IPv4, 65,527 over IPv6).
  static constexpr size_t kSlotSize = 65536;
  static constexpr size_t kMaxCapacity = 64;

  // Messages per system call, clamped to [1, kMaxCapacity]. The slots are
  // left unzeroed: the kernel writes them before anything reads them, and
  // pages no datagram reaches never become resident.
  explicit ReceiveBatch(size_t capacity);
  ReceiveBatch(const ReceiveBatch&) = delete;
  ReceiveBatch& operator=(const ReceiveBatch&) = delete;

  size_t capacity() const { return capacity_; }

  // Asks the kernel to coalesce on `fd` (UDP_GRO); false when it cannot (an
  // old kernel, not a UDP socket), which leaves datagrams one per message.
  static bool enable_coalescing(int fd);

  struct Received {
    size_t messages = 0;   // filled, [0, messages)
    size_t datagrams = 0;  // in them, coalesced runs cut back
    int error = 0;         // -errno when none was: -EAGAIN when none waits
  };
  // One recvmmsg(MSG_DONTWAIT) of up to capacity() messages on `fd`.
  Received receive(int fd);

  struct Message {
    std::span<std::uint8_t> data;
    const sockaddr* from = nullptr;
    // The datagrams' length when the kernel coalesced several; 0 for one.
    size_t segment = 0;
    // Datagrams in it: RFC 768 boundaries survive coalescing, because every
    // datagram but the last has exactly `segment` bytes.
    size_t count() const {
      return segment == 0 || data.empty()
                 ? 1
                 : (data.size() + segment - 1) / segment;
    }
  };
  // Message i of the last receive (i < Received::messages).
  Message message(size_t i);

  // Datagrams handed out start on this boundary: libsrtp reads the header it
  // is given through 32- and 64-bit words (srtp_hdr_t), which a datagram at
  // an odd offset inside a coalesced run is not aligned for.
  static constexpr size_t kAlignment = 8;
  // Datagram k (< m.count()) of message m, writable in place. One that does
  // not start on a kAlignment boundary inside the run is copied to scratch
  // space first, which the next such call reuses: take datagrams one at a
  // time.
  std::span<std::uint8_t> datagram(const Message& m, size_t k);

 private:
  size_t read_segment(size_t i);
  union Control {
    cmsghdr header;
    char bytes[CMSG_SPACE(sizeof(int))];
  };
  size_t capacity_;
  std::unique_ptr<std::uint8_t[]> storage_;
  std::unique_ptr<std::uint8_t[]> scratch_;  // made at the first misaligned
  std::vector<iovec> iov_;
  std::vector<mmsghdr> msgs_;
  std::vector<sockaddr_storage> from_;
  std::vector<Control> control_;
  std::vector<size_t> segment_;  // each filled message's, read at receive()
};

}  // namespace dtls

#endif  // DTLS_SRTP_TRANSPORT_IO_RECEIVE_BATCH_H_
