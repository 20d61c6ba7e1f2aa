// A DTLS client association fed arbitrary datagrams: the input is a sequence of
// [2-byte big-endian length][datagram]. Whatever arrives, the association must
// neither crash nor leak, and must end in a defined state.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>

#include "certs/generate.h"
#include "transport/dtls/dtls_association.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  static const std::shared_ptr<const dtls::DtlsContext> context = [] {
    dtls::DtlsContextOptions o;
    o.credentials = std::move(dtls::certs::generate_certificate()).value();
    o.srtp_profiles = "SRTP_AES128_CM_SHA1_80:SRTP_AEAD_AES_128_GCM";
    o.alpn_protocols = {"webrtc"};
    return std::move(dtls::DtlsContext::create(o)).value();
  }();
  dtls::AssociationOptions options;
  options.reject_unauthorized = false;
  options.keylog = true;
  const dtls::TimePoint now = dtls::Clock::now();
  auto a = dtls::DtlsAssociation::connect(context, options, now);
  if (!a.ok()) std::abort();
  std::vector<std::uint8_t> out;
  dtls::DtlsEvent e;
  std::span<const std::uint8_t> in(data, size);
  while (in.size() >= 2) {
    size_t len = static_cast<size_t>(in[0] << 8 | in[1]);
    in = in.subspan(2);
    len = std::min(len, in.size());
    (*a)->handle_datagram(in.first(len), now);
    in = in.subspan(len);
    while ((*a)->pop_datagram(out)) {
    }
    while ((*a)->pop_event(e)) {
    }
  }
  (*a)->handle_timeout(now + std::chrono::seconds(200));
  (*a)->close();
  auto state = (*a)->state();
  if (state != dtls::DtlsAssociation::State::kClosed &&
      state != dtls::DtlsAssociation::State::kFailed &&
      state != dtls::DtlsAssociation::State::kOpen) {
    std::abort();
  }
  return 0;
}
