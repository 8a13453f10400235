#!/usr/bin/env bash
# Throughput through `headroom proxy` without a toxic, beside the same load
# sent to nginx directly: headroom, closed loop, 32 connections, SECS
# seconds each, ROUNDS times alternated; medians count. nginx (one worker,
# a 612-byte page) is pinned to the last core; the generator and the proxy
# share the first (the proxy is one thread), as a sidecar shares a pod.
#
#   benches/proxy_ratio.sh [seconds] [rounds]    (default 10 s, 3 rounds)
#
# Prints requests/s direct and proxied, their ratio, and the proxy's CPU
# seconds per 100k requests; appends them to benches/results/proxy_ratio.csv.
set -euo pipefail
cd "$(dirname "$0")/.."

SECS=${1:-10}
ROUNDS=${2:-3}
PORT=${PORT:-8091}
PROXY_PORT=${PROXY_PORT:-8092}
API_PORT=${API_PORT:-8493}
CORES=$(nproc)
PIN_SERVER="taskset -c $((CORES - 1))"
PIN_CLIENT="taskset -c 0"

command -v nginx >/dev/null 2>&1 || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null
}
cargo build --release --quiet
HEADROOM=target/release/headroom

. benches/nginx.sh
static_nginx "$PIN_SERVER" "$PORT"
proxy_pid=""
trap 'kill $(cat "$work/nginx.pid" 2>/dev/null) 2>/dev/null || true; kill "$proxy_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
$PIN_CLIENT $HEADROOM proxy --api "127.0.0.1:${API_PORT}" \
  --proxy "name=nginx,listen=127.0.0.1:${PROXY_PORT},upstream=127.0.0.1:${PORT}" >/dev/null &
proxy_pid=$!
sleep 1

# requests/s of one closed-loop run against port $1
rps() {
  $PIN_CLIENT $HEADROOM run --url "http://127.0.0.1:$1/index.html" --concurrency 32 \
    --threads 1 --duration "${SECS}s" --out "$work/r" --force --no-report -q >/dev/null 2>&1 || true
  python3 -c "import json;print(json.load(open('$work/r/summary.json'))['throughput'])"
}
proxy_cpu() { awk '{print $14 + $15}' "/proc/$proxy_pid/stat"; }   # clock ticks

direct=() proxied=() cpu=()
for _ in $(seq "$ROUNDS"); do
  direct+=("$(rps "$PORT")")
  before=$(proxy_cpu)
  proxied+=("$(rps "$PROXY_PORT")")
  after=$(proxy_cpu)
  cpu+=("$(( after - before ))")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
d=$(median "${direct[@]}")
p=$(median "${proxied[@]}")
ticks=$(median "${cpu[@]}")
hz=$(getconf CLK_TCK)
python3 - "$d" "$p" "$ticks" "$hz" "$SECS" <<'PY'
import sys
d, p, ticks, hz, secs = map(float, sys.argv[1:])
cpu_per_100k = ticks / hz / (p * secs) * 1e5
print(f"direct   {d:10.0f} requests/s")
print(f"proxied  {p:10.0f} requests/s   ratio {p / d:.2f}")
print(f"proxy CPU {cpu_per_100k:.2f} s per 100k requests")
PY
mkdir -p benches/results
[ -f benches/results/proxy_ratio.csv ] || echo "date,secs,rounds,direct_rps,proxied_rps,ratio" > benches/results/proxy_ratio.csv
echo "$(date -u +%F),$SECS,$ROUNDS,$d,$p,$(python3 -c "print(round($p/$d,3))")" >> benches/results/proxy_ratio.csv
