#include "transport/io/host_resolution.h"

#include <memory>
#include <utility>

namespace dtls {
namespace {

Error not_found(const std::string& host, std::string_view why) {
  return make_error("ERR_DTLS_HOST_NOT_FOUND",
                    "cannot resolve '" + host + "': " + std::string(why));
}

// One lookup in flight; owned by libuv's request until its callback.
struct Lookup {
  uv_getaddrinfo_t req{};
  std::string host;
  std::uint16_t port = 0;
  std::function<void(Result<PeerAddress>)> done;

  static void finished(uv_getaddrinfo_t* req, int status, addrinfo* answer) {
    std::unique_ptr<Lookup> self(static_cast<Lookup*>(req->data));
    std::optional<PeerAddress> address;
    if (status == 0) address = pick_address(answer, self->port);
    uv_freeaddrinfo(answer);
    if (address) {
      self->done(std::move(*address));
    } else {
      self->done(not_found(self->host, status != 0 ? uv_strerror(status)
                                                   : "no IPv4/IPv6 address"));
    }
  }
};

}  // namespace

Result<PeerAddress> bind_address(std::string_view host, std::uint16_t port,
                                 bool prefer_v6) {
  std::string_view ip = host;
  if (host == "localhost") ip = prefer_v6 ? "::1" : "127.0.0.1";
  if (auto a = PeerAddress::parse(ip, port); a.ok()) return a;
  return make_error(
      "ERR_INVALID_ARG_VALUE",
      "'" + std::string(host) +
          "' is not an IP address (bind addresses are not resolved)");
}

std::optional<PeerAddress> pick_address(const addrinfo* answer,
                                        std::uint16_t port) {
  const addrinfo* pick = nullptr;
  for (const addrinfo* a = answer; a != nullptr; a = a->ai_next) {
    if (a->ai_family == AF_INET) {
      pick = a;
      break;
    }
    if (a->ai_family == AF_INET6 && pick == nullptr) pick = a;
  }
  if (pick == nullptr) return std::nullopt;
  const PeerAddress address = PeerAddress::from_sockaddr(pick->ai_addr);
  auto with_port = PeerAddress::parse(address.ip(), port);
  if (!with_port.ok()) return std::nullopt;
  return std::move(with_port).value();
}

Status resolve_host(uv_loop_t* loop, std::string host, std::uint16_t port,
                    std::function<void(Result<PeerAddress>)> done) {
  auto lookup = std::make_unique<Lookup>();
  lookup->host = std::move(host);
  lookup->port = port;
  lookup->done = std::move(done);
  lookup->req.data = lookup.get();
  addrinfo hints{};
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_ADDRCONFIG;
  if (int r = uv_getaddrinfo(loop, &lookup->req, Lookup::finished,
                             lookup->host.c_str(), nullptr, &hints);
      r != 0) {
    return not_found(lookup->host, uv_strerror(r));
  }
  lookup.release();  // finished() owns it
  return {};
}

}  // namespace dtls
