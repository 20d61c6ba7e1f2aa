#!/usr/bin/env bash
set -euo pipefail
out=$(./handshake)
echo "$out"
[[ "$out" == "handshake ok: DTLSv1.2 SRTP_AEAD_AES_128_GCM, echo ok, keys match" ]]
