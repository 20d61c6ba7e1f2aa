// The public API: Node's node:dtls module (listen, connect, DTLSSession,
// DTLSEndpoint) in C++ style, with option meanings from node:tls.
//   dtls.listen(cb, options)        -> dtls::listen(loop, on_session or
//                                      SessionListener, ListenOptions)
//   dtls.connect(host, port, opts)  -> dtls::connect(loop, host, port,
//                                      ConnectOptions[, SessionListener])
//   DTLSSession / DTLSEndpoint      -> dtls::Session / dtls::Endpoint
//                                      (copyable handles)
//
// The public headers need C++20 (std::span, designated initializers).
//
// Threads. Handles belong to the loop their session or endpoint lives on,
// and every callback runs on that loop's thread.
// - On the caller's uv_loop_t: call everything on that loop's thread (ask()
//   included: it runs at once there). The futures from opened() and closed()
//   may be waited on from any other thread (never on the loop's own thread,
//   which would stop the loop that resolves them).
// - On an EventLoop (a loop the library runs on its own thread), members may
//   be called from any thread. On the loop's own thread every call runs at
//   once. From any other thread (another EventLoop's included) no member
//   waits for the loop. Sends are queued: send, send_rtp and send_rtcp copy
//   the packet into the loop's bounded queue
//   (LoopDispatcher::kMediaQueueCapacity packets, ERR_SEND_QUEUE_FULL past
//   it) and return the bytes it will put on the wire; the loop sends
//   everything queued in one batch per wakeup, and a send that fails there
//   is counted in stats().posted_send_failures. Actions are posted: close,
//   destroy, set_busy, the on_* setters, on_opened and on_closed; cork and
//   uncork do nothing (queued media is batched anyway). What answers with
//   the loop's state (stats, export_keying_material, the handshake's
//   properties, state, listen, connect, add_ice_session,
//   set_secure_context, the buffer sizes, ...) is asked for: ask(fn) runs fn
//   with the handle on the loop and returns a future of its answer, post(fn)
//   runs it there with no answer. Called directly from another thread such
//   a member returns ERR_NOT_ON_LOOP, or its empty value where it returns no
//   error (as on an empty handle): to wait for an end, wait on closed()
//   rather than polling state(). What never changes, or the loop publishes,
//   is read anywhere: id(), srtp_side(), ice_credentials(), opened(),
//   closed(), and Endpoint::address() (published when the socket is bound
//   and when it is let go). Only
//   dtls::listen and dtls::connect given an EventLoop wait, for the loop to
//   make what they return (a loop that waits so answers the calls made to
//   it meanwhile, so loops making things on each other cannot wait on each
//   other); Endpoint::create(EventLoop&) does not, and asking its listen()
//   or connect() is the way that never waits. While the loop stops, what is
//   posted still runs on its thread; after EventLoop::stop() has returned,
//   handles stay safe: their calls run at the caller and fail as for a
//   destroyed session.
#ifndef DTLS_SRTP_TRANSPORT_DTLS_API_H_
#define DTLS_SRTP_TRANSPORT_DTLS_API_H_

#include <uv.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

#include "certs/certificate.h"
#include "srtp/srtp_context.h"
#include "srtp/srtp_keys.h"
#include "transport/base/error.h"
#include "transport/base/time.h"
#include "transport/dtls/dtls_association.h"
#include "transport/dtls_options.h"
#include "transport/endpoint/half_open_table.h"
#include "transport/endpoint/rtp_rewrite.h"
#include "transport/ice/ice_lite.h"
#include "transport/io/event_loop.h"

namespace dtls {

namespace detail {
struct SessionImpl;
struct EndpointImpl;
struct Handles;
}  // namespace detail

class Session;

// node's { address, family, port }.
struct AddressInfo {
  std::string address;
  std::string family;  // "IPv4" / "IPv6"
  std::uint16_t port = 0;
};

// Everything the session's association counts (AssociationStats: bytes,
// messages, datagrams, retransmissions, smoothed_rtt, record_drops,
// created_at, handshake_completed_at, released_at), and:
struct SessionStats : AssociationStats {
  std::optional<TimePoint> destroyed_at;
  std::optional<TimePoint> closing_at;
  // SRTP/SRTCP: packets and bytes protected and unprotected, inbound failures
  // by kind (authentication, replay, malformed, too short), key soft-limit
  // events.
  srtp::MediaCounters media;
  // Sends made from other threads (queued, see the threading rule above)
  // that failed once the loop took them: the session had ended, the send
  // queue was full, the packet was not RTP/RTCP, a message too large.
  std::uint64_t posted_send_failures = 0;
  // DTLS messages that arrived before an on_message callback was in place
  // are held (Session::kHeldMessages) for the first one set; those past
  // that bound are dropped and counted here.
  std::uint64_t unheard_message_drops = 0;
  bool is_connected = false;  // false: a snapshot taken when the session ended
};

// Everything the endpoint counts (EndpointCounters: bytes and datagrams, the
// sessions made, busy refusals, HelloVerifyRequests, send errors, send-queue
// drops, socket errors, media without a session or before its keys, peer
// restarts, STUN checks and errors, the RFC 7983 demux counts, record drops
// of every session, half-open evictions, sessions that let OpenSSL go...),
// and:
struct EndpointStats : EndpointCounters {
  TimePoint created_at{};
  std::optional<TimePoint> destroyed_at;
  // Half-open handshakes now (see ListenOptions::max_half_open).
  std::uint64_t half_open = 0;
  // Deadlines the endpoint's one timer serves now: at most one per session
  // (handshake retransmission, idle timeouts), and one each for the
  // half-open table, ICE consent and the cookie rotation. Idle established
  // sessions without an idle timeout hold none, but for one that sent the
  // handshake's last flight (a full handshake's server) while its peer has
  // sent nothing since: it holds one until it lets OpenSSL go, 4 minutes
  // after the handshake (RFC 6347 §4.2.4, AssociationOptions::
  // last_flight_hold) or at the peer's first message or media.
  std::uint64_t deadlines = 0;
  bool is_connected = false;
};

struct EndpointState {
  bool bound = false;
  bool listening = false;
  bool closing = false;
  bool destroyed = false;
  size_t session_count = 0;
};

// The equivalent of node's permission model for the network: when not allowed,
// listen and connect (dtls:: and Endpoint::) fail with ERR_ACCESS_DENIED,
// naming the permission (Net); building options, contexts and endpoints
// (Endpoint::create) does no I/O and stays allowed.
class NetworkPolicy {
 public:
  static void set_allowed(bool allowed);
  static bool allowed();
};

// Callbacks given when a session is made, so that nothing it reports can
// come before they are in place (setting them afterwards from another thread
// races the handshake): connect(..., listener), add_ice_session(config,
// listener), and listen(loop, listener, options) for every server session.
// Each receives the Session it concerns, so no callback needs to capture a
// handle to its own session. They run on the session's loop.
struct SessionListener {
  // The session exists: listen's new server session (node's listen
  // callback), or for connect and add_ice_session before the call returns.
  std::function<void(Session&)> on_created;
  std::function<void(Session&, const std::string& protocol)> on_handshake;
  std::function<void(Session&, std::span<const std::uint8_t>)> on_message;
  std::function<void(Session&, std::span<const std::uint8_t>)> on_rtp;
  std::function<void(Session&, std::span<const std::uint8_t>)> on_rtcp;
  std::function<void(Session&, const Error&)> on_error;
  std::function<void(Session&)> on_drain;
  std::function<void(Session&, std::string_view line)> on_keylog;
  std::function<void(Session&, std::span<const std::uint8_t>)> on_session;
  std::function<void(Session&, const Result<std::string>&)> on_opened;
  std::function<void(Session&, const Status&)> on_closed;
};

// Ownership: an endpoint owns its sessions, and handles only refer to them;
// close() or destroy() ends either, the peer or an error ends a session,
// closing an endpoint ends its sessions, and the last handle to a listen()
// endpoint or a connect() session closes it gracefully (node's
// asyncDispose); server sessions outlive their handles. Handles given to
// callbacks are made for the call, so a callback never keeps its own
// session alive.
//
// Handles. Session and Endpoint are cheap copyable handles. Every member is
// safe on any handle: on an empty (default-constructed) one, members that
// return a Result, a Status or a future give ERR_INVALID_STATE ("an empty
// Session handle"), on_opened/on_closed call back at once with it, getters
// return their empty value (0, false, "", nullopt, {}), and the rest do
// nothing. Once a session has ended, sends give ERR_DTLS_SESSION_DESTROYED,
// opened()/closed() stay settled, stats() is the snapshot taken at the end,
// the handshake's getters (protocol, cipher, certificates, keys...) return
// empty values, and remote_address / ice_credentials keep theirs.
class Session {
 public:
  Session() = default;

  // One message after the handshake (ERR_DTLS_SESSION_NOT_OPEN before it).
  Result<size_t> send(std::span<const std::uint8_t> data);
  Result<size_t> send(std::string_view text);
  // Media (RFC 5764): protects one RTP/RTCP packet with the session's SRTP
  // keys and sends it; returns the bytes on the wire. The packet is not
  // modified. ERR_DTLS_SESSION_NOT_OPEN before the handshake,
  // ERR_DTLS_SESSION_DESTROYED after the end, ERR_SRTP_NOT_NEGOTIATED without
  // an SRTP profile, ERR_SRTP_MALFORMED / ERR_SRTP_TOO_SHORT for a packet that
  // is not RTP/RTCP.
  Result<size_t> send_rtp(std::span<const std::uint8_t> packet);
  Result<size_t> send_rtcp(std::span<const std::uint8_t> packet);
  // Send batching (sendmmsg): media sent between cork() and uncork() (they
  // nest) leaves in batches of up to 32 datagrams per system call, at the
  // last uncork() at the latest. It corks this session's socket: for a
  // server session, the endpoint's, shared with its other sessions (see
  // Endpoint::cork). Media forwarded from on_rtp/on_rtcp is batched without
  // asking, per receive batch.
  void cork();
  void uncork();
  // Backpressure: when the kernel pushes back, datagrams wait in a bounded
  // queue; past it send_rtp/send_rtcp drop the packet and return
  // ERR_SEND_QUEUE_FULL (counted in the endpoint's stats). `cb` runs on the
  // loop once that queue has emptied again (node's 'drain'): sending may
  // resume. The queue belongs to the session's socket, so for a server
  // session it fires when any session on the endpoint was refused.
  void on_drain(std::function<void()> cb);
  // Unprotected packets, on the loop thread; the span lives until the
  // callback returns. Packets that fail to unprotect are counted in
  // stats().media and never delivered.
  void on_rtp(std::function<void(std::span<const std::uint8_t>)> cb);
  void on_rtcp(std::function<void(std::span<const std::uint8_t>)> cb);
  // For applications that run their own SRTP: the negotiated profile's master
  // keys and salts, split (RFC 5764 §4.2), and which side we are.
  Result<srtp::SrtpKeys> srtp_keys() const;
  srtp::Side srtp_side() const;

  // close_notify; the future is closed()'s: it resolves once the session
  // has ended, its close_notify handed to the socket.
  std::shared_future<Status> close();
  // No alert. With an error, the session ends with it: on_error is called,
  // a pending opened() fails with it and closed() resolves with it.
  void destroy(std::optional<Error> error = std::nullopt);

  // Messages that arrive before any on_message callback is in place (set
  // after connect() returned, from another thread) are held, up to
  // kHeldMessages, and handed to the first callback set, in order.
  void on_message(std::function<void(std::span<const std::uint8_t>)> cb);
  static constexpr size_t kHeldMessages = 64;
  void on_error(std::function<void(const Error&)> cb);
  void on_handshake(std::function<void(const std::string& protocol)> cb);
  void on_keylog(std::function<void(std::string_view line)> cb);
  // Also as callbacks on the loop (called at once if already settled).
  void on_opened(std::function<void(const Result<std::string>&)> cb);
  void on_closed(std::function<void(const Status&)> cb);

  // Resolves with the protocol ("DTLSv1.2") or the error that ended the
  // handshake.
  std::shared_future<Result<std::string>> opened() const;
  // Resolves when the session has ended: OK after a close (ours or the
  // peer's close_notify) or destroy(); the error when one ended it (a failed
  // handshake, destroy(error), an unreachable peer).
  std::shared_future<Status> closed() const;

  AddressInfo remote_address() const;
  // ICE sessions: our credentials (empty otherwise).
  IceCredentials ice_credentials() const;
  std::string protocol() const;
  std::optional<CipherInfo> cipher() const;
  std::optional<certs::Certificate> peer_certificate() const;
  std::string alpn_protocol() const;
  std::string srtp_profile() const;
  // ERR_DTLS_SESSION_DESTROYED once the session has ended; the association's
  // range errors (DtlsAssociation::export_keying_material).
  Result<std::vector<std::uint8_t>> export_keying_material(
      size_t length, std::string_view label,
      std::optional<std::span<const std::uint8_t>> context =
          std::nullopt) const;
  SessionStats stats() const;

  // node:tls TLSSocket extras.
  // Client: a resumable session (DER) once the handshake has made one (node's
  // 'session' event); pass it as ConnectOptions::session later.
  void on_session(std::function<void(std::span<const std::uint8_t>)> cb);
  bool is_session_reused() const;
  std::vector<std::uint8_t> session() const;     // getSession()
  std::vector<std::uint8_t> tls_ticket() const;  // client only
  std::vector<std::uint8_t> finished() const;    // RFC 5929 tls-unique
  std::vector<std::uint8_t> peer_finished() const;
  std::vector<std::string> shared_sigalgs() const;
  // Client only; nullopt on a server or before the handshake.
  std::optional<EphemeralKeyInfo> ephemeral_key_info() const;
  // CA mode: whether the peer's chain verified; pinning and PSK: true.
  bool authorized() const;
  std::string authorization_error() const;  // "" or node's code
  // 512..16384; false outside (node's setMaxSendFragment), or once the
  // session has ended. From another thread of a running EventLoop it is
  // posted, and true means in range. Messages larger than the fragment are
  // refused with ERR_DTLS_MESSAGE_TOO_LARGE.
  bool set_max_send_fragment(size_t size);
  std::string servername() const;  // SNI: asked (server) or sent (client)
  std::optional<certs::Certificate> certificate() const;  // ours

  // Runs `fn` with this session on its loop: at once on the loop's thread,
  // posted from any other, so it never waits. How another thread reads
  // anything (stats(), the certificates...) without waiting for the loop:
  // the answer comes back through whatever `fn` does with it. On an empty
  // handle (no loop) it runs at once.
  void post(std::function<void(Session&)> fn) const;
  // The loop's answer without waiting for it: runs `fn` with this session on
  // its loop, as post() does, and returns a future of what `fn` returns
  // (ready at once on the loop's thread). How another thread asks for
  // stats(), export_keying_material() and every other call that answers
  // with the loop's state:
  //   auto stats = session.ask([](Session& s) { return s.stats(); });
  // Waiting on the future is the caller's choice; a loop's thread should
  // not (post() the next step instead).
  template <class F>
  auto ask(F fn) const -> std::future<std::invoke_result_t<F&, Session&>>;

  // Unique in the process for the session's life and after it; 0 for an
  // empty handle. Handles to one session compare equal and hash alike
  // (std::hash<Session>), so they key subscriber maps.
  std::uint64_t id() const;
  friend bool operator==(const Session& a, const Session& b) {
    return a.core_ == b.core_;
  }

  explicit operator bool() const { return core_ != nullptr; }

 private:
  friend struct detail::EndpointImpl;
  friend struct detail::Handles;
  friend class Endpoint;
  friend Result<Session> connect_on(uv_loop_t*, std::shared_ptr<LoopDispatcher>,
                                    std::string_view, std::uint16_t,
                                    ConnectOptions, SessionListener);
  std::shared_ptr<detail::SessionImpl> core_;
  std::shared_ptr<void> owner_;  // connect(): closing on the last handle's drop
};

class Endpoint {
 public:
  Endpoint() = default;

  // node's `new DTLSEndpoint()`: an endpoint with no socket. Nothing is bound
  // and no I/O happens until listen() or connect(), so it may be made while
  // NetworkPolicy denies the network; state().bound is false, address() and
  // stats() are empty, and close() ends it at once (on its loop).
  // ERR_INVALID_ARG_VALUE
  // without a loop.
  static Result<Endpoint> create(uv_loop_t* loop);
  static Result<Endpoint> create(EventLoop& loop);
  // Binds the socket and serves DTLS as dtls::listen does, with `listener`
  // given to every server session. ERR_ACCESS_DENIED while NetworkPolicy
  // denies the network, the option errors of dtls::listen, ERR_INVALID_STATE
  // when the endpoint is bound already (by listen or connect) or closed.
  Status listen(ListenOptions options, SessionListener listener = {});

  // The socket's address; empty before it is bound and after it closed.
  // Readable from any thread.
  AddressInfo address() const;
  EndpointState state() const;
  EndpointStats stats() const;
  // node dgram's getRecvBufferSize / getSendBufferSize: SO_RCVBUF and
  // SO_SNDBUF as the kernel reports them (Linux: twice what it granted).
  // ERR_SOCKET_BUFFER_SIZE once the socket is closed.
  Result<int> recv_buffer_size() const;
  Result<int> send_buffer_size() const;
  void set_busy(bool busy);
  bool busy() const;
  // Send batching for every session on this endpoint's socket: an SFU corks
  // around the loop that sends one packet to many subscribers.
  void cork();
  void uncork();
  // The socket's send queue emptied after it was full (see
  // Session::on_drain); before any session's own callback.
  void on_drain(std::function<void()> cb);
  // close_notify to every session, then the socket is released once its
  // send queue has drained (at most close_flush_timeout); the future is
  // closed()'s.
  std::shared_future<Status> close();
  // No alerts; with an error, every session ends with it (see
  // Session::destroy) and so does closed().
  void destroy(std::optional<Error> error = std::nullopt);
  std::shared_future<Status> closed() const;
  void on_closed(std::function<void(const Status&)> cb);
  // ICE-lite endpoints (ListenOptions::ice_lite): a WebRTC peer. The Session
  // comes back at once; it opens when the peer has passed a check and the
  // DTLS handshake completes, and ends with ERR_ICE_CONSENT_EXPIRED if no
  // check comes. ERR_INVALID_STATE on other endpoints, ERR_INVALID_ARG_VALUE
  // for bad credentials, ERR_SDP_FINGERPRINT_INVALID, ERR_ICE_UFRAG_IN_USE,
  // ERR_RANDOM when local credentials are to be generated and cannot be.
  // `listener` is in place before the call returns.
  Result<Session> add_ice_session(IceSessionConfig config,
                                  SessionListener listener = {});
  // A client session on this endpoint's socket (node:dtls's "one socket,
  // many peers"): server and client sessions side by side on one port, an
  // SFU cascading to another without a socket per peer. On an endpoint with
  // no socket yet (Endpoint::create), the first connect binds one from
  // `options` (bind_host, bind_port, the secure context and the socket's
  // options); it then takes no ClientHellos (state().listening stays false)
  // and the next connects share it. ERR_ACCESS_DENIED while NetworkPolicy
  // denies the network. `host` is an IP
  // address or a name (resolved on the loop, as for dtls::connect: the
  // session comes back at once and ends with ERR_DTLS_HOST_NOT_FOUND when it
  // does not resolve). The session uses this endpoint's secure context (its
  // certificate, ca and ciphers); from `options` it takes what is the
  // session's own: fingerprints, servername, check_server_identity,
  // session, psk_callback, mtu, the handshake and retransmission timers,
  // idle_timeout. Counted in stats().client_sessions. ERR_INVALID_STATE on
  // an empty or closed endpoint, ERR_DTLS_SESSION_EXISTS when a session with
  // that address exists.
  Result<Session> connect(std::string_view host, std::uint16_t port,
                          ConnectOptions options,
                          SessionListener listener = {});
  // node's server.setSecureContext: new handshakes use `context`; open
  // sessions keep theirs (certificate rotation without a restart).
  // ERR_INVALID_ARG_VALUE for an empty context or one without a certificate
  // (unless this endpoint serves PSK), ERR_INVALID_STATE once closed.
  Status set_secure_context(SecureContext context);
  // node's getTicketKeys / setTicketKeys (48 bytes), on the endpoint's current
  // context: tickets under the previous keys still resume once.
  std::vector<std::uint8_t> ticket_keys() const;
  Status set_ticket_keys(std::span<const std::uint8_t> keys);
  // As Session::post: `fn` with this endpoint on its loop, never waiting.
  void post(std::function<void(Endpoint&)> fn) const;
  // As Session::ask: `fn` with this endpoint on its loop, its result in a
  // future (stats(), listen(), connect(), add_ice_session() from another
  // thread).
  template <class F>
  auto ask(F fn) const -> std::future<std::invoke_result_t<F&, Endpoint&>>;
  // As Session's: unique, 0 when empty; equal handles hash alike.
  std::uint64_t id() const;
  friend bool operator==(const Endpoint& a, const Endpoint& b) {
    return a.core_ == b.core_;
  }
  explicit operator bool() const { return core_ != nullptr; }

 private:
  friend struct detail::Handles;
  Result<int> socket_buffer_size(bool receive) const;
  std::shared_ptr<detail::EndpointImpl> core_;
  std::shared_ptr<void>
      owner_;  // closes gracefully when the last handle is dropped
};

namespace detail {
// Session::ask and Endpoint::ask: post() with a promise. `fn` is held by a
// shared_ptr, so a callable that can only be moved (a unique_ptr captured)
// goes through post()'s std::function too.
template <class Handle, class F>
auto ask(const Handle& handle, F fn)
    -> std::future<std::invoke_result_t<F&, Handle&>> {
  using R = std::invoke_result_t<F&, Handle&>;
  auto promise = std::make_shared<std::promise<R>>();
  std::future<R> answer = promise->get_future();
  // Made in the capture, so that no reference stays with the caller: fn is
  // destroyed with the posted function, on the loop's thread.
  handle.post(
      [promise, held = std::make_shared<F>(std::move(fn))](Handle& self) {
        try {
          if constexpr (std::is_void_v<R>) {
            (*held)(self);
            promise->set_value();
          } else {
            promise->set_value((*held)(self));
          }
        } catch (...) {
          promise->set_exception(std::current_exception());
        }
      });
  return answer;
}
}  // namespace detail

template <class F>
auto Session::ask(F fn) const
    -> std::future<std::invoke_result_t<F&, Session&>> {
  return detail::ask(*this, std::move(fn));
}

template <class F>
auto Endpoint::ask(F fn) const
    -> std::future<std::invoke_result_t<F&, Endpoint&>> {
  return detail::ask(*this, std::move(fn));
}

// The result of a fan-out send: how many subscribers got the packet, how
// many did not, and the first refusal (as Session::send_rtp gives it).
struct FanOutResult {
  size_t sent = 0;
  size_t failed = 0;
  std::optional<Error> first_error;
};

// An SFU's hot path: one RTP packet to every session in `to`, each protected
// with that session's keys straight into its socket's send batch, with
// `rewrites[i]` (SSRC, payload type, sequence number, timestamp) applied to
// the copy for to[i] when given. The packet is not modified and nothing is
// allocated; the batches leave in one sendmmsg per 32 datagrams when the
// call returns. Sessions may be on several endpoints and loops: those of
// other loops are queued as Session::send_rtp from another thread does. A
// subscriber that cannot take it (not open, ended, queue full...) is
// counted in `failed` and the others still get it. `rewrites` is empty or
// as long as `to` (else nothing is sent: ERR_INVALID_ARG_VALUE); a rewrite
// of a packet that is not RTP fails with ERR_SRTP_MALFORMED. `outcomes`,
// when given, is as long as `to` (else nothing is sent:
// ERR_INVALID_ARG_VALUE) and gets each subscriber's: empty (false) when the
// packet was sent or queued, else the refusal's code (an Errc), so that an
// SFU can drop or pause exactly the subscribers that failed; writing them
// allocates nothing.
FanOutResult send_rtp(std::span<const Session> to,
                      std::span<const std::uint8_t> packet,
                      std::span<const RtpRewrite> rewrites = {},
                      std::span<std::error_code> outcomes = {});

Result<Endpoint> listen(uv_loop_t* loop,
                        std::function<void(Session)> on_session,
                        ListenOptions options);
// Every server session gets `listener` before anything of it is reported
// (then its on_created).
Result<Endpoint> listen(uv_loop_t* loop, SessionListener listener,
                        ListenOptions options);
// `host` is an IP address or a name. A name (even "localhost") is resolved on
// the loop
// (uv_getaddrinfo, IPv4 first): the Session comes back at once, and a name
// that does not resolve ends it with ERR_DTLS_HOST_NOT_FOUND (opened, closed,
// on_error). Every other error comes back here.
Result<Session> connect(uv_loop_t* loop, std::string_view host,
                        std::uint16_t port, ConnectOptions options,
                        SessionListener listener = {});

// The same on a loop the library runs on its own thread; callable from any
// thread.
Result<Endpoint> listen(EventLoop& loop,
                        std::function<void(Session)> on_session,
                        ListenOptions options);
Result<Endpoint> listen(EventLoop& loop, SessionListener listener,
                        ListenOptions options);
Result<Session> connect(EventLoop& loop, std::string_view host,
                        std::uint16_t port, ConnectOptions options,
                        SessionListener listener = {});

// Implementation; a null dispatcher means the caller's loop.
Result<Endpoint> listen_on(uv_loop_t* loop,
                           std::shared_ptr<LoopDispatcher> dispatcher,
                           std::function<void(Session)> on_session,
                           ListenOptions options);
Result<Session> connect_on(uv_loop_t* loop,
                           std::shared_ptr<LoopDispatcher> dispatcher,
                           std::string_view host, std::uint16_t port,
                           ConnectOptions options,
                           SessionListener listener = {});

}  // namespace dtls

template <>
struct std::hash<dtls::Session> {
  size_t operator()(const dtls::Session& s) const noexcept {
    return std::hash<std::uint64_t>()(s.id());
  }
};
template <>
struct std::hash<dtls::Endpoint> {
  size_t operator()(const dtls::Endpoint& e) const noexcept {
    return std::hash<std::uint64_t>()(e.id());
  }
};

#endif  // DTLS_SRTP_TRANSPORT_DTLS_API_H_
