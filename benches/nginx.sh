# Sourced by the benchmark scripts: nginx with one worker serving a
# 612-byte page (nginx's default page's size) as /index.html on
# 127.0.0.1:PORT, from a temporary directory $work that is removed, with
# nginx stopped, when the script exits.
#
#   static_nginx "taskset -c 1" 8089    (or "" for no pinning)
static_nginx() {
  local pin=$1 port=$2
  work=$(mktemp -d)
  chmod 755 "$work"   # nginx workers run as another user: a 0700 directory gave 403s
  trap 'kill $(cat "$work/nginx.pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT
  mkdir -p "$work/html"
  head -c 612 /dev/zero | tr '\0' 'x' > "$work/html/index.html"
  cat > "$work/nginx.conf" <<CONF
worker_processes 1;
daemon on;
pid $work/nginx.pid;
error_log $work/error.log;
events { worker_connections 8192; }
worker_rlimit_nofile 16384;
http {
  access_log off;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:${port};
    root $work/html;
  }
}
CONF
  $pin nginx -c "$work/nginx.conf" -p "$work"
  sleep 0.5
}
