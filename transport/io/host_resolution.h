// Host names and addresses for listen and connect: bind addresses are IP
// literals (never looked up), a connect() host may be a name, resolved on the
// loop.
#ifndef DTLS_SRTP_TRANSPORT_IO_HOST_RESOLUTION_H_
#define DTLS_SRTP_TRANSPORT_IO_HOST_RESOLUTION_H_

#include <netdb.h>
#include <uv.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "transport/base/error.h"
#include "transport/base/peer_address.h"

namespace dtls {

// An address to bind: an IP literal, or "localhost" taken as the loopback
// address (IPv4 unless `prefer_v6`). ERR_INVALID_ARG_VALUE for anything else:
// a bind address is not resolved.
Result<PeerAddress> bind_address(std::string_view host, std::uint16_t port,
                                 bool prefer_v6 = false);

// The address getaddrinfo's answer leads to, with `port`: the first IPv4 one,
// else the first IPv6 one (node's "ipv4first": a server on 127.0.0.1 is
// reached as "localhost" wherever ::1 is listed too); nullopt when there is
// neither.
std::optional<PeerAddress> pick_address(const addrinfo* answer,
                                        std::uint16_t port);

// Resolves `host` on `loop` (uv_getaddrinfo runs getaddrinfo on libuv's
// thread pool) and calls `done` on the loop with pick_address's choice or
// ERR_DTLS_HOST_NOT_FOUND. When the lookup cannot start, the error comes back
// here and `done` is never called.
Status resolve_host(uv_loop_t* loop, std::string host, std::uint16_t port,
                    std::function<void(Result<PeerAddress>)> done);

}  // namespace dtls

#endif  // DTLS_SRTP_TRANSPORT_IO_HOST_RESOLUTION_H_
