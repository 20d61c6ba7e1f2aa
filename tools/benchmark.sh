#!/usr/bin/env bash
# The main job. Until the loopback DTLS-SRTP benchmark lands (issue 7) it generates a fresh
# certificate and key and prints the SDP fingerprint, the first step of every session.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
work=$(mktemp -d)
bazel run -c opt //tools:dtls-srtp -- cert --cert "$work/cert.pem" --key "$work/key.pem" "$@"
echo "certificate and key in $work" >&2
