#!/usr/bin/env bash
# `make demo`: starts a node on its embedded default configuration (in a fresh data directory)
# and walks through durable send, a kill -9, receive, ack, a retry with backoff, and a message
# landing in its dead-letter sink, then redrives it; then a topic fanning out with a filter, and
# a deduplicated send.
set -euo pipefail

bin=${1:-build/bin}
port=${MAILROOM_DEMO_PORT:-7411}
data=$(mktemp -d /tmp/mailroom-demo-XXXXXX)
export MAILROOM_NODE=127.0.0.1:$port
mailroom() { "$bin/mailroom" "$@"; }
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ mailroom %s\n' "$*"; mailroom "$@"; }

node_pid=""
start_node() {
  "$bin/mailroomd" --data "$data" --listen "127.0.0.1:$port" --log-level warn --trace &
  node_pid=$!
  for _ in $(seq 100); do mailroom queue ls > /dev/null 2>&1 && return 0; sleep 0.05; done
  echo "mailroomd did not start (is port $port in use? set MAILROOM_DEMO_PORT)" >&2
  exit 1
}
cleanup() { [ -n "$node_pid" ] && kill "$node_pid" 2> /dev/null; rm -rf "$data"; }
trap cleanup EXIT

say "Start a node (embedded default config, data in $data)"
start_node

say "A queue with a lease of 2s, retries with backoff from 500ms, and a dead-letter sink after 3 deliveries"
run queue create orders --visibility-timeout 2s --retry-base 500ms --retry-cap 4s \
  --max-receive-count 3 --dead-letter orders-dlq

say "Durable send: each id is printed only once the message is fsynced"
run send orders --attr tenant=acme '{"order": 1, "item": "book"}'
printf '$ mailroom send orders %s\n' "'{\"order\": 2, \"item\": \"poison\"}'"
order2=$(mailroom send orders '{"order": 2, "item": "poison"}')
echo "$order2"

say "kill -9 the node, start it again: nothing confirmed is lost"
kill -9 "$node_pid"; wait "$node_pid" 2> /dev/null || true
start_node
run queue stats orders

say "Receive order 1 and ack it"
echo '$ mailroom recv orders --json'
line=$(mailroom recv orders --json)
echo "$line"
receipt=$(sed -n 's/.*"receipt":"\([^"]*\)".*/\1/p' <<< "$line")
printf '$ mailroom ack orders %s\n' "$receipt"
mailroom ack orders "$receipt"

say "Order 2 fails: nack it and watch the backoff (about 500ms, then 1s: exponential, with jitter) before each retry"
for attempt in 1 2 3; do
  line=$(mailroom recv orders --wait 5s --json)
  receipt=$(sed -n 's/.*"receipt":"\([^"]*\)".*/\1/p' <<< "$line")
  count=$(sed -n 's/.*"receive_count":\([0-9]*\).*/\1/p' <<< "$line")
  echo "delivery $count of order 2 (receipt $receipt) at $(date +%T.%3N)"
  printf '$ mailroom nack orders %s --error "payment service down"\n' "$receipt"
  mailroom nack orders "$receipt" --error "payment service down"
  echo "immediately after the nack it is not visible: $(mailroom recv orders | wc -l) message(s)"
done

say "After 3 deliveries it is in the dead-letter sink, with its death record"
for _ in $(seq 50); do [ -n "$(mailroom dlq ls orders-dlq)" ] && break; sleep 0.1; done
run dlq ls orders-dlq --json

say "Redrive it back to its queue (same id, history kept)"
run dlq redrive orders-dlq
run recv orders --json --ack
run queue stats orders

say "Fan-out: a topic with two subscribers; billing takes only paid orders, audit takes everything (as SNS JSON)"
run queue create billing
run queue create audit
run topic create order-events
run topic subscribe order-events billing --raw --filter '{"kind": ["paid"]}'
run topic subscribe order-events audit
run publish order-events --attr kind=paid '{"order": 3}'
run publish order-events --attr kind=quote '{"order": 4}'
run recv billing --max 10 --ack
run recv audit --max 10 --ack
run topic show order-events

say "Exactly-once sends: the same dedup id within 5 minutes is answered with the original id"
run send billing --dedup-id charge-3 '{"charge": 3}'
run send billing --dedup-id charge-3 '{"charge": 3}'
run queue stats billing

say "Lineage: the story of order 2 (it was retried, dead-lettered, redriven and acked)"
run trace "$order2"
say "Done."
