#include "transport/io/udp_endpoint.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cstring>
#include <limits>
#include <string>
#include <utility>

namespace dtls {

static_assert(UV_ENOBUFS == DatagramSink::kSendQueueFull,
              "libuv's error codes are negative errno values here");

// A datagram the kernel pushed back, waiting in libuv's send queue.
struct UdpEndpoint::SendRequest {
  uv_udp_send_t req;
  std::vector<std::uint8_t> data;
};

namespace {

Error socket_error(const PeerAddress& peer, int uv_error) {
  if (uv_error == UV_ECONNREFUSED) {
    return make_error(
        "ERR_DTLS_CONNECTION_REFUSED",
        peer.to_string() + " refused the connection (ICMP port unreachable)");
  }
  return make_error(
      "ERR_DTLS_HOST_UNREACHABLE",
      peer.to_string() + " is unreachable: " + uv_strerror(uv_error));
}

bool ends_connection(int uv_error) {
  return uv_error == UV_ECONNREFUSED || uv_error == UV_EHOSTUNREACH ||
         uv_error == UV_ENETUNREACH;
}

}  // namespace

UdpEndpoint::UdpEndpoint(uv_loop_t* loop, UdpEndpointOptions options,
                         Callbacks callbacks)
    : loop_(loop),
      options_(std::move(options)),
      callbacks_(std::move(callbacks)),
      core_(options_, core_callbacks(callbacks_), output_, Clock::now()),
      receive_(options_.receive_batch),
      media_out_(EndpointCore::kMaxMediaPacket + srtp::kMaxTrailer) {}

EndpointCore::Callbacks UdpEndpoint::core_callbacks(Callbacks& callbacks) {
  return {std::move(callbacks.on_session), std::move(callbacks.on_event),
          std::move(callbacks.on_finished), std::move(callbacks.on_media),
          std::move(callbacks.on_ice)};
}

UdpEndpoint::~UdpEndpoint() = default;

namespace {

int socket_int_option(const uv_udp_t* udp, int option) {
  uv_os_fd_t fd = -1;
  int value = 0;
  socklen_t len = sizeof(value);
  if (uv_fileno(reinterpret_cast<const uv_handle_t*>(udp), &fd) != 0 ||
      getsockopt(fd, SOL_SOCKET, option, &value, &len) != 0) {
    return -1;
  }
  return value;
}

}  // namespace

int UdpEndpoint::receive_buffer_size() const {
  return socket_int_option(&udp_, SO_RCVBUF);
}

int UdpEndpoint::send_buffer_size() const {
  return socket_int_option(&udp_, SO_SNDBUF);
}

Status validate_socket_buffer_sizes(size_t receive, size_t send) {
  // setsockopt takes an int, and the kernel doubles it.
  constexpr size_t kMaxBuffer = std::numeric_limits<int>::max() / 2;
  for (auto [name, size] : {std::pair{"recv_buffer_size", receive},
                            std::pair{"send_buffer_size", send}}) {
    if (size > kMaxBuffer) {
      return make_error("ERR_OUT_OF_RANGE",
                        std::string(name) + " must be at most " +
                            std::to_string(kMaxBuffer) + " bytes, got " +
                            std::to_string(size));
    }
  }
  return {};
}

Status validate_send_queue_limit(size_t datagrams) {
  if (datagrams < 1 || datagrams > (size_t{1} << 20)) {
    return make_error("ERR_OUT_OF_RANGE",
                      "send_queue_limit must be 1..1048576 datagrams, got " +
                          std::to_string(datagrams));
  }
  return {};
}

Result<std::shared_ptr<UdpEndpoint>> UdpEndpoint::open(
    uv_loop_t* loop, const PeerAddress& bind, UdpEndpointOptions options,
    Callbacks callbacks) {
  if (loop == nullptr || !options.context || bind.empty()) {
    return make_error("ERR_INVALID_ARG_VALUE",
                      "a loop, a DTLS context and an address are needed");
  }
  if (Status st = validate_send_queue_limit(options.max_queued_sends); !st.ok())
    return st.error();
  if (Status st = validate_half_open_limits(options.half_open); !st.ok())
    return st.error();
  if (Status st = validate_socket_buffer_sizes(options.receive_buffer_size,
                                               options.send_buffer_size);
      !st.ok()) {
    return st.error();
  }
  if (const auto& group = options.port_group) {
    // On the EventLoop that runs `loop`: hand-overs come in through its
    // queue, on its thread.
    if (LoopDispatcher::current() == nullptr ||
        LoopDispatcher::current()->uv_loop() != loop) {
      return make_error("ERR_INVALID_ARG_VALUE",
                        "the endpoints of a port group run on EventLoops");
    }
    if (options.cookie_master_secret &&
        *options.cookie_master_secret != group->cookie_secret()) {
      return make_error("ERR_INVALID_ARG_VALUE",
                        "a port group's members use the group's cookie "
                        "secret, not one of their own");
    }
    options.cookie_master_secret = group->cookie_secret();
    options.reuse_port = true;
    options.port_directory = group;
    options.port_member = group->reserve();
  }
  std::shared_ptr<UdpEndpoint> e(
      new UdpEndpoint(loop, std::move(options), std::move(callbacks)));
  // A family makes libuv create the socket now, so that options can be set
  // on it before bind.
  const unsigned flags =
      e->options_.reuse_port
          ? static_cast<unsigned>(bind.sockaddr_ptr()->sa_family)
          : AF_UNSPEC;
  if (int r = uv_udp_init_ex(loop, &e->udp_, flags); r != 0) {
    return make_error("ERR_SOCKET",
                      std::string("uv_udp_init: ") + uv_strerror(r));
  }
  e->udp_.data = e.get();
  e->open_handles_ = 1;
  e->self_ = e;
  if (e->options_.reuse_port) {
    uv_os_fd_t fd = -1;
    int on = 1;
    if (uv_fileno(reinterpret_cast<uv_handle_t*>(&e->udp_), &fd) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) != 0) {
      e->callbacks_ = {};
      e->release_handles();
      return make_error("ERR_SOCKET", "cannot set SO_REUSEPORT");
    }
  }
  if (int r = uv_udp_bind(&e->udp_, bind.sockaddr_ptr(), 0); r != 0) {
    e->callbacks_ =
        {};  // the caller never had this endpoint: no on_closed for it
    e->release_handles();
    return make_error("ERR_SOCKET_BIND", "cannot bind " + bind.to_string() +
                                             ": " + uv_strerror(r));
  }
  sockaddr_storage ss{};
  int len = sizeof(ss);
  uv_udp_getsockname(&e->udp_, reinterpret_cast<sockaddr*>(&ss), &len);
  e->local_ = PeerAddress::from_sockaddr(reinterpret_cast<sockaddr*>(&ss));
  uv_timer_init(loop, &e->timer_);
  e->timer_.data = e.get();
  uv_timer_init(loop, &e->flush_timer_);
  e->flush_timer_.data = e.get();
  e->open_handles_ = 3;
  uv_os_fd_t fd = -1;
  int r = uv_fileno(reinterpret_cast<uv_handle_t*>(&e->udp_), &fd);
  for (auto [option, size] :
       {std::pair{SO_RCVBUF, e->options_.receive_buffer_size},
        std::pair{SO_SNDBUF, e->options_.send_buffer_size}}) {
    const int bytes = static_cast<int>(size);
    if (r == 0 && size > 0 &&
        setsockopt(fd, SOL_SOCKET, option, &bytes, sizeof(bytes)) != 0) {
      r = -errno;
    }
  }
  if (r == 0) {
    if (e->options_.coalesce_receives)
      e->coalescing_ = ReceiveBatch::enable_coalescing(fd);
    e->poll_fd_ = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    r = e->poll_fd_ < 0 ? -errno
                        : uv_poll_init_socket(loop, &e->poll_, e->poll_fd_);
  }
  if (r == 0) {
    e->poll_.data = e.get();
    e->open_handles_ = 4;
    r = uv_poll_start(&e->poll_, UV_READABLE, poll_cb);
  }
  if (r != 0) {
    e->callbacks_ = {};
    e->release_handles();
    return make_error(
        "ERR_SOCKET",
        std::string("cannot receive on the socket: ") + uv_strerror(r));
  }
  if (e->options_.port_group) {
    e->inbox_ = std::make_shared<Inbox>(e.get());
    e->options_.port_group->join(e->options_.port_member,
                                 LoopDispatcher::current()->shared_from_this(),
                                 e->inbox_);
  }
  e->rearm();
  return e;
}

int UdpEndpoint::Output::forward(PortDirectory::Member to,
                                 const PeerAddress& from,
                                 std::span<const std::uint8_t> data) {
  const auto& group = endpoint_.options_.port_group;
  if (!group) return -EOPNOTSUPP;
  if (const std::uint64_t g = group->generation(); g != generation_) {
    routes_.clear();
    generation_ = g;
  }
  for (const auto& [member, route] : routes_) {
    if (member == to) return PortGroup::hand_over(route, from, data);
  }
  auto route = group->route(to);
  if (!route) return -ESHUTDOWN;
  routes_.emplace_back(to, std::move(*route));
  return PortGroup::hand_over(routes_.back().second, from, data);
}

void UdpEndpoint::Inbox::begin_queued() {
  if (endpoint_ == nullptr) return;
  // One "now" per batch, as for a receive batch; and what the batch makes
  // the endpoint send leaves together.
  now_ = Clock::now();
  endpoint_->cork();
}

void UdpEndpoint::Inbox::send_queued(std::uint8_t tag,
                                     std::span<std::uint8_t> packet) {
  if (endpoint_ == nullptr || endpoint_->released_ ||
      tag != PortGroup::kHandedOver || packet.size() < sizeof(PeerAddress)) {
    return;
  }
  PeerAddress from;
  std::memcpy(static_cast<void*>(&from), packet.data(), sizeof(from));
  endpoint_->core_.handle_forwarded(packet.subspan(sizeof(from)), from, now_);
}

void UdpEndpoint::Inbox::end_queued() {
  if (endpoint_ == nullptr) return;
  endpoint_->uncork();
  endpoint_->rearm();
}

void UdpEndpoint::poll_cb(uv_poll_t* p, int status, int) {
  auto* self = static_cast<UdpEndpoint*>(p->data);
  const int fatal = self->read_socket();
  self->rearm();
  // On POLLERR libuv stops the handle and says UV_EBADF, though the socket
  // is fine: a pending error (an ICMP unreachable on a connected socket)
  // that the read above has taken. Only a descriptor that cannot be read
  // stops receiving.
  if (status < 0 && fatal == 0 && !self->released_)
    uv_poll_start(&self->poll_, UV_READABLE, poll_cb);
}

int UdpEndpoint::read_socket() {
  // One "now" per wakeup, for every datagram of it.
  const TimePoint now = Clock::now();
  // Bounded, like libuv's 32 reads per wakeup, so that one busy socket
  // cannot starve the loop's other handles.
  for (int round = 0; round < 32 && !released_; ++round) {
    ReceiveBatch::Received r = receive_.receive(poll_fd_);
    if (r.error == -EAGAIN || r.error == -EWOULDBLOCK) return 0;
    if (r.error == -EBADF || r.error == -ENOTSOCK || r.error == -EINVAL ||
        r.error == -EFAULT) {
      io_stats().socket_errors++;
      return r.error;
    }
    if (r.error != 0) {
      // An ICMP error surfaces as ECONNREFUSED; datagrams may follow it.
      on_socket_error(r.error);
      continue;
    }
    io_stats().receive_calls++;
    // What the batch's callbacks send leaves together, at the end.
    const bool cork_batch = r.datagrams > 1;
    if (cork_batch) cork();
    for (size_t i = 0; i < r.messages && !released_; ++i) {
      ReceiveBatch::Message m = receive_.message(i);
      if (m.from == nullptr) continue;
      const size_t count = m.count();
      if (count > 1) io_stats().datagrams_coalesced += count;
      for (size_t k = 0; k < count && !released_; ++k)
        on_datagram(receive_.datagram(m, k), m.from, now);
    }
    if (cork_batch) uncork();
    // A short batch emptied the queue: no EAGAIN call to learn it.
    if (r.messages < receive_.capacity()) return 0;
  }
  return 0;
}

void UdpEndpoint::on_datagram(std::span<std::uint8_t> data,
                              const sockaddr* from, TimePoint now) {
  // A connected socket hears only its peer (the kernel filters the others):
  // any datagram of ours shows the peer is there, so that ICMP errors from
  // now on are only counted.
  if (connected_ && !core_.closing()) {
    const PacketKind kind = classify(data);
    if (kind == PacketKind::kDtls || kind == PacketKind::kRtp ||
        kind == PacketKind::kRtcp || kind == PacketKind::kStun) {
      heard_from_peer_ = true;
    }
  }
  core_.handle_datagram(data, PeerAddress::from_sockaddr(from), now);
}

void UdpEndpoint::on_socket_error(int uv_error) {
  io_stats().socket_errors++;
  // Linux reports ICMP errors only on connected sockets (without IP_RECVERR),
  // and a connected socket has one peer. ICMP is a soft error (RFC 1122
  // §4.2.3.9 in spirit; a peer rebinding its socket, or a restarting server,
  // sends one in passing): it ends the session only when the peer has never
  // answered and a retransmission was refused too.
  if (!connected_ || released_ || !ends_connection(uv_error)) return;
  if (heard_from_peer_ || ++refusals_ < 2) return;
  core_.destroy_session(*connected_, socket_error(*connected_, uv_error));
  rearm();
}

void UdpEndpoint::handle_pending_socket_error() {
  if (pending_socket_error_ != 0)
    on_socket_error(std::exchange(pending_socket_error_, 0));
}

// --- What the core writes ---

int UdpEndpoint::Output::send(const PeerAddress& to,
                              std::span<const std::uint8_t> data) {
  return endpoint_.send_datagram(to, data);
}

std::span<std::uint8_t> UdpEndpoint::Output::media_buffer(size_t size) {
  UdpEndpoint& e = endpoint_;
  // A packet too large for a batch slot goes alone (after the batch).
  batched_ = e.corked_ > 0 && size <= SendBatch::kSlotSize;
  if (!batched_) return e.media_out_.span();
  // The backpressure signal stays immediate: the queue is full now.
  if (uv_udp_get_send_queue_count(&e.udp_) >= e.options_.max_queued_sends) {
    e.drop_for_full_queue();
    return {};
  }
  if (!e.batch_) {
    e.batch_ = std::make_unique<SendBatch>();
    e.batch_->set_segmentation(e.options_.segment_sends);
  }
  if (e.batch_->full()) e.flush_batch();
  // Protected in place in the batch: still one copy, no allocation.
  return e.batch_->next_slot();
}

int UdpEndpoint::Output::send_media(const PeerAddress& to, size_t length) {
  UdpEndpoint& e = endpoint_;
  if (!batched_) return e.send_datagram(to, e.media_out_.span().first(length));
  e.batch_->commit(length, e.connected_ ? nullptr : to.sockaddr_ptr());
  return 0;
}

Status UdpEndpoint::Output::before_connect(const PeerAddress& peer) {
  UdpEndpoint& e = endpoint_;
  if (!e.options_.connect_socket || e.connected_) return {};
  if (int r = uv_udp_connect(&e.udp_, peer.sockaddr_ptr()); r != 0) {
    return make_error("ERR_SOCKET", "cannot connect the socket to " +
                                        peer.to_string() + ": " +
                                        uv_strerror(r));
  }
  e.connected_ = peer;
  return {};
}

void UdpEndpoint::Output::flushed() { endpoint_.handle_pending_socket_error(); }

std::string UdpEndpoint::Output::describe(int error) const {
  return uv_strerror(error);
}

// --- The API, on the core with the clock's "now" ---

Status UdpEndpoint::connect(const PeerAddress& peer,
                            AssociationOptions options) {
  if (connected_ && *connected_ != peer && !core_.closing() &&
      core_.association(peer) == nullptr) {
    return make_error(
        "ERR_INVALID_STATE",
        "this endpoint's socket is connected to " + connected_->to_string());
  }
  Status st = core_.connect(peer, std::move(options), Clock::now());
  rearm();
  return st;
}

Result<size_t> UdpEndpoint::send(const PeerAddress& peer,
                                 std::span<const std::uint8_t> message) {
  auto r = core_.send(peer, message, Clock::now());
  rearm();
  return r;
}

Result<size_t> UdpEndpoint::send_media(const PeerAddress& peer, PacketKind kind,
                                       std::span<const std::uint8_t> packet,
                                       const RtpRewrite* rewrite,
                                       MediaRoute* route) {
  // No deadline follows from a packet sent: the core takes no clock reading
  // for it, and the clock is not read per packet here either. The deadline
  // moves only when the send ends a session (a key at its hard limit);
  // socket errors end sessions later, in the core's after(), which rearms.
  // So the timer is looked at only then: a fan-out does not run rearm() per
  // subscriber.
  const std::uint64_t removals = core_.removals();
#ifndef NDEBUG
  const std::optional<TimePoint> deadline = core_.next_deadline();
#endif
  auto r = core_.send_media(peer, kind, packet, TimePoint{}, rewrite, route);
  if (core_.removals() != removals) {
    rearm();
  } else {
    assert(core_.next_deadline() == deadline);
  }
  return r;
}

const srtp::MediaCounters* UdpEndpoint::media_counters(
    const PeerAddress& peer) {
  return core_.media_counters(peer);
}

srtp::SrtpContext* UdpEndpoint::srtp_context(const PeerAddress& peer) {
  return core_.srtp_context(peer);
}

void UdpEndpoint::close_session(const PeerAddress& peer) {
  core_.close_session(peer, Clock::now());
  rearm();
}

void UdpEndpoint::destroy_session(const PeerAddress& peer,
                                  std::optional<Error> error) {
  core_.destroy_session(peer, std::move(error));
  rearm();
}

DtlsAssociation* UdpEndpoint::association(const PeerAddress& peer) {
  return core_.association(peer);
}

Status UdpEndpoint::add_ice_session(IceSessionOptions options) {
  Status st = core_.add_ice_session(std::move(options), Clock::now());
  rearm();
  return st;
}

void UdpEndpoint::remove_ice_session(const std::string& ufrag) {
  core_.remove_ice_session(ufrag, Clock::now());
  rearm();
}

const IceLiteResponder* UdpEndpoint::ice_responder(
    const std::string& ufrag) const {
  return core_.ice_responder(ufrag);
}

PeerAddress UdpEndpoint::remote_of(const PeerAddress& key) const {
  return core_.remote_of(key);
}

void UdpEndpoint::uncork() {
  if (corked_ == 0) return;
  if (--corked_ == 0) flush_batch();
}

// --- The timer ---

void UdpEndpoint::timer_cb(uv_timer_t* t) {
  static_cast<UdpEndpoint*>(t->data)->on_timer();
}

void UdpEndpoint::on_timer() {
  armed_.reset();
  core_.handle_timeout(Clock::now());
  rearm();
}

void UdpEndpoint::rearm() {
  if (released_) return;
  auto next = core_.next_deadline();
  if (next == armed_) return;
  armed_ = next;
  if (!next) {
    uv_timer_stop(&timer_);
    return;
  }
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(*next - Clock::now())
                .count();
  uv_timer_start(&timer_, timer_cb,
                 static_cast<std::uint64_t>(std::max<long long>(ms, 0)), 0);
}

// --- The socket ---

int UdpEndpoint::send_datagram(const PeerAddress& to,
                               std::span<const std::uint8_t> data) {
  if (released_) return UV_EBADF;
  // Media gathered so far leaves first: datagrams keep their order.
  if (batch_ && !batch_->empty()) flush_batch();
  // A connected socket takes no destination (libuv answers EISCONN).
  const sockaddr* dest = connected_ ? nullptr : to.sockaddr_ptr();
  uv_buf_t buf =
      uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(data.data())),
                  static_cast<unsigned>(data.size()));
  // Straight to the kernel when it has room; a copy waits in libuv's queue only
  // when it pushes back (EAGAIN), and is counted sent when it has left.
  int r = options_.always_queue_sends ? UV_EAGAIN
                                      : uv_udp_try_send(&udp_, &buf, 1, dest);
  if (r == UV_EAGAIN) {
    // Bounded: past max_queued_sends the datagram is dropped and the caller
    // told (media: ERR_SEND_QUEUE_FULL; DTLS recovers by retransmission).
    if (uv_udp_get_send_queue_count(&udp_) >= options_.max_queued_sends) {
      drop_for_full_queue();
      return UV_ENOBUFS;
    }
    return send_queued(dest, data);
  }
  if (r < 0) {
    io_stats().send_errors++;
    if (connected_ && ends_connection(r)) pending_socket_error_ = r;
    return r;
  }
  count_sent(data.size());
  return 0;
}

int UdpEndpoint::send_queued(const sockaddr* to,
                             std::span<const std::uint8_t> data) {
  io_stats().sends_queued++;
  std::unique_ptr<SendRequest> req;
  if (spare_requests_.empty()) {
    // Room for every spare kept (send_cb's bound), once: an endpoint that
    // never meets backpressure holds none of it.
    if (spare_requests_.capacity() == 0) spare_requests_.reserve(128);
    req = std::make_unique<SendRequest>();
  } else {
    req = std::move(spare_requests_.back());
    spare_requests_.pop_back();
  }
  req->data.assign(data.begin(), data.end());
  req->req.data = req.get();
  uv_buf_t copy = uv_buf_init(reinterpret_cast<char*>(req->data.data()),
                              static_cast<unsigned>(req->data.size()));
  if (int r = uv_udp_send(&req->req, &udp_, &copy, 1, to, send_cb); r != 0) {
    io_stats().send_errors++;
    return r;  // `req` is freed
  }
  req.release();  // libuv's until send_cb
  return 0;
}

void UdpEndpoint::send_cb(uv_udp_send_t* req, int status) {
  std::unique_ptr<SendRequest> done(static_cast<SendRequest*>(req->data));
  auto* self = static_cast<UdpEndpoint*>(req->handle->data);
  if (status >= 0) {
    self->io_stats().packets_sent++;
    self->io_stats().bytes_sent += done->data.size();
  } else {
    self->io_stats().send_errors++;  // UV_ECANCELED: released before it left
  }
  // Kept for the next queued datagram, within bounds: at most 128, and not
  // one grown by a large (GSO) datagram.
  if (self->spare_requests_.size() < 128 && done->data.capacity() <= 4096) {
    done->data.clear();
    self->spare_requests_.push_back(std::move(done));
  }
  if (uv_udp_get_send_queue_count(&self->udp_) != 0) return;
  if (self->flushing_) {
    self->release_handles();
    return;
  }
  // The backpressure signal's second half (node's 'drain'): the queue that
  // refused datagrams is empty again.
  if (self->drain_pending_ && !self->core_.closing() && !self->released_) {
    self->drain_pending_ = false;
    if (self->callbacks_.on_drain) self->callbacks_.on_drain();
  }
}

void UdpEndpoint::flush_timeout_cb(uv_timer_t* t) {
  static_cast<UdpEndpoint*>(t->data)->release_handles();
}

void UdpEndpoint::flush_batch() {
  if (!batch_ || batch_->empty()) return;
  SendBatch& b = *batch_;
  size_t i = 0;
  uv_os_fd_t fd = -1;
  if (released_ || uv_fileno(reinterpret_cast<uv_handle_t*>(&udp_), &fd) != 0) {
    io_stats().send_errors += b.size();
    b.clear();
    return;
  }
  // Behind datagrams already waiting in libuv's queue, never ahead of them.
  const bool queue_first =
      options_.always_queue_sends || uv_udp_get_send_queue_count(&udp_) > 0;
  while (i < b.size() && !queue_first) {
    SendBatch::Sent sent = b.send(fd, i);
    io_stats().send_batches++;
    for (size_t k = 0; k < sent.count; ++k)
      count_sent(b.datagram(i + k).size());
    i += sent.count;
    if (sent.error == 0) continue;
    if (sent.error == -EAGAIN || sent.error == -EWOULDBLOCK) break;
    // This datagram is refused (e.g. ECONNREFUSED from an earlier ICMP
    // error on a connected socket); the rest still go.
    io_stats().send_errors++;
    if (connected_ && ends_connection(sent.error)) {
      pending_socket_error_ = sent.error;
    }
    ++i;
  }
  // The kernel pushed back: the rest wait in libuv's queue, bounded.
  for (; i < b.size(); ++i) {
    if (uv_udp_get_send_queue_count(&udp_) >= options_.max_queued_sends) {
      drop_for_full_queue();
      continue;
    }
    send_queued(b.destination(i), b.datagram(i));
  }
  b.clear();
}

void UdpEndpoint::close() {
  if (core_.closing() || released_) return;
  core_.close(Clock::now());
  release_when_flushed();
}

// Closing the socket would cancel what waits in libuv's send queue (the
// close_notify alerts among it), so the release waits for the queue to empty,
// bounded by close_flush_timeout.
void UdpEndpoint::release_when_flushed() {
  if (released_ || flushing_) return;
  if (uv_udp_get_send_queue_count(&udp_) == 0) {
    release_handles();
    return;
  }
  flushing_ = true;
  uv_timer_stop(&timer_);
  armed_.reset();
  uv_timer_stop(&flush_timer_);
  uv_timer_start(
      &flush_timer_, flush_timeout_cb,
      static_cast<std::uint64_t>(options_.close_flush_timeout.count()), 0);
}

void UdpEndpoint::destroy(std::optional<Error> error) {
  if (released_) return;
  release_handles();
  // The sessions' callbacks run after the socket is gone: nothing they send
  // leaves.
  core_.destroy(std::move(error));
}

void UdpEndpoint::release_handles() {
  released_ = true;
  flushing_ = false;
  if (inbox_) {
    options_.port_group->leave(options_.port_member);
    inbox_->forget();
    inbox_.reset();
  }
  for (uv_handle_t* h : {reinterpret_cast<uv_handle_t*>(&poll_),
                         reinterpret_cast<uv_handle_t*>(&udp_),
                         reinterpret_cast<uv_handle_t*>(&timer_),
                         reinterpret_cast<uv_handle_t*>(&flush_timer_)}) {
    if (h->loop != nullptr && h->data == this && !uv_is_closing(h))
      uv_close(h, close_cb);
  }
  // uv_close has stopped the poll handle: its descriptor may go now.
  if (poll_fd_ >= 0) {
    ::close(poll_fd_);
    poll_fd_ = -1;
  }
}

void UdpEndpoint::close_cb(uv_handle_t* h) {
  auto* self = static_cast<UdpEndpoint*>(h->data);
  if (--self->open_handles_ > 0) return;
  // The last handle is closed: nothing in libuv points at us any more.
  if (self->callbacks_.on_closed) self->callbacks_.on_closed();
  std::shared_ptr<UdpEndpoint> keep = std::move(self->self_);
}

}  // namespace dtls
