// A UDP transport address with a stable byte form: the key of an endpoint's
// session map and the peer identity a DTLS cookie is bound to.
#ifndef DTLS_SRTP_TRANSPORT_BASE_PEER_ADDRESS_H_
#define DTLS_SRTP_TRANSPORT_BASE_PEER_ADDRESS_H_

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "transport/base/error.h"

namespace dtls {

class PeerAddress {
 public:
  // A literal IPv4 or IPv6 address ("127.0.0.1", "::1") and a port.
  // ERR_INVALID_ARG_VALUE.
  static Result<PeerAddress> parse(std::string_view ip, std::uint16_t port);
  // From a kernel address (AF_INET or AF_INET6); anything else gives an empty
  // address.
  static PeerAddress from_sockaddr(const sockaddr* sa);

  PeerAddress() = default;

  const sockaddr* sockaddr_ptr() const { return &storage_.sa; }
  // family (4 or 6) | address bytes | port (big-endian): 7 or 19 bytes.
  std::span<const std::uint8_t> key() const { return {key_, key_len_}; }
  std::string ip() const;
  std::uint16_t port() const;
  // node's family names: "IPv4" / "IPv6".
  std::string family() const;
  std::string to_string() const;  // "127.0.0.1:5000", "[::1]:5000"
  bool empty() const { return key_len_ == 0; }

  bool operator==(const PeerAddress& o) const {
    return std::string_view(reinterpret_cast<const char*>(key_), key_len_) ==
           std::string_view(reinterpret_cast<const char*>(o.key_), o.key_len_);
  }

 private:
  void build_key();

  // Only IPv4 and IPv6 are carried: 28 bytes instead of sockaddr_storage's
  // 128. An address is a key in several per-session tables.
  union Storage {
    sockaddr sa;
    sockaddr_in v4;
    sockaddr_in6 v6;
  };
  Storage storage_{};
  std::uint8_t key_[19] = {};
  std::uint8_t key_len_ = 0;
};

struct PeerAddressHash {
  size_t operator()(const PeerAddress& a) const {
    auto k = a.key();
    return std::hash<std::string_view>()(
        std::string_view(reinterpret_cast<const char*>(k.data()), k.size()));
  }
};

}  // namespace dtls

#endif  // DTLS_SRTP_TRANSPORT_BASE_PEER_ADDRESS_H_
