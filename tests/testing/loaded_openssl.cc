#include "tests/testing/loaded_openssl.h"

#include <link.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include <string_view>

namespace dtls::testing {
namespace {

int note_library(struct dl_phdr_info* info, size_t, void* data) {
  auto* loaded = static_cast<LoadedOpenssl*>(data);
  std::string_view path = info->dlpi_name ? info->dlpi_name : "";
  std::string_view name = path.substr(path.rfind('/') + 1);
  if (name.starts_with("libssl.so")) loaded->libssl_path = path;
  if (name.starts_with("libcrypto.so")) loaded->libcrypto_path = path;
  return 0;
}

}  // namespace

LoadedOpenssl loaded_openssl() {
  // A call into libssl, so that the executable needs it (and maps it) even when
  // nothing else in it does.
  OPENSSL_init_ssl(0, nullptr);
  LoadedOpenssl loaded;
  loaded.version = OpenSSL_version(OPENSSL_VERSION);
  dl_iterate_phdr(note_library, &loaded);
  return loaded;
}

}  // namespace dtls::testing
