#!/usr/bin/env bash
# This headroom beside another build of headroom (an earlier commit) against
# the same nginx on loopback, runs alternated in one sitting: CPU seconds per
# 100k requests, closed loop and open loop, and the ratio new/old of the
# medians. For "no slowdown" claims about a change to the engine.
#
#   benches/before_after.sh OLD_BINARY [NEW_BINARY] [rounds]
#
# Build the old one beside this checkout, sharing the target directory:
#   git worktree add /tmp/old <commit> && (cd /tmp/old && CARGO_TARGET_DIR=$PWD/target cargo build --release)
#   cp target/release/headroom /tmp/headroom-old && cargo build --release
# Needs nginx (Debian nginx-light). nginx runs on core 1, headroom on core 0.
set -euo pipefail
cd "$(dirname "$0")/.."

OLD=${1:?usage: benches/before_after.sh OLD_BINARY [NEW_BINARY] [rounds]}
NEW=${2:-target/release/headroom}
ROUNDS=${3:-5}
SECS=${SECS:-5}
CONNS=${CONNS:-32}
RATE=${RATE:-10000}
PORT=${PORT:-8091}
URL="http://127.0.0.1:${PORT}/index.html"

. benches/nginx.sh
static_nginx "taskset -c 1" "$PORT"

# CPU seconds per 100k requests of one run: "cpu_per_100k requests".
measure() {
  local bin=$1; shift
  TIMEFORMAT='%U %S'
  rm -rf "$work/out"
  { time taskset -c 0 "$bin" run --url "$URL" --threads 1 --duration "${SECS}s" \
      --quiet --no-report --out "$work/out" "$@" >/dev/null 2>&1 ; } 2>"$work/time" || true
  local n
  n=$(python3 -c "import json;print(json.load(open('$work/out/summary.json'))['requests']['total'])")
  awk -v n="$n" '{printf "%.4f %d\n", ($1+$2)/n*100000, n}' "$work/time"
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

for mode in closed open; do
  case $mode in
    closed) args=(--concurrency "$CONNS") ;;
    open) args=(--rate "$RATE") ;;
  esac
  : > "$work/old.$mode"; : > "$work/new.$mode"
  for _ in $(seq "$ROUNDS"); do
    measure "$OLD" "${args[@]}" | awk '{print $1}' >> "$work/old.$mode"
    measure "$NEW" "${args[@]}" | awk '{print $1}' >> "$work/new.$mode"
  done
  o=$(median < "$work/old.$mode"); n=$(median < "$work/new.$mode")
  echo "$mode: CPU s per 100k requests, median of $ROUNDS: old $o, new $n, new/old $(awk -v a="$n" -v b="$o" 'BEGIN{printf "%.3f", a/b}')"
  echo "  old: $(tr '\n' ' ' < "$work/old.$mode")"
  echo "  new: $(tr '\n' ' ' < "$work/new.$mode")"
done
