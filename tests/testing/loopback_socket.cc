#include "tests/testing/loopback_socket.h"

#include <arpa/inet.h>
#include <unistd.h>

#include <stdexcept>

namespace dtls::testing {

LoopbackSocket::LoopbackSocket() : fd(::socket(AF_INET, SOCK_DGRAM, 0)) {
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (fd < 0 ||
      ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error("cannot bind a UDP socket on 127.0.0.1");
  }
}

LoopbackSocket::~LoopbackSocket() {
  if (fd >= 0) ::close(fd);
}

std::string LoopbackSocket::receive() {
  char buf[4096];
  ssize_t n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
  return n < 0 ? "" : std::string(buf, static_cast<size_t>(n));
}

bool LoopbackSocket::send_to(const LoopbackSocket& to,
                             const std::string& text) const {
  return ::sendto(fd, text.data(), text.size(), 0, to.sa(), sizeof(to.addr)) ==
         static_cast<ssize_t>(text.size());
}

}  // namespace dtls::testing
