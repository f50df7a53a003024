#!/bin/bash
# What one request costs a whole responder server, in figures that do not
# depend on how busy the machine is: system calls per request (perf's
# syscall tracepoints) and user-space instructions per request (valgrind's
# callgrind, instrumenting only while the measured requests run).
#
#   benchmarks/percall.sh VENV MODE REQUESTS [responder options...]
#   benchmarks/percall.sh .venv crr 2000
#   benchmarks/percall.sh /tmp/base/.venv rr 20000 --keep-alive
#
# MODE is the load generator's: crr (connect, request, read to close) or rr
# (requests on open connections); 50 clients.  Needs perf and valgrind
# (apt-get install linux-perf valgrind) and `make -C benchmarks`.
set -euo pipefail
VENV=$1 MODE=$2 N=$3
shift 3
HERE=$(cd "$(dirname "$0")" && pwd)
LOADGEN=$HERE/build/loadgen
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_listening() {
    for _ in $(seq 1 120); do
        grep -q "listening on" "$1" && return 0
        sleep 0.5
    done
    echo "the server did not start: $1" >&2
    exit 1
}

# System calls: a plain server, counted over N requests after a warm-up.
PORT=$(free_port)
"$VENV/bin/twistd" -n --pidfile= responder --port "tcp:$PORT:interface=127.0.0.1" "$@" \
    > "$WORK/server.log" 2>&1 &
SERVER=$!
wait_listening "$WORK/server.log"
"$LOADGEN" -p "$PORT" -m "$MODE" -c 50 -n 1000 > /dev/null
EVENTS=syscalls:sys_enter_accept4,syscalls:sys_enter_epoll_ctl,syscalls:sys_enter_epoll_wait
EVENTS=$EVENTS,syscalls:sys_enter_recvfrom,syscalls:sys_enter_sendto,syscalls:sys_enter_write
EVENTS=$EVENTS,syscalls:sys_enter_close,syscalls:sys_enter_ioctl,syscalls:sys_enter_getsockname
perf stat -x, -e "$EVENTS" -p "$SERVER" -o "$WORK/perf.csv" &
PERF=$!
sleep 0.5
"$LOADGEN" -p "$PORT" -m "$MODE" -c 50 -n "$N" > /dev/null
kill -INT $PERF
wait $PERF 2>/dev/null || true
kill $SERVER
wait $SERVER 2>/dev/null || true
echo "$VENV $MODE $*"
awk -F, -v n="$N" '/syscalls:/ { sub("syscalls:sys_enter_", "", $3); total += $1;
    printf "  %-12s %6.2f per request\n", $3, $1 / n }
    END { printf "  %-12s %6.2f per request\n", "(these)", total / n }' "$WORK/perf.csv"

# Instructions: the same server under callgrind, instrumented only while
# the N requests run.
PORT=$(free_port)
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$WORK/callgrind.out" \
    "$VENV/bin/python" "$VENV/bin/twistd" -n --pidfile= responder \
    --port "tcp:$PORT:interface=127.0.0.1" "$@" > "$WORK/valgrind.log" 2>&1 &
SERVER=$!
wait_listening "$WORK/valgrind.log"
"$LOADGEN" -p "$PORT" -m "$MODE" -c 50 -n 500 -t 60 > /dev/null
callgrind_control -i on $SERVER > /dev/null 2>&1
"$LOADGEN" -p "$PORT" -m "$MODE" -c 50 -n "$N" -t 60 > /dev/null
callgrind_control -i off $SERVER > /dev/null 2>&1
callgrind_control -d $SERVER > /dev/null 2>&1
sleep 1
kill $SERVER
wait $SERVER 2>/dev/null || true
TOTAL=$(cat "$WORK"/callgrind.out* | awk '/^(summary|totals):/ { s += $2 } END { print s }')
echo "  user-space instructions: $((TOTAL / N)) per request"
