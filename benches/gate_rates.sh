#!/usr/bin/env bash
# How often headroom's CI regression gate is wrong, right, or gives no
# answer, against servers whose truth is known. Three kinds of pair, served
# by tests/servers/fixed.py (a fixed service time, 64 workers each):
#
#   aa      A (5 ms) vs A' (5 ms, a second process, as base and candidate
#           builds are): no_significant_change expected
#   slower  A vs B (5.5 ms, 10 % slower): regression expected
#   faster  A vs C (4.5 ms, 10 % faster): improvement expected
#
# in two modes (MODES):
#
#   compare  stored baseline, as CI does it: `headroom run` against the base,
#            then `headroom run` against the candidate (always base first:
#            CI ran the base earlier, on main), then `headroom compare BASE
#            CUR --format json`; each run sends RATE requests/s to one server
#   ab       paired: one `headroom ab BASE CAND` run whose arrivals go to
#            either at random (2 × RATE in all: about RATE to each, the
#            samples a stored-baseline run has); its compare.json
#
# Both judge with a minimum effect of THRESHOLD (5 %): a gate meant to
# catch a 10 % slowdown needs its minimum effect below 10 %, or half of
# the true 10 % changes (9.6 % measured, with the fixed overhead) fall
# under it by sampling alone.
#
# and two conditions (CONDITIONS): quiet, and neighbour, where
# benches/servers/neighbour.py 20 100 1 5 busy-spins on every core for
# 20-100 ms every 1-5 s during that condition's runs.
#
# The expected verdict is a detection (for aa: no change); the verdict the
# other way (aa: either direction) is false; no_significant_change on slower
# or faster is a miss ("no change" column); inconclusive is counted apart and
# the first line of its first warning is kept in the reasons file; an exit
# code other than 0, 1 or 3 is an error (its stderr is kept in the work dir).
#
# Goals, per 50 pairs (an error counts as an inconclusive here):
#   quiet, both modes:   false ≤ 1, detections ≥ 48, inconclusive ≤ 2
#   neighbour, ab:       the same
#   neighbour, compare:  false ≤ 1, inconclusive ≤ 10
#
# Time: a pair is 3 kinds × (compare: 2 runs + ab: 1 run) = 9 runs of SECS,
# kinds and modes interleaved within a pair so drift hits all cells alike.
# Defaults: 2 conditions × 50 pairs × 9 runs × 10 s = 9,000 s = 2.5 h, plus
# ~1 s per run for start-up and compare: about 2 h 45 min. MODES=ab is 1/3
# of that, MODES=compare 2/3.
#
#   benches/gate_rates.sh
#   PAIRS=10 SECS=5 MODES=ab CONDITIONS=quiet benches/gate_rates.sh   a quick look
#   HEADROOM=/tmp/old/headroom benches/gate_rates.sh                   another build
#
# Env: PAIRS (50), RATE (300), SECS (10), MODES ("compare ab"), CONDITIONS
# ("quiet neighbour"), KINDS ("aa slower faster"), NEIGHBOUR ("20 100 1 5"),
# THRESHOLD ("5%").
# Prints a table and the commonest reasons for inconclusives (numbers shown
# as #); appends the table to benches/results/gate_rates.csv. Needs python3.
set -euo pipefail
cd "$(dirname "$0")/.."

PAIRS=${PAIRS:-50}
RATE=${RATE:-300}
SECS=${SECS:-10}
MODES=${MODES:-compare ab}
CONDITIONS=${CONDITIONS:-quiet neighbour}
KINDS=${KINDS:-aa slower faster}
NEIGHBOUR=${NEIGHBOUR:-20 100 1 5}
THRESHOLD=${THRESHOLD:-5%}
WORKERS=64

need() { command -v "$1" >/dev/null 2>&1; }
need python3 || { echo "needs python3" >&2; exit 2; }
for m in $MODES; do case $m in compare|ab) ;; *) echo "unknown mode $m (compare, ab)" >&2; exit 2 ;; esac; done
for c in $CONDITIONS; do case $c in quiet|neighbour) ;; *) echo "unknown condition $c (quiet, neighbour)" >&2; exit 2 ;; esac; done
for k in $KINDS; do case $k in aa|slower|faster) ;; *) echo "unknown kind $k (aa, slower, faster)" >&2; exit 2 ;; esac; done

# HEADROOM=path measures another build instead of this one.
BUILD=${HEADROOM:+HEADROOM=$HEADROOM}
if [ -z "${HEADROOM:-}" ]; then
  HEADROOM=target/release/headroom
  [ -x "$HEADROOM" ] || cargo build --release --quiet
  BUILD=$(git rev-parse --short HEAD 2>/dev/null || echo -)
fi
H=$HEADROOM
case " $MODES " in *" ab "*)
  "$H" ab --help >/dev/null 2>&1 || { echo "$H has no ab command; try MODES=compare" >&2; exit 2; } ;;
esac

work=$(mktemp -d)
mkdir -p "$work/runs" "$work/errors"
: > "$work/rows"; : > "$work/reasons"
servers=()
neighbour=""
cleanup() {
  if [ -n "$neighbour" ]; then kill "$neighbour" 2>/dev/null || true; fi
  for p in "${servers[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work/runs"
  echo "work dir (rows, reasons, errors, server logs): $work" >&2
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# fixed.py NAME SERVICE_MS: starts it on a free port, sets url[NAME].
declare -A url
start_server() {
  local name=$1 ms=$2 port=""
  : > "$work/$name.port"   # before the background job opens it: head must find it
  python3 tests/servers/fixed.py "$ms" "$WORKERS" >"$work/$name.port" 2>"$work/$name.log" &
  servers+=("$!")
  for _ in $(seq 50); do
    port=$(head -n1 "$work/$name.port")
    [ -n "$port" ] && break
    sleep 0.1
  done
  [ -n "$port" ] || { echo "fixed.py $ms did not start: $(cat "$work/$name.log")" >&2; exit 1; }
  url[$name]="http://127.0.0.1:$port/"
}
start_server A 5
start_server A2 5
start_server B 5.5
start_server C 4.5
declare -A candidate=([aa]=A2 [slower]=B [faster]=C)

# hr ARGS...: runs headroom; rc = its exit code (never trips set -e),
# stderr in $work/err. ok_rc: 0, 1 or 3. keep_err NAME: saves the stderr.
hr() { rc=0; "$H" "$@" 2>"$work/err" || rc=$?; }
ok_rc() { case $rc in 0|1|3) return 0 ;; *) return 1 ;; esac; }
keep_err() {
  { echo "exit code $rc"; cat "$work/err"; } > "$work/errors/$1.err"
  verdict=error
}

# read_verdict JSON TAG: sets verdict and reason (the first line of the
# first warning) from a compare JSON; notes an exit code that disagrees.
read_verdict() {
  local out
  out=$(python3 - "$1" <<'PY'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
    v, w = d["verdict"], d.get("warnings") or []
    first = w[0].get("message", "") if w and isinstance(w[0], dict) else (str(w[0]) if w else "")
    reason = (first.splitlines() or [""])[0] if w else "(no warnings)"
    if v not in ("regression", "improvement", "no_significant_change", "inconclusive"):
        v, reason = "error", f"unknown verdict {v!r}"
except Exception as e:
    v, reason = "error", f"unreadable compare JSON: {e}".splitlines()[0]
print(v)
print(reason)
PY
  ) || out=$'error\npython3 failed reading the compare JSON'
  verdict=${out%%$'\n'*}
  reason=${out#*$'\n'}
  local want=0
  case $verdict in regression) want=1 ;; inconclusive) want=3 ;; error) want=$rc ;; esac
  if [ "$rc" != "$want" ]; then
    echo "$2: verdict $verdict but exit code $rc" | tee -a "$work/mismatches" >&2
  fi
  if [ "$verdict" = error ]; then
    { echo "$reason"; cat "$1" 2>/dev/null; } > "$work/errors/$2.err"
  fi
}

# gate MODE KIND DIR TAG: one verdict of MODE for A vs KIND's candidate.
gate() {
  local mode=$1 base=${url[A]} cand=${url[${candidate[$2]}]} dir=$3 tag=$4
  local args=(--rate "$RATE" --duration "${SECS}s" --quiet --no-report)
  verdict=error reason=""
  case $mode in
    compare)
      hr run --url "$base" "${args[@]}" --out "$dir/base" >"$work/out"
      ok_rc || { keep_err "$tag-base"; return 0; }
      hr run --url "$cand" "${args[@]}" --out "$dir/cand" >"$work/out"
      ok_rc || { keep_err "$tag-cand"; return 0; }
      hr compare "$dir/base" "$dir/cand" --threshold "$THRESHOLD" --format json >"$dir/compare.json"
      ok_rc || { keep_err "$tag-compare"; return 0; }
      read_verdict "$dir/compare.json" "$tag" ;;
    ab)
      hr ab "$base" "$cand" --rate $((RATE * 2)) --duration "${SECS}s" --quiet --no-report \
        --threshold "$THRESHOLD" --out "$dir/ab" >"$work/out"
      ok_rc || { keep_err "$tag-ab"; return 0; }
      read_verdict "$dir/ab/compare.json" "$tag" ;;
  esac
}

short() {
  case $1 in regression) echo R ;; improvement) echo I ;; no_significant_change) echo '=' ;;
    inconclusive) echo '?' ;; *) echo E ;; esac
}

n_cond=$(wc -w <<<"$CONDITIONS")
echo "$H; $n_cond condition(s) × $PAIRS pairs of $KINDS, modes $MODES, $RATE/s for ${SECS}s per run" >&2
echo "servers: A ${url[A]} A' ${url[A2]} B ${url[B]} C ${url[C]}" >&2
start=$SECONDS
done_pairs=0
for cond in $CONDITIONS; do
  if [ "$cond" = neighbour ]; then
    # shellcheck disable=SC2086  # NEIGHBOUR is four words on purpose
    python3 benches/servers/neighbour.py $NEIGHBOUR >"$work/neighbour.log" 2>&1 &
    neighbour=$!
  fi
  for i in $(seq "$PAIRS"); do
    line=""
    for mode in $MODES; do
      line+=" $mode"
      for kind in $KINDS; do
        dir="$work/runs/$mode-$kind-$i"
        mkdir -p "$dir"
        gate "$mode" "$kind" "$dir" "$mode-$cond-$kind-$i"
        # A verdict the wrong way keeps its compare.json, to see which
        # metric moved and why.
        case "$kind:$verdict" in
          aa:regression | aa:improvement | slower:improvement | faster:regression)
            mkdir -p "$work/false"
            for f in "$dir/compare.json" "$dir/ab/compare.json"; do
              [ -f "$f" ] && cp "$f" "$work/false/$mode-$cond-$kind-$i.json"
            done ;;
        esac
        rm -rf "$dir"
        echo "$mode $cond $kind $verdict" >> "$work/rows"
        if [ "$verdict" = inconclusive ]; then
          printf '%s %s %s\t%s\n' "$mode" "$cond" "$kind" "$reason" >> "$work/reasons"
        fi
        line+=" $kind:$(short "$verdict")"
      done
      line+=" |"
    done
    done_pairs=$((done_pairs + 1))
    el=$((SECONDS - start))
    left=$((el * (n_cond * PAIRS - done_pairs) / done_pairs))
    printf '%s pair %d/%d:%s %dm elapsed, ~%dm left\n' "$cond" "$i" "$PAIRS" "${line% |}" $((el / 60)) $((left / 60)) >&2
  done
  if [ -n "$neighbour" ]; then
    kill "$neighbour" 2>/dev/null || true
    wait "$neighbour" 2>/dev/null || true
    neighbour=""
  fi
done

mkdir -p benches/results
python3 - "$work/rows" "$PAIRS" "$RATE" "$SECS" "$BUILD" <<'PY'
import collections, datetime, os, sys
rows_path, pairs, rate, secs, build = sys.argv[1:6]
expect = {"aa": "no_significant_change", "slower": "regression", "faster": "improvement"}
cells, order = {}, {}
for line in open(rows_path):
    mode, cond, kind, verdict = line.split()
    for x in (mode, cond, kind):
        order.setdefault(x, len(order))
    c = cells.setdefault((mode, cond, kind), collections.Counter())
    c["n"] += 1
    if verdict in ("inconclusive", "error"):
        c[verdict] += 1
    elif verdict == "no_significant_change":
        c["no_change"] += 1
    elif verdict == expect[kind]:
        c["detections"] += 1
    else:
        c["false"] += 1

def goal(mode, cond, kind, c):
    """Whether a cell meets the goals, scaled from 'per 50 pairs'."""
    n, miss = c["n"], []
    if c["false"] > n / 50:
        miss.append("false")
    if kind != "aa" and (cond == "quiet" or mode == "ab") and c["detections"] < n * 48 / 50:
        miss.append("detection")
    limit = 10 if (cond == "neighbour" and mode == "compare") else 2
    if c["inconclusive"] + c["error"] > n * limit / 50:
        miss.append("inconclusive")
    return "ok" if not miss else "MISSED " + ",".join(miss)

cols = ["false", "detections", "no_change", "inconclusive", "error"]
print(f"{'mode':<8} {'condition':<10} {'pair':<7} {'n':>4} {'false':>6} {'detect':>7} "
      f"{'no chg':>7} {'inconcl':>8} {'errors':>7}  goal")
cells = dict(sorted(cells.items(), key=lambda kv: [order[x] for x in kv[0]]))
for (mode, cond, kind), c in cells.items():
    det = "-" if kind == "aa" else c["detections"]
    print(f"{mode:<8} {cond:<10} {kind:<7} {c['n']:>4} {c['false']:>6} {det:>7} "
          f"{c['no_change']:>7} {c['inconclusive']:>8} {c['error']:>7}  {goal(mode, cond, kind, c)}")
path = "benches/results/gate_rates.csv"
new = not os.path.exists(path)
with open(path, "a") as f:
    if new:
        f.write("date,build,mode,condition,pair,rate,seconds,n,false_verdicts,detections,"
                "no_change,inconclusive,errors\n")
    today = datetime.date.today().isoformat()
    for (mode, cond, kind), c in cells.items():
        f.write(",".join([today, build, mode, cond, kind, rate, secs, str(c["n"])]
                         + [str(c[k]) for k in cols]) + "\n")
print(f"appended to {path}")
PY

if [ -s "$work/reasons" ]; then
  echo
  echo "commonest reasons for inconclusives (mode, condition: first warning):"
  awk -F'\t' '{split($1, a, " "); print a[1] " " a[2] ": " $2}' "$work/reasons" |
    sed -E 's/[0-9]+(\.[0-9]+)?/#/g' | sort | uniq -c | sort -rn | head -n 15
fi
n_err=$(find "$work/errors" -type f | wc -l)
if [ "$n_err" -gt 0 ]; then
  echo
  echo "$n_err error(s); their stderr is in $work/errors/"
fi
