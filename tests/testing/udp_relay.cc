#include "tests/testing/udp_relay.h"

#include <stdexcept>

namespace dtls::testing {

UdpRelay::UdpRelay(uv_loop_t* loop, PeerAddress target)
    : udp_(new uv_udp_t), target_(std::move(target)) {
  uv_udp_init(loop, udp_);
  udp_->data = this;
  auto bind = PeerAddress::parse(target_.ip(), 0);
  if (!bind.ok() || uv_udp_bind(udp_, bind->sockaddr_ptr(), 0) != 0) {
    throw std::runtime_error("relay: cannot bind");
  }
  sockaddr_storage ss{};
  int len = sizeof(ss);
  uv_udp_getsockname(udp_, reinterpret_cast<sockaddr*>(&ss), &len);
  local_ = PeerAddress::from_sockaddr(reinterpret_cast<sockaddr*>(&ss));
  uv_udp_recv_start(udp_, alloc_cb, recv_cb);
}

UdpRelay::~UdpRelay() {
  // The handle is freed in its close callback, whenever the loop runs it.
  uv_close(reinterpret_cast<uv_handle_t*>(udp_),
           [](uv_handle_t* h) { delete reinterpret_cast<uv_udp_t*>(h); });
}

void UdpRelay::alloc_cb(uv_handle_t* h, size_t, uv_buf_t* buf) {
  auto* self = static_cast<UdpRelay*>(h->data);
  *buf = uv_buf_init(self->buffer_.data(),
                     static_cast<unsigned>(self->buffer_.size()));
}

void UdpRelay::recv_cb(uv_udp_t* h, ssize_t n, const uv_buf_t* buf,
                       const sockaddr* addr, unsigned) {
  if (n < 0 || addr == nullptr) return;
  auto* self = static_cast<UdpRelay*>(h->data);
  PeerAddress from = PeerAddress::from_sockaddr(addr);
  Direction d =
      from == self->target_ ? Direction::kToClient : Direction::kToTarget;
  if (d == Direction::kToTarget) self->client_ = from;
  std::vector<std::uint8_t> datagram(buf->base, buf->base + n);
  if (self->hook_ && !self->hook_(d, datagram)) return;
  self->inject(d, datagram);
}

bool UdpRelay::inject(Direction d, const std::vector<std::uint8_t>& datagram) {
  if (d == Direction::kToClient && !client_) return false;
  send_to(d == Direction::kToTarget ? target_ : *client_, datagram);
  return true;
}

void UdpRelay::send_to(const PeerAddress& to,
                       const std::vector<std::uint8_t>& d) {
  uv_buf_t b =
      uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(d.data())),
                  static_cast<unsigned>(d.size()));
  // Loopback takes it at once; a test relay has no need for a send queue.
  uv_udp_try_send(udp_, &b, 1, to.sockaddr_ptr());
}

}  // namespace dtls::testing
