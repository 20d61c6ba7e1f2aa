// The endpoint core over a simulated network (tests/testing/sim_network):
// several cores and hand-played peers at simulated addresses, one simulated
// clock, seeded loss. Every wait here is simulated time; the times asserted
// are exact. The ICE-lite half: endpoint_core_ice_test.cc.
#include "transport/endpoint/endpoint_core.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/testing/cookie_exchange.h"
#include "tests/testing/endpoint_recorder.h"
#include "tests/testing/rtp_packets.h"
#include "tests/testing/sim_network.h"

namespace dtls {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::sim_address;
using testing::SimNetwork;

using Recorder = testing::EndpointRecorder;
using testing::both_open;

std::shared_ptr<const DtlsContext> context(int i) {
  return testing::endpoint_context(i);
}

certs::Fingerprint fp(int i) { return testing::endpoint_fingerprint(i); }

const PeerAddress kServer = sim_address(1, 443);

PeerAddress client_address(int i) { return sim_address(10 + i, 5000); }

EndpointCoreOptions server_options() {
  EndpointCoreOptions o;
  o.context = context(0);
  o.accept_incoming = true;
  o.server_association.peer_fingerprints = {fp(1)};
  return o;
}

EndpointCoreOptions client_options(int cert = 1) {
  EndpointCoreOptions o;
  o.context = context(cert);
  return o;
}

AssociationOptions pin_server() {
  AssociationOptions a;
  a.peer_fingerprints = {fp(0)};
  return a;
}

std::vector<std::uint8_t> bytes(std::string_view s) {
  return {s.begin(), s.end()};
}

// A first ClientHello (no cookie) as a client core sends it: taken from one
// that connects to an address where nobody is.
std::vector<std::uint8_t> first_client_hello(SimNetwork& net) {
  const PeerAddress from = sim_address(200, 1);
  const PeerAddress nobody = sim_address(201, 1);
  EXPECT_TRUE(net.add(from, client_options())
                  .connect(nobody, pin_server(), net.now())
                  .ok());
  net.run_until([&] { return net.stats().collected >= 1; }, seconds(1));
  net.remove(from);
  auto got = net.take_collected(nobody);
  EXPECT_FALSE(got.empty());
  return got.empty() ? std::vector<std::uint8_t>() : got[0].bytes;
}

// Plays the client half of the cookie exchange from `from` by hand: the
// HelloVerifyRequest's cookie, or empty when none came.
std::vector<std::uint8_t> cookie_for(SimNetwork& net,
                                     const std::vector<std::uint8_t>& hello,
                                     const PeerAddress& from,
                                     const PeerAddress& server = kServer) {
  net.send(from, server, hello);
  net.run_for(milliseconds(30));
  for (const auto& d : net.take_collected(from)) {
    auto cookie = testing::hello_verify_cookie(d.bytes);
    if (!cookie.empty()) return {cookie.begin(), cookie.end()};
  }
  return {};
}

TEST(EndpointCore, HandshakeDataAndMediaOverALossyLink) {
  for (std::uint64_t seed = 1; seed <= 4; ++seed) {
    testing::LinkConfig lossy;
    lossy.loss = 0.15;
    lossy.duplicate = 0.05;
    lossy.reorder = 0.1;
    SimNetwork net(seed, lossy);
    Recorder srec, crec;
    EndpointCore& s = net.add(kServer, server_options(), srec.callbacks());
    EndpointCore& c =
        net.add(client_address(1), client_options(), crec.callbacks());
    AssociationOptions a = pin_server();
    a.initial_retransmit_timeout = milliseconds(200);
    ASSERT_TRUE(c.connect(kServer, a, net.now()).ok());
    ASSERT_TRUE(net.run_until([&] { return both_open(srec, crec); }))
        << "seed " << seed;
    ASSERT_EQ(srec.sessions, std::vector<PeerAddress>{client_address(1)});
    EXPECT_GE(s.stats().hello_verify_requests, 1u);
    EXPECT_EQ(s.stats().server_sessions, 1u);
    EXPECT_EQ(c.stats().client_sessions, 1u);
    EXPECT_EQ(*c.association(kServer)->export_keying_material(
                  60, "EXTRACTOR-dtls_srtp"),
              *s.association(client_address(1))
                   ->export_keying_material(60, "EXTRACTOR-dtls_srtp"));
    // Data and media over a clean link (DTLS does not resend data).
    net.set_link(kServer, client_address(1), {});
    net.set_link(client_address(1), kServer, {});
    net.run_for(seconds(3));  // late duplicates and retransmissions drain
    ASSERT_TRUE(c.send(kServer, bytes("ping"), net.now()).ok());
    const auto rtp = testing::make_rtp(7, 1, 160);
    ASSERT_TRUE(c.send_media(kServer, PacketKind::kRtp, rtp, net.now()).ok());
    ASSERT_TRUE(s.send_media(client_address(1), PacketKind::kRtp,
                             testing::make_rtp(8, 1, 160), net.now())
                    .ok());
    ASSERT_TRUE(net.run_until([&] {
      return srec.count(DtlsEvent::Type::kData) == 1 &&
             srec.media.size() == 1 && crec.media.size() == 1;
    }));
    EXPECT_EQ(srec.media[0].packet, rtp);
    EXPECT_EQ(srec.media[0].from, client_address(1));
    EXPECT_EQ(s.media_counters(client_address(1))->rtp_packets_unprotected, 1u);
    // The client's close_notify ends the server's session.
    c.close(net.now());
    ASSERT_TRUE(
        net.run_until([&] { return srec.count(DtlsEvent::Type::kClosed); }));
    EXPECT_EQ(s.session_count(), 0u);
    EXPECT_EQ(srec.finished, std::vector<DtlsAssociation::State>{
                                 DtlsAssociation::State::kClosed});
    EXPECT_FALSE(c.connect(kServer, pin_server(), net.now()).ok());
  }
}

// next_deadline() and handle_timeout() carry the association's timers: the
// ClientHello is resent after exactly initial_retransmit_timeout, and the
// handshake ends at exactly handshake_timeout.
TEST(EndpointCore, DeadlinesRunInSimulatedTime) {
  SimNetwork net;
  Recorder crec;
  EndpointCore& c =
      net.add(client_address(1), client_options(), crec.callbacks());
  const PeerAddress nobody = sim_address(99);
  const TimePoint t0 = net.now();
  AssociationOptions a = pin_server();
  a.initial_retransmit_timeout = milliseconds(300);
  a.handshake_timeout = milliseconds(1000);
  ASSERT_TRUE(c.connect(nobody, a, t0).ok());
  EXPECT_EQ(c.next_deadline(), t0 + milliseconds(300));
  net.run_for(milliseconds(299));
  EXPECT_EQ(net.take_collected(nobody).size(), 1u);
  net.run_for(milliseconds(20));
  EXPECT_EQ(net.take_collected(nobody).size(), 1u);  // the retransmission
  ASSERT_TRUE(
      net.run_until([&] { return crec.count(DtlsEvent::Type::kError) == 1; }));
  EXPECT_EQ(net.now(), t0 + milliseconds(1000));
  EXPECT_EQ(crec.error_codes(),
            std::vector<std::string>{"ERR_DTLS_HANDSHAKE_TIMEOUT"});
  EXPECT_EQ(c.session_count(), 0u);
  EXPECT_FALSE(c.next_deadline());
}

// RFC 8489 §6.2.1: the round trip a completed handshake measured times the
// first flight of the next one to the same host (another port included), so
// a lost first ClientHello costs 3 RTT there and not the initial timeout;
// other hosts, and connects that opt out, start from the initial timeout.
TEST(EndpointCore, ARoundTripLearntFromAHandshakeTimesTheNextFirstFlight) {
  testing::LinkConfig slow;
  slow.delay = milliseconds(100);  // RTT 200 ms
  SimNetwork net(1, slow);
  Recorder srec, crec;
  net.add(kServer, server_options(), srec.callbacks());
  EndpointCore& c =
      net.add(client_address(1), client_options(), crec.callbacks());
  AssociationOptions a = pin_server();
  a.initial_retransmit_timeout = milliseconds(1000);
  ASSERT_TRUE(c.connect(kServer, a, net.now()).ok());
  ASSERT_TRUE(net.run_until([&] { return both_open(srec, crec); }));
  EXPECT_EQ(c.association(kServer)->stats().smoothed_rtt, milliseconds(200));
  EXPECT_EQ(c.stats().cached_rtt_connects, 0u);

  // The same host, a port where nobody answers: the first ClientHello is
  // resent after RTO = SRTT + 4 RTTVAR = 3 x 200 ms (RFC 6298 §2.2).
  const PeerAddress same_host = sim_address(1, 444);
  TimePoint t = net.now();
  ASSERT_TRUE(c.connect(same_host, a, t).ok());
  EXPECT_EQ(c.association(same_host)->stats().remembered_rtt,
            milliseconds(200));
  // Not this path's measurement: smoothed_rtt stays empty.
  EXPECT_FALSE(c.association(same_host)->stats().smoothed_rtt);
  EXPECT_EQ(c.next_deadline(), t + milliseconds(600));
  EXPECT_EQ(c.stats().cached_rtt_connects, 1u);
  // Never later than the initial timeout: with 400 ms, after 400 ms.
  const PeerAddress short_initial = sim_address(1, 447);
  AssociationOptions a400 = a;
  a400.initial_retransmit_timeout = milliseconds(400);
  c.destroy_session(same_host);
  ASSERT_TRUE(c.connect(short_initial, a400, t).ok());
  EXPECT_EQ(c.next_deadline(), t + milliseconds(400));
  c.destroy_session(short_initial);
  EXPECT_EQ(c.stats().cached_rtt_connects, 2u);

  // Another host, and a connect that opts out: the initial timeout.
  const PeerAddress other_host = sim_address(2, 443);
  const PeerAddress same_host_again = sim_address(1, 445);
  AssociationOptions first_contact = a;
  first_contact.use_rtt_cache = false;
  EndpointCore& c2 = net.add(client_address(2), client_options());
  t = net.now();
  ASSERT_TRUE(c2.connect(same_host_again, a, t).ok());  // c2 learnt nothing
  EXPECT_EQ(c2.next_deadline(), t + milliseconds(1000));
  ASSERT_TRUE(c.connect(other_host, a, t).ok());
  EXPECT_FALSE(c.association(other_host)->stats().remembered_rtt);
  ASSERT_TRUE(c.connect(same_host_again, first_contact, t).ok());
  EXPECT_FALSE(c.association(same_host_again)->stats().remembered_rtt);
  EXPECT_EQ(c.stats().cached_rtt_connects, 2u);
  // An initial_rtt of the caller's own wins over what was learnt.
  const PeerAddress third = sim_address(1, 446);
  AssociationOptions known = a;
  known.initial_rtt = milliseconds(50);
  ASSERT_TRUE(c.connect(third, known, t).ok());
  EXPECT_EQ(c.association(third)->stats().smoothed_rtt, milliseconds(50));
  EXPECT_FALSE(c.association(third)->stats().remembered_rtt);
  EXPECT_EQ(c.stats().cached_rtt_connects, 2u);
}

// Endpoints given one RttCache (a loop's) learn for each other. Only client
// handshakes teach it: a server's first sample is the cookie's age, which the
// client chooses.
TEST(EndpointCore, EndpointsSharingAnRttCacheLearnForEachOther) {
  testing::LinkConfig slow;
  slow.delay = milliseconds(100);
  SimNetwork net(1, slow);
  Recorder srec, crec;
  auto shared = std::make_shared<RttCache>();
  EndpointCoreOptions so = server_options();
  so.rtt_cache = shared;
  net.add(kServer, so, srec.callbacks());
  EndpointCoreOptions co = client_options();
  co.rtt_cache = shared;
  EndpointCore& c = net.add(client_address(1), co, crec.callbacks());
  ASSERT_TRUE(c.connect(kServer, pin_server(), net.now()).ok());
  ASSERT_TRUE(net.run_until([&] { return both_open(srec, crec); }));
  EXPECT_EQ(shared->find(kServer, net.now()), milliseconds(200));
  EXPECT_FALSE(shared->find(client_address(1), net.now()));
  EXPECT_EQ(shared->size(), 1u);
  EndpointCore& c2 = net.add(client_address(2), co);
  const PeerAddress nobody = sim_address(1, 444);
  ASSERT_TRUE(c2.connect(nobody, pin_server(), net.now()).ok());
  EXPECT_EQ(c2.association(nobody)->stats().remembered_rtt, milliseconds(200));
  EXPECT_EQ(c2.stats().cached_rtt_connects, 1u);
}

TEST(EndpointCore, BusyAndMaxSessionsRefuseNewHandshakes) {
  for (bool use_busy : {true, false}) {
    SimNetwork net;
    Recorder srec, crec;
    EndpointCoreOptions o = server_options();
    o.max_sessions = use_busy ? 10 : 0;
    EndpointCore& s = net.add(kServer, o, srec.callbacks());
    s.set_busy(use_busy);
    EndpointCore& c =
        net.add(client_address(1), client_options(), crec.callbacks());
    AssociationOptions a = pin_server();
    a.initial_retransmit_timeout = milliseconds(50);
    a.handshake_timeout = milliseconds(300);
    const TimePoint t0 = net.now();
    ASSERT_TRUE(c.connect(kServer, a, t0).ok());
    ASSERT_TRUE(net.run_until(
        [&] { return crec.count(DtlsEvent::Type::kError) == 1; }));
    EXPECT_EQ(net.now(), t0 + milliseconds(300));
    EXPECT_EQ(crec.error_codes(),
              std::vector<std::string>{"ERR_DTLS_HANDSHAKE_TIMEOUT"});
    // Every hello with a valid cookie (the first and each retransmission)
    // was refused without state.
    EXPECT_GE(s.stats().server_busy_count, 2u);
    EXPECT_EQ(s.stats().server_sessions, 0u);
    EXPECT_EQ(s.session_count(), 0u);
    EXPECT_TRUE(srec.sessions.empty());
    if (use_busy) {
      // No longer busy: the next handshake goes through.
      s.set_busy(false);
      ASSERT_TRUE(c.connect(kServer, pin_server(), net.now()).ok());
      ASSERT_TRUE(net.run_until([&] { return both_open(srec, crec); }));
    }
  }
}

// A client with certificate 1 completes a handshake, vanishes without a
// close_notify, and a new one (certificate `cert`) takes its address and starts
// a handshake: a peer restart (RFC 6347 §4.2.8).
void restart_peer(SimNetwork& net, Recorder& srec, Recorder& first,
                  Recorder& second, int cert) {
  EndpointCore& c1 =
      net.add(client_address(1), client_options(), first.callbacks());
  ASSERT_TRUE(c1.connect(kServer, pin_server(), net.now()).ok());
  ASSERT_TRUE(net.run_until([&] { return both_open(srec, first); }));
  EndpointCore& c2 =
      net.add(client_address(1), client_options(cert), second.callbacks());
  ASSERT_TRUE(c2.connect(kServer, pin_server(), net.now()).ok());
}

TEST(EndpointCore, PeerRestartingOnTheSameAddressGetsANewSession) {
  SimNetwork net;
  Recorder srec, first, second;
  EndpointCore& s = net.add(kServer, server_options(), srec.callbacks());
  restart_peer(net, srec, first, second, 1);
  ASSERT_TRUE(net.run_until([&] {
    return srec.count(DtlsEvent::Type::kHandshakeComplete) == 2 &&
           second.count(DtlsEvent::Type::kHandshakeComplete) == 1;
  }));
  EXPECT_EQ(s.stats().peer_restarts, 1u);
  EXPECT_EQ(s.session_count(), 1u);
  EXPECT_EQ(srec.sessions,
            (std::vector<PeerAddress>{client_address(1), client_address(1)}));
  EXPECT_EQ(srec.error_codes(),
            std::vector<std::string>{"ERR_DTLS_PEER_RESTARTED"});
  // The restart went through the cookie exchange like the first handshake.
  EXPECT_EQ(s.stats().hello_verify_requests, 2u);
}

// Issue 8, faults: the peer comes back on the same address with another
// certificate. The cookie exchange lets the restart through (RFC 6347
// §4.2.8), and the pin stops the new handshake.
TEST(EndpointCore, APeerThatReturnsWithAnotherCertificateIsRefused) {
  SimNetwork net;
  Recorder srec, first, second;
  EndpointCore& s = net.add(kServer, server_options(), srec.callbacks());
  restart_peer(net, srec, first, second, /*cert=*/2);
  ASSERT_TRUE(net.run_until([&] {
    return srec.count(DtlsEvent::Type::kError) == 2 &&
           second.count(DtlsEvent::Type::kError) == 1;
  }));
  EXPECT_EQ(srec.error_codes(),
            (std::vector<std::string>{"ERR_DTLS_PEER_RESTARTED",
                                      "ERR_DTLS_CERT_FINGERPRINT_MISMATCH"}));
  ASSERT_EQ(second.error_codes().size(), 1u);
  EXPECT_EQ(second.error_codes()[0].rfind("ERR_DTLS_ALERT_", 0), 0u)
      << second.error_codes()[0];
  EXPECT_EQ(s.session_count(), 0u);
}

// An open session ends ERR_DTLS_IDLE_TIMEOUT once its peer has been silent
// for idle_timeout; authenticated media keeps it alive (the core reports it
// to the association), as DTLS does.
TEST(EndpointCore, IdleTimeoutEndsASessionWhosePeerVanished) {
  SimNetwork net;
  Recorder srec, crec;
  EndpointCoreOptions o = server_options();
  o.server_association.idle_timeout = milliseconds(400);
  EndpointCore& s = net.add(kServer, o, srec.callbacks());
  EndpointCore& c =
      net.add(client_address(1), client_options(), crec.callbacks());
  ASSERT_TRUE(c.connect(kServer, pin_server(), net.now()).ok());
  ASSERT_TRUE(net.run_until([&] { return both_open(srec, crec); }));
  net.run_for(milliseconds(100));  // the handshake's last flights settle
  // A second of media, every 100 ms: no idle timeout.
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(
        c.send_media(kServer, PacketKind::kRtp,
                     testing::make_rtp(5, static_cast<std::uint16_t>(i), 100),
                     net.now())
            .ok());
    net.run_for(milliseconds(100));
  }
  EXPECT_EQ(srec.media.size(), 10u);
  EXPECT_EQ(srec.count(DtlsEvent::Type::kError), 0);
  // The client vanishes: the last packet arrived 10 ms after it was sent,
  // 90 ms ago, so the session ends 310 ms from now.
  net.remove(client_address(1));
  const TimePoint last_heard = net.now() - milliseconds(90);
  ASSERT_TRUE(
      net.run_until([&] { return srec.count(DtlsEvent::Type::kError) == 1; }));
  EXPECT_EQ(net.now(), last_heard + milliseconds(400));
  EXPECT_EQ(srec.error_codes(),
            std::vector<std::string>{"ERR_DTLS_IDLE_TIMEOUT"});
  EXPECT_EQ(s.session_count(), 0u);
}

// Without idle_timeout, a session whose peer sent media and then vanished
// ends after media_idle_timeout: the first packet arms a deadline the
// session did not have, which the core must schedule.
TEST(EndpointCore, MediaIdleTimeoutIsArmedByTheFirstPacket) {
  SimNetwork net;
  Recorder srec, crec;
  EndpointCoreOptions o = server_options();
  o.server_association.media_idle_timeout = milliseconds(3000);
  EndpointCore& s = net.add(kServer, o, srec.callbacks());
  EndpointCore& c =
      net.add(client_address(1), client_options(), crec.callbacks());
  ASSERT_TRUE(c.connect(kServer, pin_server(), net.now()).ok());
  ASSERT_TRUE(net.run_until([&] { return both_open(srec, crec); }));
  net.run_for(milliseconds(10000));  // no media: nothing ends it
  EXPECT_EQ(srec.count(DtlsEvent::Type::kError), 0);
  // Beside the cookie rotation's, the one deadline of this session is the
  // hold of its last flight (AssociationOptions::last_flight_hold): its
  // client has said nothing since the handshake.
  EXPECT_EQ(s.deadline_count(), 2u);
  ASSERT_TRUE(c.send_media(kServer, PacketKind::kRtp,
                           testing::make_rtp(5, 1, 100), net.now())
                  .ok());
  net.run_for(milliseconds(10));
  ASSERT_EQ(srec.media.size(), 1u);
  // The media ended the hold (the session let OpenSSL go) and armed
  // media_idle_timeout.
  EXPECT_EQ(s.stats().sessions_released, 1u);
  EXPECT_EQ(s.deadline_count(), 2u);
  const TimePoint last_heard = net.now();
  net.remove(client_address(1));
  ASSERT_TRUE(
      net.run_until([&] { return srec.count(DtlsEvent::Type::kError) == 1; }));
  EXPECT_EQ(net.now(), last_heard + milliseconds(3000));
  EXPECT_EQ(srec.error_codes(),
            std::vector<std::string>{"ERR_DTLS_IDLE_TIMEOUT"});
  EXPECT_EQ(s.session_count(), 0u);
  EXPECT_EQ(s.deadline_count(), 1u);
}

// Sessions that let OpenSSL go are counted once each. An idle established
// session holds no deadline once it has; a server whose client never speaks
// lets go at the end of the hold (RFC 6347 §4.2.4, twice the MSL), so that
// the endpoint's timer has nothing to run for it after that, however many
// there are.
TEST(EndpointCore, ReleasedSessionsAreCountedAndHoldNoDeadline) {
  SimNetwork net;
  Recorder srec, crec;
  EndpointCoreOptions o = server_options();
  o.server_association.media_idle_timeout = milliseconds(0);
  EndpointCore& s = net.add(kServer, o, srec.callbacks());
  EndpointCore& c =
      net.add(client_address(1), client_options(), crec.callbacks());
  ASSERT_TRUE(c.connect(kServer, pin_server(), net.now()).ok());
  ASSERT_TRUE(net.run_until([&] { return both_open(srec, crec); }));
  const TimePoint opened = net.now();
  EXPECT_EQ(c.stats().sessions_released, 1u);  // at once: nothing to answer
  EXPECT_EQ(c.deadline_count(), 0u);           // none at all
  EXPECT_EQ(s.stats().sessions_released, 0u);
  EXPECT_EQ(s.deadline_count(), 2u);  // and the hold
  net.run_for(std::chrono::minutes(3));
  EXPECT_EQ(s.stats().sessions_released, 0u);
  ASSERT_TRUE(net.run_until([&] { return s.stats().sessions_released == 1; },
                            std::chrono::minutes(2)));
  EXPECT_LE(net.now() - opened, std::chrono::minutes(4));
  EXPECT_EQ(s.deadline_count(), 1u);
  EXPECT_TRUE(s.association(client_address(1))->released());
  EXPECT_EQ(srec.count(DtlsEvent::Type::kError), 0);
  // Still one session: a message each way.
  ASSERT_TRUE(c.send(kServer, bytes("ping"), net.now()).ok());
  ASSERT_TRUE(s.send(client_address(1), bytes("pong"), net.now()).ok());
  ASSERT_TRUE(net.run_until([&] {
    return srec.count(DtlsEvent::Type::kData) == 1 &&
           crec.count(DtlsEvent::Type::kData) == 1;
  }));
  EXPECT_EQ(s.stats().sessions_released, 1u);
  EXPECT_EQ(c.stats().sessions_released, 1u);
  // Another client's first media ends its hold early: with no
  // media_idle_timeout, the session's deadline goes with it.
  Recorder crec2;
  EndpointCore& c2 =
      net.add(client_address(2), client_options(), crec2.callbacks());
  ASSERT_TRUE(c2.connect(kServer, pin_server(), net.now()).ok());
  ASSERT_TRUE(net.run_until([&] {
    return srec.count(DtlsEvent::Type::kHandshakeComplete) == 2 &&
           crec2.count(DtlsEvent::Type::kHandshakeComplete) == 1;
  }));
  EXPECT_EQ(s.deadline_count(), 2u);
  ASSERT_TRUE(c2.send_media(kServer, PacketKind::kRtp,
                            testing::make_rtp(5, 1, 100), net.now())
                  .ok());
  ASSERT_TRUE(net.run_until([&] { return srec.media.size() == 1; }));
  EXPECT_EQ(s.stats().sessions_released, 2u);
  EXPECT_EQ(s.deadline_count(), 1u);
}

// RFC 6347 §4.2.1: the cookie secret rotates every cookie_rotation; a cookie
// stays good through one rotation (the previous secret) and not two.
TEST(EndpointCore, CookiesOutliveOneRotationButNotTwo) {
  SimNetwork net;
  EndpointCoreOptions o = server_options();
  o.cookie_rotation = milliseconds(1000);
  EndpointCore& s = net.add(kServer, o);
  const auto hello = first_client_hello(net);
  ASSERT_FALSE(hello.empty());
  const PeerAddress peer = sim_address(50, 1);
  auto cookie = cookie_for(net, hello, peer);
  ASSERT_FALSE(cookie.empty());
  EXPECT_EQ(s.stats().hello_verify_requests, 1u);
  const auto hello2 = testing::client_hello_with_cookie(hello, cookie);
  // Between one and two rotations later: accepted.
  net.run_for(milliseconds(1500));
  net.send(peer, kServer, hello2);
  net.run_for(milliseconds(20));
  EXPECT_EQ(s.stats().server_sessions, 1u);
  EXPECT_EQ(s.stats().hello_verify_requests, 1u);
  // A second peer gets a cookie of the current secret.
  const PeerAddress other = sim_address(50, 2);
  auto other_cookie = cookie_for(net, hello, other);
  ASSERT_FALSE(other_cookie.empty());
  EXPECT_EQ(s.stats().hello_verify_requests, 2u);
  // Two rotations after it was made, that one is refused with a fresh one.
  net.run_for(milliseconds(2000));
  net.send(other, kServer,
           testing::client_hello_with_cookie(hello, other_cookie));
  net.run_for(milliseconds(20));
  EXPECT_EQ(s.stats().server_sessions, 1u);
  EXPECT_EQ(s.stats().hello_verify_requests, 3u);
  auto again = net.take_collected(other);
  ASSERT_FALSE(again.empty());
  EXPECT_FALSE(testing::hello_verify_cookie(again.back().bytes).empty());
}

// With one cookie master, endpoints (workers of one port) accept each
// other's cookies: the secret follows the rotation period, not the endpoint.
TEST(EndpointCore, EndpointsWithOneCookieMasterAcceptEachOthersCookies) {
  SimNetwork net;
  EndpointCoreOptions o = server_options();
  o.cookie_master_secret.emplace();
  o.cookie_master_secret->fill(7);
  o.cookie_rotation = milliseconds(8000);
  const PeerAddress worker2 = sim_address(2, 443);
  EndpointCore& w1 = net.add(kServer, o);
  EndpointCore& w2 = net.add(worker2, o);
  const auto hello = first_client_hello(net);
  const PeerAddress peer = sim_address(50, 1);
  auto cookie = cookie_for(net, hello, peer, kServer);
  ASSERT_FALSE(cookie.empty());
  net.send(peer, worker2, testing::client_hello_with_cookie(hello, cookie));
  net.run_for(milliseconds(20));
  EXPECT_EQ(w2.stats().server_sessions, 1u);
  EXPECT_EQ(w2.stats().hello_verify_requests, 0u);
  EXPECT_EQ(w1.stats().server_sessions, 0u);
  // Without the master, another endpoint's cookie is not one of ours.
  const PeerAddress lone = sim_address(3, 443);
  EndpointCore& w3 = net.add(lone, server_options());
  net.send(peer, lone, testing::client_hello_with_cookie(hello, cookie));
  net.run_for(milliseconds(20));
  EXPECT_EQ(w3.stats().server_sessions, 0u);
  EXPECT_EQ(w3.stats().hello_verify_requests, 1u);
}

// A flood of ClientHellos from spoofed sources costs the server no state: one
// HelloVerifyRequest each, no larger than the hello. Peers that answer the
// cookie and go silent are bounded per address, replaced after their grace,
// and expire; every one is counted.
TEST(EndpointCore, FloodsAreAnsweredWithoutStateAndCountedExactly) {
  SimNetwork net;
  EndpointCoreOptions o = server_options();
  o.half_open.per_address = 4;
  o.half_open.grace = milliseconds(1000);
  o.half_open.timeout = milliseconds(5000);
  Recorder srec;
  EndpointCore& s = net.add(kServer, o, srec.callbacks());
  const auto hello = first_client_hello(net);
  constexpr int kSpoofed = 500;
  for (int i = 0; i < kSpoofed; ++i) {
    net.send(sim_address(100, static_cast<std::uint16_t>(1000 + i)), kServer,
             hello);
  }
  net.run_for(milliseconds(50));
  EXPECT_EQ(s.stats().hello_verify_requests, static_cast<unsigned>(kSpoofed));
  EXPECT_EQ(s.stats().demux[PacketKind::kDtls],
            static_cast<unsigned>(kSpoofed));
  EXPECT_EQ(s.session_count(), 0u);
  EXPECT_EQ(s.half_open_count(), 0u);
  for (int i = 0; i < kSpoofed; ++i) {
    auto got = net.take_collected(
        sim_address(100, static_cast<std::uint16_t>(1000 + i)));
    ASSERT_EQ(got.size(), 1u);
    EXPECT_LE(got[0].bytes.size(), hello.size());
  }
  // Six peers of one address answer their cookies, then go silent.
  auto half_open = [&](int port) {
    const PeerAddress from = sim_address(60, static_cast<std::uint16_t>(port));
    auto cookie = cookie_for(net, hello, from);
    EXPECT_FALSE(cookie.empty());
    net.send(from, kServer, testing::client_hello_with_cookie(hello, cookie));
    net.run_for(milliseconds(20));
  };
  for (int port = 1; port <= 6; ++port) half_open(port);
  EXPECT_EQ(s.half_open_count(), 4u);
  EXPECT_EQ(s.stats().half_open_refused, 2u);  // within the others' grace
  // Past their grace, a new one replaces the oldest.
  net.run_for(milliseconds(1000));
  half_open(7);
  EXPECT_EQ(s.half_open_count(), 4u);
  EXPECT_EQ(s.stats().half_open_evicted, 1u);
  EXPECT_EQ(srec.error_codes(),
            std::vector<std::string>{"ERR_DTLS_HANDSHAKE_EVICTED"});
  // No step for half_open.timeout: all of them end.
  ASSERT_TRUE(net.run_until([&] { return s.session_count() == 0; }));
  EXPECT_EQ(s.stats().half_open_expired, 4u);
  EXPECT_EQ(s.half_open_count(), 0u);
  EXPECT_EQ(s.stats().server_sessions, 5u);
}

// close() sends close_notify to every session and takes nothing after;
// destroy(error) ends every session with the error.
TEST(EndpointCore, CloseAndDestroyEndEverySession) {
  SimNetwork net;
  Recorder srec;
  EndpointCore& s = net.add(kServer, server_options(), srec.callbacks());
  std::vector<Recorder> crecs(3);
  for (int i = 0; i < 3; ++i) {
    EndpointCore& c = net.add(client_address(i), client_options(),
                              crecs[static_cast<size_t>(i)].callbacks());
    ASSERT_TRUE(c.connect(kServer, pin_server(), net.now()).ok());
  }
  ASSERT_TRUE(net.run_until(
      [&] { return srec.count(DtlsEvent::Type::kHandshakeComplete) == 3; }));
  s.close(net.now());
  EXPECT_TRUE(s.closing());
  ASSERT_TRUE(net.run_until([&] {
    for (const auto& r : crecs) {
      if (r.count(DtlsEvent::Type::kClosed) != 1) return false;
    }
    return true;
  }));
  EXPECT_EQ(s.connect(client_address(0), pin_server(), net.now()).error().code,
            "ERR_INVALID_STATE");
  EndpointCore* c0 = net.at(client_address(0));
  ASSERT_TRUE(c0->connect(kServer, pin_server(), net.now()).ok());
  net.run_for(seconds(2));
  EXPECT_EQ(s.stats().hello_verify_requests, 3u);  // nothing more answered
  c0->destroy(make_error("ERR_APP_SHUTDOWN", "going away"));
  EXPECT_EQ(crecs[0].error_codes(),
            std::vector<std::string>{"ERR_APP_SHUTDOWN"});
  EXPECT_EQ(c0->session_count(), 0u);
  EXPECT_FALSE(c0->next_deadline());
}

// A sender's MediaRoute skips the lookup by address while no session has
// gone, and is looked up again (never used stale) once one has.
TEST(EndpointCore, MediaRoutesFollowSessionsThatComeAndGo) {
  SimNetwork net;
  Recorder srec, c1rec, c2rec;
  EndpointCore& s = net.add(kServer, server_options(), srec.callbacks());
  EndpointCore& c1 =
      net.add(client_address(1), client_options(), c1rec.callbacks());
  EndpointCore& c2 =
      net.add(client_address(2), client_options(), c2rec.callbacks());
  ASSERT_TRUE(c1.connect(kServer, pin_server(), net.now()).ok());
  ASSERT_TRUE(c2.connect(kServer, pin_server(), net.now()).ok());
  ASSERT_TRUE(net.run_until([&] {
    return srec.count(DtlsEvent::Type::kHandshakeComplete) == 2 &&
           c1rec.count(DtlsEvent::Type::kHandshakeComplete) == 1 &&
           c2rec.count(DtlsEvent::Type::kHandshakeComplete) == 1;
  }));
  MediaRoute to1, to2;
  auto send = [&](const PeerAddress& to, MediaRoute& r, std::uint16_t seq) {
    return s.send_media(to, PacketKind::kRtp, testing::make_rtp(1, seq, 50),
                        net.now(), nullptr, &r);
  };
  ASSERT_TRUE(send(client_address(1), to1, 1).ok());
  ASSERT_TRUE(send(client_address(2), to2, 1).ok());
  EXPECT_EQ(to1.core, &s);
  EXPECT_NE(to1.session, nullptr);
  EXPECT_NE(to1.session, to2.session);
  const MediaRoute kept = to1;
  ASSERT_TRUE(send(client_address(1), to1, 2).ok());
  EXPECT_EQ(to1.removals, kept.removals);
  // Client 2 goes: every route is looked up again, client 1's still leads
  // to its session, client 2's finds none.
  s.destroy_session(client_address(2));
  ASSERT_TRUE(send(client_address(1), to1, 3).ok());
  EXPECT_NE(to1.removals, kept.removals);
  EXPECT_EQ(to1.session, kept.session);  // nodes do not move
  EXPECT_EQ(send(client_address(2), to2, 2).error().code,
            "ERR_DTLS_SESSION_NOT_OPEN");
  // A route from another core is not taken for this one's.
  MediaRoute foreign = to1;
  foreign.core = &c1;
  ASSERT_TRUE(send(client_address(1), foreign, 4).ok());
  EXPECT_EQ(foreign.core, &s);
  ASSERT_TRUE(net.run_until([&] { return c1rec.media.size() == 4; }));
  for (std::uint16_t i = 0; i < 4; ++i)
    EXPECT_EQ(c1rec.media[i].packet, testing::make_rtp(1, i + 1, 50));
}

// Media through a route waits for the handshake: the session's node is
// there (and the route finds it) before its association is open.
TEST(EndpointCore, MediaThroughARouteWaitsForTheHandshake) {
  SimNetwork net;
  Recorder srec, crec;
  EndpointCore& s = net.add(kServer, server_options(), srec.callbacks());
  EndpointCore& c =
      net.add(client_address(1), client_options(), crec.callbacks());
  ASSERT_TRUE(c.connect(kServer, pin_server(), net.now()).ok());
  ASSERT_TRUE(net.run_until([&] { return s.session_count() == 1; }));
  ASSERT_EQ(srec.count(DtlsEvent::Type::kHandshakeComplete), 0u);
  MediaRoute route;
  auto send = [&](std::uint16_t seq) {
    return s.send_media(client_address(1), PacketKind::kRtp,
                        testing::make_rtp(1, seq, 50), net.now(), nullptr,
                        &route);
  };
  // A fan-out's look-ahead through the route, at every step and beyond: it
  // goes no further than the node of a session that is not open, and not
  // through a route that is stale (its node freed: the sanitizer build
  // checks) or another core's.
  auto fetch_ahead = [&](EndpointCore& core) {
    for (int step = 0; step <= EndpointCore::kMediaPrefetchSteps; ++step)
      core.prefetch_media(route, step);
  };
  fetch_ahead(s);  // an empty route
  EXPECT_EQ(send(1).error().code, "ERR_DTLS_SESSION_NOT_OPEN");
  EXPECT_EQ(route.core, &s);  // found, not open
  fetch_ahead(s);
  fetch_ahead(c);
  ASSERT_TRUE(net.run_until([&] {
    return srec.count(DtlsEvent::Type::kHandshakeComplete) == 1 &&
           crec.count(DtlsEvent::Type::kHandshakeComplete) == 1;
  }));
  const MediaRoute before = route;
  fetch_ahead(s);  // open, before its first packet: no cipher yet
  ASSERT_TRUE(send(2).ok());
  EXPECT_EQ(route.session, before.session);
  fetch_ahead(s);
  // Closed: the route is not followed to a session that has gone.
  s.close_session(client_address(1), net.now());
  EXPECT_EQ(send(3).error().code, "ERR_DTLS_SESSION_NOT_OPEN");
  ASSERT_TRUE(net.run_until(
      [&] { return crec.media.size() == 1 && s.session_count() == 0; }));
  EXPECT_EQ(crec.media[0].packet, testing::make_rtp(1, 2, 50));
  fetch_ahead(s);  // stale
}

}  // namespace
}  // namespace dtls
