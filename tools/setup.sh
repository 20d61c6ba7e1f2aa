#!/usr/bin/env bash
# Installs the Debian 12 packages this project builds and tests with, keeps OpenSSL at the
# archive's newest 3.0 build, and fetches the libsrtp 2.5.0 source (Debian's orig tarball,
# `apt-get source`) that Bazel builds with OpenSSL crypto. Idempotent: when everything is there
# it does nothing (no network but at most one apt-get update a day, see upgrade_openssl).
set -euo pipefail

PACKAGES=(
  # Build: Debian's Bazel 4.2.3 and the rules it needs offline (tools/bazel/deps.bzl).
  bazel-bootstrap bazel-rules-cc bazel-rules-java bazel-platforms bazel-skylib
  g++ clang libclang-rt-14-dev clang-format
  # Libraries.
  libssl-dev libsrtp2-dev libuv1-dev libgtest-dev libgmock-dev libbenchmark-dev zlib1g-dev
  # Test tooling: the test counter, real DTLS peers for interop tests, tshark for the key log.
  python3 openssl gnutls-bin tshark
  # The system CA bundle behind root_certificates() and the default trust store.
  ca-certificates
  # Real WebRTC peers against the ICE-lite endpoint: headless Chromium (BoringSSL's DTLS) and
  # Firefox ESR (NSS's DTLS).
  chromium firefox-esr
)

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  SUDO=(sudo)
fi
updated=0
# The time of our last apt-get update (see upgrade_openssl).
UPDATE_STAMP=/var/cache/dtls-srtp/apt-update.stamp
apt_update() {
  if [[ $updated -eq 0 ]]; then
    "${SUDO[@]}" apt-get update -qq >&2 || return 1
    updated=1
    "${SUDO[@]}" mkdir -p "$(dirname "$UPDATE_STAMP")"
    "${SUDO[@]}" touch "$UPDATE_STAMP"
  fi
}

# libsrtp's source, pinned by sha256 in tools/bazel/deps.bzl (which also knows this path).
LIBSRTP_CACHE=/var/cache/dtls-srtp
LIBSRTP_TARBALL=libsrtp2_2.5.0.orig.tar.gz
LIBSRTP_SHA256=$(sed -n 's/^LIBSRTP_SHA256 = "\(.*\)"$/\1/p' "$(dirname "$0")/bazel/deps.bzl")
fetch_libsrtp() {
  local have
  have=$(sha256sum "$LIBSRTP_CACHE/$LIBSRTP_TARBALL" 2>/dev/null | cut -d' ' -f1 || true)
  [[ "$have" == "$LIBSRTP_SHA256" ]] && return 0
  echo "setup: fetching the libsrtp2 source package" >&2
  # apt-get source needs a deb-src entry: the same archive and keyring as the deb entry.
  if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ && \
     ! grep -qs '^deb-src' /etc/apt/sources.list; then
    if [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
      sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources |
        "${SUDO[@]}" tee /etc/apt/sources.list.d/dtls-srtp-src.sources >/dev/null
    else
      sed -n 's/^deb /deb-src /p' /etc/apt/sources.list |
        "${SUDO[@]}" tee /etc/apt/sources.list.d/dtls-srtp-src.list >/dev/null
    fi
    updated=0
  fi
  apt_update
  local tmp
  tmp=$(mktemp -d)
  chmod 755 "$tmp"
  (cd "$tmp" && apt-get source --download-only libsrtp2=2.5.0-3 >&2 ||
     apt-get source --download-only libsrtp2 >&2)
  have=$(sha256sum "$tmp/$LIBSRTP_TARBALL" 2>/dev/null | cut -d' ' -f1 || true)
  if [[ "$have" != "$LIBSRTP_SHA256" ]]; then
    echo "setup: $LIBSRTP_TARBALL has sha256 '$have', expected $LIBSRTP_SHA256" >&2
    rm -rf "$tmp"
    return 1
  fi
  "${SUDO[@]}" mkdir -p "$LIBSRTP_CACHE"
  "${SUDO[@]}" cp "$tmp/$LIBSRTP_TARBALL" "$LIBSRTP_CACHE/"
  rm -rf "$tmp"
}

# OpenSSL follows the archive: when it has a newer libssl3 (a security release), libssl3,
# libssl-dev and openssl are upgraded together, so the first test pass runs on the current
# release (tools/older_openssl_tests.sh runs the DTLS tests on the other 3.0 builds).
# Knowing that needs fresh package lists. An apt-get update on every run would put the network
# and several seconds into every test run (and fail offline), so the lists are refreshed when
# our own stamp is older than a day: a release is picked up within a day. (The lists' mtimes
# are the archive's Last-Modified times, so they do not tell when apt-get update last ran.)
# A failed refresh or upgrade only leaves OpenSSL as installed.
OPENSSL_PACKAGES=(libssl3 libssl-dev openssl)
upgrade_openssl() {
  if [[ ${#SUDO[@]} -gt 0 ]] && ! command -v sudo >/dev/null; then
    return 0
  fi
  if [[ -z $(find "$UPDATE_STAMP" -mmin -1440 2>/dev/null) ]] && ! apt_update; then
    echo "setup: apt-get update failed; OpenSSL stays as installed" >&2
    return 0
  fi
  local p installed candidate newer=0
  for p in "${OPENSSL_PACKAGES[@]}"; do
    installed=$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null || true)
    candidate=$(apt-cache policy "$p" | sed -n 's/^ *Candidate: *//p')
    if [[ -n "$installed" && -n "$candidate" && "$candidate" != "(none)" ]] &&
       dpkg --compare-versions "$candidate" gt "$installed"; then
      newer=1
    fi
  done
  [[ $newer -eq 1 ]] || return 0
  candidate=$(apt-cache policy libssl3 | sed -n 's/^ *Candidate: *//p')
  echo "setup: upgrading ${OPENSSL_PACKAGES[*]} to $candidate" >&2
  if ! DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -q \
       --no-install-recommends --only-upgrade "${OPENSSL_PACKAGES[@]}" >&2; then
    echo "setup: the OpenSSL upgrade failed; OpenSSL stays as installed" >&2
  fi
}

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "setup: installing ${missing[*]}" >&2
  if [[ ${#SUDO[@]} -gt 0 ]] && ! command -v sudo >/dev/null; then
    echo "setup: need root (or sudo) to install packages" >&2
    exit 1
  fi
  apt_update
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -q --no-install-recommends \
    "${missing[@]}" >&2
fi
upgrade_openssl
fetch_libsrtp
