#!/usr/bin/env bash
# Runs two local regions of three nodes each on loopback, linked to each
# other (`make run`):
#
#   region  id  node  RESP  Raft  HTTP  link
#   east    1   n1-3  6379  7379  9121  8379   (and the next two ports)
#   west    2   n1-3  6479  7479  9221  8479
#
# Data in $DATA/east/n1..n3 and $DATA/west/n1..n3. Forms each region on
# the first run, links them both ways (a no-op once they are), prints how
# to connect, and stops all six nodes cleanly on Ctrl-C.
#
# Environment:
#   MERIDIAN    binary (default bin/meridian; `make run` builds it)
#   DATA        data directory (default ./data); each node logs to
#               $DATA/<region>/nN/meridian.log
#   HOST        address to bind (default 127.0.0.1)
#   LOG_LEVEL   debug, info, warn, error (default info)
#   LINK_TOKEN  the regions' shared link token (default: a fixed one for
#               local development)
set -euo pipefail
cd "$(dirname "$0")/.."

MERIDIAN=${MERIDIAN:-bin/meridian}
DATA=${DATA:-./data}
HOST=${HOST:-127.0.0.1}
LOG_LEVEL=${LOG_LEVEL:-info}
# Given to the nodes in the environment, so that it stays out of `ps`.
export MERIDIAN_LINK_TOKEN=${LINK_TOKEN:-meridian-make-run}

[ -x "$MERIDIAN" ] || { echo "run-region: $MERIDIAN not found: run 'make build'" >&2; exit 1; }

regions=(east west)
declare -A region_id=([east]=1 [west]=2)
# Each region's ports are its base + the node number (1..3).
declare -A resp_base=([east]=6378 [west]=6478)
declare -A raft_base=([east]=7378 [west]=7478)
declare -A http_base=([east]=9120 [west]=9220)
declare -A link_base=([east]=8378 [west]=8478)

pids=()
names=() # "east/n1", ... in the order of pids
stopping=

# stop sends SIGTERM to every node still running and waits for each: a
# node shuts down gracefully (a leader hands leadership over first).
stop() {
	[ -n "$stopping" ] && return
	stopping=1
	trap - INT TERM
	echo
	echo "stopping both regions..."
	for pid in "${pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	local rc=0
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null || rc=$?
	done
	echo "stopped (logs in $DATA/east/nN/meridian.log and $DATA/west/nN/meridian.log)"
	return $rc
}
trap 'stop; exit 130' INT TERM
trap 'stop' EXIT

for r in "${regions[@]}"; do
	for i in 1 2 3; do
		dir="$DATA/$r/n$i"
		mkdir -p "$dir"
		# setsid: a node gets no Ctrl-C of its own; stop (the trap) sends
		# it SIGTERM, so that a node exiting by itself is told apart.
		setsid "$MERIDIAN" server \
			--node-id "n$i" --region "$r" --region-id "${region_id[$r]}" \
			--bind "$HOST" --port $((resp_base[$r] + i)) \
			--raft "$HOST:$((raft_base[$r] + i))" \
			--http "$HOST:$((http_base[$r] + i))" \
			--link "$HOST:$((link_base[$r] + i))" \
			--data-dir "$dir" --log-level "$LOG_LEVEL" \
			>>"$dir/meridian.log" 2>&1 &
		pids+=($!)
		names+=("$r/n$i")
	done
done

# url REGION I: node I's admin URL. links REGION: its link addresses.
url() { echo "http://$HOST:$((http_base[$1] + $2))"; }
links() { echo "$HOST:$((link_base[$1] + 1)),$HOST:$((link_base[$1] + 2)),$HOST:$((link_base[$1] + 3))"; }

# Wait for every node to answer; a node that exits (a port in use, a
# corrupt data dir) ends the run with its last log lines.
k=0
for r in "${regions[@]}"; do
	for i in 1 2 3; do
		until "$MERIDIAN" status --http "$(url "$r" "$i")" >/dev/null 2>&1; do
			if ! kill -0 "${pids[$k]}" 2>/dev/null; then
				echo "run-region: node ${names[$k]} exited; the end of $DATA/${names[$k]}/meridian.log:" >&2
				tail -n 5 "$DATA/${names[$k]}/meridian.log" >&2
				exit 1
			fi
			sleep 0.1
		done
		k=$((k + 1))
	done
done

# Forms each region unless its nodes already form one (--if-new); waits
# for the nodes to answer and for a leader.
for r in "${regions[@]}"; do
	if ! "$MERIDIAN" region bootstrap --if-new --timeout 30s \
		--nodes "$(url "$r" 1),$(url "$r" 2),$(url "$r" 3)" | sed "s/^/$r: /"; then
		echo "run-region: could not form region $r; see $DATA/$r/n1..n3/meridian.log" >&2
		exit 1
	fi
done

# A region formed on an earlier run elects its leader only now: wait for
# it, since a link change runs on the leader.
for r in "${regions[@]}"; do
	for try in $(seq 300); do
		st=$("$MERIDIAN" status --http "$(url "$r" 1)" 2>/dev/null || true)
		case "$st" in *"leader   none"* | "") ;; *) break ;; esac
		if [ "$try" = 300 ]; then
			echo "run-region: region $r elected no leader in 30s; see $DATA/$r/n1..n3/meridian.log" >&2
			exit 1
		fi
		sleep 0.1
	done
done

# Links both ways (a region accepts only peers it has linked), then waits
# for both links to connect. Linking again is a no-op.
link() { # FROM TO [--wait 30s]
	local from=$1 to=$2
	shift 2
	if ! "$MERIDIAN" region link "$to" "$(links "$to")" --id "${region_id[$to]}" \
		--http "$(url "$from" 1)" "$@" | sed "s/^/$from: /"; then
		echo "run-region: could not link $from to $to; see $DATA/$from/n1..n3/meridian.log" >&2
		exit 1
	fi
}
link east west
link west east --wait 30s
link east west --wait 30s

cat <<EOT

Two linked 3-node Meridian regions are running on $HOST:
  region  node  RESP  Raft  HTTP  link
  east    n1    6379  7379  9121  8379
  east    n2    6380  7380  9122  8380
  east    n3    6381  7381  9123  8381
  west    n1    6479  7479  9221  8479
  west    n2    6480  7480  9222  8480
  west    n3    6481  7481  9223  8481

Write in east, read in west (any node of a region serves any client):
  redis-cli -p 6379 set greeting hello && sleep 0.2 && redis-cli -p 6479 get greeting

Every region takes writes; they reach the other region within a round
trip and a tick. Concurrent writes to one key converge (newest wins;
INCRs add up):
  redis-cli -p 6480 incr visits; redis-cli -p 6381 incr visits
  redis-cli -p 6379 info replication      # peer0:name=west,...,lag_seconds=...

Operate them:
  $MERIDIAN region links --http http://$HOST:9121
  $MERIDIAN status --http http://$HOST:9222
  $MERIDIAN region members --http http://$HOST:9121
  curl -s http://$HOST:9121/metrics | grep -E '^meridian_(raft|interregion|region_link)_'
  tail -f $DATA/east/n1/meridian.log

Ctrl-C stops all six nodes.
EOT

# Wait until Ctrl-C or until a node exits by itself.
set +e
wait -n "${pids[@]}"
rc=$?
if [ -z "$stopping" ]; then
	echo "run-region: a node exited (status $rc); see $DATA/east|west/nN/meridian.log" >&2
fi
exit "$rc"
