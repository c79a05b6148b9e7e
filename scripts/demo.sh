#!/usr/bin/env bash
# `make demo`: starts a node on its embedded default configuration (in a fresh data directory)
# and walks through durable send, a kill -9, receive, ack, a retry with backoff, and a message
# landing in its dead-letter sink, then redrives it; then a topic fanning out with a filter, a
# deduplicated send, and the AWS CLI on the SQS-compatible HTTP API; then the order saga (apps/examples/order_saga.cpp): orders that complete,
# a declined payment compensated in reverse order, and a compensation that keeps failing, parks
# the saga and is redriven.
set -euo pipefail

bin=${1:-build/bin}
port=${MAILROOM_DEMO_PORT:-7411}
http_port=${MAILROOM_DEMO_HTTP_PORT:-7480}
data=$(mktemp -d /tmp/mailroom-demo-XXXXXX)
export MAILROOM_NODE=127.0.0.1:$port
mailroom() { "$bin/mailroom" "$@"; }
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ mailroom %s\n' "$*"; mailroom "$@"; }

node_pid=""
start_node() {
  "$bin/mailroomd" --data "$data" --listen "127.0.0.1:$port" --http "127.0.0.1:$http_port" \
    --log-level warn --trace &
  node_pid=$!
  for _ in $(seq 100); do mailroom queue ls > /dev/null 2>&1 && return 0; sleep 0.05; done
  echo "mailroomd did not start (is port $port or $http_port in use? set MAILROOM_DEMO_PORT," \
    "MAILROOM_DEMO_HTTP_PORT)" >&2
  exit 1
}
saga_pid=""
cleanup() {
  [ -n "$node_pid" ] && kill "$node_pid" 2> /dev/null
  [ -n "$saga_pid" ] && kill "$saga_pid" 2> /dev/null
  rm -rf "$data"
}
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

say "From any language: the AWS CLI through the SQS-compatible HTTP API on port $http_port"
aws_sqs() {
  printf '$ aws --endpoint-url http://127.0.0.1:%s sqs %s\n' "$http_port" "$*"
  AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo AWS_DEFAULT_REGION=us-east-1 AWS_PAGER="" \
    /usr/bin/aws --endpoint-url "http://127.0.0.1:$http_port" --output json sqs "$@"
}
aws_sqs create-queue --queue-name from-the-cli
url="http://127.0.0.1:$http_port/123456789012/from-the-cli"
aws_sqs send-message --queue-url "$url" --message-body '{"hello": "from the AWS CLI"}'
reply=$(aws_sqs receive-message --queue-url "$url" --wait-time-seconds 5)
echo "$reply"
handle=$(sed -n 's/.*"ReceiptHandle": "\([^"]*\)".*/\1/p' <<< "$reply")
aws_sqs delete-message --queue-url "$url" --receipt-handle "$handle"
run queue stats from-the-cli

say "Lineage: the story of order 2 (it was retried, dead-lettered, redriven and acked)"
run trace "$order2"

saga_port=$((port + 2))
saga_data="$data/sagas"
say "Sagas: example-order-saga runs CreateOrder, ReserveInventory and ProcessPayment, each a service (an actor) on its own queue, in a node on port $saga_port"
"$bin/example-order-saga" --data "$saga_data" --listen "127.0.0.1:$saga_port" --log-level error &
saga_pid=$!
export MAILROOM_NODE=127.0.0.1:$saga_port
for _ in $(seq 100); do mailroom saga ls > /dev/null 2>&1 && break; sleep 0.05; done
# Waits until saga $1 has status $2.
await_saga() {
  for _ in $(seq 100); do
    mailroom saga show "$1" --json | grep -q "\"status\":\"$2\"" && return 0
    sleep 0.05
  done
  echo "saga $1 did not reach $2" >&2
  return 1
}

say "Two orders that complete (each step's command is sent once its predecessor's reply is journaled)"
printf '$ mailroom saga start order --data %s\n' "'{\"customer\":\"alice\",\"amount\":25}'"
alice=$(mailroom saga start order --data '{"customer":"alice","amount":25}')
echo "$alice"
printf '$ mailroom saga start order --data %s --key order-carol\n' "'{\"customer\":\"carol\",\"amount\":120}'"
mailroom saga start order --data '{"customer":"carol","amount":120}' --key order-carol
await_saga "$alice" COMPLETED
run saga show "$alice"

say "A payment over 1000 is declined: the inventory is released, then the order cancelled (newest first)"
printf '$ mailroom saga start order --data %s\n' "'{\"customer\":\"bob\",\"amount\":5000}'"
bob=$(mailroom saga start order --data '{"customer":"bob","amount":5000}')
echo "$bob"
await_saga "$bob" COMPENSATED
run saga show "$bob"

say "The warehouse goes offline: releasing inventory keeps failing, so the saga parks, dead-letters the step and raises an alarm"
touch "$saga_data/warehouse-offline"
printf '$ mailroom saga start order --data %s\n' "'{\"customer\":\"dave\",\"amount\":9000}'"
dave=$(mailroom saga start order --data '{"customer":"dave","amount":9000}')
echo "$dave"
await_saga "$dave" PARKED
run saga ls --status PARKED
run dlq ls saga.order.dead
for _ in $(seq 60); do [ "$(mailroom queue stats alerts-log --json | sed -n 's/.*"visible":\([0-9]*\).*/\1/p')" != "0" ] && break; sleep 0.1; done
echo "the alarm saga.order.parked published to topic 'alerts' (here consumed from queue alerts-log):"
run recv alerts-log --ack

say "The warehouse is back: redrive the dead-letter record, and the compensation resumes where it stopped"
rm "$saga_data/warehouse-offline"
run dlq redrive saga.order.dead
await_saga "$dave" COMPENSATED
run saga show "$dave"
run saga stats
say "Done."
