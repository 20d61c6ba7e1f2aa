#include "tools/sfu_room.h"

#include <algorithm>
#include <cctype>

#include "certs/certificate.h"
#include "certs/fingerprint.h"
#include "certs/generate.h"
#include "transport/ice/sdp.h"

namespace dtls::tools::sfu {
namespace {

std::uint16_t get16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>(p[0] << 8 | p[1]);
}
std::uint32_t get32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(get16(p)) << 16 | get16(p + 2);
}
void put32(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 24);
  p[1] = static_cast<std::uint8_t>(v >> 16);
  p[2] = static_cast<std::uint8_t>(v >> 8);
  p[3] = static_cast<std::uint8_t>(v);
}

bool same_name(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

// Our SSRC for a receiver's slot: unique within the receiver's peer
// connection (the only place it must be), and readable in a capture.
std::uint32_t slot_ssrc(std::uint64_t receiver, size_t slot, int kind) {
  return 0x10000000u + static_cast<std::uint32_t>(receiver) * 256u +
         static_cast<std::uint32_t>(slot) * 2u +
         static_cast<std::uint32_t>(kind);
}

constexpr size_t kMaxSlots = 127;  // slot_ssrc's room per receiver

}  // namespace

RtpRewrite SlotStream::next(std::uint32_t in_ssrc, std::uint16_t in_seq,
                            std::uint32_t in_ts, std::uint64_t now_ms) {
  if (!started_ || switched_ || in_ssrc != source_ssrc_) {
    if (started_) {
      // A new source continues right after the highest sequence number the
      // receiver has had, and its timestamps step on by the time that
      // passed (at least a 20 ms frame), so playout neither jumps back nor
      // stalls on a gap.
      seq_delta_ = static_cast<std::uint16_t>(last_seq_ + 1 - in_seq);
      std::uint64_t step = (now_ms - last_ms_) * clock_rate_ / 1000;
      step = std::max<std::uint64_t>(step, clock_rate_ / 50);
      ts_delta_ = static_cast<std::uint32_t>(last_ts_ + step - in_ts);
    }
    started_ = true;
    switched_ = false;
    source_ssrc_ = in_ssrc;
    last_seq_ = static_cast<std::uint16_t>(in_seq + seq_delta_ - 1);
  }
  const auto seq = static_cast<std::uint16_t>(in_seq + seq_delta_);
  const std::uint32_t ts = in_ts + ts_delta_;
  // Reordered packets keep their place; only a newer one moves the end.
  if (static_cast<std::int16_t>(seq - last_seq_) > 0) {
    last_seq_ = seq;
    last_ts_ = ts;
  }
  last_ms_ = now_ms;
  return RtpRewrite{ssrc_, payload_type_, seq, ts};
}

size_t read_keyframe_requests(std::span<const std::uint8_t> rtcp,
                              std::span<KeyframeRequest> out, size_t* skipped) {
  size_t n = 0;
  auto add = [&](const KeyframeRequest& r) {
    if (n < out.size()) {
      out[n++] = r;
    } else {
      ++*skipped;
    }
  };
  size_t pos = 0;
  while (pos + 4 <= rtcp.size()) {
    const std::uint8_t* p = rtcp.data() + pos;
    const size_t length = (static_cast<size_t>(get16(p + 2)) + 1) * 4;
    if ((p[0] >> 6) != 2 || pos + length > rtcp.size()) break;
    const int fmt = p[0] & 0x1f;
    const int type = p[1];
    // RFC 4585 §6.1: PSFB (206) is sender SSRC, media SSRC, then the FCI.
    if (type == 206 && fmt == 1 && length >= 12) {
      add({false, get32(p + 4), get32(p + 8), 0});
    } else if (type == 206 && fmt == 4 && length >= 20) {
      // RFC 5104 §4.3.1: FIR names its streams in the FCI, 8 bytes each.
      for (size_t at = 12; at + 8 <= length; at += 8)
        add({true, get32(p + 4), get32(p + at), p[at + 4]});
    } else {
      ++*skipped;
    }
    pos += length;
  }
  return n;
}

size_t write_keyframe_request(const KeyframeRequest& r,
                              std::span<std::uint8_t> out) {
  const size_t size = r.fir ? 28 : 20;
  if (out.size() < size) return 0;
  std::uint8_t* p = out.data();
  // An empty receiver report: V=2, RC=0, PT=201, length 1 (words - 1).
  p[0] = 0x80, p[1] = 201, p[2] = 0, p[3] = 1;
  put32(p + 4, r.sender_ssrc);
  p += 8;
  p[0] = static_cast<std::uint8_t>(0x80 | (r.fir ? 4 : 1));
  p[1] = 206, p[2] = 0, p[3] = r.fir ? 4 : 2;
  put32(p + 4, r.sender_ssrc);
  if (r.fir) {
    put32(p + 8, 0);  // the media source field is unused in a FIR
    put32(p + 12, r.media_ssrc);
    p[16] = r.fir_seq, p[17] = 0, p[18] = 0, p[19] = 0;
  } else {
    put32(p + 8, r.media_ssrc);
  }
  return size;
}

Result<std::unique_ptr<Room>> Room::create(uv_loop_t* loop,
                                           RoomOptions options) {
  if (options.max_participants < 2 || options.max_participants > kMaxSlots + 1)
    return make_error(
        "ERR_INVALID_ARG_VALUE",
        "a room takes 2.." + std::to_string(kMaxSlots + 1) + " participants");
  if (options.cert.empty()) {
    auto creds = certs::generate_certificate();
    if (!creds.ok()) return creds.error();
    options.cert = creds->leaf().to_pem();
    options.key = creds->key.to_pem();
  }
  auto cert = certs::Certificate::from_pem(options.cert);
  if (!cert.ok()) return cert.error();
  std::unique_ptr<Room> room(new Room(loop, options));
  room->fingerprint_ =
      certs::Fingerprint::of(*cert, certs::HashAlgorithm::kSha256);
  ListenOptions o;
  o.cert = options.cert;
  o.key = options.key;
  o.srtp = options.srtp;
  o.require_srtp = true;
  o.host = options.host;
  o.port = options.port;
  o.ice_lite = true;
  // Participants come only from join(), each with its own listener.
  auto endpoint = listen(loop, SessionListener{}, o);
  if (!endpoint.ok()) return endpoint.error();
  room->endpoint_ = std::move(endpoint).value();
  return room;
}

Room::~Room() {
  // The sessions' callbacks may come after the room is gone (the endpoint
  // finishes closing on the loop): they find no room and do nothing.
  *self_ = nullptr;
  endpoint_.destroy();
}

SessionListener Room::listener() {
  // The callbacks receive the session they concern, so they capture no
  // handle; they find its participant by Session::id().
  std::shared_ptr<Room*> self = self_;
  SessionListener l;
  l.on_opened = [self](Session& s, const Result<std::string>& r) {
    if (*self) (*self)->on_opened(s, r);
  };
  l.on_rtp = [self](Session& s, std::span<const std::uint8_t> p) {
    if (*self) (*self)->on_rtp(s, p);
  };
  l.on_rtcp = [self](Session& s, std::span<const std::uint8_t> p) {
    if (*self) (*self)->on_rtcp(s, p);
  };
  l.on_closed = [self](Session& s, const Status& st) {
    if (*self) (*self)->on_closed(s, st);
  };
  return l;
}

Result<Room::Joined> Room::join(std::string_view offer_text) {
  auto offer = sdp::parse(offer_text);
  if (!offer.ok()) return offer.error();
  if (participants_.size() >= options_.max_participants) {
    return make_error("ERR_SFU_ROOM_FULL",
                      "the room has its " +
                          std::to_string(options_.max_participants) +
                          " participants");
  }
  auto p = std::make_unique<Participant>();
  p->id = next_id_;
  // The m-lines write_answer accepts, in order, and the codec it answers
  // each with: asked of the answer writer itself, because AnswerOptions::ssrcs
  // is indexed by exactly these lines, and any line counted here but not
  // there (port 0, outside the BUNDLE group) would shift every SSRC after
  // it. The first sending line of each kind is the participant's camera or
  // microphone (we receive it); recvonly ones are receive slots, the n-th
  // audio and n-th video making slot n.
  const std::vector<const sdp::Media*> accepted = sdp::answered_media(*offer);
  std::array<std::vector<int>, kKinds> recv_pts;  // per slot line, in order
  for (const sdp::Media* line : accepted) {
    const sdp::Media& m = *line;
    const int k = m.kind == "audio" ? kAudio : kVideo;
    const bool sends = m.direction == "sendrecv" || m.direction == "sendonly";
    if (!sends && m.direction != "recvonly") continue;
    // Never null for an answered line; rtx, red and FEC are skipped, so
    // what is checked here is what the answer declares.
    const sdp::Codec& codec = *sdp::answer_codec(m);
    if (!same_name(codec.name, kCodecs[k])) {
      return make_error("ERR_SFU_CODEC",
                        "the room forwards " + std::string(kCodecs[k]) +
                            " but m-line mid " + m.mid + " answers with '" +
                            codec.name +
                            "' (list it first: setCodecPreferences)");
    }
    if (!sends) {
      recv_pts[k].push_back(codec.payload_type);
    } else if (p->send_pt[k] < 0) {
      p->send_pt[k] = codec.payload_type;
    } else {
      return make_error("ERR_SFU_OFFER", "the room takes one " + m.kind +
                                             " stream per participant; mid " +
                                             m.mid + " is a second one");
    }
  }
  if (accepted.empty()) {
    return make_error("ERR_SFU_OFFER",
                      "the offer has no audio or video m-line the answer can "
                      "accept (with a mid, a port, in the BUNDLE group and a "
                      "media codec)");
  }
  // Each slot's streams carry our SSRC and the payload type this
  // receiver's m-line gave the codec.
  const size_t slots =
      std::min({recv_pts[kAudio].size(), recv_pts[kVideo].size(),
                options_.max_participants - 1});
  for (size_t n = 0; n < slots; ++n) {
    auto stream = [&](int k) {
      return SlotStream(slot_ssrc(p->id, n, k),
                        static_cast<std::uint8_t>(recv_pts[k][n]),
                        kClockRates[k]);
    };
    p->slots.push_back(Slot{{stream(kAudio), stream(kVideo)}});
  }
  // The answer's SSRC for each accepted m-line: a slot's SSRC on slot
  // lines, none (0) on the others, which the answer then only receives on
  // (or leaves inactive: recvonly lines beyond the slots).
  std::vector<std::uint32_t> ssrcs;
  std::array<size_t, kKinds> used{};
  for (const sdp::Media* m : accepted) {
    const int k = m->kind == "audio" ? kAudio : kVideo;
    if (m->direction == "recvonly" && used[k] < slots) {
      ssrcs.push_back(slot_ssrc(p->id, used[k]++, k));
    } else {
      ssrcs.push_back(0);
    }
  }

  IceSessionConfig config;
  config.remote_ufrag = offer->transport_ice().ufrag;
  for (const auto& f : offer->transport_fingerprints())
    config.fingerprints.push_back(f.to_sdp());
  // RFC 5763 §5: passive unless the offer insists on being passive itself.
  config.dtls_client = offer->transport_setup() == sdp::Setup::kPassive;
  auto session = endpoint_.add_ice_session(config, listener());
  if (!session.ok()) return session.error();
  const AddressInfo addr = endpoint_.address();
  auto candidate = PeerAddress::parse(addr.address, addr.port);
  if (!candidate.ok()) {
    session->destroy();
    return make_error("ERR_INVALID_STATE", "the room's endpoint is closed");
  }
  auto answer = sdp::write_answer(
      *offer, {session->ice_credentials(), *fingerprint_,
               config.dtls_client ? sdp::Setup::kActive : sdp::Setup::kPassive,
               *candidate, ssrcs, "dtls-srtp-sfu"});
  if (!answer.ok()) {
    session->destroy();
    return answer.error();
  }
  ++next_id_;
  p->session = *session;
  // Everyone already here takes a slot of the newcomer's and gives it one.
  for (auto& [id, other] : participants_) {
    if (other->leaving) continue;
    assign_slot(*other, p->id);
    assign_slot(*p, id);
  }
  by_session_[p->session.id()] = p.get();
  const std::uint64_t id = p->id;
  participants_[id] = std::move(p);
  return Joined{id, std::move(answer).value()};
}

void Room::assign_slot(Participant& receiver, std::uint64_t source) {
  for (Slot& slot : receiver.slots) {
    if (slot.source != 0) continue;
    slot.source = slot.last_source = source;
    for (SlotStream& s : slot.stream) s.switch_source();
    return;
  }
  // No free slot: the receiver does not get this source.
}

void Room::free_slots_of(std::uint64_t source) {
  for (auto& [id, p] : participants_) {
    for (Slot& slot : p->slots) {
      if (slot.source == source) slot.source = 0;
    }
  }
}

Status Room::leave(std::uint64_t id) {
  auto it = participants_.find(id);
  if (it == participants_.end() || it->second->leaving) {
    return make_error("ERR_SFU_UNKNOWN_PARTICIPANT",
                      "no participant " + std::to_string(id) + " in the room");
  }
  // Out of every route first, so nothing is forwarded to or from a session
  // that is closing; on_closed removes it once the session has ended.
  it->second->leaving = true;
  free_slots_of(id);
  rebuild_routes();
  Session s = it->second->session;
  s.close();
  return {};
}

void Room::close() {
  for (auto& [id, p] : participants_) p->leaving = true;
  rebuild_routes();
  endpoint_.close();
}

Room::Participant* Room::find(const Session& s) {
  auto it = by_session_.find(s.id());
  return it == by_session_.end() ? nullptr : it->second;
}

void Room::on_opened(Session& s, const Result<std::string>& r) {
  Participant* p = find(s);
  // A failed handshake ends the session: on_closed removes it.
  if (p == nullptr || !r.ok()) return;
  p->open = true;
  p->protocol = *r;
  p->srtp_profile = s.srtp_profile();
  rebuild_routes();
  request_keyframes_for(*p);
}

// The hot path: one packet in, one fan-out send out. Nothing here allocates:
// the routes' vectors keep their capacity, and the rewrites are filled in
// place.
void Room::on_rtp(Session& s, std::span<const std::uint8_t> packet) {
  Participant* p = find(s);
  if (p == nullptr || packet.size() < 12) return;
  const int pt = packet[1] & 0x7f;
  const int k = pt == p->send_pt[kAudio]   ? kAudio
                : pt == p->send_pt[kVideo] ? kVideo
                                           : -1;
  if (k < 0) {
    p->counters.rtp_other++;
    return;
  }
  p->counters.rtp_in[k]++;
  const std::uint32_t ssrc = get32(&packet[8]);
  p->publishing_ssrc[k] = ssrc;
  Route& route = p->routes[k];
  if (route.to.empty()) {
    p->counters.rtp_unrouted++;
    return;
  }
  const std::uint16_t seq = get16(&packet[2]);
  const std::uint32_t ts = get32(&packet[4]);
  const std::uint64_t now = uv_now(loop_);
  for (size_t i = 0; i < route.to.size(); ++i)
    route.rewrites[i] = route.streams[i]->next(ssrc, seq, ts, now);
  const FanOutResult r =
      send_rtp(route.to, packet, route.rewrites, route.outcomes);
  for (size_t i = 0; i < route.to.size(); ++i)
    ++*(route.outcomes[i] ? route.refused_counters[i] : route.out_counters[i]);
  counters_.fanout_calls++;
  counters_.fanout_sent += r.sent;
  counters_.fanout_failed += r.failed;
  if (r.first_error && counters_.first_failure.empty())
    counters_.first_failure = r.first_error->code;
}

// RTCP from a participant: keyframe requests about its slots go to the
// publisher in the slot, SSRC mapped back to the publisher's own. The rest is
// the room's to answer and it does not: receiver reports, NACK, REMB and
// transport-cc describe one receiver's link, and forwarding them would have
// the publisher adapt to each receiver in turn; sender reports and SDES
// describe streams whose SSRC and numbering we rewrite.
void Room::on_rtcp(Session& s, std::span<const std::uint8_t> packet) {
  Participant* p = find(s);
  if (p == nullptr) return;
  p->counters.rtcp_in++;
  std::array<KeyframeRequest, 8> requests;
  size_t skipped = 0;
  const size_t n = read_keyframe_requests(packet, requests, &skipped);
  p->counters.rtcp_dropped += skipped;
  for (size_t i = 0; i < n; ++i) {
    KeyframeRequest r = requests[i];
    Participant* publisher = nullptr;
    int kind = -1;
    for (const Slot& slot : p->slots) {
      for (int k = 0; k < kKinds; ++k) {
        if (slot.source != 0 && slot.stream[k].ssrc() == r.media_ssrc) {
          auto it = participants_.find(slot.source);
          if (it != participants_.end()) publisher = it->second.get();
          kind = k;
        }
      }
    }
    if (publisher == nullptr || !publisher->open || publisher->leaving ||
        publisher->publishing_ssrc[kind] == 0) {
      p->counters.keyframe_requests_unmapped++;
      continue;
    }
    // The receiver's own SSRC stays as the sender: publishers tell repeated
    // FIRs apart by sender and sequence number.
    r.media_ssrc = publisher->publishing_ssrc[kind];
    p->counters.keyframe_requests_in++;
    send_keyframe_request(*publisher, r);
  }
}

void Room::send_keyframe_request(Participant& to, const KeyframeRequest& r) {
  std::array<std::uint8_t, 32> buffer;
  const size_t n = write_keyframe_request(r, buffer);
  if (to.session.send_rtcp(std::span(buffer).first(n)).ok()) {
    to.counters.keyframe_requests_out++;
    counters_.keyframe_requests_sent++;
  } else {
    counters_.keyframe_request_failures++;
  }
}

// A receiver that has just opened missed the publishers' last keyframes:
// ask each for one rather than wait for the receiver's decoder to.
void Room::request_keyframes_for(Participant& receiver) {
  for (const Slot& slot : receiver.slots) {
    auto it = participants_.find(slot.source);
    if (slot.source == 0 || it == participants_.end()) continue;
    Participant& publisher = *it->second;
    if (!publisher.open || publisher.publishing_ssrc[kVideo] == 0) continue;
    send_keyframe_request(publisher, {false, slot.stream[kVideo].ssrc(),
                                      publisher.publishing_ssrc[kVideo], 0});
  }
}

void Room::on_closed(Session& s, const Status& status) {
  Participant* p = find(s);
  if (p == nullptr) return;
  ParticipantInfo last = info(*p);
  last.present = false;
  last.ended = status.ok() ? "closed" : std::string(status.error().code);
  gone_.push_back(std::move(last));
  // A record of who left, for reports; bounded for a room that runs long.
  if (gone_.size() > 64) gone_.erase(gone_.begin());
  const std::uint64_t id = p->id;
  by_session_.erase(s.id());
  participants_.erase(id);
  free_slots_of(id);
  rebuild_routes();
}

void Room::rebuild_routes() {
  for (auto& [id, publisher] : participants_) {
    for (int k = 0; k < kKinds; ++k) {
      Route& r = publisher->routes[k];
      r.to.clear();
      r.rewrites.clear();
      r.streams.clear();
      r.out_counters.clear();
      r.refused_counters.clear();
      r.outcomes.clear();
      if (!publisher->open || publisher->leaving) continue;
      for (auto& [rid, receiver] : participants_) {
        if (rid == id || !receiver->open || receiver->leaving) continue;
        for (Slot& slot : receiver->slots) {
          if (slot.source != id) continue;
          r.to.push_back(receiver->session);
          r.rewrites.emplace_back();
          r.streams.push_back(&slot.stream[k]);
          r.out_counters.push_back(&receiver->counters.rtp_out[k]);
          r.refused_counters.push_back(&receiver->counters.rtp_refused[k]);
          r.outcomes.emplace_back();
        }
      }
    }
  }
}

ParticipantInfo Room::info(const Participant& p) const {
  ParticipantInfo i;
  i.id = p.id;
  i.open = p.open;
  i.present = true;
  i.protocol = p.protocol;
  i.srtp_profile = p.srtp_profile;
  for (const Slot& slot : p.slots) {
    SlotInfo si;
    for (int k = 0; k < kKinds; ++k) {
      si.ssrc[k] = slot.stream[k].ssrc();
      si.payload_type[k] = slot.stream[k].payload_type();
    }
    si.source = slot.source;
    si.last_source = slot.last_source;
    i.slots.push_back(si);
  }
  i.counters = p.counters;
  i.stats = p.session.stats();
  return i;
}

std::vector<ParticipantInfo> Room::participants() const {
  std::vector<ParticipantInfo> all;
  for (const auto& [id, p] : participants_) all.push_back(info(*p));
  all.insert(all.end(), gone_.begin(), gone_.end());
  return all;
}

}  // namespace dtls::tools::sfu
