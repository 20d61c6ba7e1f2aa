// Just enough SDP (RFC 8866) for a browser to reach an ICE-lite, DTLS-SRTP
// endpoint: read an offer (ICE credentials, fingerprints, setup role, m-lines,
// BUNDLE, rtcp-mux, codecs) and write the answer. Not a general SDP library:
// one candidate, bundled media, every m-line answered.
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

struct Media {
  std::string kind;  // "audio", "video", "application"
  std::uint16_t port = 0;
  std::string protocol;              // "UDP/TLS/RTP/SAVPF"
  std::vector<std::string> formats;  // as listed on the m= line
  std::string mid;
  std::string direction = "sendrecv";
  bool rtcp_mux = false;
  std::vector<Codec> codecs;  // in the order of `formats`
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
// m-line.
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
// setup) that accepts every audio/video m-line with the offer's first codec,
// sends (when given an SSRC) and receives, and rejects others (port 0).
// ERR_INVALID_ARG_VALUE for a setup other than active/passive, or when the
// offer's setup does not allow ours.
Result<std::string> write_answer(const Description& offer,
                                 const AnswerOptions& options);

}  // namespace dtls::sdp

#endif  // DTLS_SRTP_TRANSPORT_ICE_SDP_H_
