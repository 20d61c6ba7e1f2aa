// The Session handle's members: sends (queued from other threads), callbacks,
// results, and the association's properties, each on the session's loop.
#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "transport/base/prefetch.h"
#include "transport/dtls/srtp_keying.h"
#include "transport/dtls_api.h"
#include "transport/dtls_api_impl.h"
#include "transport/handle_support.h"
#include "transport/io/udp_endpoint.h"

namespace dtls {

namespace {

using detail::act_on_loop;
using detail::cork_socket;
using detail::empty_handle;
using detail::info;
using detail::not_on_loop;
using detail::off_loop;
using detail::on_loop_or;
using detail::ready;
using detail::SessionImpl;
using detail::set_callback;
using detail::when_settled;

Error destroyed() { return make_error(Errc::kDtlsSessionDestroyed); }

// A send from a thread that is not the session's loop: checked against what
// the loop published (open, ended, the SRTP trailers), copied into the
// loop's queue, and sent there with the next batch; it never waits. The
// result is what the send will put on the wire; a failure on the loop is
// counted in stats().posted_send_failures.
Result<size_t> queue_send(const std::shared_ptr<SessionImpl>& core,
                          std::uint8_t tag,
                          std::span<const std::uint8_t> bytes) {
  switch (core->cross_state.load(std::memory_order_acquire)) {
    case SessionImpl::kNotOpen:
      return make_error(Errc::kDtlsSessionNotOpen);
    case SessionImpl::kEnded:
      return destroyed();
    default:
      break;
  }
  size_t wire = bytes.size();
  if (tag != SessionImpl::kQueuedMessage) {
    const int trailer = static_cast<PacketKind>(tag) == PacketKind::kRtp
                            ? core->rtp_trailer
                            : core->rtcp_trailer;
    if (trailer < 0) return make_error(Errc::kSrtpNotNegotiated);
    wire += static_cast<size_t>(trailer);
  }
  switch (core->dispatcher->post_media(core, tag, bytes)) {
    case LoopDispatcher::Queued::kQueued:
      return wire;
    case LoopDispatcher::Queued::kFull:  // the loop's queue, not the socket's
      return make_error(Errc::kSendQueueFull);
    case LoopDispatcher::Queued::kStopped:
      return destroyed();
    case LoopDispatcher::Queued::kTooLarge:
      break;
  }
  // Larger than a queue slot (a big DTLS message): a copy of its own.
  core->dispatcher->post(
      [core, tag,
       copy = std::vector<std::uint8_t>(bytes.begin(), bytes.end())]() mutable {
        // Inside a batch that has begun this session (its socket corked),
        // it joins it; otherwise it makes a batch of its own.
        if (core->queued_socket) {
          core->send_queued(tag, copy);
          return;
        }
        core->begin_queued();
        core->send_queued(tag, copy);
        core->end_queued();
      });
  return wire;
}

// Reads one property of the live association: `ended` once it has ended,
// `elsewhere` when called off the session's running loop (never waits).
template <class T, class F>
T read_association(const std::shared_ptr<SessionImpl>& core, const T& ended,
                   const T& elsewhere, F&& read) {
  if (!core) return ended;
  return on_loop_or(core->dispatcher, elsewhere, [&]() -> T {
    auto* a = core->association();
    return a ? read(*a) : ended;
  });
}

// The same for the getters whose empty value serves both cases.
template <class T, class F>
T read_association(const std::shared_ptr<SessionImpl>& core, const T& empty,
                   F&& read) {
  return read_association(core, empty, empty, std::forward<F>(read));
}

// The socket a session sends on (loop thread): ERR_DTLS_SESSION_NOT_OPEN
// while its host name resolves, ERR_DTLS_SESSION_DESTROYED once it has
// ended.
Result<std::shared_ptr<UdpEndpoint>> socket_for_send(
    const std::shared_ptr<SessionImpl>& core) {
  if (core->resolving) return make_error(Errc::kDtlsSessionNotOpen);
  auto ep = core->endpoint.lock();
  if (core->ended || !ep || !ep->udp) return destroyed();
  return ep->udp;
}

// Sends through the session's socket on the loop, with socket_for_send's
// errors.
template <class F>
Result<size_t> send_on_socket(const std::shared_ptr<SessionImpl>& core,
                              F&& send) {
  if (!core) return empty_handle("Session");
  // Off a running loop sends are queued (queue_send), so this runs here.
  return on_loop_or(core->dispatcher, Result<size_t>(destroyed()),
                    [&]() -> Result<size_t> {
                      auto udp = socket_for_send(core);
                      if (!udp.ok()) return udp.error();
                      return send(**udp, core->peer);
                    });
}

Result<size_t> send_media(const std::shared_ptr<SessionImpl>& core,
                          PacketKind kind, std::span<const std::uint8_t> packet,
                          const RtpRewrite* rewrite = nullptr) {
  if (core && off_loop(core->dispatcher)) {
    if (!rewrite)
      return queue_send(core, static_cast<std::uint8_t>(kind), packet);
    // Rewritten before it is queued (the queue copies it again): on the
    // stack up to a queue slot, which is what the queue takes without a
    // copy of its own anyway.
    std::array<std::uint8_t, LoopDispatcher::kMediaSlotBytes> slot;
    std::vector<std::uint8_t> large;
    std::span<std::uint8_t> copy;
    if (packet.size() <= slot.size()) {
      copy = std::span(slot).first(packet.size());
    } else {
      large.resize(packet.size());
      copy = large;
    }
    std::copy(packet.begin(), packet.end(), copy.begin());
    if (!rewrite->apply(copy)) return make_error(Errc::kSrtpMalformed);
    return queue_send(core, static_cast<std::uint8_t>(kind), copy);
  }
  return send_on_socket(core, [&](UdpEndpoint& udp, const PeerAddress& peer) {
    return udp.send_media(peer, kind, packet, rewrite, &core->route);
  });
}

// The socket a session sends on (loop thread), or null once it is gone.
UdpEndpoint* socket_of(const std::shared_ptr<SessionImpl>& core) {
  auto ep = core->endpoint.lock();
  return ep ? ep->udp.get() : nullptr;
}

}  // namespace

FanOutResult send_rtp(std::span<const Session> to,
                      std::span<const std::uint8_t> packet,
                      std::span<const RtpRewrite> rewrites,
                      std::span<std::error_code> outcomes) {
  FanOutResult result;
  if ((!rewrites.empty() && rewrites.size() != to.size()) ||
      (!outcomes.empty() && outcomes.size() != to.size())) {
    result.failed = to.size();
    result.first_error = make_error(Errc::kInvalidArgValue);
    return result;
  }
  // Every socket met stays corked until the last subscriber's packet is in
  // its batch: one sendmmsg per 32 datagrams. Subscribers are usually on one
  // socket (or a few: one per worker); past kMaxSockets distinct ones, the
  // rest are sent uncorked, which is still correct. Sessions of other loops
  // are queued (their loop batches per wakeup).
  constexpr size_t kMaxSockets = 8;
  std::array<std::shared_ptr<UdpEndpoint>, kMaxSockets> corked;
  size_t sockets = 0;
  // The last subscriber's endpoint, held for the call. Subscribers are
  // usually on one endpoint, and finding its socket per subscriber (a
  // weak_ptr lock and a shared_ptr copy, as socket_for_send does) costs
  // four atomic operations each; owner_before compares control blocks.
  std::shared_ptr<detail::EndpointImpl> held;
  auto held_is = [&held](const std::weak_ptr<detail::EndpointImpl>& ep) {
    return held && !held.owner_before(ep) && !ep.owner_before(held);
  };
  auto send_one = [&](const std::shared_ptr<SessionImpl>& core,
                      const RtpRewrite* rewrite) -> Result<size_t> {
    if (!core) [[unlikely]]
      return empty_handle("Session");
    if (off_loop(core->dispatcher))
      return send_media(core, PacketKind::kRtp, packet, rewrite);
    if (core->resolving) [[unlikely]]
      return make_error(Errc::kDtlsSessionNotOpen);
    if (core->ended) [[unlikely]]
      return destroyed();
    if (!held_is(core->endpoint)) {
      held = core->endpoint.lock();
      if (!held) return destroyed();
    }
    UdpEndpoint* udp = held->udp.get();
    if (udp == nullptr) [[unlikely]]
      return destroyed();
    const auto end = corked.begin() + static_cast<std::ptrdiff_t>(sockets);
    if (sockets < kMaxSockets &&
        std::find_if(corked.begin(), end,
                     [udp](const auto& c) { return c.get() == udp; }) == end) {
      udp->cork();
      corked[sockets++] = held->udp;
    }
    return udp->send_media(core->peer, PacketKind::kRtp, packet, rewrite,
                           &core->route);
  };
  // The look-ahead: a thousand subscribers' state does not stay in cache
  // from one packet to the next, and each send walks a chain of pointers
  // (handle, session, node, SRTP context, and from there the fast path,
  // cipher, OpenSSL context and replay window), a miss at each hop. So while
  // one subscriber's packet is protected, the next kSteps (4) subscribers'
  // chains are fetched, each one hop further than at the subscriber before:
  // the session's line, the node, the SRTP context, and then at once the
  // lines its fast path listed (SrtpContext::prefetch_protect_rtp). A hop reads
  // only what the previous one fetched, a packet's time earlier, and none
  // waits.
  constexpr int kSteps = 1 + UdpEndpoint::kMediaPrefetchSteps;
  auto look_ahead = [&](size_t j, int step) {
    if (j >= to.size()) return;
    const std::shared_ptr<SessionImpl>& core = detail::Handles::core(to[j]);
    if (!core) return;
    if (step == 0) {
      prefetch(&core->dispatcher, kCacheLine);  // the line send_one reads
      return;
    }
    // Only sessions of the endpoint held (alive, and on this thread, as
    // send_one holds none of another): the others are sent as they come.
    // `endpoint` is set once, at construction; the other fields are the
    // loop's.
    if (!held_is(core->endpoint) || core->resolving || core->ended ||
        held->udp == nullptr) {
      return;
    }
    held->udp->prefetch_media(core->route, step - 1);
  };
  for (size_t i = 0; i < to.size(); ++i) {
    for (int step = 0; step < kSteps; ++step)
      look_ahead(i + static_cast<size_t>(kSteps - step), step);
    const Result<size_t> r =
        send_one(detail::Handles::core(to[i]),
                 rewrites.empty() ? nullptr : &rewrites[i]);
    if (r.ok()) {
      ++result.sent;
      if (!outcomes.empty()) outcomes[i] = {};
    } else {
      ++result.failed;
      if (!outcomes.empty()) outcomes[i] = r.error().error_code();
      if (!result.first_error) result.first_error = r.error();
    }
  }
  for (size_t k = 0; k < sockets; ++k) corked[k]->uncork();
  return result;
}

Result<size_t> Session::send(std::span<const std::uint8_t> data) {
  if (core_ && off_loop(core_->dispatcher))
    return queue_send(core_, SessionImpl::kQueuedMessage, data);
  return send_on_socket(core_, [&](UdpEndpoint& udp, const PeerAddress& peer) {
    return udp.send(peer, data);
  });
}

Result<size_t> Session::send(std::string_view text) {
  return send(
      {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
}

Result<size_t> Session::send_rtp(std::span<const std::uint8_t> packet) {
  return send_media(core_, PacketKind::kRtp, packet);
}

Result<size_t> Session::send_rtcp(std::span<const std::uint8_t> packet) {
  return send_media(core_, PacketKind::kRtcp, packet);
}

void Session::cork() {
  if (core_)
    cork_socket(
        core_->dispatcher, [&] { return socket_of(core_); }, true);
}

void Session::uncork() {
  if (core_)
    cork_socket(
        core_->dispatcher, [&] { return socket_of(core_); }, false);
}

void Session::on_drain(std::function<void()> cb) {
  set_callback(core_, &detail::SessionCallbacks::on_drain, std::move(cb));
}
void Session::on_rtp(std::function<void(std::span<const std::uint8_t>)> cb) {
  set_callback(core_, &detail::SessionCallbacks::on_rtp, std::move(cb));
}
void Session::on_rtcp(std::function<void(std::span<const std::uint8_t>)> cb) {
  set_callback(core_, &detail::SessionCallbacks::on_rtcp, std::move(cb));
}
void Session::on_message(
    std::function<void(std::span<const std::uint8_t>)> cb) {
  if (!core_) return;
  // As set_callback, and what was held for it is handed over.
  act_on_loop(core_->dispatcher, [core = core_, cb = std::move(cb)]() mutable {
    if (!core->ended) core->set_on_message(std::move(cb));
  });
}
void Session::on_error(std::function<void(const Error&)> cb) {
  set_callback(core_, &detail::SessionCallbacks::on_error, std::move(cb));
}
void Session::on_handshake(std::function<void(const std::string&)> cb) {
  set_callback(core_, &detail::SessionCallbacks::on_handshake, std::move(cb));
}
void Session::on_keylog(std::function<void(std::string_view)> cb) {
  set_callback(core_, &detail::SessionCallbacks::on_keylog, std::move(cb));
}
void Session::on_session(
    std::function<void(std::span<const std::uint8_t>)> cb) {
  set_callback(core_, &detail::SessionCallbacks::on_session, std::move(cb));
}
void Session::on_opened(std::function<void(const Result<std::string>&)> cb) {
  when_settled(core_, &SessionImpl::opened, std::move(cb),
               Result<std::string>(empty_handle("Session")));
}
void Session::on_closed(std::function<void(const Status&)> cb) {
  when_settled(core_, &SessionImpl::closed, std::move(cb),
               Status(empty_handle("Session")));
}

std::shared_future<Result<std::string>> Session::opened() const {
  if (!core_) return ready(Result<std::string>(empty_handle("Session")));
  return core_->opened.future();
}
std::shared_future<Status> Session::closed() const {
  if (!core_) return ready(Status(empty_handle("Session")));
  return core_->closed.future();
}

std::uint64_t Session::id() const { return core_ ? core_->id : 0; }

void Session::post(std::function<void(Session&)> fn) const {
  if (!fn) return;
  if (!core_) {
    Session empty;
    fn(empty);
    return;
  }
  // The handle runs with the caller's hold on the session (owner included).
  act_on_loop(core_->dispatcher,
              [self = *this, fn = std::move(fn)]() mutable { fn(self); });
}

Result<srtp::SrtpKeys> Session::srtp_keys() const {
  if (!core_) return empty_handle("Session");
  return read_association(
      core_, Result<srtp::SrtpKeys>(destroyed()),
      Result<srtp::SrtpKeys>(not_on_loop("srtp_keys")),
      [](DtlsAssociation& a) { return export_srtp_keys(a); });
}

srtp::Side Session::srtp_side() const {
  return core_ && core_->is_client ? srtp::Side::kClient : srtp::Side::kServer;
}

std::shared_future<Status> Session::close() {
  if (core_)
    act_on_loop(core_->dispatcher, [core = core_] { core->close_now(); });
  return closed();
}

void Session::destroy(std::optional<Error> error) {
  if (core_) {
    act_on_loop(core_->dispatcher, [core = core_, error = std::move(error)] {
      core->destroy_now(error);
    });
  }
}

AddressInfo Session::remote_address() const {
  if (!core_) return {};
  return on_loop_or(core_->dispatcher, AddressInfo{}, [&]() -> AddressInfo {
    if (core_->peer.empty()) return AddressInfo{};
    // ICE: where the session's datagrams go now (the nominated address).
    auto ep = core_->endpoint.lock();
    if (!core_->ended && ep && ep->udp)
      return info(ep->udp->remote_of(core_->peer));
    return info(core_->peer);
  });
}

IceCredentials Session::ice_credentials() const {
  // Fixed when the session was made, before its handle existed.
  return core_ ? core_->ice : IceCredentials{};
}

std::string Session::protocol() const {
  return read_association(core_, std::string(),
                          [](DtlsAssociation& a) { return a.protocol(); });
}
std::optional<CipherInfo> Session::cipher() const {
  return read_association(core_, std::optional<CipherInfo>(),
                          [](DtlsAssociation& a) { return a.cipher(); });
}
std::optional<certs::Certificate> Session::peer_certificate() const {
  return read_association(
      core_, std::optional<certs::Certificate>(),
      [](DtlsAssociation& a) { return a.peer_certificate(); });
}
std::string Session::alpn_protocol() const {
  return read_association(core_, std::string(),
                          [](DtlsAssociation& a) { return a.alpn_protocol(); });
}
std::string Session::srtp_profile() const {
  return read_association(core_, std::string(),
                          [](DtlsAssociation& a) { return a.srtp_profile(); });
}

Result<std::vector<std::uint8_t>> Session::export_keying_material(
    size_t length, std::string_view label,
    std::optional<std::span<const std::uint8_t>> context) const {
  if (!core_) return empty_handle("Session");
  return read_association(
      core_, Result<std::vector<std::uint8_t>>(destroyed()),
      Result<std::vector<std::uint8_t>>(not_on_loop("export_keying_material")),
      [&](DtlsAssociation& a) {
        return a.export_keying_material(length, label, context);
      });
}

SessionStats Session::stats() const {
  if (!core_) return {};
  return on_loop_or(core_->dispatcher, SessionStats{}, [&]() -> SessionStats {
    if (auto* a = core_->association()) {
      auto ep = core_->endpoint.lock();
      return core_->live_stats(*a, ep->udp->media_counters(core_->peer));
    }
    SessionStats s;
    if (core_->resolving || core_->ice_waiting) {
      s.created_at = core_->created_at;
    } else {
      s = core_->snapshot;
    }
    // Sends queued from other threads still fail after the end (and before
    // the association exists), counted here rather than in the snapshot.
    s.posted_send_failures = core_->posted_send_failures;
    return s;
  });
}

bool Session::is_session_reused() const {
  return read_association(
      core_, false, [](DtlsAssociation& a) { return a.is_session_reused(); });
}
std::vector<std::uint8_t> Session::session() const {
  return read_association(core_, std::vector<std::uint8_t>(),
                          [](DtlsAssociation& a) { return a.session(); });
}
std::vector<std::uint8_t> Session::tls_ticket() const {
  return read_association(core_, std::vector<std::uint8_t>(),
                          [](DtlsAssociation& a) { return a.tls_ticket(); });
}
std::vector<std::uint8_t> Session::finished() const {
  return read_association(core_, std::vector<std::uint8_t>(),
                          [](DtlsAssociation& a) { return a.finished(); });
}
std::vector<std::uint8_t> Session::peer_finished() const {
  return read_association(core_, std::vector<std::uint8_t>(),
                          [](DtlsAssociation& a) { return a.peer_finished(); });
}
std::vector<std::string> Session::shared_sigalgs() const {
  return read_association(
      core_, std::vector<std::string>(),
      [](DtlsAssociation& a) { return a.shared_sigalgs(); });
}
std::optional<EphemeralKeyInfo> Session::ephemeral_key_info() const {
  return read_association(
      core_, std::optional<EphemeralKeyInfo>(),
      [](DtlsAssociation& a) { return a.ephemeral_key_info(); });
}
bool Session::authorized() const {
  return read_association(core_, false,
                          [](DtlsAssociation& a) { return a.authorized(); });
}
std::string Session::authorization_error() const {
  return read_association(core_, std::string(), [](DtlsAssociation& a) {
    return a.authorization_error();
  });
}
bool Session::set_max_send_fragment(size_t size) {
  if (!core_) return false;
  const std::optional<bool> here = on_loop_or(
      core_->dispatcher, std::optional<bool>(), [&]() -> std::optional<bool> {
        auto* a = core_->association();
        return a != nullptr && a->set_max_send_fragment(size);
      });
  if (here) return *here;
  // Off a running loop: a setter, so posted; the answer is the range check.
  if (size < DtlsAssociation::kMinSendFragment ||
      size > DtlsAssociation::kMaxSendFragment) {
    return false;
  }
  act_on_loop(core_->dispatcher, [core = core_, size] {
    if (auto* a = core->association()) a->set_max_send_fragment(size);
  });
  return true;
}
std::string Session::servername() const {
  return read_association(core_, std::string(),
                          [](DtlsAssociation& a) { return a.servername(); });
}
std::optional<certs::Certificate> Session::certificate() const {
  return read_association(core_, std::optional<certs::Certificate>(),
                          [](DtlsAssociation& a) { return a.certificate(); });
}

}  // namespace dtls
