#include "tests/testing/sim_network.h"

#include <algorithm>
#include <utility>

#include "tests/testing/fake_wall_clock.h"

namespace dtls::testing {
namespace {

const TimePoint kStart = TimePoint{} + std::chrono::hours(1);

// Rounds at one time without any deadline moving: a deadline a core keeps
// reporting as due (OpenSSL's millisecond timer not yet expired) is let go
// by moving the clock on by a millisecond.
constexpr int kMaxRoundsAtOneTime = 100;

}  // namespace

PeerAddress sim_address(int host, std::uint16_t port) {
  return std::move(PeerAddress::parse("10.0.0." + std::to_string(host), port))
      .value();
}

bool SimPortDirectory::claim(std::string_view ufrag, std::string_view pwd,
                             Member member) {
  return owners_.emplace(std::string(ufrag), Owner{std::string(pwd), member})
      .second;
}

void SimPortDirectory::release(std::string_view ufrag, Member member) {
  auto it = owners_.find(std::string(ufrag));
  if (it != owners_.end() && it->second.member == member) owners_.erase(it);
}

std::optional<PortDirectory::Member> SimPortDirectory::holder(
    std::string_view ufrag) const {
  auto it = owners_.find(std::string(ufrag));
  if (it == owners_.end()) return std::nullopt;
  return it->second.member;
}

std::optional<PortDirectory::Member> SimPortDirectory::owner(
    const stun::Message& request) const {
  auto ufrag = local_ufrag(request);
  if (!ufrag) return std::nullopt;
  auto it = owners_.find(std::string(*ufrag));
  if (it == owners_.end() ||
      !request.check_integrity(std::string_view(it->second.pwd))) {
    return std::nullopt;
  }
  return it->second.member;
}

// What a core sends goes onto the network from its node's current address.
class SimNetwork::Sink : public DatagramSink {
 public:
  Sink(SimNetwork& network, Node& node) : network_(network), node_(node) {}
  int send(const PeerAddress& to, std::span<const std::uint8_t> data) override;
  std::span<std::uint8_t> media_buffer(size_t size) override {
    if (media_.size() < size) media_.resize(size);
    return media_;
  }
  int send_media(const PeerAddress& to, size_t length) override {
    return send(to, std::span<const std::uint8_t>(media_).first(length));
  }
  int forward(PortDirectory::Member to, const PeerAddress& from,
              std::span<const std::uint8_t> data) override;

 private:
  SimNetwork& network_;
  Node& node_;
  std::vector<std::uint8_t> media_;
};

struct SimNetwork::Node {
  PeerAddress address;
  PortDirectory::Member member = 0;
  std::unique_ptr<Sink> sink;
  std::unique_ptr<EndpointCore> core;
};

int SimNetwork::Sink::send(const PeerAddress& to,
                           std::span<const std::uint8_t> data) {
  network_.send(node_.address, to, {data.begin(), data.end()});
  return 0;
}

int SimNetwork::Sink::forward(PortDirectory::Member to, const PeerAddress& from,
                              std::span<const std::uint8_t> data) {
  network_.hand_over(node_.address, to, from, data);
  return 0;
}

void SimNetwork::hand_over(const PeerAddress& port,
                           PortDirectory::Member member,
                           const PeerAddress& from,
                           std::span<const std::uint8_t> data) {
  stats_.handed_over++;
  // Another loop takes it on its next turn: now, but not inside this call.
  queue_.push(InFlight{
      now_, order_++,
      Datagram{
          from, port, {data.begin(), data.end()}, static_cast<int>(member)}});
}

SimNetwork::SimNetwork(std::uint64_t seed, LinkConfig link)
    : now_(kStart), rng_(seed), default_link_(link) {
  set_wall_clock(now_);
}

SimNetwork::~SimNetwork() = default;

EndpointCore& SimNetwork::add(const PeerAddress& address,
                              EndpointCoreOptions options,
                              EndpointCore::Callbacks callbacks) {
  remove(address);
  return add_member(address, std::move(options), std::move(callbacks));
}

EndpointCore& SimNetwork::add_member(const PeerAddress& address,
                                     EndpointCoreOptions options,
                                     EndpointCore::Callbacks callbacks) {
  PortDirectory::Member number = 0;
  for (const auto& n : nodes_) number += n->address == address ? 1 : 0;
  options.port_member = number;
  auto n = std::make_unique<Node>();
  n->member = number;
  n->address = address;
  n->sink = std::make_unique<Sink>(*this, *n);
  n->core = std::make_unique<EndpointCore>(
      std::move(options), std::move(callbacks), *n->sink, now_);
  nodes_.push_back(std::move(n));
  return *nodes_.back()->core;
}

SimNetwork::Node* SimNetwork::node(const PeerAddress& address) {
  for (auto& n : nodes_) {
    if (n->address == address) return n.get();
  }
  return nullptr;
}

EndpointCore* SimNetwork::at(const PeerAddress& address) {
  Node* n = node(address);
  return n ? n->core.get() : nullptr;
}

EndpointCore* SimNetwork::member(const PeerAddress& address, size_t index) {
  for (auto& n : nodes_) {
    if (n->address == address && n->member == index) return n->core.get();
  }
  return nullptr;
}

SimNetwork::Node* SimNetwork::receiver(const Datagram& d) {
  std::vector<Node*> members;
  for (auto& n : nodes_) {
    if (n->address == d.to) members.push_back(n.get());
  }
  if (members.empty()) return nullptr;
  if (d.member >= 0) {
    for (Node* n : members) {
      if (n->member == static_cast<PortDirectory::Member>(d.member)) return n;
    }
    return nullptr;  // that member has gone
  }
  if (members.size() == 1) return members[0];
  const size_t i = steer ? steer(d.from, members.size())
                         : PeerAddressHash()(d.from) % members.size();
  return members[i % members.size()];
}

void SimNetwork::remove(const PeerAddress& address) {
  auto it = std::find_if(nodes_.begin(), nodes_.end(),
                         [&](const auto& n) { return n->address == address; });
  if (it == nodes_.end()) return;
  retired_.push_back(std::move(*it));
  nodes_.erase(it);
}

void SimNetwork::move(const PeerAddress& from, const PeerAddress& to) {
  if (Node* n = node(from)) n->address = to;
}

void SimNetwork::set_link(const PeerAddress& from, const PeerAddress& to,
                          LinkConfig link) {
  for (auto& [ends, config] : links_) {
    if (ends.first == from && ends.second == to) {
      config = link;
      return;
    }
  }
  links_.push_back({{from, to}, link});
}

const LinkConfig& SimNetwork::link(const PeerAddress& from,
                                   const PeerAddress& to) const {
  for (const auto& [ends, config] : links_) {
    if (ends.first == from && ends.second == to) return config;
  }
  return default_link_;
}

bool SimNetwork::chance(double p) {
  return p > 0 && std::uniform_real_distribution<>(0, 1)(rng_) < p;
}

void SimNetwork::send(const PeerAddress& from, const PeerAddress& to,
                      std::vector<std::uint8_t> bytes) {
  stats_.sent++;
  Datagram d{from, to, std::move(bytes)};
  if (filter && !filter(d)) {
    stats_.filtered++;
    return;
  }
  const LinkConfig& c = link(from, to);
  TimePoint leaves = now_;
  if (c.rate_bps > 0) {
    relay::Impairment* b = nullptr;
    for (auto& [ends, bottleneck] : bottlenecks_) {
      if (ends.first == from && ends.second == to) b = bottleneck.get();
    }
    if (b == nullptr) {
      relay::ImpairmentConfig rate;
      rate.rate_bps = c.rate_bps;
      rate.queue_bytes = c.queue_bytes;
      bottlenecks_.emplace_back(std::make_pair(from, to),
                                std::make_unique<relay::Impairment>(rate, 0));
      b = bottlenecks_.back().second.get();
    }
    const relay::Impairment::Fate fate = b->offer(d.bytes.size(), now_);
    if (fate.copies == 0) {
      stats_.queue_dropped++;
      return;
    }
    leaves = fate.at[0];
  }
  if (chance(c.loss)) {
    stats_.lost++;
    return;
  }
  TimePoint at = leaves + c.delay;
  if (chance(c.reorder)) {
    at += std::chrono::duration_cast<Duration>(
        c.reorder_delay * std::uniform_real_distribution<>(0, 1)(rng_));
  }
  if (chance(c.duplicate))
    queue_.push(InFlight{at + std::chrono::milliseconds(1), order_++, d});
  queue_.push(InFlight{at, order_++, std::move(d)});
}

std::vector<SimNetwork::Datagram> SimNetwork::take_collected(
    const PeerAddress& to) {
  auto it = collected_.find(to);
  if (it == collected_.end()) return {};
  std::vector<Datagram> out = std::move(it->second);
  collected_.erase(it);
  return out;
}

void SimNetwork::advance(TimePoint to) {
  now_ = to;
  set_wall_clock(now_);
}

bool SimNetwork::step() {
  retired_.clear();
  bool progressed = false;
  while (!queue_.empty() && queue_.top().at <= now_) {
    // priority_queue::top is const; the element is moved out right before pop.
    Datagram d = std::move(const_cast<InFlight&>(queue_.top()).datagram);
    queue_.pop();
    progressed = true;
    if (Node* n = receiver(d)) {
      stats_.delivered++;
      if (d.member >= 0) {
        n->core->handle_forwarded(d.bytes, d.from, now_);
      } else {
        n->core->handle_datagram(d.bytes, d.from, now_);
      }
    } else if (d.member >= 0) {
      stats_.lost++;
    } else {
      stats_.collected++;
      collected_[d.to].push_back(std::move(d));
    }
  }
  for (size_t i = 0; i < nodes_.size(); ++i) {
    EndpointCore& core = *nodes_[i]->core;
    if (auto due = core.next_deadline(); due && *due <= now_) {
      core.handle_timeout(now_);
      progressed = true;
    }
  }
  return progressed;
}

bool SimNetwork::run_until(const std::function<bool()>& done, Duration limit) {
  const TimePoint end = now_ + limit;
  int rounds = 0;
  while (!done()) {
    std::optional<TimePoint> next;
    if (!queue_.empty()) next = queue_.top().at;
    for (const auto& n : nodes_) {
      if (auto d = n->core->next_deadline(); d && (!next || *d < *next))
        next = d;
    }
    if (!next || *next > end) {
      advance(end);
      return done();
    }
    if (*next > now_) {
      advance(*next);
      rounds = 0;
    } else if (++rounds > kMaxRoundsAtOneTime) {
      advance(now_ + std::chrono::milliseconds(1));
      rounds = 0;
    }
    step();
  }
  return true;
}

void SimNetwork::run_for(Duration d) {
  run_until([] { return false; }, d);
}

}  // namespace dtls::testing
