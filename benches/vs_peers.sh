#!/usr/bin/env bash
# headroom beside wrk and oha against the same nginx on loopback, measured
# in one run. Prints requests/s and CPU seconds per 100k requests for each
# tool and the ratios, and appends them to benches/results/vs_peers.csv.
#
#   benches/vs_peers.sh [seconds]      (default 10 s per measurement)
#
# Needs: nginx and wrk (Debian), oha (cargo install oha); installs what is
# missing. Closed loop: wrk -t1 -cC vs headroom --threads 1 --concurrency C.
# Open loop: oha -q R --latency-correction vs headroom --threads 1 --rate R.
set -euo pipefail
cd "$(dirname "$0")/.."

SECS=${1:-10}
CONNS=${CONNS:-64}
RATE=${RATE:-5000}
PORT=${PORT:-8089}
URL="http://127.0.0.1:${PORT}/index.html"

need() { command -v "$1" >/dev/null 2>&1; }
if ! need nginx || ! need wrk; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light wrk >/dev/null
fi
if ! need oha; then
  cargo install oha --locked >/dev/null 2>&1 || echo "note: oha could not be installed; the open-loop comparison is skipped" >&2
fi
cargo build --release --quiet
HEADROOM=target/release/headroom

work=$(mktemp -d)
chmod 755 "$work"   # nginx workers run as another user: a 0700 directory gave 403s
trap 'kill $(cat "$work/nginx.pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/html"
head -c 612 /dev/zero | tr '\0' 'x' > "$work/html/index.html"   # nginx's default page size
cat > "$work/nginx.conf" <<CONF
worker_processes 1;
daemon on;
pid $work/nginx.pid;
error_log $work/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:${PORT};
    root $work/html;
  }
}
CONF
nginx -c "$work/nginx.conf" -p "$work"
sleep 0.5

# Runs a command; prints "user+sys seconds" of it and its children.
cpu_of() {
  TIMEFORMAT='%U %S'
  { time "$@" >"$work/out" 2>&1 ; } 2>"$work/time"
  awk '{printf "%.3f", $1+$2}' "$work/time"
}

# --- closed loop: wrk vs headroom ---------------------------------------
wrk_cpu=$(cpu_of wrk -t1 -c"$CONNS" -d"${SECS}s" "$URL")
wrk_rps=$(awk '/Requests\/sec/ {print $2}' "$work/out")
hr_cpu=$(cpu_of "$HEADROOM" run --url "$URL" --concurrency "$CONNS" --threads 1 --duration "${SECS}s" --quiet --out "$work/hc")
hr_rps=$(python3 -c "import json;print(json.load(open('$work/hc/summary.json'))['throughput'])")

# --- open loop: oha vs headroom -----------------------------------------
oha_rps=""; oha_cpu=""
if need oha; then
  oha_cpu=$(cpu_of oha --no-tui -z "${SECS}s" -q "$RATE" --latency-correction -c "$CONNS" "$URL")
  oha_rps=$(awk '/Requests\/sec/ {print $2}' "$work/out")
fi
hro_cpu=$(cpu_of "$HEADROOM" run --url "$URL" --rate "$RATE" --threads 1 --connections "$CONNS" --duration "${SECS}s" --quiet --out "$work/ho")
hro_rps=$(python3 -c "import json;print(json.load(open('$work/ho/summary.json'))['throughput'])")

python3 - "$SECS" "$CONNS" "$RATE" "$wrk_rps" "$wrk_cpu" "$hr_rps" "$hr_cpu" "${oha_rps:-nan}" "${oha_cpu:-nan}" "$hro_rps" "$hro_cpu" <<'PY'
import sys, datetime, os
secs, conns, rate = float(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
wrk_rps, wrk_cpu, hr_rps, hr_cpu, oha_rps, oha_cpu, hro_rps, hro_cpu = map(float, sys.argv[4:12])
per100k = lambda cpu, rps: cpu / (rps * secs) * 1e5
rows = [
    ("closed", "wrk", wrk_rps, per100k(wrk_cpu, wrk_rps)),
    ("closed", "headroom", hr_rps, per100k(hr_cpu, hr_rps)),
    ("open", "oha", oha_rps, per100k(oha_cpu, oha_rps) if oha_rps == oha_rps else float("nan")),
    ("open", "headroom", hro_rps, per100k(hro_cpu, hro_rps)),
]
print(f"{'mode':<7} {'tool':<9} {'requests/s':>11} {'CPU s/100k req':>15}")
for m, t, r, c in rows:
    print(f"{m:<7} {t:<9} {r:>11.0f} {c:>15.3f}")
print(f"\nclosed loop: headroom / wrk requests/s = {hr_rps / wrk_rps:.2f} (target ≥ 0.80)")
if oha_rps == oha_rps:
    print(f"open loop at {rate:.0f} rps: headroom / oha CPU per request = {rows[3][3] / rows[2][3]:.2f} (target ≤ 1.00)")
path = "benches/results/vs_peers.csv"
new = not os.path.exists(path)
with open(path, "a") as f:
    if new:
        f.write("date,mode,tool,connections,rate,seconds,requests_per_s,cpu_s_per_100k\n")
    day = datetime.date.today().isoformat()
    for m, t, r, c in rows:
        f.write(f"{day},{m},{t},{conns},{rate if m == 'open' else ''},{secs:.0f},{r:.1f},{c:.4f}\n")
print(f"\nappended to {path}")
PY
