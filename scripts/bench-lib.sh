# Shared by the macro benchmark scripts (bench-http.sh, bench.sh): source it, do not run it.

# bench_nginx WORK PORT WORKERS SIZE...: files of SIZE bytes under WORK/www, served by nginx
# (Debian nginx-light) on 127.0.0.1:PORT with WORKERS workers, sendfile on, access log off.
# Its pid file is WORK/nginx.pid. WORK must be world-readable: nginx's workers run as www-data
# (a 0700 mktemp dir gave 403 on every request once).
bench_nginx() {
  local work=$1 port=$2 workers=$3 size
  shift 3
  chmod 755 "$work"
  mkdir -p "$work/www"
  for size in "$@"; do
    head -c "$size" /dev/zero | tr '\0' x > "$work/www/$size"
  done
  cat > "$work/nginx.conf" <<NGX
worker_processes $workers;
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nodelay on;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$port reuseport;
    root $work/www;
    location / { default_type application/octet-stream; }
  }
}
NGX
  /usr/sbin/nginx -c "$work/nginx.conf" -g 'daemon on;'
}

# bench_free_port: a TCP port nothing listens on at the moment, on 127.0.0.1. The servers bind
# with SO_REUSEPORT, so a fixed port another run already holds would be shared silently (its
# connections answered by the other run's server).
bench_free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# bench_wait_healthy PORT: waits (up to 10 s) for mamute's management API to answer /healthz.
bench_wait_healthy() {
  local _
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$1/healthz" >/dev/null && return 0
    sleep 0.1
  done
  echo "mamute did not become healthy on :$1" >&2
  return 1
}

# bench_setup: sets work (a temp dir, removed at exit together with the servers started for
# the run: mamute's $mpid, the nginx of $work/nginx.pid, the Ceph daemons of bench-rgw.sh),
# cores, and workers (all cores but one serve data, the same count for mamute's shards and
# nginx's workers).
bench_setup() {
  work=$(mktemp -d)
  trap bench_cleanup EXIT
  cores=$(nproc)
  workers=$((cores > 1 ? cores - 1 : 1))
}
bench_cleanup() {
  if declare -F rgw_stop >/dev/null; then  # the Ceph daemons of scripts/bench-rgw.sh
    rgw_stop
  fi
  [[ -n ${mpid:-} ]] && kill "$mpid" 2>/dev/null || true
  [[ -f $work/nginx.pid ]] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}

# run_wrk URL → "req/s p50 p99" (wrk units) with wrk -t$threads -c$conns -d${duration}s; "ERROR - -"
# when any answer was not 2xx: error responses are not a benchmark.
run_wrk() {
  wrk -t"$threads" -c"$conns" -d"${duration}s" --latency "$1" > "$work/wrk.txt" 2>&1
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt")
  [[ -n ${BENCH_DEBUG:-} ]] && cat "$work/wrk.txt" >&2
  if grep -q "Non-2xx" "$work/wrk.txt"; then
    # Error responses are not a benchmark: refuse to report them as throughput.
    echo "$0: $1 answered errors:" >&2
    cat "$work/wrk.txt" >&2
    echo "ERROR - -"
    return
  fi
  p50=$(awk '$1=="50%" {print $2}' "$work/wrk.txt")
  p99=$(awk '$1=="99%" {print $2}' "$work/wrk.txt")
  echo "$rps $p50 $p99"
}
to_ms() {  # wrk latency (e.g. 812.00us, 1.20ms, 2.01s) → ms
  awk -v v="$1" 'BEGIN { if (v ~ /us$/) { sub(/us$/, "", v); print v/1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v); print v+0 } else if (v ~ /s$/) { sub(/s$/, "", v); print v*1000 } else print v }'
}
