#!/usr/bin/env bash
# A producer faster than its consumer, measured from outside (issue 11):
#   scripts/bench-overload.sh [BUILD_DIR] [SECONDS] [MAX_MEMORY_BYTES] [CONSUME_RATE]
#   (defaults: build 60 134217728 30000)
# Runs a node with [node] max_memory = MAX_MEMORY_BYTES, one producer sending 100-byte
# messages flat out and one consumer acking at most CONSUME_RATE msgs/s, for SECONDS. Prints
# the node's RSS and the confirmed sends every second, then checks that nothing confirmed is
# lost: the queue's counters match what the bench was told, and so does its depth after a
# kill -9 and a restart.
set -eu
build=${1:-build}
seconds=${2:-60}
max_memory=${3:-134217728}
consume_rate=${4:-30000}
bin=$(cd "$build/bin" && pwd)
port=${PORT:-7498}
node=127.0.0.1:$port
py=/usr/bin/python3

dir=$(mktemp -d /tmp/mailroom-overload.XXXXXX)
trap 'kill -9 $pid 2>/dev/null && wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
cat >"$dir/node.toml" <<TOML
[node]
data_dir = "$dir/data"
listen = "$node"
log_level = "warn"
max_memory = $max_memory
TOML

start_node() {
  "$bin/mailroomd" --config "$dir/node.toml" &
  pid=$!
  until "$bin/mailroom" --node "$node" queue ls >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || { echo "node died" >&2; exit 1; }
    sleep 0.02
  done
}
stats() { "$bin/mailroom" --node "$node" --json queue stats bench; }
field() { $py -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

start_node
"$bin/mailroom-bench" queue --node "$node" --producers 1 --consumers 1 --batch 1000 \
  --messages 1000000000 --duration "$seconds" --consume-rate "$consume_rate" --json \
  >"$dir/bench.json" 2>"$dir/bench.err" &
bench=$!
echo "second rss_MiB confirmed_sends acked"
t=0
while kill -0 "$bench" 2>/dev/null; do
  sleep 1
  t=$((t + 1))
  rss=$(awk '/^VmRSS/ {print int($2 / 1024)}' "/proc/$pid/status")
  line=$(tail -1 "$dir/bench.err" | sed -n 's/.*sent \([0-9]*\), received \([0-9]*\).*/\1 \2/p')
  echo "$t $rss ${line:-0 0}"
done
wait "$bench" || { cat "$dir/bench.err" >&2; exit 1; }
summary=$(tail -1 "$dir/bench.json")
sent=$(echo "$summary" | field 'd["sent"]')
acked=$(echo "$summary" | field 'd["received"]')
peak=$(awk '/^VmHWM/ {print int($2 / 1024)}' "/proc/$pid/status")
s=$(stats)
q_sent=$(echo "$s" | field 'd["sent"]')
q_acked=$(echo "$s" | field 'd["acked"]')
depth=$(echo "$s" | field 'd["visible"] + d["in_flight"] + d["delayed"]')
echo "confirmed $sent, acked $acked; the queue counts sent $q_sent, acked $q_acked, holds $depth;" \
  "peak RSS $peak MiB"
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
start_node
after=$(stats | field 'd["visible"] + d["in_flight"] + d["delayed"]')
echo "after kill -9 and restart the queue holds $after"
status=0
[ "$q_sent" = "$sent" ] || { echo "FAIL: the queue took $q_sent sends, $sent were confirmed"; status=1; }
[ "$q_acked" = "$acked" ] || { echo "FAIL: the queue counts $q_acked acks, $acked were confirmed"; status=1; }
[ "$depth" = $((sent - acked)) ] || { echo "FAIL: depth $depth, expected $((sent - acked))"; status=1; }
[ "$after" = "$depth" ] || { echo "FAIL: after the restart $after, before $depth"; status=1; }
[ $status = 0 ] && echo "nothing lost"
exit $status
