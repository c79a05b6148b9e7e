#!/bin/bash
# Alternates a baseline build (/work/base) and this one (/work/main), same machine, same
# minutes: how docs/benchmarks.md compares a change with the commit before it.
cd /tmp
for round in 1 2 3; do
 for b in base main; do
  B=/work/$b/build/bin/mailroom-bench
  echo "== $b round $round queue";  $B queue --embedded --messages 1000000 --json
  echo "== $b round $round fanout"; $B fanout --subscribers 10 --messages 300000 --in-flight 1 --json
  echo "== $b round $round saga";   $B saga --messages 50000 --batch 200 --json
  echo "== $b round $round rate";   $B queue --rate 10000 --messages 50000 --json
 done
done
