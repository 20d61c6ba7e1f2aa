#include "transport/base/peer_address.h"

#include <arpa/inet.h>

#include <cstring>

namespace dtls {

Result<PeerAddress> PeerAddress::parse(std::string_view ip,
                                       std::uint16_t port) {
  PeerAddress a;
  std::string s(ip);
  auto* v4 = &a.storage_.v4;
  auto* v6 = &a.storage_.v6;
  if (inet_pton(AF_INET, s.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
  } else if (inet_pton(AF_INET6, s.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
  } else {
    return make_error("ERR_INVALID_ARG_VALUE",
                      "'" + s + "' is not an IPv4 or IPv6 address");
  }
  a.build_key();
  return a;
}

PeerAddress PeerAddress::from_sockaddr(const sockaddr* sa) {
  PeerAddress a;
  if (sa == nullptr) return a;
  if (sa->sa_family == AF_INET) {
    std::memcpy(&a.storage_.v4, sa, sizeof(sockaddr_in));
  } else if (sa->sa_family == AF_INET6) {
    std::memcpy(&a.storage_.v6, sa, sizeof(sockaddr_in6));
  } else {
    return a;
  }
  a.build_key();
  return a;
}

void PeerAddress::build_key() {
  if (storage_.sa.sa_family == AF_INET) {
    const auto* v4 = &storage_.v4;
    key_[0] = 4;
    std::memcpy(key_ + 1, &v4->sin_addr, 4);
    std::memcpy(key_ + 5, &v4->sin_port, 2);
    key_len_ = 7;
  } else {
    const auto* v6 = &storage_.v6;
    key_[0] = 6;
    std::memcpy(key_ + 1, &v6->sin6_addr, 16);
    std::memcpy(key_ + 17, &v6->sin6_port, 2);
    key_len_ = 19;
  }
}

std::string PeerAddress::ip() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (storage_.sa.sa_family == AF_INET) {
    inet_ntop(AF_INET, &storage_.v4.sin_addr, buf, sizeof(buf));
  } else if (storage_.sa.sa_family == AF_INET6) {
    inet_ntop(AF_INET6, &storage_.v6.sin6_addr, buf, sizeof(buf));
  }
  return buf;
}

std::uint16_t PeerAddress::port() const {
  if (storage_.sa.sa_family == AF_INET) {
    return ntohs(storage_.v4.sin_port);
  }
  if (storage_.sa.sa_family == AF_INET6) {
    return ntohs(storage_.v6.sin6_port);
  }
  return 0;
}

std::string PeerAddress::family() const {
  return storage_.sa.sa_family == AF_INET6  ? "IPv6"
         : storage_.sa.sa_family == AF_INET ? "IPv4"
                                            : "";
}

std::string PeerAddress::to_string() const {
  if (storage_.sa.sa_family == AF_INET6)
    return "[" + ip() + "]:" + std::to_string(port());
  return ip() + ":" + std::to_string(port());
}

}  // namespace dtls
