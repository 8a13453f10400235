#!/usr/bin/env bash
# headroom beside wrk and oha against the same nginx on loopback, measured
# in one run (issue 17's goals). nginx (one worker, a 612-byte static page)
# is pinned to the last core, every load generator to the first, and the
# tools run one after another, ROUNDS times alternated; medians count.
#
#   closed loop, C = 32 and 256 connections:
#     wrk -t1 -cC | oha -cC | headroom --threads 1 --concurrency C
#   open loop at RATE requests/s (default 20,000), 64 connections:
#     oha -q RATE --latency-correction | headroom --threads 1 --rate RATE
#
# Prints requests/s and CPU seconds (user + system) per 100k requests for
# each, the ratios the issue sets targets for, and headroom's send-lag p99
# and latency p50 − service-time p50 in the open loop; appends every row to
# benches/results/vs_peers.csv.
#
#   benches/vs_peers.sh [seconds] [rounds]     (default 10 s, 3 rounds)
#   HEADROOM=/tmp/old/headroom benches/vs_peers.sh    another build
#
# Needs: nginx and wrk (Debian), oha (cargo install oha); installs what is
# missing.
set -euo pipefail
cd "$(dirname "$0")/.."

SECS=${1:-10}
ROUNDS=${2:-3}
RATE=${RATE:-20000}
PORT=${PORT:-8089}
URL="http://127.0.0.1:${PORT}/index.html"
CORES=$(nproc)
PIN_SERVER="taskset -c $((CORES - 1))"
PIN_CLIENT="taskset -c 0"

need() { command -v "$1" >/dev/null 2>&1; }
if ! need nginx || ! need wrk; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light wrk >/dev/null
fi
if ! need oha; then
  cargo install oha --locked >/dev/null 2>&1 || echo "note: oha could not be installed; its columns are skipped" >&2
fi
# HEADROOM=path measures another build (a baseline) instead of this one.
NAME=headroom-baseline
if [ -z "${HEADROOM:-}" ]; then
  cargo build --release --quiet
  HEADROOM=target/release/headroom
  NAME=headroom
fi

. benches/nginx.sh
static_nginx "$PIN_SERVER" "$PORT"

# Runs a command pinned to the client core; appends "tool mode conns rps
# cpu lag_p99 gap_p50" to $work/rows. rps comes from the tool's own output.
measure() {
  local tool=$1 mode=$2 conns=$3; shift 3
  TIMEFORMAT='%U %S'
  # An exit code is an answer (headroom's 3: the generator could not keep
  # up, which its summary says), not a reason to abort the rounds.
  local rc=0
  { time $PIN_CLIENT "$@" >"$work/out" 2>&1 || rc=$? ; } 2>"$work/time"
  if [ "$rc" != 0 ]; then echo "note: $tool $mode $conns exited $rc" >&2; fi
  local cpu rps lag="" gap=""
  cpu=$(awk '{printf "%.3f", $1+$2}' "$work/time")
  case $tool in
    wrk|oha) rps=$(awk '/Requests\/sec/ {print $2}' "$work/out") ;;
    headroom*)
      read -r rps lag gap < <(python3 -c "
import json; s = json.load(open('$work/h/summary.json'))
e = s['requests']['errors']['total'] if isinstance(s['requests']['errors'], dict) else s['requests']['errors']
assert e == 0, f'headroom saw {e} errors: not a fair comparison'
print(s['throughput'], s['send_lag_ms']['p99'], s['latency_ms']['p50'] - s['service_time_ms']['p50'])")
      rm -rf "$work/h" ;;
  esac
  echo "$tool $mode $conns $rps $cpu ${lag:--} ${gap:--}" >> "$work/rows"
}

for round in $(seq "$ROUNDS"); do
  for c in 32 256; do
    measure wrk closed "$c" wrk -t1 -c"$c" -d"${SECS}s" "$URL"
    if need oha; then
      measure oha closed "$c" oha --no-tui -z "${SECS}s" -c "$c" "$URL"
    fi
    measure "$NAME" closed "$c" "$HEADROOM" run --url "$URL" --concurrency "$c" --threads 1 \
      --duration "${SECS}s" --quiet --no-report --out "$work/h"
  done
  if need oha; then
    measure oha open 64 oha --no-tui -z "${SECS}s" -q "$RATE" --latency-correction -c 64 "$URL"
  fi
  measure "$NAME" open 64 "$HEADROOM" run --url "$URL" --rate "$RATE" --threads 1 --connections 64 \
    --duration "${SECS}s" --quiet --no-report --out "$work/h"
  echo "round $round of $ROUNDS done" >&2
done

python3 - "$work/rows" "$SECS" "$RATE" <<'PY'
import sys, datetime, os, statistics
rows_path, secs, rate = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
runs = {}
for line in open(rows_path):
    tool, mode, conns, rps, cpu, lag, gap = line.split()
    runs.setdefault((mode, int(conns), tool), []).append(
        (float(rps), float(cpu) / (float(rps) * secs) * 1e5,
         None if lag == "-" else float(lag), None if gap == "-" else float(gap)))
med = lambda xs: statistics.median(xs) if xs else float("nan")
summary = {}
print(f"{'mode':<7} {'conns':>5} {'tool':<9} {'requests/s':>11} {'CPU s/100k':>11} {'lag p99':>8} {'lat−svc p50':>12}")
for (mode, conns, tool), rs in sorted(runs.items()):
    rps, cpu = med([r[0] for r in rs]), med([r[1] for r in rs])
    lag = [r[2] for r in rs if r[2] is not None]
    gap = [r[3] for r in rs if r[3] is not None]
    summary[(mode, conns, tool)] = (rps, cpu)
    extra = f"{med(lag):>6.3f}ms {med(gap):>10.3f}ms" if lag else ""
    print(f"{mode:<7} {conns:>5} {tool:<9} {rps:>11.0f} {cpu:>11.3f} {extra}")
print()
ratio = lambda a, b: summary[a][1] / summary[b][1] if a in summary and b in summary else float("nan")
H = "headroom" if any(k[2] == "headroom" for k in summary) else "headroom-baseline"
for c in (32, 256):
    print(f"closed, {c} connections: headroom/wrk CPU per request = {ratio(('closed', c, H), ('closed', c, 'wrk')):.2f} (target ≤ 1.0), "
          f"headroom/oha = {ratio(('closed', c, H), ('closed', c, 'oha')):.2f} (target ≤ 0.7)")
print(f"open at {rate:.0f}/s: headroom/oha CPU per request = {ratio(('open', 64, H), ('open', 64, 'oha')):.2f} (target ≤ 0.7); "
      "send-lag p99 target ≤ 0.2 ms, latency − service p50 ≤ 0.1 ms")
path = "benches/results/vs_peers.csv"
new = not os.path.exists(path)
with open(path, "a") as f:
    if new:
        f.write("date,mode,tool,connections,rate,seconds,requests_per_s,cpu_s_per_100k\n")
    day = datetime.date.today().isoformat()
    for (mode, conns, tool), (rps, cpu) in sorted(summary.items()):
        f.write(f"{day},{mode},{tool},{conns},{rate if mode == 'open' else ''},{secs:.0f},{rps:.1f},{cpu:.4f}\n")
print(f"\nappended to {path}")
PY
