#!/usr/bin/env bash
# Runs a local 3-node region on loopback (`make run`): RESP on 6379-6381,
# Raft on 7379-7381, HTTP (metrics, health, admin API) on 9121-9123, data
# in $DATA/n1..n3. Forms the region on the first run, prints how to
# connect, and stops all three nodes cleanly on Ctrl-C.
#
# Environment:
#   MERIDIAN   binary (default bin/meridian; `make run` builds it)
#   DATA       data directory (default ./data); each node logs to
#              $DATA/nN/meridian.log
#   HOST       address to bind (default 127.0.0.1)
#   LOG_LEVEL  debug, info, warn, error (default info)
set -euo pipefail
cd "$(dirname "$0")/.."

MERIDIAN=${MERIDIAN:-bin/meridian}
DATA=${DATA:-./data}
HOST=${HOST:-127.0.0.1}
LOG_LEVEL=${LOG_LEVEL:-info}

[ -x "$MERIDIAN" ] || { echo "run-region: $MERIDIAN not found: run 'make build'" >&2; exit 1; }

pids=()
stopping=

# stop sends SIGTERM to every node still running and waits for each: a
# node shuts down gracefully (a leader hands leadership over first).
stop() {
	[ -n "$stopping" ] && return
	stopping=1
	trap - INT TERM
	echo
	echo "stopping the region..."
	for pid in "${pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	local rc=0
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null || rc=$?
	done
	echo "stopped (logs in $DATA/n1..n3/meridian.log)"
	return $rc
}
trap 'stop; exit 130' INT TERM
trap 'stop' EXIT

urls=()
for i in 1 2 3; do
	dir="$DATA/n$i"
	mkdir -p "$dir"
	# setsid: a node gets no Ctrl-C of its own; stop (the trap) sends it
	# SIGTERM, so that a node exiting by itself is told apart.
	setsid "$MERIDIAN" server \
		--node-id "n$i" --region local --region-id 1 \
		--bind "$HOST" --port $((6378 + i)) \
		--raft "$HOST:$((7378 + i))" \
		--http "$HOST:$((9120 + i))" \
		--data-dir "$dir" --log-level "$LOG_LEVEL" \
		>>"$dir/meridian.log" 2>&1 &
	pids+=($!)
	urls+=("http://$HOST:$((9120 + i))")
done

# Wait for every node to answer; a node that exits (a port in use, a
# corrupt data dir) ends the run with its last log lines.
for i in 0 1 2; do
	until "$MERIDIAN" status --http "${urls[$i]}" >/dev/null 2>&1; do
		if ! kill -0 "${pids[$i]}" 2>/dev/null; then
			echo "run-region: node n$((i + 1)) exited; the end of $DATA/n$((i + 1))/meridian.log:" >&2
			tail -n 5 "$DATA/n$((i + 1))/meridian.log" >&2
			exit 1
		fi
		sleep 0.1
	done
done

nodes=$(IFS=,; echo "${urls[*]}")
# Forms the region unless the nodes already form one (--if-new); waits
# for the nodes to answer and for a leader.
if ! "$MERIDIAN" region bootstrap --if-new --nodes "$nodes" --timeout 30s; then
	echo "run-region: could not form the region; see $DATA/n1..n3/meridian.log" >&2
	exit 1
fi

cat <<EOT

A 3-node Meridian region is running on $HOST:
  node  RESP  Raft  HTTP
  n1    6379  7379  9121
  n2    6380  7380  9122
  n3    6381  7381  9123

Connect to any node (followers forward writes to the leader):
  redis-cli -p 6379 set greeting hello
  redis-cli -p 6381 get greeting
  redis-cli -p 6380 info replication

Operate it:
  $MERIDIAN status --http http://$HOST:9121
  $MERIDIAN region members --http http://$HOST:9122
  curl -s http://$HOST:9121/metrics | grep ^meridian_raft_
  tail -f $DATA/n1/meridian.log

Ctrl-C stops all three nodes.
EOT

# Wait until Ctrl-C or until a node exits by itself.
set +e
wait -n "${pids[@]}"
rc=$?
if [ -z "$stopping" ]; then
	echo "run-region: a node exited (status $rc); see $DATA/n1..n3/meridian.log" >&2
fi
exit "$rc"
