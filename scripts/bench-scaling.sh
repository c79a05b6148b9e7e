#!/usr/bin/env bash
# How throughput grows with producers/consumers and with the number of queues (issue 11):
#   scripts/bench-scaling.sh [BUILD_DIR] [MESSAGES]        (default: build 1000000)
# Embedded, durable, 100-byte bodies, the clock started after setup; one markdown row per run. (How it grows with the depth
# of a queue: scripts/bench-backlog.sh.)
set -eu
build=${1:-build}
n=${2:-1000000}
bench="$build/bin/mailroom-bench"
rate() {
  /usr/bin/python3 -c '
import json, sys
d = json.loads(sys.stdin.read().splitlines()[-1])
print("%.0fk | %.1f | %.1f" % (d["msgs_per_s"] / 1000, d["p50_us"] / 1000, d["p99_us"] / 1000))'
}
echo "| run | msgs/s | p50 ms | p99 ms |"
echo "|---|---|---|---|"
for pc in 1 2 4; do
  echo "| $pc producers, $pc consumers, 1 queue | $("$bench" queue --producers $pc --consumers $pc --messages "$n" --json 2>/dev/null | rate) |"
done
for q in 1 100 10000; do
  batch=100 # 10,000 queues x 100 = 1 M: one batch each
  echo "| 1 producer, $q queue(s) with 1 consumer each, batch $batch | $("$bench" queue --queues $q --consumers 1 --batch $batch --messages "$n" --json 2>/dev/null | rate) |"
done
