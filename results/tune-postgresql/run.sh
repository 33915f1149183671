#!/bin/bash
# Two workers of one tiny study on PostgreSQL, from the checkout's folder:
#   results/tune-postgresql/run.sh /tmp/tune-pg
# Worker A is killed (SIGKILL, no chance to say anything) 4 s into its second
# trial and started again 20 s later; worker B runs on. --grace 12 makes A's
# trial stale 12 s after its last heartbeat (default: 60 s).
set -u
RUN=$1
mkdir -p "$RUN"
.venv/bin/python results/tune-postgresql/make_tiny.py "$RUN/tiny.pickle"
URL=postgresql+psycopg2://optuna:optuna@localhost/rnnrbm_tune
TUNE=(.venv/bin/python rnnrbm.py tune --study pg-tiny --storage $URL --trials 8 --grace 12
      --out "$RUN/runs" --data "$RUN/tiny.pickle" --pitch-range 60 72
      --epochs 30 --select-every 5 --checkpoint-every 1 --select-frames 24 --batch-size 12)
stamp() { while IFS= read -r line; do echo "$(date -u +%T) $1 $line"; done; }
"${TUNE[@]}" > >(stamp A > "$RUN/A.out") 2> >(stamp A > "$RUN/A.err") &
A=$!
"${TUNE[@]}" > >(stamp B > "$RUN/B.out") 2> >(stamp B > "$RUN/B.err") &
B=$!
until [ "$(grep -c ' started' "$RUN/A.out")" -ge 2 ]; do sleep 0.5; done
sleep 4
echo "$(date -u +%T) kill -9 worker A (pid $A)"; kill -9 $A
wait $A; echo "$(date -u +%T) worker A: exit status $?"
sleep 20
echo "$(date -u +%T) worker A started again"
"${TUNE[@]}" > >(stamp A2 > "$RUN/A2.out") 2> >(stamp A2 > "$RUN/A2.err") &
A2=$!
wait $A2; echo "$(date -u +%T) worker A (again): exit status $?"
wait $B; echo "$(date -u +%T) worker B: exit status $?"
"${TUNE[@]}" --summary > "$RUN/summary.out" 2>&1; echo "$(date -u +%T) --summary: exit status $?"
