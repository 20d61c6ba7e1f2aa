// Just enough SDP (RFC 8866) for a browser to reach an ICE-lite, DTLS-SRTP
// endpoint: read an offer (ICE credentials, fingerprints, setup role, m-lines,
// BUNDLE, rtcp-mux, codecs, SSRCs, header extensions, candidates) and write
// the answer. Not a general SDP library: one candidate, bundled media, every
// m-line answered. Read from Chromium's and Firefox's offers alike (Firefox
// puts the fingerprint and direction at session level, offers candidates for
// component 2 and TCP, and an RTX SSRC in an a=ssrc-group:FID).
#ifndef DTLS_SRTP_TRANSPORT_ICE_SDP_H_
#define DTLS_SRTP_TRANSPORT_ICE_SDP_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "certs/fingerprint.h"
#include "transport/base/error.h"
#include "transport/base/peer_address.h"
#include "transport/ice/ice_lite.h"

namespace dtls::sdp {

// RFC 4145 §4 / RFC 5763 §5: who starts DTLS. "actpass" offers either.
enum class Setup { kActpass, kActive, kPassive, kHoldconn };
std::string_view to_string(Setup setup);

struct Codec {
  int payload_type = 0;
  std::string name;  // "opus", "VP8"
  int clock_rate = 0;
  int channels = 0;                  // 0 when absent
  std::string fmtp;                  // the parameters after "a=fmtp:PT "
  std::vector<std::string> rtcp_fb;  // each "a=rtcp-fb:PT <value>" value
};

// a=extmap:<id>[/<direction>] <uri> [<attributes>] (RFC 8285 §8).
struct Extmap {
  int id = 0;
  std::string direction;  // "" when absent
  std::string uri;
  std::string attributes;
};

// a=ssrc:<ssrc> cname:<cname> (RFC 5576 §4.1); other attributes are skipped.
struct Ssrc {
  std::uint32_t ssrc = 0;
  std::string cname;
};

// a=ssrc-group:<semantics> <ssrc> ... (RFC 5576 §4.2), e.g. FID: media + RTX.
struct SsrcGroup {
  std::string semantics;
  std::vector<std::uint32_t> ssrcs;
};

// a=candidate (RFC 8839 §5.1). An ICE-lite answerer needs none of them (the
// peer's checks show its addresses), but a reader must take every form a
// browser writes: UDP and TCP, component 1 and 2, hostnames.
struct Candidate {
  std::string foundation;
  int component = 0;
  std::string transport;  // lower case: "udp", "tcp"
  std::uint32_t priority = 0;
  std::string address;
  std::uint16_t port = 0;
  std::string type;     // "host", "srflx", "prflx", "relay"
  std::string tcptype;  // "active", "passive", "so"; "" for UDP
};

struct Media {
  std::string kind;  // "audio", "video", "application"
  std::uint16_t port = 0;
  std::string protocol;              // "UDP/TLS/RTP/SAVPF"
  std::vector<std::string> formats;  // as listed on the m= line
  std::string mid;
  // The m-line's direction, else the session's, else sendrecv.
  std::string direction = "sendrecv";
  bool rtcp_mux = false;
  bool rtcp_rsize = false;          // RFC 5506 reduced-size RTCP offered
  bool bundle_only = false;         // RFC 8843 §6: port 0 but not rejected
  bool extmap_allow_mixed = false;  // here or at session level (RFC 8285)
  std::string msid;                 // "<stream> <track>" (RFC 8830)
  std::vector<Codec> codecs;        // in the order of `formats`
  std::vector<Extmap> extmaps;      // header extensions offered
  std::vector<Ssrc> ssrcs;          // in order of first appearance
  std::vector<SsrcGroup> ssrc_groups;
  std::vector<Candidate> candidates;
  // Media-level values; they override the session's.
  IceCredentials ice;
  std::vector<certs::Fingerprint> fingerprints;
  std::optional<Setup> setup;
};

struct Description {
  IceCredentials ice;
  std::vector<certs::Fingerprint> fingerprints;
  std::optional<Setup> setup;
  bool ice_lite = false;
  bool extmap_allow_mixed = false;
  std::string direction;            // session level; "" when absent
  std::vector<std::string> bundle;  // a=group:BUNDLE mids
  std::vector<Media> media;

  // The values that apply to the first m-line (media level, else session
  // level): with BUNDLE every m-line shares one transport.
  IceCredentials transport_ice() const;
  const std::vector<certs::Fingerprint>& transport_fingerprints() const;
  std::optional<Setup> transport_setup() const;
};

// ERR_SDP_INVALID with the line that is wrong, or ERR_SDP_FINGERPRINT_INVALID.
// An offer must carry ICE credentials, at least one fingerprint and one
// m-line. Attributes it does not use are skipped; those it reads (including
// candidates, a=ssrc, a=ssrc-group and a=extmap) must be well formed.
Result<Description> parse(std::string_view text);

struct AnswerOptions {
  IceCredentials ice;              // ours
  certs::Fingerprint fingerprint;  // of our certificate
  Setup setup = Setup::kPassive;   // kActive or kPassive
  PeerAddress candidate;           // our one host candidate
  // Per answered audio/video m-line, the SSRC we send with (0: recvonly).
  std::vector<std::uint32_t> ssrcs;
  std::string cname = "dtls-srtp";
};

// An ice-lite answer (RFC 8445 §5.3, RFC 8839, RFC 8843 BUNDLE, RFC 8842
// setup) that accepts each audio/video m-line of the offer's first BUNDLE
// group (all of them when the offer has no group: browsers always bundle,
// and the answer then still bundles them onto its one transport, against
// RFC 8843 §7.3.1's letter) with the offer's first media
// codec (not rtx, red, ulpfec, flexfec, telephone-event or CN), sends (when
// given an SSRC) and receives, and rejects the others with port 0: data
// channels, m-lines the offer disabled, m-lines without a media codec. It
// declines header extensions and reduced-size RTCP (none in the answer), so
// the browser sends plain RTP and compound RTCP.
// ERR_INVALID_ARG_VALUE for a setup other than active/passive, or when the
// offer's setup does not allow ours.
Result<std::string> write_answer(const Description& offer,
                                 const AnswerOptions& options);

// The m-lines write_answer accepts, in offer order (AnswerOptions::ssrcs
// follows this order), and the codec it answers each with.
std::vector<const Media*> answered_media(const Description& offer);
const Codec* answer_codec(const Media& media);  // nullptr: none usable

}  // namespace dtls::sdp

#endif  // DTLS_SRTP_TRANSPORT_ICE_SDP_H_
