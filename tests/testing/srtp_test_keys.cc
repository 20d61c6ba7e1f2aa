#include "tests/testing/srtp_test_keys.h"

namespace dtls::testing {

srtp::SrtpKeys fixed_srtp_keys(srtp::Profile profile) {
  const srtp::ProfileInfo& info = srtp::profile_info(profile);
  srtp::SrtpKeys k;
  k.profile = profile;
  k.client_key.assign(info.key_length, 0x11);
  k.server_key.assign(info.key_length, 0x22);
  k.client_salt.assign(info.salt_length, 0x33);
  k.server_salt.assign(info.salt_length, 0x44);
  return k;
}

}  // namespace dtls::testing
