#include "transport/ice/sdp.h"

#include <algorithm>
#include <charconv>
#include <sstream>

namespace dtls::sdp {
namespace {

Error invalid(std::string_view line, std::string_view why) {
  return make_error("ERR_SDP_INVALID",
                    std::string(why) + ": '" + std::string(line) + "'");
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(sep, start);
    if (end == std::string_view::npos) end = s.size();
    if (end > start) out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::optional<int> to_int(std::string_view s) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<std::uint32_t> to_u32(std::string_view s) {
  std::uint32_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size())
    return std::nullopt;
  return v;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool is_direction(std::string_view v) {
  return v == "sendrecv" || v == "sendonly" || v == "recvonly" ||
         v == "inactive";
}

// RFC 8839 §5.1: <foundation> <component-id> <transport> <priority>
// <connection-address> <port> typ <cand-type> *(<name> <value>).
Result<Candidate> parse_candidate(std::string_view line, std::string_view arg) {
  auto parts = split(arg, ' ');
  if (parts.size() < 8 || parts[6] != "typ")
    return invalid(line, "a candidate needs 8 fields with 'typ' 7th");
  Candidate c;
  c.foundation = std::string(parts[0]);
  auto component = to_int(parts[1]);
  auto priority = to_u32(parts[3]);
  auto port = to_int(parts[5]);
  if (!component || *component < 1 || *component > 256)
    return invalid(line, "bad candidate component");
  if (!priority) return invalid(line, "bad candidate priority");
  if (!port || *port < 0 || *port > 65535)
    return invalid(line, "bad candidate port");
  c.component = *component;
  c.transport = lower(parts[2]);
  c.priority = *priority;
  c.address = std::string(parts[4]);
  c.port = static_cast<std::uint16_t>(*port);
  c.type = std::string(parts[7]);
  for (size_t i = 8; i + 1 < parts.size(); i += 2) {
    if (parts[i] == "tcptype") c.tcptype = std::string(parts[i + 1]);
  }
  return c;
}

// Codecs that ride along with a media codec rather than carry media alone.
bool is_media_codec(const Codec& c) {
  const std::string name = lower(c.name);
  return !name.empty() && name != "rtx" && name != "red" && name != "ulpfec" &&
         name != "flexfec-03" && name != "telephone-event" && name != "cn";
}

std::optional<Setup> parse_setup(std::string_view v) {
  if (v == "actpass") return Setup::kActpass;
  if (v == "active") return Setup::kActive;
  if (v == "passive") return Setup::kPassive;
  if (v == "holdconn") return Setup::kHoldconn;
  return std::nullopt;
}

Codec* codec_for(Media& m, std::string_view pt_text) {
  auto pt = to_int(pt_text);
  if (!pt) return nullptr;
  for (Codec& c : m.codecs) {
    if (c.payload_type == *pt) return &c;
  }
  return nullptr;
}

}  // namespace

std::string_view to_string(Setup setup) {
  switch (setup) {
    case Setup::kActpass:
      return "actpass";
    case Setup::kActive:
      return "active";
    case Setup::kPassive:
      return "passive";
    case Setup::kHoldconn:
      return "holdconn";
  }
  return "";
}

IceCredentials Description::transport_ice() const {
  if (!media.empty() && !media[0].ice.ufrag.empty()) return media[0].ice;
  return ice;
}

const std::vector<certs::Fingerprint>& Description::transport_fingerprints()
    const {
  if (!media.empty() && !media[0].fingerprints.empty())
    return media[0].fingerprints;
  return fingerprints;
}

std::optional<Setup> Description::transport_setup() const {
  if (!media.empty() && media[0].setup) return media[0].setup;
  return setup;
}

Result<Description> parse(std::string_view text) {
  Description d;
  Media* current = nullptr;
  for (std::string_view line : split(text, '\n')) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    // RFC 8866 §5: <type>=<value>, type one letter.
    if (line.size() < 2 || line[1] != '=') {
      return invalid(line, "an SDP line must be <letter>=<value>");
    }
    const char type = line[0];
    const std::string_view value = line.substr(2);
    if (type == 'm') {
      // m=<media> <port> <proto> <fmt> ...
      auto parts = split(value, ' ');
      if (parts.size() < 3) return invalid(line, "an m-line needs 3 fields");
      Media m;
      m.kind = std::string(parts[0]);
      auto port = to_int(parts[1]);
      if (!port || *port < 0 || *port > 65535) return invalid(line, "bad port");
      m.port = static_cast<std::uint16_t>(*port);
      m.protocol = std::string(parts[2]);
      // Session-level attributes all come before the first m-line.
      if (!d.direction.empty()) m.direction = d.direction;
      for (size_t i = 3; i < parts.size(); ++i) {
        m.formats.emplace_back(parts[i]);
        if (auto pt = to_int(parts[i])) {
          Codec c;
          c.payload_type = *pt;
          m.codecs.push_back(c);
        }
      }
      d.media.push_back(std::move(m));
      current = &d.media.back();
      continue;
    }
    if (type != 'a') continue;
    const size_t colon = value.find(':');
    const std::string_view name = value.substr(0, colon);
    const std::string_view arg = colon == std::string_view::npos
                                     ? std::string_view()
                                     : value.substr(colon + 1);
    IceCredentials& ice = current ? current->ice : d.ice;
    if (name == "ice-ufrag") {
      ice.ufrag = std::string(arg);
    } else if (name == "ice-pwd") {
      ice.pwd = std::string(arg);
    } else if (name == "ice-lite") {
      d.ice_lite = true;
    } else if (name == "fingerprint") {
      auto fp = certs::Fingerprint::parse_sdp(arg);
      if (!fp.ok()) return fp.error();
      (current ? current->fingerprints : d.fingerprints)
          .push_back(std::move(fp).value());
    } else if (name == "setup") {
      auto s = parse_setup(arg);
      if (!s) return invalid(line, "a=setup must be actpass/active/passive");
      (current ? current->setup : d.setup) = s;
    } else if (name == "group") {
      auto parts = split(arg, ' ');
      // Only the first BUNDLE group: one transport serves one group.
      if (!parts.empty() && parts[0] == "BUNDLE" && d.bundle.empty()) {
        for (size_t i = 1; i < parts.size(); ++i)
          d.bundle.emplace_back(parts[i]);
      }
    } else if (name == "extmap-allow-mixed") {
      (current ? current->extmap_allow_mixed : d.extmap_allow_mixed) = true;
    } else if (is_direction(name)) {
      (current ? current->direction : d.direction) = std::string(name);
    } else if (current == nullptr) {
      continue;
    } else if (name == "mid") {
      current->mid = std::string(arg);
    } else if (name == "rtcp-mux") {
      current->rtcp_mux = true;
    } else if (name == "rtcp-rsize") {
      current->rtcp_rsize = true;
    } else if (name == "bundle-only") {
      current->bundle_only = true;
    } else if (name == "msid") {
      current->msid = std::string(arg);
    } else if (name == "rtpmap") {
      // a=rtpmap:<pt> <name>/<clock>[/<channels>]
      const size_t sp = arg.find(' ');
      if (sp == std::string_view::npos) return invalid(line, "bad rtpmap");
      Codec* c = codec_for(*current, arg.substr(0, sp));
      if (c == nullptr) continue;  // not on the m-line: ignored
      auto enc = split(arg.substr(sp + 1), '/');
      if (enc.size() < 2) return invalid(line, "bad rtpmap encoding");
      c->name = std::string(enc[0]);
      c->clock_rate = to_int(enc[1]).value_or(0);
      if (enc.size() > 2) c->channels = to_int(enc[2]).value_or(0);
    } else if (name == "fmtp" || name == "rtcp-fb") {
      const size_t sp = arg.find(' ');
      if (sp == std::string_view::npos) continue;
      Codec* c = codec_for(*current, arg.substr(0, sp));
      if (c == nullptr) continue;
      if (name == "fmtp") {
        c->fmtp = std::string(arg.substr(sp + 1));
      } else {
        c->rtcp_fb.emplace_back(arg.substr(sp + 1));
      }
    } else if (name == "extmap") {
      // a=extmap:<id>[/<direction>] <uri> [<attributes>]
      const size_t sp = arg.find(' ');
      if (sp == std::string_view::npos) return invalid(line, "bad extmap");
      Extmap e;
      std::string_view id = arg.substr(0, sp);
      if (const size_t slash = id.find('/'); slash != std::string_view::npos) {
        e.direction = std::string(id.substr(slash + 1));
        id = id.substr(0, slash);
        if (!is_direction(e.direction))
          return invalid(line, "bad extmap direction");
      }
      // RFC 8285 §5: one-byte ids 1-14, two-byte ids up to 255.
      auto n = to_int(id);
      if (!n || *n < 1 || *n > 255) return invalid(line, "bad extmap id");
      e.id = *n;
      std::string_view rest = arg.substr(sp + 1);
      const size_t sp2 = rest.find(' ');
      e.uri = std::string(rest.substr(0, sp2));
      if (sp2 != std::string_view::npos)
        e.attributes = std::string(rest.substr(sp2 + 1));
      if (e.uri.empty()) return invalid(line, "bad extmap uri");
      current->extmaps.push_back(std::move(e));
    } else if (name == "ssrc") {
      // a=ssrc:<ssrc> <attribute>[:<value>]
      const size_t sp = arg.find(' ');
      auto ssrc = to_u32(arg.substr(0, sp));
      if (!ssrc) return invalid(line, "bad ssrc");
      Ssrc* entry = nullptr;
      for (Ssrc& x : current->ssrcs) {
        if (x.ssrc == *ssrc) entry = &x;
      }
      if (entry == nullptr) {
        current->ssrcs.push_back(Ssrc{*ssrc, ""});
        entry = &current->ssrcs.back();
      }
      if (sp != std::string_view::npos &&
          arg.substr(sp + 1).starts_with("cname:")) {
        entry->cname = std::string(arg.substr(sp + 7));
      }
    } else if (name == "ssrc-group") {
      auto parts = split(arg, ' ');
      if (parts.size() < 2) return invalid(line, "bad ssrc-group");
      SsrcGroup g;
      g.semantics = std::string(parts[0]);
      for (size_t i = 1; i < parts.size(); ++i) {
        auto ssrc = to_u32(parts[i]);
        if (!ssrc) return invalid(line, "bad ssrc in ssrc-group");
        g.ssrcs.push_back(*ssrc);
      }
      current->ssrc_groups.push_back(std::move(g));
    } else if (name == "candidate") {
      auto c = parse_candidate(line, arg);
      if (!c.ok()) return c.error();
      current->candidates.push_back(std::move(c).value());
    }
  }
  for (Media& m : d.media) {
    m.extmap_allow_mixed = m.extmap_allow_mixed || d.extmap_allow_mixed;
  }
  if (d.media.empty()) {
    return make_error("ERR_SDP_INVALID", "the description has no m-line");
  }
  const IceCredentials ice = d.transport_ice();
  if (ice.ufrag.empty() || ice.pwd.empty()) {
    return make_error("ERR_SDP_INVALID",
                      "the description has no a=ice-ufrag/a=ice-pwd");
  }
  if (Status s = validate_ice_credentials(ice); !s.ok()) {
    return make_error("ERR_SDP_INVALID", std::string(s.error().text()));
  }
  if (d.transport_fingerprints().empty()) {
    return make_error("ERR_SDP_INVALID",
                      "the description has no a=fingerprint (RFC 8122)");
  }
  return d;
}

Result<std::string> write_answer(const Description& offer,
                                 const AnswerOptions& options) {
  if (options.setup != Setup::kActive && options.setup != Setup::kPassive) {
    return make_error("ERR_INVALID_ARG_VALUE",
                      "the answer's setup must be active or passive");
  }
  // RFC 5763 §5: an offer of active wants us passive and vice versa.
  if (auto theirs = offer.transport_setup();
      theirs && *theirs != Setup::kActpass && *theirs == options.setup) {
    return make_error("ERR_INVALID_ARG_VALUE",
                      std::string("the offer's a=setup:") +
                          std::string(to_string(*theirs)) + " leaves us " +
                          (*theirs == Setup::kActive ? "passive" : "active"));
  }
  if (Status s = validate_ice_credentials(options.ice); !s.ok())
    return s.error();
  if (options.candidate.empty()) {
    return make_error("ERR_INVALID_ARG_VALUE", "the answer needs a candidate");
  }
  const std::string ip = options.candidate.ip();
  const bool v6 = options.candidate.family() == "IPv6";
  std::ostringstream o;
  o << "v=0\r\n"
    << "o=- 1 1 IN " << (v6 ? "IP6 " : "IP4 ") << ip << "\r\n"
    << "s=-\r\n"
    << "t=0 0\r\n"
    // RFC 8445 §5.3: a lite implementation says so at session level.
    << "a=ice-lite\r\n";
  const std::vector<const Media*> answered = answered_media(offer);
  if (!answered.empty()) {
    o << "a=group:BUNDLE";
    for (const Media* m : answered) o << ' ' << m->mid;
    o << "\r\n";
  }
  o << "a=msid-semantic: WMS " << options.cname << "\r\n";
  size_t index = 0;
  for (const Media& m : offer.media) {
    if (index >= answered.size() || answered[index] != &m) {
      // RFC 8866 §5.14 / RFC 3264 §6: port 0 rejects the m-line.
      o << "m=" << m.kind << " 0 " << m.protocol;
      for (const std::string& f : m.formats) o << ' ' << f;
      // RFC 8866 §5.7: a c= line in every m-section (no session-level one);
      // Firefox refuses the whole answer without it.
      o << "\r\n"
        << "c=IN " << (v6 ? "IP6 " : "IP4 ") << ip << "\r\n";
      if (!m.mid.empty()) o << "a=mid:" << m.mid << "\r\n";
      continue;
    }
    const Codec& c = *answer_codec(m);
    const std::uint32_t ssrc =
        index < options.ssrcs.size() ? options.ssrcs[index] : 0;
    ++index;
    o << "m=" << m.kind << ' ' << options.candidate.port() << ' ' << m.protocol
      << ' ' << c.payload_type << "\r\n"
      << "c=IN " << (v6 ? "IP6 " : "IP4 ") << ip << "\r\n"
      << "a=mid:" << m.mid << "\r\n"
      << "a=ice-ufrag:" << options.ice.ufrag << "\r\n"
      << "a=ice-pwd:" << options.ice.pwd << "\r\n"
      << "a=fingerprint:" << options.fingerprint.to_sdp() << "\r\n"
      << "a=setup:" << to_string(options.setup) << "\r\n"
      << "a=rtcp-mux\r\n";
    // RFC 3264 §6.1: the answer's direction mirrors the offer's.
    std::string direction = "inactive";
    const bool we_send = ssrc != 0;
    if (m.direction == "sendrecv")
      direction = we_send ? "sendrecv" : "recvonly";
    if (m.direction == "sendonly") direction = "recvonly";
    if (m.direction == "recvonly")
      direction = we_send ? "sendonly" : "inactive";
    o << "a=" << direction << "\r\n";
    o << "a=rtpmap:" << c.payload_type << ' ' << c.name << '/' << c.clock_rate;
    if (c.channels > 0) o << '/' << c.channels;
    o << "\r\n";
    if (!c.fmtp.empty())
      o << "a=fmtp:" << c.payload_type << ' ' << c.fmtp << "\r\n";
    for (const std::string& fb : c.rtcp_fb)
      o << "a=rtcp-fb:" << c.payload_type << ' ' << fb << "\r\n";
    if (we_send && (direction == "sendrecv" || direction == "sendonly")) {
      o << "a=msid:" << options.cname << ' ' << m.kind << "-" << m.mid << "\r\n"
        << "a=ssrc:" << ssrc << " cname:" << options.cname << "\r\n";
    }
    // RFC 8839 §5.1: our one host candidate, and no more to come.
    o << "a=candidate:1 1 udp 2130706431 " << ip << ' '
      << options.candidate.port() << " typ host\r\n"
      << "a=end-of-candidates\r\n";
  }
  return o.str();
}

const Codec* answer_codec(const Media& media) {
  for (const Codec& c : media.codecs) {
    if (is_media_codec(c)) return &c;
  }
  return nullptr;
}

std::vector<const Media*> answered_media(const Description& offer) {
  std::vector<const Media*> out;
  for (const Media& m : offer.media) {
    const bool in_bundle = offer.bundle.empty() ||
                           std::find(offer.bundle.begin(), offer.bundle.end(),
                                     m.mid) != offer.bundle.end();
    // Port 0 without a=bundle-only: the offerer disabled the m-line.
    if ((m.kind != "audio" && m.kind != "video") || m.mid.empty() ||
        !in_bundle || (m.port == 0 && !m.bundle_only) ||
        answer_codec(m) == nullptr) {
      continue;
    }
    out.push_back(&m);
  }
  return out;
}

}  // namespace dtls::sdp
