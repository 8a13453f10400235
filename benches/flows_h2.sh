#!/usr/bin/env bash
# Two measurements against one nginx on loopback, each from one run:
#
# 1. Flow overhead: a plain single-URL closed-loop run vs a three-step flow
#    (POST /login with a CSV user, extract the token from JSON, two API
#    calls carrying it, a JSON expectation) at the same concurrency.
#    The two alternate ROUNDS times (default 5) and the medians count, as
#    this shared machine's throughput moves by ±15 % from run to run; nginx
#    is pinned to the last core and the load generators to the first.
#    Prints requests/s and headroom's CPU seconds per 100k requests for
#    both, and the ratio (target: flow ≥ 0.85 × plain requests/s).
# 2. HTTP/2 (h2c): h2load -c C -m M vs headroom with C connections of M
#    streams, same duration.
#
#   benches/flows_h2.sh [seconds]      (default 5 s per measurement)
#
# Needs nginx (Debian nginx-light) and h2load (nghttp2-client); installs
# what is missing. Appends to benches/results/flows_h2.csv.
set -euo pipefail
cd "$(dirname "$0")/.."

SECS=${1:-5}
ROUNDS=${ROUNDS:-5}
CORES=$(nproc)
PIN_SERVER="taskset -c $((CORES - 1))"
PIN_CLIENT="taskset -c 0"
USERS=${USERS:-64}
H2_CONNS=${H2_CONNS:-4}
H2_STREAMS=${H2_STREAMS:-16}
PORT=${PORT:-8091}
H2PORT=${H2PORT:-8092}

need() { command -v "$1" >/dev/null 2>&1; }
if ! need nginx || ! need h2load; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light nghttp2-client >/dev/null
fi
cargo build --release --quiet
HEADROOM=$PWD/target/release/headroom

work=$(mktemp -d)
chmod 755 "$work"   # nginx workers run as another user: a 0700 directory gave 403s
trap 'kill $(cat "$work/nginx.pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT
cat > "$work/nginx.conf" <<CONF
worker_processes 1;
daemon on;
pid $work/nginx.pid;
error_log $work/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  default_type application/json;
  server {
    listen 127.0.0.1:${PORT};
    location = /ping { return 200 '{"ok":true}'; }
    location = /login { return 200 '{"token":"t0k3n-4f9a","user":"u"}'; }
    location /api/ {
      if (\$http_authorization != "Bearer t0k3n-4f9a") { return 401 '{"error":"token"}'; }
      return 200 '{"ok":true}';
    }
  }
  server {
    listen 127.0.0.1:${H2PORT} http2;
    http2_max_concurrent_streams 128;
    location / { return 200 '{"ok":true}'; }
  }
}
CONF
$PIN_SERVER nginx -c "$work/nginx.conf" -p "$work"
sleep 0.5

python3 -c "
print('name,plan')
for i in range(1000): print(f'user{i:04d},{\"pro\" if i % 3 else \"free\"}')" > "$work/users.csv"

cat > "$work/plain.toml" <<TOML
[target]
url = "http://127.0.0.1:${PORT}"
[load]
model = "closed"
concurrency = ${USERS}
duration = "${SECS}s"
threads = 1
[[request]]
name = "ping"
path = "/ping"
TOML

cat > "$work/flow.toml" <<'TOML'
[target]
url = "http://127.0.0.1:PORT"
[load]
model = "closed"
concurrency = USERS
duration = "SECSs"
threads = 1
[data.users]
file = "users.csv"
[[flow]]
name = "shop"
[[flow.step]]
name = "login"
method = "POST"
path = "/login"
headers = { content-type = "application/json" }
body = '{"user":"{{ users.name }}"}'
extract = { token = { json = "/token" } }
[[flow.step]]
name = "items"
path = "/api/items?user={{ users.name }}&plan={{ users.plan }}"
headers = { authorization = "Bearer {{ token }}" }
[[flow.step]]
name = "cart"
method = "POST"
path = "/api/cart"
headers = { authorization = "Bearer {{ token }}", x-request-id = "{{ uuid }}" }
body = '{"item":{{ random_int(1, 500) }}}'
expect = { status = 200, json = { "/ok" = true } }
TOML
sed -i "s/PORT/${PORT}/; s/USERS/${USERS}/; s/SECSs/${SECS}s/" "$work/flow.toml"

cat > "$work/h2.toml" <<TOML
[target]
url = "http://127.0.0.1:${H2PORT}"
http = "2"
[load]
model = "closed"
concurrency = $((H2_CONNS * H2_STREAMS))
connections = ${H2_CONNS}
streams = ${H2_STREAMS}
duration = "${SECS}s"
threads = 1
TOML

cpu_of() {
  TIMEFORMAT='%U %S'
  { time $PIN_CLIENT "$@" >"$work/out" 2>&1 ; } 2>"$work/time"
  awk '{printf "%.3f", $1+$2}' "$work/time"
}
rps() { python3 -c "import json,sys;s=json.load(open(sys.argv[1]));e=s['requests']['errors']['total'];print(s['throughput'] if e == 0 else sys.exit(f'{sys.argv[1]}: {e} errors'))" "$1"; }

median() { python3 -c "import statistics,sys;print(statistics.median(map(float,sys.argv[1:])))" "$@"; }
pr=(); pc=(); fr=(); fc=()
for _ in $(seq "$ROUNDS"); do
  rm -rf "$work/p" "$work/f"
  pc+=("$(cpu_of "$HEADROOM" run "$work/plain.toml" --quiet --no-report --out "$work/p")")
  pr+=("$(rps "$work/p/summary.json")")
  fc+=("$(cpu_of "$HEADROOM" run "$work/flow.toml" --quiet --no-report --out "$work/f")")
  fr+=("$(rps "$work/f/summary.json")")
done
echo "plain requests/s by round: ${pr[*]}"
echo "flow  requests/s by round: ${fr[*]}"
plain_rps=$(median "${pr[@]}"); plain_cpu=$(median "${pc[@]}")
flow_rps=$(median "${fr[@]}"); flow_cpu=$(median "${fc[@]}")

h2load_cpu=$(cpu_of h2load -t1 -c"$H2_CONNS" -m"$H2_STREAMS" -D"$SECS" "http://127.0.0.1:${H2PORT}/")
h2load_rps=$(awk '/^finished in/ {gsub(",", "", $4); print $4}' "$work/out")
h2load_fail=$(awk '/^requests:/ {print $10}' "$work/out")
h2_cpu=$(cpu_of "$HEADROOM" run "$work/h2.toml" --quiet --no-report --out "$work/h")
h2_rps=$(rps "$work/h/summary.json")

python3 - "$SECS" "$USERS" "$H2_CONNS" "$H2_STREAMS" "$plain_rps" "$plain_cpu" "$flow_rps" "$flow_cpu" "$h2load_rps" "$h2load_cpu" "$h2_rps" "$h2_cpu" "$h2load_fail" <<'PY'
import sys, datetime, os
secs, users, conns, streams = float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
pr, pc, fr, fc, lr, lc, hr, hc = map(float, sys.argv[5:13])
per100k = lambda cpu, r: cpu / (r * secs) * 1e5
rows = [
    ("http1.1 plain GET", "headroom", pr, per100k(pc, pr)),
    ("http1.1 3-step flow", "headroom", fr, per100k(fc, fr)),
    (f"h2c {conns}x{streams} streams", "h2load", lr, per100k(lc, lr)),
    (f"h2c {conns}x{streams} streams", "headroom", hr, per100k(hc, hr)),
]
print(f"{'run':<24} {'tool':<9} {'requests/s':>11} {'CPU s/100k req':>15}")
for m, t, r, c in rows:
    print(f"{m:<24} {t:<9} {r:>11.0f} {c:>15.3f}")
print(f"\nflow / plain requests/s = {fr / pr:.2f} (target ≥ 0.85); CPU per request {rows[1][3] / rows[0][3]:.2f}×")
print(f"h2c: headroom / h2load requests/s = {hr / lr:.2f}; CPU per request {rows[3][3] / rows[2][3]:.2f}× (h2load failed: {sys.argv[13]})")
path = "benches/results/flows_h2.csv"
new = not os.path.exists(path)
with open(path, "a") as f:
    if new:
        f.write("date,run,tool,users,seconds,requests_per_s,cpu_s_per_100k\n")
    day = datetime.date.today().isoformat()
    for m, t, r, c in rows:
        f.write(f"{day},{m},{t},{users if 'flow' in m or 'plain' in m else conns * streams},{secs:.0f},{r:.1f},{c:.4f}\n")
print(f"\nappended to {path}")
PY
