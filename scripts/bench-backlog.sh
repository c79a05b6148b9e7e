#!/usr/bin/env bash
# How a deep queue costs memory and restart time, measured from outside (issue 11):
#   scripts/bench-backlog.sh [BUILD_DIR] [MESSAGES...]      (default: build 1000000)
# For each count: fill queue "bench" with that many 100-byte messages through the client
# endpoint, kill -9 the node, restart it and time until `queue stats` answers and a first receive
# returns a message; then drain everything with one consumer. Prints one line per count: RSS
# after the fill, ready times, RSS after restart, peak RSS while draining, drain rate.
set -eu
build=${1:-build}
shift || true
counts=("${@:-1000000}")
bin=$(cd "$build/bin" && pwd)
port=${PORT:-7499}
node=127.0.0.1:$port

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kib() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
now_ms() { date +%s%3N; }
start_node() {
  "$bin/mailroomd" --data "$1" --listen "$node" --log-level warn &
  pid=$!
}
wait_answer() { # until the node answers `queue ARGS`
  until "$bin/mailroom" --node "$node" queue "$@" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || { echo "node died" >&2; exit 1; }
    sleep 0.02
  done
}

printf '%-10s %12s %10s %12s %12s %12s %10s\n' messages fill_rss_MiB stats_s first_recv_s \
  restart_rss_MiB drain_peak_MiB drain_k/s
for n in "${counts[@]}"; do
  dir=$(mktemp -d /tmp/mailroom-backlog.XXXXXX)
  start_node "$dir"
  wait_answer ls
  "$bin/mailroom-bench" queue --node "$node" --consumers 0 --messages "$n" --batch 1000 \
    --in-flight 8 >/dev/null 2>&1
  fill_rss=$(rss_kib "$pid")
  kill -9 "$pid"; wait "$pid" 2>/dev/null || true
  t0=$(now_ms)
  start_node "$dir"
  wait_answer stats bench
  t1=$(now_ms)
  "$bin/mailroom" --node "$node" recv bench --max 1 --visibility 0s >/dev/null
  t2=$(now_ms)
  restart_rss=$(rss_kib "$pid")
  drain=$("$bin/mailroom-bench" queue --node "$node" --producers 0 --messages "$n" --batch 1000 \
    --json 2>/dev/null | tail -1)
  peak=$(hwm_kib "$pid")
  rate=$(echo "$drain" | /usr/bin/python3 -c 'import json,sys; print(round(json.load(sys.stdin)["msgs_per_s"]/1000))')
  printf '%-10s %12d %10.2f %12.2f %12d %12d %10s\n' "$n" $((fill_rss / 1024)) \
    "$(echo "($t1 - $t0) / 1000" | bc -l)" "$(echo "($t2 - $t0) / 1000" | bc -l)" \
    $((restart_rss / 1024)) $((peak / 1024)) "$rate"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
done
