#!/usr/bin/env bash
# bench/proxy: the same wrk load (keep-alive, 64 connections, fixed duration) against a fixed
# local upstream directly, then through nginx, HAProxy, Caddy and tinyforge's edge (Debian
# packages, equivalent configs), printing req/s, p50, p99 and tinyforge's ratio to each.
#   bash bench/proxy.sh [seconds]      (needs: nginx-light haproxy caddy wrk; builds the edge in release)
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-10}
W=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$W"' EXIT
UP=18901 NGX=18902 HAP=18903 CAD=18904 TF=18905

cargo build --release -q -p tinyforge-edge --example edge_bench

cat > "$W/upstream.conf" <<CONF
worker_processes 1; daemon off; pid $W/up.pid; error_log $W/up.err;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  server { listen 127.0.0.1:$UP; location / { return 200 "hello from the upstream\n"; } } }
CONF
cat > "$W/nginx.conf" <<CONF
worker_processes 2; daemon off; pid $W/ngx.pid; error_log $W/ngx.err;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  upstream up { server 127.0.0.1:$UP; keepalive 128; }
  server { listen 127.0.0.1:$NGX;
    location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection "";
                 proxy_set_header Host \$host; proxy_set_header X-Forwarded-For \$remote_addr; } } }
CONF
cat > "$W/haproxy.cfg" <<CONF
global
  nbthread 2
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  option forwardfor
frontend f
  bind 127.0.0.1:$HAP
  default_backend b
backend b
  http-reuse always
  server s1 127.0.0.1:$UP
CONF
cat > "$W/Caddyfile" <<CONF
{
  admin off
  auto_https off
}
http://127.0.0.1:$CAD {
  reverse_proxy 127.0.0.1:$UP
}
CONF

nginx -c "$W/upstream.conf" & sleep 0.5
nginx -c "$W/nginx.conf" &
haproxy -f "$W/haproxy.cfg" &
caddy run --config "$W/Caddyfile" --adapter caddyfile >/dev/null 2>&1 &
target/release/examples/edge_bench 127.0.0.1:$TF 127.0.0.1:$UP &
sleep 2

declare -A RPS P50 P99
ms() { awk '{v=$1; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; printf "%.2f", v}'; }
for name in direct nginx haproxy caddy tinyforge; do
  case $name in direct) p=$UP;; nginx) p=$NGX;; haproxy) p=$HAP;; caddy) p=$CAD;; tinyforge) p=$TF;; esac
  curl -sf "http://127.0.0.1:$p/" >/dev/null || { echo "$name is not answering on $p" >&2; exit 1; }
  out=$(wrk -t2 -c64 -d"${SECS}s" --latency "http://127.0.0.1:$p/")
  RPS[$name]=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  P50[$name]=$(awk '$1=="50%" {print $2}' <<<"$out" | ms)
  P99[$name]=$(awk '$1=="99%" {print $2}' <<<"$out" | ms)
  errs=$(grep -E "Non-2xx|Socket errors" <<<"$out" || true)
  printf '%-10s %10s req/s   p50 %7s ms   p99 %7s ms  %s\n' "$name" "${RPS[$name]}" "${P50[$name]}" "${P99[$name]}" "$errs"
done
for peer in nginx haproxy caddy; do
  awk -v a="${RPS[tinyforge]}" -v b="${RPS[$peer]}" -v c="${P99[tinyforge]}" -v d="${P99[$peer]}" -v n="$peer" \
    'BEGIN { printf "tinyforge / %-8s throughput x%.2f   p99 x%.2f\n", n, a/b, c/d }'
done
