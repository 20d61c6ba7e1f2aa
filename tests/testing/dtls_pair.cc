#include "tests/testing/dtls_pair.h"

#include <map>
#include <mutex>

#include "tests/testing/fake_wall_clock.h"

namespace dtls::testing {

PairConfig webrtc_pair_config(const std::string& profiles) {
  PairConfig c;
  c.client_context.credentials = test_credentials("client");
  c.server_context.credentials = test_credentials("server");
  c.client_context.srtp_profiles = profiles;
  c.server_context.srtp_profiles = profiles;
  c.client.peer_fingerprints = {certs::Fingerprint::of(
      test_credentials("server").leaf(), certs::HashAlgorithm::kSha256)};
  c.server.peer_fingerprints = {certs::Fingerprint::of(
      test_credentials("client").leaf(), certs::HashAlgorithm::kSha256)};
  return c;
}
namespace {

const std::vector<std::uint8_t> kClientAddress = {4, 127, 0, 0, 1, 0x13, 0x88};
const TimePoint kStart = TimePoint{} + std::chrono::hours(1);

std::vector<std::uint8_t> concat_data(const std::vector<DtlsEvent>& events) {
  std::vector<std::uint8_t> out;
  for (const auto& e : events) {
    if (e.type == DtlsEvent::Type::kData)
      out.insert(out.end(), e.data.begin(), e.data.end());
  }
  return out;
}

std::optional<Error> first_error(const std::vector<DtlsEvent>& events) {
  for (const auto& e : events) {
    if (e.type == DtlsEvent::Type::kError) return e.error;
  }
  return std::nullopt;
}

bool handshaking(const DtlsAssociation* a) {
  return a != nullptr && a->state() == DtlsAssociation::State::kHandshaking;
}

}  // namespace

const certs::Credentials& test_credentials(const std::string& name) {
  static std::mutex mu;
  static std::map<std::string, certs::Credentials> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(name);
  if (it == cache.end()) {
    certs::GenerateOptions o;
    o.common_name = name;
    it = cache.emplace(name, std::move(certs::generate_certificate(o)).value())
             .first;
  }
  return it->second;
}

DtlsPair::DtlsPair(PairConfig config)
    : now(kStart),
      link(config.seed, config.client_to_server, config.server_to_client),
      config_(std::move(config)) {}

bool DtlsPair::start() {
  set_wall_clock(now);
  auto cc = DtlsContext::create(config_.client_context);
  if (!cc.ok()) {
    setup_error = cc.error();
    return false;
  }
  client_context_ = *cc;
  if (config_.shared_server_context) {
    server_context_ = config_.shared_server_context;
  } else {
    auto sc = DtlsContext::create(config_.server_context);
    if (!sc.ok()) {
      setup_error = sc.error();
      return false;
    }
    server_context_ = *sc;
  }
  auto c = DtlsAssociation::connect(client_context_, config_.client, now);
  if (!c.ok()) {
    setup_error = c.error();
    return false;
  }
  client_ = std::move(c).value();
  flush();
  return true;
}

bool DtlsPair::both_open() const {
  return client_ && server_ &&
         client_->state() == DtlsAssociation::State::kOpen &&
         server_->state() == DtlsAssociation::State::kOpen;
}

std::optional<Error> DtlsPair::client_error() const {
  return first_error(client_events);
}
std::optional<Error> DtlsPair::server_error() const {
  if (accept_error) return accept_error;
  return first_error(server_events);
}
std::vector<std::uint8_t> DtlsPair::received_by_server() const {
  return concat_data(server_events);
}
std::vector<std::uint8_t> DtlsPair::received_by_client() const {
  return concat_data(client_events);
}

void DtlsPair::flush() {
  std::vector<std::uint8_t> d;
  while (client_ && client_->pop_datagram(d)) {
    Duration extra{};
    if (config_.client_filter) {
      auto verdict = config_.client_filter(d, client_datagrams_);
      client_datagrams_++;
      if (!verdict) continue;
      extra = *verdict;
    }
    link.send(Side::kA, std::move(d), now, extra);
  }
  while (server_ && server_->pop_datagram(d)) send_from_server(std::move(d));
  DtlsEvent e;
  while (client_ && client_->pop_event(e))
    client_events.push_back(std::move(e));
  while (server_ && server_->pop_event(e))
    server_events.push_back(std::move(e));
}

void DtlsPair::send_from_server(std::vector<std::uint8_t> datagram) {
  Duration extra{};
  if (config_.server_filter) {
    auto verdict = config_.server_filter(datagram, server_datagrams_);
    server_datagrams_++;
    if (!verdict) return;
    extra = *verdict;
  }
  link.send(Side::kB, std::move(datagram), now, extra);
}

void DtlsPair::deliver(Side to, std::vector<std::uint8_t>& datagram) {
  if (to == Side::kA) {
    client_->handle_datagram(datagram, now);
    return;
  }
  if (server_) {
    server_->handle_datagram(datagram, now);
    return;
  }
  // No per-peer state until the gate accepts a cookie (RFC 6347 §4.2.1).
  CookieGate::Decision d = gate.inspect(datagram, kClientAddress, now);
  switch (d.verdict) {
    case CookieGate::Verdict::kDrop:
      gate_drops++;
      break;
    case CookieGate::Verdict::kHelloVerify:
      hello_verify_requests++;
      send_from_server(
          std::vector<std::uint8_t>(d.reply.begin(), d.reply.end()));
      break;
    case CookieGate::Verdict::kAccept: {
      auto s = DtlsAssociation::accept(server_context_, config_.server,
                                       datagram, d.cookie, now, d.cookie_age);
      if (s.ok()) {
        server_ = std::move(s).value();
      } else {
        accept_error = s.error();
      }
      break;
    }
  }
}

bool DtlsPair::step(TimePoint limit) {
  flush();
  std::optional<TimePoint> next = link.next_delivery();
  for (DtlsAssociation* a : {client_.get(), server_.get()}) {
    if (a == nullptr) continue;
    if (auto d = a->next_deadline(); d && (!next || *d < *next)) next = *d;
  }
  if (!next || *next > limit) return false;
  now = std::max(now, *next);
  set_wall_clock(now);
  Side to;
  std::vector<std::uint8_t> d;
  while (link.pop_due(now, to, d)) {
    deliver(to, d);
    if (config_.on_deliver) config_.on_deliver(to, d);
  }
  for (DtlsAssociation* a : {client_.get(), server_.get()}) {
    if (a == nullptr) continue;
    if (auto deadline = a->next_deadline(); deadline && *deadline <= now)
      a->handle_timeout(now);
  }
  flush();
  return true;
}

void DtlsPair::run_handshake() {
  const TimePoint limit = now + config_.time_limit;
  while (handshaking(client_.get()) || handshaking(server_.get()) ||
         (client_ && client_->state() == DtlsAssociation::State::kOpen &&
          !server_ && !accept_error)) {
    if (!step(limit)) break;
  }
  flush();
}

void DtlsPair::run_for(Duration span) {
  const TimePoint limit = now + span;
  while (step(limit)) {
  }
  now = std::max(now, limit);
  set_wall_clock(now);
  flush();
}

}  // namespace dtls::testing
