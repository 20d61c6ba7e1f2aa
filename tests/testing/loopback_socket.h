// A plain UDP socket on 127.0.0.1 with a kernel-chosen port, for tests of
// the system-call batches (SendBatch, ReceiveBatch) without libuv.
#ifndef DTLS_SRTP_TESTS_TESTING_LOOPBACK_SOCKET_H_
#define DTLS_SRTP_TESTS_TESTING_LOOPBACK_SOCKET_H_

#include <netinet/in.h>
#include <sys/socket.h>

#include <string>

namespace dtls::testing {

struct LoopbackSocket {
  LoopbackSocket();
  ~LoopbackSocket();
  LoopbackSocket(const LoopbackSocket&) = delete;
  LoopbackSocket& operator=(const LoopbackSocket&) = delete;

  const sockaddr* sa() const {
    return reinterpret_cast<const sockaddr*>(&addr);
  }
  // One waiting datagram, "" when none waits.
  std::string receive();
  // One datagram to `to`; false if it did not leave whole.
  bool send_to(const LoopbackSocket& to, const std::string& text) const;

  int fd = -1;
  sockaddr_in addr{};
};

}  // namespace dtls::testing

#endif  // DTLS_SRTP_TESTS_TESTING_LOOPBACK_SOCKET_H_
