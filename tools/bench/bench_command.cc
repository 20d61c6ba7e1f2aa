#include "tools/bench/bench_command.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

namespace dtls::bench {

const char kBenchUsage[] =
    "usage: dtls-srtp bench [options]\n"
    "  --handshakes N     handshakes to time (default 300)\n"
    "  --concurrency C    handshakes in flight (default 16)\n"
    "  --sessions S       media sessions sending at once (default 4)\n"
    "  --payloads A,B,..  RTP payload sizes in bytes (default 200,600,1200)\n"
    "  --duration SEC     seconds per media point (default 0.8)\n"
    "  --repeats R        slices per point, interleaved with the UDP ceiling "
    "(3)\n"
    "  --profiles P,Q,..  SRTP profiles (default all four)\n"
    "  --send-batch B     media datagrams per send call, 1..32 (default 16:\n"
    "                     sendmmsg through cork/uncork; 1: one per call)\n"
    "  --recv-buffer B    the media server's SO_RCVBUF in bytes, and the UDP\n"
    "                     ceiling's (default 4194304; 0: the kernel's)\n"
    "  --no-offload       no UDP GSO/GRO, for ours and the UDP ceiling\n"
    "  --no-ceilings      skip the raw UDP / libsrtp / in-memory runs\n"
    "  --workers W        handshakes again with 2..W server loops (default 2)\n"
    "  --idle-sessions N  sessions phase: N idle sessions (default 20000, 0 "
    "skips)\n"
    "  --half-open N      then N half-open handshakes (default 1000, 0 "
    "skips)\n"
    "  --lossy N          lossy phase: N handshakes per point and schedule\n"
    "                     through the impairing relay (default 1000, 0 skips)\n"
    "  --lossy-openssl N  openssl s_client/s_server handshakes per point, the\n"
    "                     reference (default 100, 0 skips)\n"
    "  --lossy-rtts A,B   round trips in ms (default 50,150)\n"
    "  --lossy-losses A,B loss per direction in percent (default 0,5,10,20)\n"
    "  --lossy-spread S   seconds over which each point's handshakes start\n"
    "                     (default 100)\n"
    "  --lossy-seed N     the relay's losses (default 1; the same seed gives\n"
    "                     every stack and run the same losses)\n"
    "  --crypto-slices N  crypto phase: our SRTP beside the bare OpenSSL "
    "work,\n"
    "                     N paired slices per profile and payload (default\n"
    "                     41, 0 skips)\n"
    "  --cross-thread N   sends from another thread beside sends on the loop,\n"
    "                     N packets each (default 200000, 0 skips)\n"
    "  --soak SECONDS     sessions joining and leaving while media flows,\n"
    "                     RSS, descriptors and deadlines sampled (default 0:\n"
    "                     off)\n"
    "  --fanout N,M       the fan-out phase with N, M... subscribers\n"
    "                     (default 1,10,100,1000; 0 skips)\n"
    "  --cores-sessions N all-cores phase: 1 and 2 server loops on one port,\n"
    "                     N media senders each (default 64, 0 skips)\n"
    "  --lossy-only       run the lossy phase alone\n"
    "  --json FILE        write the results as JSON ('-' for stdout)\n"
    "  --svg FILE         write packets/s vs payload, ours beside the "
    "ceiling\n";

namespace {

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string part;
  while (std::getline(in, part, ',')) {
    if (!part.empty()) out.push_back(part);
  }
  return out;
}

bool parse_number(const std::string& s, double min, double max, double& out) {
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || *end != '\0' || !(v >= min && v <= max)) return false;
  out = v;
  return true;
}

bool write_file(const std::string& path, const std::string& text,
                std::ostream& out) {
  if (path == "-") {
    out << text;
    return true;
  }
  std::ofstream f(path);
  f << text;
  return static_cast<bool>(f);
}

}  // namespace

std::string to_table(const BenchResult& r) {
  std::ostringstream t;
  const HandshakeResult& h = r.handshake;
  t << "handshakes (ECDSA P-256, cookie exchange, mutual auth, use_srtp)\n";
  t << "  ours: " << fmt("%.0f", h.per_second) << "/s  p50 "
    << fmt("%.2f", h.p50_ms) << " ms  p99 " << fmt("%.2f", h.p99_ms)
    << " ms  failures " << h.failures << "  retransmits " << h.retransmits
    << "  cpu server " << fmt("%.2f", h.server_cpu_s) << " s, client "
    << fmt("%.2f", h.client_cpu_s) << " s\n";
  if (h.ceiling_per_second > 0) {
    t << "  ceiling (in-memory OpenSSL, both ends on one thread): "
      << fmt("%.0f", h.ceiling_per_second) << "/s   ours/ceiling "
      << fmt("%.2f", h.per_second / h.ceiling_per_second)
      << " (ours has a core per side)\n";
    // Per handshake, what the server side costs against one end in memory.
    const double ours_ms = h.server_cpu_s * 1e3 / std::max(1, h.count);
    const double memory_ms = 1e3 / h.ceiling_per_second / 2;
    t << "  server CPU per handshake " << fmt("%.3f", ours_ms)
      << " ms, in-memory per end " << fmt("%.3f", memory_ms)
      << " ms: efficiency " << fmt("%.2f", memory_ms / ours_ms) << "\n";
  }
  const HandshakeResult& one = r.handshake_one_core;
  if (one.count > 0) {
    t << "  ours, server and clients on one loop on one core: "
      << fmt("%.0f", one.per_second) << "/s  p50 " << fmt("%.2f", one.p50_ms)
      << " ms  failures " << one.failures << "  retransmits " << one.retransmits
      << "\n";
    if (!one.slices.empty()) {
      t << "    slices (ours / in-memory on that core):";
      for (const auto& sl : one.slices) {
        t << " " << fmt("%.0f", sl.ours_per_s) << "/"
          << fmt("%.0f", sl.ceiling_per_s);
      }
      t << "\n    ours/ceiling " << fmt("%.2f", one.ratio())
        << " (median of the slices; target 0.75)\n";
    }
  }
  for (const HandshakeResult& w : r.handshake_workers) {
    t << "  " << w.workers
      << " workers on the port: " << fmt("%.0f", w.per_second) << "/s  p50 "
      << fmt("%.2f", w.p50_ms) << " ms  p99 " << fmt("%.2f", w.p99_ms)
      << " ms  failures " << w.failures << "  retransmits " << w.retransmits
      << "  cpu servers " << fmt("%.2f", w.server_cpu_s) << " s, client "
      << fmt("%.2f", w.client_cpu_s) << " s\n";
  }
  const HandshakeResult& tf = r.tickets_full;
  const HandshakeResult& tr = r.tickets_resumed;
  if (tf.count > 0 && tr.count > 0) {
    t << "resumption (CA mode, no pinning, RFC 5077 tickets)\n";
    t << "  full:    " << fmt("%.0f", tf.per_second) << "/s  p50 "
      << fmt("%.2f", tf.p50_ms) << " ms  cpu server "
      << fmt("%.2f", tf.server_cpu_s) << " s  failures " << tf.failures << "\n";
    t << "  resumed: " << fmt("%.0f", tr.per_second) << "/s  p50 "
      << fmt("%.2f", tr.p50_ms) << " ms  cpu server "
      << fmt("%.2f", tr.server_cpu_s) << " s  failures " << tr.failures
      << "  reused " << tr.reused << "/" << tr.count << "\n";
    if (tf.per_second > 0) {
      t << "  resumed/full " << fmt("%.2f", tr.per_second / tf.per_second)
        << "\n";
    }
  }
  const MemoryResult& mem = r.memory;
  if (mem.sessions > 0) {
    t << "\nsessions: " << mem.sessions
      << " idle established sessions on one endpoint (clients in "
      << mem.client_processes
      << " child processes; each client sends one message after its "
         "handshake, as a WebRTC peer's first packet follows it)"
      << (mem.failures ? ", failures " + std::to_string(mem.failures) : "")
      << "\n  server RSS " << fmt("%.0f", mem.rss_before_kib) << " -> "
      << fmt("%.0f", mem.rss_after_kib)
      << " KiB: " << fmt("%.1f", mem.kib_per_session)
      << " KiB per session (target 32); heap in use "
      << fmt("%.1f", mem.heap_kib_per_session) << " KiB per session";
    if (mem.floor_sessions > 0) {
      t << "\n  floor: an OpenSSL SSL after the handshake (buffers freed) + 2 "
           "libsrtp sessions, "
        << mem.floor_sessions << " in process: heap in use "
        << fmt("%.1f", mem.floor_kib_per_session)
        << " KiB per session; ours/floor "
        << fmt("%.2f", mem.heap_kib_per_session / mem.floor_kib_per_session)
        << ", ours - floor "
        << fmt("%.1f", mem.heap_kib_per_session - mem.floor_kib_per_session)
        << " KiB";
    }
    t << "\n  idle: server loop CPU " << fmt("%.2f", mem.idle_cpu_ms_per_s)
      << " ms per second, endpoint deadlines " << mem.idle_deadlines << "\n";
    if (!mem.slices.empty()) {
      t << "  handshakes/s beside them vs an empty endpoint on the same loop "
           "(slices";
      for (const auto& s : mem.slices) {
        t << " " << fmt("%.0f", s.idle_per_s) << "/"
          << fmt("%.0f", s.empty_per_s);
      }
      t << "): " << fmt("%.2f", mem.handshake_ratio()) << " (target 0.95)\n";
    }
  }
  if (mem.half_open > 0) {
    t << "memory: " << mem.half_open
      << " half-open handshakes (a cookie, then silence): "
      << fmt("%.1f", mem.kib_per_half_open) << " KiB each"
      << (mem.half_open_failures
              ? ", failures " + std::to_string(mem.half_open_failures)
              : "")
      << "\n";
  }
  t << "\nmedia (one core per side";
  if (r.media_cores.sender >= 0) {
    t << ": sender CPU " << r.media_cores.sender << ", receiver CPU "
      << r.media_cores.receiver << ", ceilings alike";
  }
  t << "; packets/s received; send " << r.send_batch
    << (r.send_batch == 1 ? " datagram" : " datagrams") << " per call"
    << (r.udp_offload ? " (UDP GSO)" : "") << ", receive up to 16 per call"
    << (r.udp_offload ? " (UDP GRO)" : "") << "; receive buffer "
    << r.recv_buffer_granted / 2
    << " B as granted)\n"
       "  ours/ceil: ours / min(udp ceil, srtp ceil), the issue's target 0.85\n"
       "  ours/bound: ours / what one core doing the raw UDP send and the "
       "protect half\n"
       "    of the srtp ceiling one after the other reaches, "
       "1/(1/udp + 1/(2 srtp)): 1.0 is no\n"
       "    overhead of ours. Both are medians over slices.\n";
  t << "profile                  payload    sent/s     recv/s   Gbit/s   loss "
       "  cpu tx  cpu rx   udp ceil  srtp ceil  ours/ceil  ours/bound\n";
  for (const MediaResult& m : r.media) {
    char line[256];
    std::snprintf(line, sizeof(line),
                  "%-24s %7zu %9.0f %10.0f %8.3f %5.1f%% %7.2f %7.2f %10.0f "
                  "%10.0f %10.2f %11.2f\n",
                  m.profile.c_str(), m.payload, m.sent_pps, m.received_pps,
                  m.gbit_per_s, m.loss * 100, m.sender_cpu_s, m.receiver_cpu_s,
                  m.udp_ceiling_pps, m.srtp_ceiling_pps, m.ratio(),
                  m.bound_ratio());
    t << line;
  }
  if (r.soak) {
    t << "\nsoak: " << r.soak->options.sessions << " sessions, "
      << fmt("%.0f", r.soak->options.churn_per_s)
      << " leave and join each second, each sending "
      << r.soak->options.packets_per_s << " RTP/s\n"
      << format_soak(*r.soak);
  }
  return t.str();
}

std::string to_lossy_table(const LossyResult& r) {
  std::ostringstream t;
  char line[256];
  t << "handshakes through the impairing relay (loss each way, " << r.timeout_s
    << " s timeout";
  if (!r.openssl_version.empty()) t << "; reference " << r.openssl_version;
  t << ")\n";
  std::snprintf(line, sizeof(line),
                "%-9s %6s %6s %6s %6s %9s %9s %9s %9s %9s %9s\n", "stack",
                "rtt_ms", "loss%", "count", "failed", "p50_ms", "p90_ms",
                "p99_ms", "max_ms", "dgram/hs", "rexmit/hs");
  t << line;
  for (const LossyPoint& p : r.points) {
    std::snprintf(
        line, sizeof(line),
        "%-9s %6d %6.0f %6d %6d %9.0f %9.0f %9.0f %9.0f %9.2f %9.2f\n",
        p.stack.c_str(), p.rtt_ms, p.loss * 100, p.count, p.failures, p.p50_ms,
        p.p90_ms, p.p99_ms, p.max_ms, p.datagrams_per_handshake,
        p.retransmits_per_handshake);
    t << line;
  }
  t << "p99 / the fixed schedule's p99 (same RTT and loss):\n";
  for (const LossyPoint& p : r.points) {
    if (p.stack == "fixed" || p.loss == 0) continue;
    std::snprintf(line, sizeof(line),
                  "  RTT %4d ms, loss %3.0f %%: %-9s %.2f\n", p.rtt_ms,
                  p.loss * 100, p.stack.c_str(), r.p99_over_fixed(p));
    t << line;
  }
  return t.str();
}

std::string lossy_json(const LossyResult& r) {
  std::ostringstream j;
  j << "{\"timeout_s\": " << r.timeout_s << ", \"openssl_version\": \""
    << r.openssl_version << "\", \"points\": [";
  for (size_t i = 0; i < r.points.size(); ++i) {
    const LossyPoint& p = r.points[i];
    j << (i ? "," : "") << "\n    {\"stack\": \"" << p.stack
      << "\", \"rtt_ms\": " << p.rtt_ms << ", \"loss\": " << p.loss
      << ", \"count\": " << p.count << ", \"failures\": " << p.failures
      << ", \"p50_ms\": " << p.p50_ms << ", \"p90_ms\": " << p.p90_ms
      << ", \"p99_ms\": " << p.p99_ms << ", \"max_ms\": " << p.max_ms
      << ", \"datagrams_per_handshake\": " << p.datagrams_per_handshake
      << ", \"retransmits_per_handshake\": " << p.retransmits_per_handshake
      << ", \"p99_over_fixed\": " << r.p99_over_fixed(p) << "}";
  }
  j << "]}";
  return j.str();
}

std::string to_cross_thread_table(const CrossThreadResult& r) {
  std::ostringstream t;
  t << "sends from another thread (GCM-128 RTP, " << r.packets
    << " packets each way, windows of packets then a wait)\n";
  t << "  send_rtp from a thread that is not the loop's: "
    << fmt("%.0f", r.foreign_ns)
    << " ns per call (copied into the loop's queue; goal <= 1000)\n";
  t << "  send_rtp on the loop's thread (protect and send, corked): "
    << fmt("%.0f", r.loop_ns) << " ns per call\n";
  t << "  the loop's CPU per packet, sending and receiving: "
    << fmt("%.0f", r.loop_cpu_ns_when_fed) << " ns fed from the other thread, "
    << fmt("%.0f", r.loop_cpu_ns_inline) << " ns sending itself\n";
  t << "  delivered " << r.foreign_delivered << " and " << r.loop_delivered
    << " of " << r.packets << "\n";
  if (r.asks > 0) {
    t << "  stats() asked from that thread (" << r.asks
      << " asks): " << fmt("%.0f", r.ask_ns)
      << " ns per call (posted, never waits); the answer after "
      << fmt("%.1f", r.ask_round_trip_us_p50) << " us (p50), "
      << fmt("%.1f", r.ask_round_trip_us_p99) << " us (p99); in bursts of "
      << "a window, " << fmt("%.0f", r.ask_burst_ns) << " ns per call\n";
  }
  return t.str();
}

std::string cross_thread_json(const CrossThreadResult& r) {
  std::ostringstream j;
  j << "{\"packets\": " << r.packets << ", \"foreign_ns\": " << r.foreign_ns
    << ", \"loop_ns\": " << r.loop_ns
    << ", \"loop_cpu_ns_when_fed\": " << r.loop_cpu_ns_when_fed
    << ", \"loop_cpu_ns_inline\": " << r.loop_cpu_ns_inline
    << ", \"foreign_delivered\": " << r.foreign_delivered
    << ", \"loop_delivered\": " << r.loop_delivered << ", \"asks\": " << r.asks
    << ", \"ask_ns\": " << r.ask_ns << ", \"ask_burst_ns\": " << r.ask_burst_ns
    << ", \"ask_round_trip_us_p50\": " << r.ask_round_trip_us_p50
    << ", \"ask_round_trip_us_p99\": " << r.ask_round_trip_us_p99 << "}";
  return j.str();
}

std::string to_fanout_table(const FanOutBenchResult& r) {
  std::ostringstream t;
  t << "fan-out (one packet to N subscribers with a per-subscriber SSRC "
       "rewrite; sender on CPU "
    << r.cpu_sender << ", subscribers on CPU " << r.cpu_subscribers
    << "; packets out per second of that core)\n";
  t << "  ours/bound: ours / the same protects and sendmmsg calls made by "
       "hand on that core, from a socket in an epoll set as ours is (any "
       "socket that is read from is), the issue's target 0.9\n";
  t << "  ours/bare: the same against a bare socket in no epoll set, whose "
       "sends do not wake a wait queue\n";
  char row[192];
  std::snprintf(row, sizeof(row),
                "%-24s %7s %6s %11s %8s %11s %10s %11s %9s %8s %9s\n",
                "profile", "payload", "N", "ours/s", "Gbit/s", "bound/s",
                "ours/bound", "bare/s", "ours/bare", "refused", "b.refused");
  t << row;
  for (const FanOutPoint& p : r.points) {
    std::snprintf(
        row, sizeof(row),
        "%-24s %7zu %6d %11.0f %8.3f %11.0f %10.2f %11.0f %9.2f %8llu %9llu",
        p.profile.c_str(), p.payload, p.subscribers, p.ours_pps, p.gbit_per_s(),
        p.bound_pps, p.ratio(), p.bare_pps, p.bare_ratio,
        static_cast<unsigned long long>(p.failed),
        static_cast<unsigned long long>(p.bound_refused));
    t << row << (p.first_refusal.empty() ? "" : " " + p.first_refusal) << "\n";
  }
  t << "  subscribers that received packets: " << r.subscribers_reached
    << " of " << r.subscribers_sent_to << "; every received packet the "
    << "publisher's payload under an SSRC it gave out: "
    << (r.sample_ok ? "yes" : "NO") << "\n";
  return t.str();
}

std::string fanout_json(const FanOutBenchResult& r) {
  std::ostringstream j;
  j << "{\"cpu_sender\": " << r.cpu_sender
    << ", \"cpu_subscribers\": " << r.cpu_subscribers
    << ", \"subscribers_reached\": " << r.subscribers_reached
    << ", \"subscribers_sent_to\": " << r.subscribers_sent_to
    << ", \"sample_ok\": " << (r.sample_ok ? "true" : "false")
    << ", \"points\": [";
  for (size_t i = 0; i < r.points.size(); ++i) {
    const FanOutPoint& p = r.points[i];
    j << (i ? "," : "") << "\n    {\"profile\": \"" << p.profile
      << "\", \"payload\": " << p.payload
      << ", \"subscribers\": " << p.subscribers
      << ", \"ours_pps\": " << p.ours_pps
      << ", \"gbit_per_s\": " << p.gbit_per_s()
      << ", \"bound_pps\": " << p.bound_pps << ", \"ratio\": " << p.ratio()
      << ", \"bare_pps\": " << p.bare_pps
      << ", \"bare_ratio\": " << p.bare_ratio << ", \"refused\": " << p.failed
      << ", \"bound_refused\": " << p.bound_refused << ", \"first_refusal\": \""
      << p.first_refusal << "\"}";
  }
  j << "]}";
  return j.str();
}

std::string to_json(const BenchOptions& o, const BenchResult& r,
                    const LossyResult* lossy,
                    const CrossThreadResult* cross_thread,
                    const FanOutBenchResult* fanout, const CoresResult* cores,
                    const CryptoFloorResult* crypto) {
  std::ostringstream j;
  const HandshakeResult& h = r.handshake;
  j << "{\n  \"options\": {\"handshakes\": " << o.handshakes
    << ", \"concurrency\": " << o.concurrency
    << ", \"sessions\": " << o.sessions << ", \"duration_s\": " << o.duration_s
    << ", \"send_batch\": " << r.send_batch << ", \"repeats\": " << o.repeats
    << ", \"recv_buffer\": " << o.recv_buffer
    << ", \"recv_buffer_granted\": " << r.recv_buffer_granted / 2
    << ", \"udp_offload\": " << (r.udp_offload ? "true" : "false") << "},\n";
  j << "  \"media_cores\": {\"sender\": " << r.media_cores.sender
    << ", \"receiver\": " << r.media_cores.receiver << "},\n";
  j << "  \"handshake\": {\"count\": " << h.count
    << ", \"failures\": " << h.failures
    << ", \"retransmits\": " << h.retransmits << ", \"seconds\": " << h.seconds
    << ", \"per_second\": " << h.per_second << ", \"p50_ms\": " << h.p50_ms
    << ", \"p99_ms\": " << h.p99_ms << ", \"server_cpu_s\": " << h.server_cpu_s
    << ", \"client_cpu_s\": " << h.client_cpu_s
    << ", \"ceiling_per_second\": " << h.ceiling_per_second << "},\n";
  const HandshakeResult& one = r.handshake_one_core;
  j << "  \"handshake_one_core\": {\"count\": " << one.count
    << ", \"failures\": " << one.failures
    << ", \"retransmits\": " << one.retransmits
    << ", \"per_second\": " << one.per_second << ", \"p50_ms\": " << one.p50_ms
    << ", \"p99_ms\": " << one.p99_ms << ", \"cpu_s\": " << one.server_cpu_s
    << ", \"ceiling_per_second\": " << one.ceiling_per_second
    << ", \"ratio\": " << one.ratio() << ", \"slices\": [";
  for (size_t i = 0; i < one.slices.size(); ++i) {
    j << (i ? ", " : "") << "{\"ours_per_s\": " << one.slices[i].ours_per_s
      << ", \"ceiling_per_s\": " << one.slices[i].ceiling_per_s << "}";
  }
  j << "]},\n";
  j << "  \"handshake_workers\": [";
  for (size_t i = 0; i < r.handshake_workers.size(); ++i) {
    const HandshakeResult& w = r.handshake_workers[i];
    j << (i ? ", " : "") << "{\"workers\": " << w.workers
      << ", \"failures\": " << w.failures
      << ", \"retransmits\": " << w.retransmits
      << ", \"per_second\": " << w.per_second << ", \"p50_ms\": " << w.p50_ms
      << ", \"p99_ms\": " << w.p99_ms
      << ", \"server_cpu_s\": " << w.server_cpu_s
      << ", \"client_cpu_s\": " << w.client_cpu_s << "}";
  }
  j << "],\n";
  for (const auto& [name, h2] : {std::pair<const char*, const HandshakeResult*>{
                                     "tickets_full", &r.tickets_full},
                                 {"tickets_resumed", &r.tickets_resumed}}) {
    j << "  \"" << name << "\": {\"count\": " << h2->count
      << ", \"failures\": " << h2->failures << ", \"reused\": " << h2->reused
      << ", \"per_second\": " << h2->per_second
      << ", \"p50_ms\": " << h2->p50_ms << ", \"p99_ms\": " << h2->p99_ms
      << ", \"server_cpu_s\": " << h2->server_cpu_s << "},\n";
  }
  j << "  \"memory\": {\"sessions\": " << r.memory.sessions
    << ", \"failures\": " << r.memory.failures
    << ", \"rss_before_kib\": " << r.memory.rss_before_kib
    << ", \"rss_after_kib\": " << r.memory.rss_after_kib
    << ", \"kib_per_session\": " << r.memory.kib_per_session
    << ", \"heap_kib_per_session\": " << r.memory.heap_kib_per_session
    << ", \"client_processes\": " << r.memory.client_processes
    << ", \"floor_sessions\": " << r.memory.floor_sessions
    << ", \"floor_kib_per_session\": " << r.memory.floor_kib_per_session
    << ", \"idle_cpu_ms_per_s\": " << r.memory.idle_cpu_ms_per_s
    << ", \"idle_deadlines\": " << r.memory.idle_deadlines
    << ", \"handshake_slices\": [";
  for (size_t i = 0; i < r.memory.slices.size(); ++i) {
    j << (i ? ", " : "") << "{\"idle_per_s\": " << r.memory.slices[i].idle_per_s
      << ", \"empty_per_s\": " << r.memory.slices[i].empty_per_s << "}";
  }
  j << "], \"handshake_ratio\": " << r.memory.handshake_ratio()
    << ", \"half_open\": " << r.memory.half_open
    << ", \"half_open_failures\": " << r.memory.half_open_failures
    << ", \"kib_per_half_open\": " << r.memory.kib_per_half_open << "},\n";
  j << "  \"media\": [";
  for (size_t i = 0; i < r.media.size(); ++i) {
    const MediaResult& m = r.media[i];
    j << (i ? ",\n" : "\n") << "    {\"profile\": \"" << m.profile
      << "\", \"payload\": " << m.payload << ", \"sent\": " << m.sent
      << ", \"received\": " << m.received << ", \"seconds\": " << m.seconds
      << ", \"sent_pps\": " << m.sent_pps
      << ", \"received_pps\": " << m.received_pps
      << ", \"gbit_per_s\": " << m.gbit_per_s << ", \"loss\": " << m.loss
      << ", \"sender_cpu_s\": " << m.sender_cpu_s
      << ", \"receiver_cpu_s\": " << m.receiver_cpu_s
      << ", \"udp_ceiling_pps\": " << m.udp_ceiling_pps
      << ", \"srtp_ceiling_pps\": " << m.srtp_ceiling_pps
      << ", \"ceiling_pps\": " << m.ceiling_pps()
      << ", \"serial_bound_pps\": " << m.serial_bound_pps()
      << ", \"slices\": [";
    for (size_t k = 0; k < m.slices.size(); ++k) {
      j << (k ? ", " : "") << "{\"ours_pps\": " << m.slices[k].ours_pps
        << ", \"udp_pps\": " << m.slices[k].udp_pps << "}";
    }
    j << "], \"ratio\": " << m.ratio()
      << ", \"bound_ratio\": " << m.bound_ratio() << "}";
  }
  j << "\n  ]";
  if (crypto != nullptr)
    j << ",\n  \"crypto_floor\": " << crypto_floor_json(*crypto);
  if (lossy != nullptr) j << ",\n  \"lossy\": " << lossy_json(*lossy);
  if (cross_thread != nullptr)
    j << ",\n  \"cross_thread\": " << cross_thread_json(*cross_thread);
  if (fanout != nullptr) j << ",\n  \"fanout\": " << fanout_json(*fanout);
  if (cores != nullptr) j << ",\n  \"cores\": " << cores_json(*cores);
  if (r.soak) {
    const SoakResult& s = *r.soak;
    j << ",\n  \"soak\": {\"seconds\": " << s.options.seconds
      << ", \"sessions\": " << s.options.sessions
      << ", \"churn_per_s\": " << s.options.churn_per_s
      << ", \"packets_per_s\": " << s.options.packets_per_s
      << ", \"rss_growth_kib\": " << s.rss_growth_kib()
      << ", \"descriptor_growth\": " << s.descriptor_growth()
      << ", \"max_extra_deadlines\": " << s.max_extra_deadlines()
      << ", \"flat\": " << (s.flat() ? "true" : "false") << ", \"samples\": [";
    for (size_t i = 0; i < s.samples.size(); ++i) {
      const SoakSample& x = s.samples[i];
      j << (i ? ",\n      " : "\n      ") << "{\"t\": " << x.t
        << ", \"open\": " << x.open
        << ", \"server_sessions\": " << x.server_sessions
        << ", \"joined\": " << x.joined << ", \"left\": " << x.left
        << ", \"failures\": " << x.failures << ", \"sent\": " << x.sent
        << ", \"received\": " << x.received << ", \"rss_kib\": " << x.rss_kib
        << ", \"descriptors\": " << x.descriptors
        << ", \"deadlines\": " << x.deadlines << "}";
    }
    j << "]}";
  }
  j << "\n}\n";
  return j.str();
}

std::string to_svg(const BenchResult& r) {
  // Packets/s against payload size, one colour per profile: ours solid, the
  // ceiling (min of raw UDP and libsrtp) dashed.
  const double w = 760, h = 440, left = 80, right = 230, top = 30, bottom = 50;
  std::map<std::string, std::vector<const MediaResult*>> by_profile;
  double max_pps = 1, max_payload = 1, min_payload = 1e9;
  for (const MediaResult& m : r.media) {
    by_profile[m.profile].push_back(&m);
    max_pps = std::max({max_pps, m.received_pps, m.ceiling_pps()});
    max_payload = std::max(max_payload, static_cast<double>(m.payload));
    min_payload = std::min(min_payload, static_cast<double>(m.payload));
  }
  if (max_payload == min_payload) min_payload = 0;
  auto x = [&](double p) {
    return left +
           (p - min_payload) / (max_payload - min_payload) * (w - left - right);
  };
  auto y = [&](double v) {
    return h - bottom - v / max_pps * (h - top - bottom);
  };
  const char* colours[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd"};
  std::ostringstream s;
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << w
    << "\" height=\"" << h
    << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
    << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    << "<text x=\"" << left
    << "\" y=\"18\" font-size=\"14\">SRTP over "
       "loopback: packets/s received vs payload (solid: ours, dashed: "
       "ceiling)</text>\n"
    << "<line x1=\"" << left << "\" y1=\"" << h - bottom << "\" x2=\""
    << w - right << "\" y2=\"" << h - bottom << "\" stroke=\"black\"/>\n"
    << "<line x1=\"" << left << "\" y1=\"" << top << "\" x2=\"" << left
    << "\" y2=\"" << h - bottom << "\" stroke=\"black\"/>\n";
  for (int i = 0; i <= 4; ++i) {
    double v = max_pps * i / 4;
    s << "<text x=\"" << left - 8 << "\" y=\"" << y(v) + 4
      << "\" text-anchor=\"end\">" << fmt("%.0fk", v / 1000) << "</text>\n";
  }
  std::set<size_t> payloads;
  for (const MediaResult& m : r.media) payloads.insert(m.payload);
  for (size_t p : payloads) {
    s << "<text x=\"" << x(static_cast<double>(p)) << "\" y=\""
      << h - bottom + 18 << "\" text-anchor=\"middle\">" << p << " B</text>\n";
  }
  s << "<text x=\"" << (left + w - right) / 2 << "\" y=\"" << h - 10
    << "\" text-anchor=\"middle\">RTP payload</text>\n";
  int k = 0;
  for (const auto& [profile, points] : by_profile) {
    const char* c = colours[k % 4];
    std::ostringstream ours, ceil;
    for (const MediaResult* m : points) {
      ours << x(static_cast<double>(m->payload)) << "," << y(m->received_pps)
           << " ";
      ceil << x(static_cast<double>(m->payload)) << "," << y(m->ceiling_pps())
           << " ";
    }
    s << "<polyline fill=\"none\" stroke=\"" << c
      << "\" stroke-width=\"2\" points=\"" << ours.str() << "\"/>\n";
    s << "<polyline fill=\"none\" stroke=\"" << c
      << "\" stroke-width=\"1.5\" stroke-dasharray=\"6,4\" points=\""
      << ceil.str() << "\"/>\n";
    s << "<line x1=\"" << w - right + 15 << "\" y1=\"" << top + 20 + 20 * k
      << "\" x2=\"" << w - right + 40 << "\" y2=\"" << top + 20 + 20 * k
      << "\" stroke=\"" << c << "\" stroke-width=\"2\"/>\n"
      << "<text x=\"" << w - right + 45 << "\" y=\"" << top + 24 + 20 * k
      << "\">" << profile << "</text>\n";
    ++k;
  }
  s << "</svg>\n";
  return s.str();
}

int run_bench_command(const std::vector<std::string>& args, std::ostream& out,
                      std::ostream& err) {
  BenchOptions o;
  LossyOptions lossy;
  CrossThreadOptions cross_thread;
  FanOutOptions fanout;
  CoresOptions cores;
  CryptoFloorOptions crypto;
  bool lossy_only = false;
  std::string json, svg;
  auto bad = [&](const std::string& what) {
    err << "ERR_INVALID_ARG_VALUE: " << what << "\n" << kBenchUsage;
    return 2;
  };
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    const bool has_value = i + 1 < args.size();
    double v = 0;
    if (a == "--help" || a == "-h") {
      out << kBenchUsage;
      return 0;
    } else if (a == "--no-ceilings") {
      o.ceilings = false;
    } else if (a == "--no-offload") {
      o.udp_offload = false;
    } else if (a == "--recv-buffer" && has_value &&
               parse_number(args[i + 1], 0, 1073741823, v)) {
      o.recv_buffer = static_cast<size_t>(v);
      ++i;
    } else if (a == "--handshakes" && has_value &&
               parse_number(args[i + 1], 1, 1e6, v)) {
      o.handshakes = static_cast<int>(v);
      ++i;
    } else if (a == "--idle-sessions" && has_value &&
               parse_number(args[i + 1], 0, 100000, v)) {
      o.idle_sessions = static_cast<int>(v);
      ++i;
    } else if (a == "--soak" && has_value &&
               parse_number(args[i + 1], 0, 86400, v)) {
      o.soak_seconds = static_cast<double>(v);
      ++i;
    } else if (a == "--half-open" && has_value &&
               parse_number(args[i + 1], 0, 10000, v)) {
      o.half_open = static_cast<int>(v);
      ++i;
    } else if (a == "--send-batch" && has_value &&
               parse_number(args[i + 1], 1, 32, v)) {
      o.send_batch = static_cast<int>(v);
      ++i;
    } else if (a == "--workers" && has_value &&
               parse_number(args[i + 1], 1, 64, v)) {
      o.max_workers = static_cast<int>(v);
      ++i;
    } else if (a == "--repeats" && has_value &&
               parse_number(args[i + 1], 1, 100, v)) {
      o.repeats = static_cast<int>(v);
      ++i;
    } else if (a == "--concurrency" && has_value &&
               parse_number(args[i + 1], 1, 10000, v)) {
      o.concurrency = static_cast<int>(v);
      ++i;
    } else if (a == "--sessions" && has_value &&
               parse_number(args[i + 1], 1, 10000, v)) {
      o.sessions = static_cast<int>(v);
      ++i;
    } else if (a == "--duration" && has_value &&
               parse_number(args[i + 1], 0.01, 3600, v)) {
      o.duration_s = v;
      ++i;
    } else if (a == "--payloads" && has_value) {
      o.payloads.clear();
      for (const std::string& p : split(args[++i])) {
        if (!parse_number(p, 1, 8000, v)) return bad("bad payload '" + p + "'");
        o.payloads.push_back(static_cast<size_t>(v));
      }
    } else if (a == "--profiles" && has_value) {
      o.profiles = split(args[++i]);
    } else if (a == "--lossy" && has_value &&
               parse_number(args[i + 1], 0, 100000, v)) {
      lossy.handshakes = static_cast<int>(v);
      ++i;
    } else if (a == "--lossy-openssl" && has_value &&
               parse_number(args[i + 1], 0, 100000, v)) {
      lossy.openssl_handshakes = static_cast<int>(v);
      ++i;
    } else if (a == "--lossy-spread" && has_value &&
               parse_number(args[i + 1], 0.1, 3600, v)) {
      lossy.spread_s = v;
      ++i;
    } else if (a == "--lossy-rtts" && has_value) {
      lossy.rtts_ms.clear();
      for (const std::string& p : split(args[++i])) {
        if (!parse_number(p, 0, 10000, v)) return bad("bad RTT '" + p + "'");
        lossy.rtts_ms.push_back(static_cast<int>(v));
      }
    } else if (a == "--lossy-losses" && has_value) {
      lossy.losses.clear();
      for (const std::string& p : split(args[++i])) {
        if (!parse_number(p, 0, 99, v)) return bad("bad loss '" + p + "'");
        lossy.losses.push_back(v / 100);
      }
    } else if (a == "--lossy-seed" && has_value &&
               parse_number(args[i + 1], 0, 1e6, v)) {
      lossy.seed = static_cast<std::uint64_t>(v);
      ++i;
    } else if (a == "--cross-thread" && has_value &&
               parse_number(args[i + 1], 0, 1e7, v)) {
      cross_thread.packets = static_cast<int>(v);
      ++i;
    } else if (a == "--crypto-slices" && has_value &&
               parse_number(args[i + 1], 0, 10000, v)) {
      crypto.slices = static_cast<int>(v);
      ++i;
    } else if (a == "--cores-sessions" && has_value &&
               parse_number(args[i + 1], 0, 1000, v)) {
      cores.enabled = v > 0;
      if (v > 0) cores.sessions = static_cast<int>(v);
      ++i;
    } else if (a == "--fanout" && has_value) {
      fanout.subscribers.clear();
      for (const std::string& p : split(args[++i])) {
        if (!parse_number(p, 0, 5000, v))
          return bad("bad subscriber count '" + p + "'");
        if (v > 0) fanout.subscribers.push_back(static_cast<int>(v));
      }
    } else if (a == "--lossy-only") {
      lossy_only = true;
    } else if (a == "--json" && has_value) {
      json = args[++i];
    } else if (a == "--svg" && has_value) {
      svg = args[++i];
    } else {
      return bad("bad option '" + a + "'");
    }
  }
  auto progress = [&err](const std::string& line) {
    err << "... " << line << std::endl;
  };
  auto failed = [&err](const Error& e) {
    err << e.to_string() << "\n";
    return e.code == "ERR_INVALID_ARG_VALUE" || e.code == "ERR_OUT_OF_RANGE"
               ? 2
               : 1;
  };
  std::optional<BenchResult> r;
  if (!lossy_only) {
    auto bench = run_loopback_bench(o, progress);
    if (!bench.ok()) return failed(bench.error());
    r = std::move(bench).value();
    out << to_table(*r);
  }
  std::optional<CryptoFloorResult> cf;
  if (!lossy_only && crypto.slices > 0) {
    progress("crypto floor: " + std::to_string(crypto.slices) +
             " paired slices per profile and payload");
    crypto.profiles = o.profiles;
    auto run = run_crypto_floor_bench(crypto);
    if (!run.ok()) return failed(run.error());
    cf = std::move(run).value();
    out << "\n" << to_crypto_floor_table(*cf);
  }
  std::optional<CrossThreadResult> x;
  if (!lossy_only && cross_thread.packets > 0) {
    progress("cross-thread: " + std::to_string(cross_thread.packets) +
             " sends from another thread, then as many on the loop");
    auto run = run_cross_thread_bench(cross_thread);
    if (!run.ok()) return failed(run.error());
    x = std::move(run).value();
    out << "\n" << to_cross_thread_table(*x);
  }
  std::optional<FanOutBenchResult> f;
  if (!lossy_only && !fanout.subscribers.empty()) {
    auto run = run_fanout_bench(fanout, progress);
    if (!run.ok()) return failed(run.error());
    f = std::move(run).value();
    out << "\n" << to_fanout_table(*f);
  }
  std::optional<CoresResult> c;
  if (!lossy_only && cores.enabled) {
    progress("all cores: " + std::to_string(cores.sessions) +
             " media senders and " + std::to_string(cores.handshakes) +
             " handshakes per slice, 1 and 2 server loops on one port");
    auto run = run_cores_bench(cores);
    if (!run.ok()) return failed(run.error());
    c = std::move(run).value();
    out << "\n" << to_cores_table(*c);
  }
  std::optional<LossyResult> l;
  if (lossy.handshakes > 0 || lossy.openssl_handshakes > 0) {
    auto run = run_lossy_bench(lossy, progress);
    if (!run.ok()) return failed(run.error());
    l = std::move(run).value();
    out << (r ? "\n" : "") << to_lossy_table(*l);
  }
  std::string json_text;
  if (r) {
    json_text =
        to_json(o, *r, l ? &*l : nullptr, x ? &*x : nullptr, f ? &*f : nullptr,
                c ? &*c : nullptr, cf ? &*cf : nullptr);
  } else if (l) {
    json_text = "{\n  \"lossy\": " + lossy_json(*l) + "\n}\n";
  }
  if (!json.empty() && !write_file(json, json_text, out)) {
    err << "ERR_FS_WRITE: cannot write " << json << "\n";
    return 1;
  }
  if (!svg.empty() && r && !write_file(svg, to_svg(*r), out)) {
    err << "ERR_FS_WRITE: cannot write " << svg << "\n";
    return 1;
  }
  return 0;
}

}  // namespace dtls::bench
