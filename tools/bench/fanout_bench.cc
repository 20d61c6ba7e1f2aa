#include "tools/bench/fanout_bench.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <memory>
#include <thread>

#include "srtp/srtp_context.h"
#include "srtp/srtp_profile.h"
#include "tools/bench/bench_support.h"
#include "transport/dtls_api.h"
#include "transport/io/send_batch.h"

namespace dtls::bench {
namespace {

using Steady = std::chrono::steady_clock;

// Paired slices of ours and the bound, 0.1 s each by default: the VM's pace
// drifts within seconds, and with 3 slices one slow one moved the median.
constexpr int kSlices = 7;

// A thousand subscribers are a thousand client sockets: the soft limit on
// open files is often 1024.
void raise_open_file_limit() {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) != 0 || r.rlim_cur >= r.rlim_max) return;
  r.rlim_cur = r.rlim_max;
  setrlimit(RLIMIT_NOFILE, &r);
}

// Sends the batch and returns how many datagrams the kernel took. What it
// pushes back (EAGAIN) is dropped, not retried: a spin on a full socket
// would charge the bound for waiting, which the endpoint does not (it
// queues, and drops past its queue, counted as refusals).
std::uint64_t flush(SendBatch& out, int fd) {
  std::uint64_t taken = 0;
  for (size_t from = 0; from < out.size();) {
    SendBatch::Sent sent = out.send(fd, from);
    taken += sent.count;
    from += sent.count + (sent.error != 0);
  }
  out.clear();
  return taken;
}

// Calls `chunk` on the loop (each call about 2 ms, so that the loop runs
// in between and drains what the kernel pushed back into the socket's
// queue) for `seconds`, after a short warm-up. Returns the datagrams that
// left per second, `left()` counting them, and the refusals the chunks
// returned. Wall time on the pinned core, from the first measured chunk
// until everything sent has left: not the thread's CPU time, because the
// kernel delivers loopback datagrams in softirq work charged to the sending
// thread or to ksoftirqd as load goes, and a datagram that waits in the
// socket's queue leaves between chunks.
template <class F, class Left>
std::pair<double, std::uint64_t> measure(LoopDispatcher& loop, double seconds,
                                         F&& chunk, Left&& left) {
  auto settle = [&] {
    for (std::uint64_t last = left();;) {
      loop.call([] {});
      const std::uint64_t now = left();
      if (now == last) return now;
      last = now;
    }
  };
  for (int i = 0; i < 5; ++i) loop.call(chunk);  // warm-up
  const std::uint64_t before = settle();
  const auto t0 = Steady::now();
  std::uint64_t failed = 0;
  while (std::chrono::duration<double>(Steady::now() - t0).count() < seconds)
    failed += loop.call(chunk);
  const std::uint64_t after = settle();
  const double elapsed =
      std::chrono::duration<double>(Steady::now() - t0).count();
  return {static_cast<double>(after - before) / elapsed, failed};
}

// Holds a loop's thread (it runs nothing) from construction to release():
// while the subscribers' loop is held, their sockets fill and the kernel
// drops what does not fit, the same for ours and for the bound. Otherwise
// what it costs the sending core to wake a receiver, which depends on how
// busy that receiver happens to be with the previous packets, would decide
// the ratio.
class HeldLoop {
 public:
  explicit HeldLoop(LoopDispatcher& loop) : released_(release_.get_future()) {
    std::promise<void> entered;
    auto in = entered.get_future();
    loop.post([&entered, released = released_] {
      entered.set_value();
      released.wait();
    });
    in.wait();
  }
  ~HeldLoop() { release(); }
  void release() {
    if (!done_) release_.set_value();
    done_ = true;
  }

 private:
  std::promise<void> release_;
  std::shared_future<void> released_;
  bool done_ = false;
};

void stamp(std::vector<std::uint8_t>& packet, std::uint16_t seq) {
  packet[2] = static_cast<std::uint8_t>(seq >> 8);
  packet[3] = static_cast<std::uint8_t>(seq);
}

// What the subscribers saw (their loop's thread only).
struct Received {
  std::vector<std::uint64_t> packets;
  bool payload_ok = true;
};

}  // namespace

double FanOutPoint::gbit_per_s() const {
  auto p = srtp::profile_from_name(profile);
  const size_t trailer = p ? srtp::profile_info(*p).rtp_tag_length : 0;
  return ours_pps * static_cast<double>(12 + payload + trailer) * 8 / 1e9;
}

Result<FanOutBenchResult> run_fanout_bench(
    const FanOutOptions& o,
    const std::function<void(const std::string&)>& progress) {
  FanOutBenchResult result;
  if (o.subscribers.empty() || o.payloads.empty() || o.profiles.empty())
    return result;
  for (int n : o.subscribers)
    if (n < 1 || n > 5000)
      return make_error("ERR_OUT_OF_RANGE", "fan-out: subscribers 1..5000");
  for (size_t p : o.payloads)
    if (p < 1 || p > 1400)
      return make_error("ERR_OUT_OF_RANGE", "fan-out: payload 1..1400");
  if (!(o.seconds > 0))
    return make_error("ERR_OUT_OF_RANGE", "fan-out: seconds > 0");
  const int most =
      *std::max_element(o.subscribers.begin(), o.subscribers.end());
  raise_open_file_limit();
  const std::vector<int> cpus = allowed_cpus(2);
  result.cpu_sender = cpus.empty() ? -1 : cpus[0];
  result.cpu_subscribers = cpus.size() < 2 ? -1 : cpus[1];
  auto s_id = identity(), c_id = identity();
  if (!s_id.ok()) return s_id.error();
  if (!c_id.ok()) return c_id.error();

  for (const std::string& profile_name : o.profiles) {
    auto profile = srtp::profile_from_name(profile_name);
    if (!profile)
      return make_error("ERR_INVALID_ARG_VALUE",
                        "fan-out: unknown profile " + profile_name);
    auto pub_started = EventLoop::start("fanout-pub");
    auto sub_started = EventLoop::start("fanout-subs");
    if (!pub_started.ok()) return pub_started.error();
    if (!sub_started.ok()) return sub_started.error();
    std::unique_ptr<EventLoop> pub = std::move(pub_started).value();
    std::unique_ptr<EventLoop> sub = std::move(sub_started).value();
    LoopDispatcher& pd = *pub->dispatcher();
    pd.call([&] { pin_this_thread(result.cpu_sender); });
    sub->dispatcher()->call([&] { pin_this_thread(result.cpu_subscribers); });

    std::vector<Session> accepted;  // the publisher's loop only
    ListenOptions lo;
    lo.cert = s_id->cert;
    lo.key = s_id->key;
    lo.fingerprints = {c_id->fingerprint};
    lo.srtp = profile_name;
    lo.host = "127.0.0.1";
    lo.port = 0;
    lo.reuse_port = true;  // the bound's socket sends from this port too
    SessionListener each;
    each.on_created = [&accepted](Session& s) { accepted.push_back(s); };
    auto endpoint = listen(*pub, each, lo);
    if (!endpoint.ok()) return endpoint.error();

    progress("fan-out " + profile_name + ": " + std::to_string(most) +
             " subscribers connecting");
    // Every SSRC the publisher gives out: ours, then the bound's.
    std::uint32_t max_ssrc = static_cast<std::uint32_t>(most);
    for (int n : o.subscribers)
      max_ssrc += static_cast<std::uint32_t>(n) *
                  static_cast<std::uint32_t>(o.payloads.size());
    Received received;  // the subscribers' loop only
    received.packets.assign(static_cast<size_t>(most), 0);
    ConnectOptions co;
    co.cert = c_id->cert;
    co.key = c_id->key;
    co.fingerprints = {s_id->fingerprint};
    co.srtp = profile_name;
    // Small receive buffers: while their loop is held (HeldLoop), a few
    // datagrams fill a subscriber's socket and the kernel drops the rest,
    // for ours and the bound alike. With the default a thousand sockets
    // would take hundreds of MiB of queued datagrams, paid for by whichever
    // measurement fills them first.
    co.recv_buffer_size = 4096;
    std::vector<Session> clients;
    for (int first = 0; first < most; first += 100) {
      const int last = std::min(most, first + 100);
      for (int i = first; i < last; ++i) {
        SessionListener mine;
        mine.on_rtp = [&received, i, max_ssrc](
                          Session&, std::span<const std::uint8_t> p) {
          received.packets[static_cast<size_t>(i)]++;
          // The SSRC is one the publisher gave out; the payload is the
          // publisher's.
          const std::uint32_t ssrc = (std::uint32_t{p[8]} << 24) |
                                     (std::uint32_t{p[9]} << 16) |
                                     (std::uint32_t{p[10]} << 8) | p[11];
          if (ssrc >= max_ssrc || p.size() < 13 || p[12] != 0x5a ||
              p.back() != 0x5a) {
            received.payload_ok = false;
          }
        };
        auto c = connect(*sub, "127.0.0.1", endpoint->address().port, co, mine);
        if (!c.ok()) return c.error();
        clients.push_back(*c);
      }
      for (int i = first; i < last; ++i) {
        auto opened = clients[static_cast<size_t>(i)].opened();
        if (opened.wait_for(std::chrono::seconds(20)) !=
                std::future_status::ready ||
            !opened.get().ok()) {
          return make_error("ERR_BENCH",
                            "fan-out: a subscriber's handshake "
                            "failed");
        }
      }
    }
    for (int i = 0; i < 2000 && pd.call([&] { return accepted.size(); }) <
                                    static_cast<size_t>(most);
         ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (pd.call([&] { return accepted.size(); }) < static_cast<size_t>(most))
      return make_error("ERR_BENCH", "fan-out: subscribers missing");

    // Where the subscribers are, for the bound's own sendmmsg.
    std::vector<sockaddr_in> destinations = pd.call([&accepted, most] {
      std::vector<sockaddr_in> out(static_cast<size_t>(most));
      for (size_t i = 0; i < out.size(); ++i) {
        const AddressInfo a = accepted[i].remote_address();
        out[i].sin_family = AF_INET;
        out[i].sin_port = htons(a.port);
        inet_pton(AF_INET, a.address.c_str(), &out[i].sin_addr);
      }
      return out;
    });
    // The bound's socket shares the publisher endpoint's address and port
    // (SO_REUSEPORT): the subscribers' sockets are connected to it, and
    // datagrams from any other source would be refused with an ICMP error,
    // a cost ours does not pay.
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    const int on = 1;
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    local.sin_port = htons(endpoint->address().port);
    if (fd < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) != 0 ||
        bind(fd, reinterpret_cast<const sockaddr*>(&local), sizeof(local)) !=
            0) {
      if (fd >= 0) close(fd);
      return make_error("ERR_SOCKET", "fan-out: no socket for the bound");
    }
    // Our endpoint's socket is in its loop's epoll set, as any socket that
    // is read from is. The kernel then wakes that set's wait queue for
    // every datagram sent (sock_wfree: write space, under a lock with
    // interrupts off, costly in this VM), whatever events were asked for:
    // about 4 % of a 200 B packet's cost. The bound pays it the same way,
    // from an epoll set of its own that it never waits on; the bare bound,
    // measured beside it, does not.
    const int poll_set = epoll_create1(EPOLL_CLOEXEC);
    epoll_event readable{};
    readable.events = EPOLLIN;
    readable.data.fd = fd;
    auto poll_bound = [&](bool polled) {
      return epoll_ctl(poll_set, polled ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, fd,
                       &readable) == 0;
    };
    auto close_sockets = [&] {
      close(fd);
      if (poll_set >= 0) close(poll_set);
    };
    if (poll_set < 0) {
      close_sockets();
      return make_error("ERR_SOCKET", "fan-out: no epoll set for the bound");
    }

    // The bound's SSRCs: above ours (0..most-1), new for every point. The
    // sequence numbers run on across points: a subscriber's SSRC is reused
    // by the next point, and its sender refuses an index twice.
    std::uint32_t bound_ssrc = static_cast<std::uint32_t>(most);
    std::uint16_t seq = 0;
    std::vector<std::uint16_t> subscriber_seq(static_cast<size_t>(most), 0);
    for (int n : o.subscribers) {
      for (size_t payload : o.payloads) {
        progress("fan-out " + profile_name + ": " + std::to_string(n) +
                 " subscribers, " + std::to_string(payload) + " B");
        FanOutPoint point;
        point.profile = profile_name;
        point.payload = payload;
        point.subscribers = n;
        std::vector<std::uint8_t> packet = rtp_packet(payload, 0x1234);
        // Each subscriber its own SSRC and its own sequence numbers, as an
        // SFU gives them (switching a subscriber between publishers must not
        // break its sequence); the bound does the same work.
        std::vector<RtpRewrite> rewrites;
        for (int i = 0; i < n; ++i) {
          rewrites.push_back(
              {.ssrc = static_cast<std::uint32_t>(i),
               .sequence = subscriber_seq[static_cast<size_t>(i)]});
        }
        const std::vector<Session> to = pd.call([&accepted, n] {
          return std::vector<Session>(accepted.begin(), accepted.begin() + n);
        });
        // Ours: the fan-out send.
        HeldLoop held(*sub->dispatcher());
        // What left is what the endpoint counts sent; what its socket's
        // queue dropped is refused too.
        auto drops = [&] {
          const EndpointStats st = stats_of(*endpoint);
          return st.send_queue_drops + st.send_errors;
        };
        const std::uint64_t drops_before = drops();
        auto measure_ours = [&](double seconds) {
          return measure(
              pd, seconds,
              [&]() -> std::uint64_t {
                std::uint64_t failed = 0;
                const auto end = Steady::now() + std::chrono::milliseconds(2);
                do {
                  stamp(packet, ++seq);
                  for (RtpRewrite& w : rewrites) ++*w.sequence;
                  const FanOutResult r = send_rtp(to, packet, rewrites);
                  failed += r.failed;
                  if (r.first_error && point.first_refusal.empty())
                    point.first_refusal = std::string(r.first_error->code);
                } while (Steady::now() < end);
                return failed;
              },
              [&] { return stats_of(*endpoint).packets_sent; });
        };
        // The bound: the same protects and sendmmsg calls by hand, under
        // each subscriber's own keys and an SSRC ours did not use (a fresh
        // stream at the subscriber, so that it does the same work for these
        // packets as for ours, and no keystream is used twice).
        std::vector<std::unique_ptr<srtp::SrtpContext>> contexts;
        std::vector<RtpRewrite> bound_rewrites;
        for (int i = 0; i < n; ++i) {
          auto keys =
              pd.call([&] { return to[static_cast<size_t>(i)].srtp_keys(); });
          if (!keys.ok()) {
            close_sockets();
            return keys.error();
          }
          auto ctx = srtp::SrtpContext::create(*keys, srtp::Side::kServer);
          if (!ctx.ok()) {
            close_sockets();
            return ctx.error();
          }
          contexts.push_back(std::move(ctx).value());
          bound_rewrites.push_back(
              {.ssrc = static_cast<std::uint32_t>(bound_ssrc++),
               .sequence = 0});
        }
        auto out = std::make_unique<SendBatch>();
        std::uint64_t bound_left = 0;  // the loop's thread only
        // A slice whose socket could not be put in (or taken out of) the
        // epoll set is not measured: the point fails below.
        bool poll_failed = false;
        auto measure_bound = [&](double seconds, bool polled) {
          if (polled && !poll_bound(true)) {
            poll_failed = true;
            return std::pair<double, std::uint64_t>{0, 0};
          }
          const auto cleanup = [&] {
            if (polled && !poll_bound(false)) poll_failed = true;
          };
          const auto measured = measure(
              pd, seconds,
              [&]() -> std::uint64_t {
                std::uint64_t attempted = 0, taken = 0;
                const auto end = Steady::now() + std::chrono::milliseconds(2);
                do {
                  stamp(packet, ++seq);
                  for (RtpRewrite& w : bound_rewrites) ++*w.sequence;
                  for (size_t i = 0; i < static_cast<size_t>(n); ++i) {
                    std::span<std::uint8_t> slot = out->next_slot();
                    std::copy(packet.begin(), packet.end(), slot.begin());
                    bound_rewrites[i].apply(slot.first(packet.size()));
                    const srtp::PacketResult r =
                        contexts[i]->protect_rtp(slot, packet.size());
                    ++attempted;
                    if (!r.ok()) continue;  // counted refused
                    out->commit(r.length, reinterpret_cast<const sockaddr*>(
                                              &destinations[i]));
                    if (out->full()) taken += flush(*out, fd);
                  }
                  taken += flush(*out, fd);
                } while (Steady::now() < end);
                bound_left += taken;
                return attempted - taken;
              },
              [&] { return pd.call([&] { return bound_left; }); });
          cleanup();
          return measured;
        };
        // Slices, each of ours right before one of the bound and one of the
        // bare bound, so that a change of the VM's pace moves one slice; the
        // medians are kept.
        std::vector<double> ours, bound, bare, ratios, bare_ratios;
        for (int k = 0; k < kSlices; ++k) {
          const double slice = o.seconds / kSlices;
          const auto [ours_pps, ours_failed] = measure_ours(slice);
          const auto [bound_pps, bound_failed] = measure_bound(slice, true);
          const auto [bare_pps, bare_failed] = measure_bound(slice, false);
          ours.push_back(ours_pps);
          bound.push_back(bound_pps);
          bare.push_back(bare_pps);
          ratios.push_back(bound_pps > 0 ? ours_pps / bound_pps : 0);
          bare_ratios.push_back(bare_pps > 0 ? ours_pps / bare_pps : 0);
          point.failed += ours_failed;
          point.bound_refused += bound_failed + bare_failed;
        }
        if (poll_failed) {
          close_sockets();
          return make_error("ERR_SOCKET",
                            "fan-out: the bound's socket could not be put in "
                            "or taken out of its epoll set");
        }
        point.failed += drops() - drops_before;
        point.ours_pps = median(ours);
        point.bound_pps = median(bound);
        point.bare_pps = median(bare);
        point.slice_ratio = median(ratios);
        point.bare_ratio = median(bare_ratios);
        for (int i = 0; i < n; ++i) {
          subscriber_seq[static_cast<size_t>(i)] =
              *rewrites[static_cast<size_t>(i)].sequence;
        }
        held.release();
        result.points.push_back(point);
      }
    }
    close_sockets();
    // The sample: every subscriber gets a few packets at a pace its loop
    // keeps up with, and what arrives is checked.
    const std::vector<Session> all = pd.call([&accepted] { return accepted; });
    std::vector<RtpRewrite> last;
    for (int i = 0; i < most; ++i) {
      last.push_back({.ssrc = static_cast<std::uint32_t>(i),
                      .sequence = subscriber_seq[static_cast<size_t>(i)]});
    }
    std::vector<std::uint8_t> packet = rtp_packet(o.payloads[0], 0x1234);
    for (int k = 0; k < 3; ++k) {
      pd.call([&] {
        for (RtpRewrite& w : last) ++*w.sequence;
        return send_rtp(all, packet, last);
      });
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    sub->dispatcher()->call([&] {
      for (std::uint64_t p : received.packets)
        if (p > 0) ++result.subscribers_reached;
      result.subscribers_sent_to += received.packets.size();
      result.sample_ok = result.sample_ok && received.payload_ok;
    });
    for (Session& c : clients) c.destroy();
    endpoint->destroy();
    pub->stop();
    sub->stop();
  }
  return result;
}

}  // namespace dtls::bench
