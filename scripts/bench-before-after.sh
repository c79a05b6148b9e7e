#!/bin/bash
# Alternates two builds on the same machine in the same minutes: how docs/benchmarks.md compares
# a change with the commit before it (the machines are shared and noisy; compare within a run).
#   scripts/bench-before-after.sh BASE_CHECKOUT THIS_CHECKOUT [ROUNDS]
set -u
base=${1:?base checkout with build/bin}; this=${2:?this checkout with build/bin}; rounds=${3:-3}
for round in $(seq "$rounds"); do
  for b in "$base" "$this"; do
    B=$b/build/bin/mailroom-bench
    echo "== $b round $round queue";  $B queue --embedded --messages 1000000 --json
    echo "== $b round $round fanout"; $B fanout --subscribers 10 --messages 300000 --in-flight 1 --json
    echo "== $b round $round saga";   $B saga --messages 50000 --batch 200 --json
    echo "== $b round $round rate";   $B queue --rate 10000 --messages 50000 --json
  done
done
