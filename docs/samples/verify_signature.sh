#!/usr/bin/env bash
# Verifying a tinyforge notification with openssl.
# Usage: verify_signature.sh SECRET 't=...,v1=...' body.json   (exit 0 = valid)
set -euo pipefail
secret=$1 header=$2 body=$3
t=$(tr ',' '\n' <<<"$header" | sed -n 's/^ *t=//p')
v1=$(tr ',' '\n' <<<"$header" | sed -n 's/^ *v1=//p')
now=$(date +%s)
[ $(( now > t ? now - t : t - now )) -le 300 ] || exit 1
expected=$( { printf '%s.' "$t"; cat "$body"; } | openssl dgst -sha256 -hmac "$secret" -r | cut -d' ' -f1)
[ "$expected" = "$v1" ]
