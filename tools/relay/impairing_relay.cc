#include "tools/relay/impairing_relay.h"

#include <algorithm>

namespace dtls::relay {

struct ImpairingRelay::Flow {
  Flow(ImpairingRelay& r, std::size_t n, PeerAddress c)
      : relay(&r),
        index(n),
        client(std::move(c)),
        to_target(r.config_.to_target,
                  flow_seed(r.config_.seed, r.config_.first_flow + n, 0)),
        to_client(r.config_.to_client,
                  flow_seed(r.config_.seed, r.config_.first_flow + n, 1)) {}
  ImpairingRelay* relay;
  std::size_t index;
  PeerAddress client;
  // Bound to an ephemeral port of its own; its data is this flow (no
  // callback reaches it once it is closed).
  uv_udp_t* upstream = nullptr;  // null once the flow expired
  TimePoint last_active;
  Impairment to_target;
  Impairment to_client;
};

namespace {

// uv handles outlive the relay until the loop runs their close callbacks.
template <typename Handle>
void close_and_free(Handle* h) {
  if (h == nullptr) return;
  uv_close(reinterpret_cast<uv_handle_t*>(h),
           [](uv_handle_t* p) { delete reinterpret_cast<Handle*>(p); });
}

PeerAddress local_address(uv_udp_t* udp) {
  sockaddr_storage ss{};
  int len = sizeof(ss);
  uv_udp_getsockname(udp, reinterpret_cast<sockaddr*>(&ss), &len);
  return PeerAddress::from_sockaddr(reinterpret_cast<sockaddr*>(&ss));
}

// splitmix64's finaliser: neighbouring inputs give unrelated seeds.
std::uint64_t mix(std::uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

std::uint64_t flow_seed(std::uint64_t seed, std::uint64_t n, int direction) {
  return mix(mix(seed) ^ (n * 2 + static_cast<std::uint64_t>(direction)));
}

Result<std::unique_ptr<ImpairingRelay>> ImpairingRelay::create(
    uv_loop_t* loop, const PeerAddress& listen, const PeerAddress& target,
    RelayConfig config) {
  if (Status s = validate_impairment(config.to_target); !s.ok())
    return s.error();
  if (Status s = validate_impairment(config.to_client); !s.ok())
    return s.error();
  std::unique_ptr<ImpairingRelay> r(
      new ImpairingRelay(loop, target, std::move(config)));
  if (Status s = r->start(listen); !s.ok()) return s.error();
  return r;
}

ImpairingRelay::ImpairingRelay(uv_loop_t* loop, PeerAddress target,
                               RelayConfig config)
    : loop_(loop), target_(std::move(target)), config_(std::move(config)) {}

Status ImpairingRelay::start(const PeerAddress& listen) {
  front_ = new uv_udp_t;
  uv_udp_init(loop_, front_);
  front_->data = this;
  timer_ = new uv_timer_t;
  uv_timer_init(loop_, timer_);
  timer_->data = this;
  if (int rc = uv_udp_bind(front_, listen.sockaddr_ptr(), 0); rc != 0) {
    return make_error(
        "ERR_SOCKET_BIND",
        "relay: cannot bind " + listen.to_string() + ": " + uv_strerror(rc));
  }
  address_ = local_address(front_);
  uv_udp_recv_start(front_, front_alloc_cb, front_recv_cb);
  if (config_.flow_idle > std::chrono::milliseconds(0)) {
    sweep_ = new uv_timer_t;
    uv_timer_init(loop_, sweep_);
    sweep_->data = this;
    // A flow is closed between flow_idle and 1.5 flow_idle after its last
    // datagram.
    const auto every = static_cast<std::uint64_t>(
        std::max<long long>(1, config_.flow_idle.count() / 2));
    uv_timer_start(sweep_, sweep_cb, every, every);
  }
  return {};
}

void ImpairingRelay::sweep_cb(uv_timer_t* t) {
  auto* self = static_cast<ImpairingRelay*>(t->data);
  const TimePoint now = Clock::now();
  for (auto& f : self->flows_) {
    if (f->upstream == nullptr ||
        now - f->last_active < self->config_.flow_idle)
      continue;
    close_and_free(f->upstream);
    f->upstream = nullptr;
    self->by_client_.erase(f->client);
    self->expired_flows_++;
  }
}

ImpairingRelay::~ImpairingRelay() {
  close_and_free(front_);
  close_and_free(timer_);
  close_and_free(sweep_);
  for (auto& f : flows_) close_and_free(f->upstream);
}

RelayStats ImpairingRelay::stats() const {
  RelayStats s;
  for (const auto& f : flows_) {
    s.to_target += f->to_target.stats();
    s.to_client += f->to_client.stats();
  }
  s.flows = flows_.size();
  s.refused_flows = refused_flows_;
  s.expired_flows = expired_flows_;
  s.expired_drops = expired_drops_;
  s.send_errors = send_errors_;
  return s;
}

ImpairingRelay::Flow* ImpairingRelay::flow_for(const PeerAddress& client) {
  if (auto it = by_client_.find(client); it != by_client_.end())
    return flows_[it->second].get();
  if (flows_.size() - expired_flows_ >= config_.max_flows) {
    refused_flows_++;
    return nullptr;
  }
  const std::size_t n = flows_.size();
  auto flow = std::make_unique<Flow>(*this, n, client);
  flow->upstream = new uv_udp_t;
  uv_udp_init(loop_, flow->upstream);
  flow->upstream->data = flow.get();
  auto any = PeerAddress::parse(address_.ip(), 0);
  if (!any.ok() || uv_udp_bind(flow->upstream, any->sockaddr_ptr(), 0) != 0) {
    close_and_free(flow->upstream);
    refused_flows_++;
    return nullptr;
  }
  uv_udp_recv_start(flow->upstream, upstream_alloc_cb, upstream_recv_cb);
  flows_.push_back(std::move(flow));
  by_client_.emplace(client, n);
  return flows_.back().get();
}

void ImpairingRelay::front_alloc_cb(uv_handle_t* h, std::size_t,
                                    uv_buf_t* buf) {
  auto* self = static_cast<ImpairingRelay*>(h->data);
  *buf = uv_buf_init(self->buffer_.data(),
                     static_cast<unsigned>(self->buffer_.size()));
}

void ImpairingRelay::upstream_alloc_cb(uv_handle_t* h, std::size_t size,
                                       uv_buf_t* buf) {
  ImpairingRelay* self = static_cast<Flow*>(h->data)->relay;
  front_alloc_cb(reinterpret_cast<uv_handle_t*>(self->front_), size, buf);
}

void ImpairingRelay::front_recv_cb(uv_udp_t* h, ssize_t n, const uv_buf_t* buf,
                                   const sockaddr* addr, unsigned) {
  if (n < 0 || addr == nullptr) return;
  auto* self = static_cast<ImpairingRelay*>(h->data);
  Flow* f = self->flow_for(PeerAddress::from_sockaddr(addr));
  if (f == nullptr) return;
  if (!self->first_at_) self->first_at_ = Clock::now();
  self->offer(f->index, false, buf->base, static_cast<std::size_t>(n));
}

void ImpairingRelay::upstream_recv_cb(uv_udp_t* h, ssize_t n,
                                      const uv_buf_t* buf, const sockaddr* addr,
                                      unsigned) {
  if (n < 0 || addr == nullptr) return;
  auto* flow = static_cast<Flow*>(h->data);
  ImpairingRelay* self = flow->relay;
  // Only the target's datagrams go back to the client.
  if (!(PeerAddress::from_sockaddr(addr) == self->target_)) return;
  self->offer(flow->index, true, buf->base, static_cast<std::size_t>(n));
}

void ImpairingRelay::offer(std::size_t flow, bool to_client, const char* data,
                           std::size_t size) {
  Flow& f = *flows_[flow];
  Impairment& path = to_client ? f.to_client : f.to_target;
  f.last_active = Clock::now();
  const Impairment::Fate fate = path.offer(size, f.last_active);
  for (int i = 0; i < fate.copies; ++i) {
    pending_.push(Pending{fate.at[static_cast<std::size_t>(i)], order_++, flow,
                          to_client,
                          std::vector<std::uint8_t>(data, data + size)});
  }
  deliver_due();
}

void ImpairingRelay::deliver_due() {
  const TimePoint now = Clock::now();
  while (!pending_.empty() && pending_.top().at <= now) {
    const Pending& p = pending_.top();
    Flow& f = *flows_[p.flow];
    uv_buf_t b = uv_buf_init(
        const_cast<char*>(reinterpret_cast<const char*>(p.bytes.data())),
        static_cast<unsigned>(p.bytes.size()));
    // Loopback takes a datagram at once or not at all; a refusal is a loss
    // the relay did not choose, so it is counted apart.
    // A datagram held longer than its flow lived toward the target is
    // dropped with it (a NAT binding gone).
    if (!p.to_client && f.upstream == nullptr) {
      expired_drops_++;
    } else {
      const int rc =
          p.to_client
              ? uv_udp_try_send(front_, &b, 1, f.client.sockaddr_ptr())
              : uv_udp_try_send(f.upstream, &b, 1, target_.sockaddr_ptr());
      if (rc < 0) send_errors_++;
    }
    pending_.pop();
  }
  arm_timer();
}

void ImpairingRelay::arm_timer() {
  if (pending_.empty()) {
    uv_timer_stop(timer_);
    return;
  }
  // libuv times in whole milliseconds: round up, then deliver whatever is
  // due when it fires.
  const auto wait = std::chrono::ceil<std::chrono::milliseconds>(
      pending_.top().at - Clock::now());
  uv_timer_start(
      timer_, timer_cb,
      static_cast<std::uint64_t>(std::max<long long>(0, wait.count())), 0);
}

void ImpairingRelay::timer_cb(uv_timer_t* t) {
  static_cast<ImpairingRelay*>(t->data)->deliver_due();
}

}  // namespace dtls::relay
