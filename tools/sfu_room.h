// A room: a small SFU built only on the library's public API, the example to
// read first when writing one. Every participant is a browser peer connection
// on one ICE-lite endpoint (one UDP port); each sends its camera and
// microphone, and receives everyone else's through receive slots that its
// offer pre-creates (recvonly transceivers) and that our answer fills with
// SSRCs of ours. Each received RTP packet leaves in one fan-out send
// (dtls::send_rtp) to the participants who receive it, rewritten per
// receiver: the slot's SSRC and payload type, and sequence numbers and
// timestamps that stay one continuous stream while sources come and go.
// Keyframe requests (PLI, FIR) a receiver sends about a slot go back to the
// publisher, SSRCs mapped back; other RTCP is dropped.
//
// Threads: one loop. The room, its endpoint and every session live on the
// caller's uv_loop_t and every call is made on its thread.
#ifndef DTLS_SRTP_TOOLS_SFU_ROOM_H_
#define DTLS_SRTP_TOOLS_SFU_ROOM_H_

#include <uv.h>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "certs/fingerprint.h"
#include "transport/dtls_api.h"
#include "transport/endpoint/rtp_rewrite.h"

namespace dtls::tools::sfu {

enum Kind : int { kAudio = 0, kVideo = 1 };
constexpr int kKinds = 2;

// The codecs the room forwards. Receivers must decode what publishers send,
// and the answer takes each m-line's first media codec (sdp::answer_codec:
// rtx, red and FEC skipped), so every offer must list these first (the page
// sets its codec preferences so).
constexpr std::array<std::string_view, kKinds> kCodecs = {"opus", "VP8"};
constexpr std::array<std::uint32_t, kKinds> kClockRates = {48000, 90000};

// One receive slot's stream of one kind, as its receiver sees it: the SSRC
// and payload type our answer declared, and numbering that continues across
// a change of source (another publisher in the slot, or a publisher that
// restarted its stream under a new SSRC), so that the receiver's jitter
// buffer sees one stream without a jump back or a gap.
class SlotStream {
 public:
  SlotStream(std::uint32_t ssrc, std::uint8_t payload_type,
             std::uint32_t clock_rate)
      : ssrc_(ssrc), payload_type_(payload_type), clock_rate_(clock_rate) {}

  // The next packet starts a new source, whatever its SSRC.
  void switch_source() { switched_ = true; }
  // The rewrite for one packet of the current source. `now_ms` sizes the
  // timestamp step at a change of source: the time since the last packet.
  RtpRewrite next(std::uint32_t in_ssrc, std::uint16_t in_seq,
                  std::uint32_t in_ts, std::uint64_t now_ms);

  std::uint32_t ssrc() const { return ssrc_; }
  std::uint8_t payload_type() const { return payload_type_; }

 private:
  std::uint32_t ssrc_;
  std::uint8_t payload_type_;
  std::uint32_t clock_rate_;
  bool started_ = false;
  bool switched_ = false;
  std::uint32_t source_ssrc_ = 0;
  std::uint16_t seq_delta_ = 0;
  std::uint32_t ts_delta_ = 0;
  std::uint16_t last_seq_ = 0;  // the highest sent, in the receiver's numbers
  std::uint32_t last_ts_ = 0;
  std::uint64_t last_ms_ = 0;
};

// A keyframe request found in an RTCP compound packet: a PLI (RFC 4585
// §6.3.1) or one FIR entry (RFC 5104 §4.3.1).
struct KeyframeRequest {
  bool fir = false;
  std::uint32_t sender_ssrc = 0;
  std::uint32_t media_ssrc = 0;  // the stream it is about
  std::uint8_t fir_seq = 0;
};

// Reads the keyframe requests of a compound RTCP packet into `out` and
// returns how many it wrote; every other packet in it (SR, RR, SDES, BYE,
// NACK, REMB, transport-cc, XR...), and each request beyond `out`'s room,
// adds one to `*skipped`. A malformed header ends the walk (what came before
// still counts).
size_t read_keyframe_requests(std::span<const std::uint8_t> rtcp,
                              std::span<KeyframeRequest> out, size_t* skipped);
// Writes `request` as a compound RTCP packet: an empty receiver report from
// its sender (RFC 3550 §6.1: a compound starts with a report), then the PLI
// or FIR. Returns its length (20 or 28 bytes); 0 when `out` is too small.
size_t write_keyframe_request(const KeyframeRequest& request,
                              std::span<std::uint8_t> out);

struct RoomOptions {
  std::string host = "127.0.0.1";  // the media port's address
  std::uint16_t port = 0;          // 0: any free port
  // Chromium and Firefox offer both; OpenSSL picks in this order.
  std::string srtp = "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80";
  size_t max_participants = 8;
  std::string cert, key;  // PEM; a fresh ECDSA P-256 identity when empty
};

// What the room counts per participant: what it sent us, what we forwarded
// of it and to it, its RTCP.
struct ParticipantCounters {
  std::array<std::uint64_t, kKinds> rtp_in{};  // audio, video
  std::uint64_t rtp_other = 0;     // a payload type the answer did not accept
  std::uint64_t rtp_unrouted = 0;  // nobody to forward it to (yet)
  std::array<std::uint64_t, kKinds> rtp_out{};  // forwarded to it
  // Forwards its session refused (queue full, not open yet, ended), by the
  // fan-out send's per-subscriber outcome.
  std::array<std::uint64_t, kKinds> rtp_refused{};
  std::uint64_t rtcp_in = 0;
  std::uint64_t rtcp_dropped = 0;                // packets inside its compounds
  std::uint64_t keyframe_requests_in = 0;        // PLI/FIR it sent, forwarded
  std::uint64_t keyframe_requests_out = 0;       // sent to it (theirs and ours)
  std::uint64_t keyframe_requests_unmapped = 0;  // not about a filled slot
};

struct SlotInfo {
  std::array<std::uint32_t, kKinds> ssrc{};
  std::array<std::uint8_t, kKinds> payload_type{};
  std::uint64_t source = 0;       // the participant in it now, 0: free
  std::uint64_t last_source = 0;  // the last one it carried
};

struct ParticipantInfo {
  std::uint64_t id = 0;
  bool open = false;         // DTLS done: it sends and receives
  bool present = false;      // false once its session has ended
  std::string ended;         // "closed" or the error code that ended it
  std::string protocol;      // "DTLSv1.2", once open
  std::string srtp_profile;  // once open
  std::vector<SlotInfo> slots;
  ParticipantCounters counters;
  SessionStats stats;  // a snapshot once it has ended
};

struct RoomCounters {
  std::uint64_t fanout_calls = 0;
  std::uint64_t fanout_sent = 0;    // packets protected and sent
  std::uint64_t fanout_failed = 0;  // refused by a receiver's session
  std::string first_failure;        // the first refusal's code
  std::uint64_t keyframe_requests_sent = 0;
  std::uint64_t keyframe_request_failures = 0;
};

class Room {
 public:
  // Listens on options.host:port (ICE-lite). ERR_INVALID_ARG_VALUE for a
  // max_participants under 2, and listen's own errors.
  static Result<std::unique_ptr<Room>> create(uv_loop_t* loop,
                                              RoomOptions options);
  ~Room();
  Room(const Room&) = delete;
  Room& operator=(const Room&) = delete;

  struct Joined {
    std::uint64_t id = 0;
    std::string answer;  // SDP
  };
  // A participant from its offer: its ICE session on our endpoint and the
  // answer. ERR_SDP_INVALID (from the parser, or no audio/video to send),
  // ERR_SFU_CODEC when an m-line does not start with the room's codec,
  // ERR_SFU_ROOM_FULL, and add_ice_session's errors.
  Result<Joined> join(std::string_view offer);
  // Ends a participant's session with close_notify; the others keep
  // receiving each other. ERR_SFU_UNKNOWN_PARTICIPANT for an id not in the
  // room (never was, or gone already).
  Status leave(std::uint64_t id);
  // Ends every session and the endpoint; closed() settles once done. Keep
  // the room until then: the sessions' last callbacks reach it.
  void close();
  std::shared_future<Status> closed() const { return endpoint_.closed(); }

  std::vector<ParticipantInfo> participants() const;  // present, then gone
  const RoomCounters& counters() const { return counters_; }
  Endpoint& endpoint() { return endpoint_; }

 private:
  struct Slot {
    std::array<SlotStream, kKinds> stream;
    std::uint64_t source = 0;
    std::uint64_t last_source = 0;
  };
  // One publisher stream's receivers, in the shape the fan-out send takes,
  // rebuilt when someone joins, opens or leaves.
  struct Route {
    std::vector<Session> to;
    std::vector<RtpRewrite> rewrites;  // filled per packet
    std::vector<SlotStream*> streams;
    std::vector<std::uint64_t*> out_counters;
    std::vector<std::uint64_t*> refused_counters;
    std::vector<std::error_code> outcomes;  // filled by each send
  };
  struct Participant {
    std::uint64_t id = 0;
    Session session;
    bool open = false;
    bool leaving = false;
    std::string protocol, srtp_profile;
    std::array<int, kKinds> send_pt{-1, -1};  // what it sends us; -1: none
    std::array<std::uint32_t, kKinds> publishing_ssrc{};  // last seen
    std::vector<Slot> slots;
    std::array<Route, kKinds> routes;
    ParticipantCounters counters;
  };

  Room(uv_loop_t* loop, RoomOptions options)
      : loop_(loop), options_(std::move(options)) {}
  SessionListener listener();
  Participant* find(const Session& s);
  void on_opened(Session& s, const Result<std::string>& r);
  void on_rtp(Session& s, std::span<const std::uint8_t> packet);
  void on_rtcp(Session& s, std::span<const std::uint8_t> packet);
  void on_closed(Session& s, const Status& status);
  void send_keyframe_request(Participant& to, const KeyframeRequest& r);
  void request_keyframes_for(Participant& receiver);
  void assign_slot(Participant& receiver, std::uint64_t source);
  void free_slots_of(std::uint64_t source);
  void rebuild_routes();
  ParticipantInfo info(const Participant& p) const;

  uv_loop_t* loop_;
  RoomOptions options_;
  Endpoint endpoint_;
  std::optional<certs::Fingerprint> fingerprint_;  // ours, for answers
  std::uint64_t next_id_ = 1;
  std::map<std::uint64_t, std::unique_ptr<Participant>> participants_;
  std::unordered_map<std::uint64_t, Participant*> by_session_;  // Session::id
  std::vector<ParticipantInfo> gone_;
  RoomCounters counters_;
  // What the sessions' callbacks reach the room through; null once the room
  // is gone.
  std::shared_ptr<Room*> self_ = std::make_shared<Room*>(this);
};

}  // namespace dtls::tools::sfu

#endif  // DTLS_SRTP_TOOLS_SFU_ROOM_H_
