#!/usr/bin/env bash
# Installs the Debian 12 packages this project builds and tests with. Idempotent: when every
# package is already installed it does nothing (no apt-get update, no network).
set -euo pipefail

PACKAGES=(
  # Build: Debian's Bazel 4.2.3 and the rules it needs offline (tools/bazel/deps.bzl).
  bazel-bootstrap bazel-rules-cc bazel-rules-java bazel-platforms bazel-skylib
  g++ clang libclang-rt-14-dev clang-format
  # Libraries.
  libssl-dev libsrtp2-dev libuv1-dev libgtest-dev libgmock-dev libbenchmark-dev
  # Test tooling: the test counter, real DTLS peers for interop tests, tshark for the key log.
  python3 openssl gnutls-bin tshark
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "setup: installing ${missing[*]}" >&2
SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install packages" >&2; exit 1; }
  SUDO=(sudo)
fi
"${SUDO[@]}" apt-get update -q >&2
DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -q --no-install-recommends \
  "${missing[@]}" >&2
