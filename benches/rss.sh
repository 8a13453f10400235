#!/usr/bin/env bash
# Memory of a headroom run, sampled from /proc once a second:
#   1. 1,000 connections (closed loop, 1,000 users) for 30 s: peak RSS.
#   2. A long open-loop run (default 10 min at 2,000 rps): RSS at minute 1
#      and at the end, and their ratio (bounded memory means ≈ 1.00).
#   3. The same length with 200 request names (a scenario with 200
#      [[request]]s, 2,000 rps spread over them): RSS at minute 1 and at the
#      end, and the peak (issue 16: 3.5 MB per name before histograms grew
#      to what they record).
# Target: nginx on loopback, as in vs_peers.sh.
#
#   benches/rss.sh [long-run seconds]      (3600 for the hour-long soak)
#   NAMES_ONLY=1 benches/rss.sh 3600       the 200-name soak alone
set -euo pipefail
cd "$(dirname "$0")/.."
LONG=${1:-600}
PORT=${PORT:-8089}
URL="http://127.0.0.1:${PORT}/index.html"
command -v nginx >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null; }
cargo build --release --quiet
HEADROOM=target/release/headroom

. benches/nginx.sh
static_nginx "" "$PORT"
ulimit -n 16384

# Runs headroom in the background; prints "second rss_kib" lines.
sample() {
  "$HEADROOM" "$@" --quiet --force --out "$work/r" &
  local pid=$! s=0
  while kill -0 "$pid" 2>/dev/null; do
    awk -v s="$s" '/^VmRSS/ {print s, $2}' "/proc/$pid/status" 2>/dev/null || true
    sleep 1; s=$((s + 1))
  done
  wait "$pid" || true
}

if [ -z "${NAMES_ONLY:-}" ]; then
echo "1,000 connections, 30 s:"
sample run --url "$URL" --concurrency 1000 --duration 30s > "$work/conns.txt"
peak=$(awk 'BEGIN{m=0} {if ($2>m) m=$2} END{print m}' "$work/conns.txt")
python3 -c "import json;s=json.load(open('$work/r/summary.json'));print(f\"  {s['throughput']:.0f} rps, {s['connections_opened']} connections, peak RSS {$peak/1024:.1f} MiB (target < 100 MiB)\")"

echo "long run, ${LONG} s at 2,000 rps:"
sample run --url "$URL" --rate 2000 --connections 64 --duration "${LONG}s" > "$work/long.txt"
python3 - "$work/long.txt" <<'PY'
import sys
rows = [tuple(map(int, l.split())) for l in open(sys.argv[1]) if l.strip()]
at = dict(rows)
m1 = at.get(60) or rows[len(rows) // 10][1]
end = rows[-2][1] if len(rows) > 2 else rows[-1][1]
print(f"  RSS at minute 1: {m1/1024:.1f} MiB, at the end ({rows[-2][0]} s): {end/1024:.1f} MiB, ratio {end/m1:.3f} (target within 5 %)")
PY

fi

echo "200 request names, ${LONG} s at 2,000 rps:"
{
  printf 'name = "names"\n[target]\nurl = "%s"\n[load]\nrate = 2000\nduration = "%ss"\nconnections = 64\n' \
    "http://127.0.0.1:${PORT}" "$LONG"
  for i in $(seq 0 199); do printf '[[request]]\nname = "r%d"\npath = "/index.html?r=%d"\n' "$i" "$i"; done
} > "$work/names.toml"
sample run "$work/names.toml" > "$work/names.txt"
# The per-second RSS trace stays (seconds, KiB): how memory grew matters
# as much as where it ended.
cp "$work/names.txt" "benches/results/rss-names-$(date +%F).txt"
python3 - "$work/names.txt" "$work/r/summary.json" <<'PY'
import json, sys
rows = [tuple(map(int, l.split())) for l in open(sys.argv[1]) if l.strip()]
at = dict(rows)
m1 = at.get(60) or rows[len(rows) // 10][1]
end = rows[-2][1] if len(rows) > 2 else rows[-1][1]
peak = max(r for _, r in rows)
s = json.load(open(sys.argv[2]))
if s["requests"]["errors"]["total"]:
    sys.exit(f"  the target answered with errors: {s['requests']['errors']['by_kind']} — not a valid soak")
print(f"  {s['throughput']:.0f} rps, generator limited: {s['generator_limited']}; RSS at minute 1: {m1/1024:.1f} MiB, "
      f"at the end ({rows[-2][0]} s): {end/1024:.1f} MiB, ratio {end/m1:.3f}, peak {peak/1024:.1f} MiB")
PY
