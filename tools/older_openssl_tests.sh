#!/usr/bin/env bash
# Runs the DTLS tests again against each OpenSSL 3.0 build Debian 12 has shipped (libssl3), not
# only the installed one: the binaries are built once, against the installed headers, and each
# build's libssl.so.3/libcrypto.so.3 is put first on LD_LIBRARY_PATH (OpenSSL keeps the 3.0 ABI).
#
# Usage: tools/older_openssl_tests.sh [--bep-dir DIR] [bazel test arguments...]
#
# Versions: KNOWN_VERSIONS below, plus every other 3.0 build `apt-cache madison libssl3` offers,
# less the installed one (the ordinary test pass covers it); OLDER_OPENSSL_VERSIONS="V1 V2"
# replaces the whole list. Each .deb is fetched with `apt-get download` into
# /var/cache/dtls-srtp/libssl3/VERSION (reused when there) and unpacked with `dpkg-deb -x`. A
# version the archive no longer has, and that is not cached, is skipped with one line.
#
# Each run also runs //tests:openssl_version_test, which fails unless the test processes loaded
# that very build, and the line "older-openssl: running the DTLS tests against OpenSSL ..." comes
# from the loaded library (//tests:openssl_version), not from the package name.
#
# Writes one BEP JSON file per version, DIR/libssl3_VERSION.json, with its own copies of the
# test.xml files (tools/freeze_bep.py), for tools/count_tests.py; without --bep-dir, a temporary
# folder that is printed. Ends with that pass's own "N passed, M failed". Exits non-zero when a
# test failed or a build did not load as expected; 0 when every version was skipped.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

# Debian 12's libssl3 builds (bookworm, bookworm-updates, bookworm-security).
KNOWN_VERSIONS=(3.0.17-1~deb12u2 3.0.19-1~deb12u2 3.0.20-1~deb12u2 3.0.22-1~deb12u2)
TARGETS=(
  //transport/dtls:dtls_association_test
  //transport/dtls:dtls_retransmit_test
  //transport/dtls:record_guard_test
  //transport/dtls:record_cipher_test
  //transport/dtls:released_session_test
  //transport/endpoint:endpoint_core_test
  //transport/endpoint:endpoint_core_ice_test
  //transport/endpoint:endpoint_core_port_test
  //transport/io:udp_endpoint_test
  //transport:dtls_api_test
  //transport:dtls_api_handshake_test
  //transport:dtls_api_media_test
  //transport:dtls_api_tls_test
  //transport:dtls_api_handles_test
  //transport:dtls_api_threads_test
  //transport:dtls_api_endpoint_test
  //tests:record_guard_matrix_test
  //tests:bad_input_test
  //tests:flood_test
  //tests:half_open_flood_test
  //tests:dtls_interop_test
  //tests:dtls_api_interop_test
  //tests:impaired_media_test
  //tests:openssl_version_test
)

say() { echo "older-openssl: $*"; }

bep_dir=
args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --bep-dir) bep_dir=$2; shift 2 ;;
    --bep-dir=*) bep_dir=${1#--bep-dir=}; shift ;;
    *) args+=("$1"); shift ;;
  esac
done
if [[ -z "$bep_dir" ]]; then
  bep_dir=$(mktemp -d /tmp/older-openssl.XXXXXX)
fi
mkdir -p "$bep_dir"
bep_dir=$(cd "$bep_dir" && pwd)

cache=/var/cache/dtls-srtp/libssl3
if ! mkdir -p "$cache" 2>/dev/null || [[ ! -w "$cache" ]]; then
  cache=${XDG_CACHE_HOME:-$HOME/.cache}/dtls-srtp/libssl3
  mkdir -p "$cache"
fi

# The libssl3 versions in the configured archive (binary packages only).
archive_versions() {
  apt-cache madison libssl3 2>/dev/null | awk -F' *[|] *' '$1 ~ /libssl3$/ {print $2}'
}

# Fetches and unpacks libssl3 VERSION into $cache/VERSION/root unless it is there, and sets lib
# to the folder holding its libssl.so.3. Returns 1 (after one line saying why) when it cannot.
unpack() {
  local v=$1 dir=$cache/$1 tmp
  lib=$(find "$dir/root" -name libssl.so.3 -print -quit 2>/dev/null)
  if [[ -n "$lib" && -f "$dir/root/.complete" ]]; then
    lib=$(dirname "$lib")
    return 0
  fi
  if [[ ! -f "$dir/libssl3.deb" ]]; then
    if ! archive_versions | grep -qxF "$v"; then
      say "libssl3 $v not in the archive, skipped"
      return 1
    fi
    tmp=$(mktemp -d)
    # apt fetches as its _apt user when that user may write the folder.
    chown _apt "$tmp" 2>/dev/null || true
    if ! (cd "$tmp" && apt-get download -q "libssl3=$v" >"$tmp/log" 2>&1); then
      say "libssl3 $v could not be downloaded, skipped: $(grep -m1 '^E:' "$tmp/log")"
      rm -rf "$tmp"
      return 1
    fi
    mkdir -p "$dir"
    mv "$tmp"/libssl3_*.deb "$dir/libssl3.deb"
    rm -rf "$tmp"
  fi
  if [[ "$(dpkg-deb -f "$dir/libssl3.deb" Package Version | tr '\n' ' ')" != \
        "Package: libssl3 Version: $v " ]]; then
    say "libssl3 $v: $dir/libssl3.deb is not that package, skipped"
    return 1
  fi
  rm -rf "$dir/root.tmp" "$dir/root"
  dpkg-deb -x "$dir/libssl3.deb" "$dir/root.tmp" && touch "$dir/root.tmp/.complete" &&
    mv "$dir/root.tmp" "$dir/root" || return 1
  lib=$(find "$dir/root" -name libssl.so.3 -print -quit)
  if [[ -z "$lib" ]]; then
    say "libssl3 $v: no libssl.so.3 in the package, skipped"
    return 1
  fi
  lib=$(dirname "$lib")
}

installed=$(dpkg-query -W -f='${Version}' libssl3 2>/dev/null || true)
if [[ -n "${OLDER_OPENSSL_VERSIONS:-}" ]]; then
  read -ra versions <<<"$OLDER_OPENSSL_VERSIONS"
else
  mapfile -t versions < <({
    printf '%s\n' "${KNOWN_VERSIONS[@]}"
    archive_versions | grep '^3\.0\.'
  } | sort -uV)
fi

# Every target must exist: with --keep_going Bazel skips a label it cannot
# find and the pass would look green with tests missing (a folder move did
# that once).
if ! bazel query "set(${TARGETS[*]})" >/dev/null 2>&1; then
  say "a target of this pass does not exist:"
  for t in "${TARGETS[@]}"; do
    bazel query "$t" >/dev/null 2>&1 || say "  $t"
  done
  exit 1
fi

# The version reporter, built (like the tests) against the installed headers.
if ! bazel build //tests:openssl_version "${args[@]}"; then
  say "could not build //tests:openssl_version"
  exit 1
fi
reporter=$(pwd)/bazel-bin/tests/openssl_version

rc=0
beps=()
for v in "${versions[@]}"; do
  if [[ "$v" == "$installed" ]]; then
    say "libssl3 $v is the installed one (the ordinary test pass covers it), skipped"
    continue
  fi
  unpack "$v" || continue
  upstream=${v%%-*}
  mapfile -t loaded < <(LD_LIBRARY_PATH=$lib "$reporter")
  if [[ "${loaded[0]:-}" != "OpenSSL $upstream "* || "${loaded[1]:-}" != "libssl $lib/"* ||
        "${loaded[2]:-}" != "libcrypto $lib/"* ]]; then
    say "libssl3 $v: the DTLS tests would not load it: ${loaded[*]:-nothing}"
    rc=1
  fi
  say "running the DTLS tests against ${loaded[0]:-?} (libssl3 $v)"
  say "  ${loaded[1]:-no libssl}, ${loaded[2]:-no libcrypto}"
  # --nocache_test_results: a result cached from an earlier run proves nothing about this one
  # (the cache key has the path of the library, not its contents).
  bazel test "${TARGETS[@]}" --keep_going --nocache_test_results \
    --test_env=LD_LIBRARY_PATH="$lib" \
    --test_env=DTLS_SRTP_EXPECT_OPENSSL="$upstream" \
    --test_env=DTLS_SRTP_EXPECT_OPENSSL_DIR="$lib" \
    --build_event_json_file="$bep_dir/raw.json" "${args[@]}"
  [[ $? -eq 0 ]] || rc=1
  bep=$bep_dir/libssl3_$v.json
  if [[ -s "$bep_dir/raw.json" ]] &&
     python3 tools/freeze_bep.py "$bep_dir/raw.json" "$bep" "$bep_dir/libssl3_$v"; then
    beps+=("$bep")
  else
    say "libssl3 $v: no build events written"
    rc=1
  fi
  rm -f "$bep_dir/raw.json"
done

if [[ ${#beps[@]} -eq 0 ]]; then
  say "no other libssl3 build was tested"
  exit $rc
fi
say "BEP files in $bep_dir"
python3 tools/count_tests.py "${beps[@]}" | sed 's/^/older-openssl: /'
[[ ${PIPESTATUS[0]} -eq 0 ]] || rc=1
exit $rc
