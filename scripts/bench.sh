#!/usr/bin/env bash
# Benchmarks Meridian against Redis with redis-benchmark and writes the
# results between the bench markers of docs/PERFORMANCE.md.
#
# Usage: scripts/bench.sh            (or `make bench`, which builds first)
#
# Environment:
#   MERIDIAN      binary to benchmark (default bin/meridian, built if missing)
#   CLIENTS       concurrent connections (default 50)
#   N_P1, N_P16   requests per test without / with pipelining (200000, 1000000)
#   KEYSPACE      -r: random keys per test (default 100000)
#   TESTS         redis-benchmark -t list (default set,get,incr,lpush,hset)
#   OUT           file to update (default docs/PERFORMANCE.md); "-" prints only
#   MERIDIAN_ARGS extra flags for `meridian server` (e.g. --pprof)
#
# Each test runs against Redis and then Meridian back to back, so that load
# from other processes hits both alike. Commands Meridian does not have yet
# are probed first and reported as missing instead of measured.
set -euo pipefail
cd "$(dirname "$0")/.."

MERIDIAN=${MERIDIAN:-bin/meridian}
CLIENTS=${CLIENTS:-50}
N_P1=${N_P1:-200000}
N_P16=${N_P16:-1000000}
KEYSPACE=${KEYSPACE:-100000}
TESTS=${TESTS:-set,get,incr,lpush,hset}
OUT=${OUT:-docs/PERFORMANCE.md}
MERIDIAN_ARGS=${MERIDIAN_ARGS:-}
ZADD=(zadd myzset __rand_int__ element:__rand_int__)

# --- tools ------------------------------------------------------------------

apt_updated=
apt_install() {
	local sudo=
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	if [ -z "$apt_updated" ]; then
		$sudo apt-get update -qq
		apt_updated=1
	fi
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@"
}

need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v redis-benchmark >/dev/null || need+=(redis-tools)
if [ "${#need[@]}" -gt 0 ]; then
	echo "bench: installing ${need[*]}" >&2
	apt_install "${need[@]}"
fi
if [ ! -x "$MERIDIAN" ]; then
	go build -o "$MERIDIAN" .
fi

# free_port prints a TCP port nothing listens on.
free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 20000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
}

wait_ready() { # port name
	for _ in $(seq 100); do
		if [ "$(redis-cli -p "$1" ping 2>/dev/null)" = PONG ]; then
			return
		fi
		sleep 0.1
	done
	echo "bench: $2 did not answer PING on port $1" >&2
	exit 1
}

# --- servers ----------------------------------------------------------------

workdir=$(mktemp -d)
pids=()
cleanup() {
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	rm -rf "$workdir"
}
trap cleanup EXIT

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
	--dir "$workdir" --daemonize no >"$workdir/redis.log" 2>&1 &
pids+=($!)

meridian_port=$(free_port)
http_port=$(free_port)
# shellcheck disable=SC2086 # MERIDIAN_ARGS is a list of flags
"$MERIDIAN" server --bind 127.0.0.1 --port "$meridian_port" --http "127.0.0.1:$http_port" \
	--log-level warn $MERIDIAN_ARGS 2>"$workdir/meridian.log" &
pids+=($!)

wait_ready "$redis_port" redis-server
wait_ready "$meridian_port" meridian
echo "bench: redis on $redis_port, meridian on $meridian_port (metrics on $http_port)" >&2

# --- runs -------------------------------------------------------------------

# supports port cmd... prints "yes" unless the server calls the command
# unknown.
supports() {
	local port=$1
	shift
	case "$(redis-cli -p "$port" "$@" 2>&1)" in
	*"unknown command"*) echo no ;;
	*) echo yes ;;
	esac
}

# bench port pipeline n args... prints "rps p50 p99" of one run.
bench() {
	local port=$1 pipeline=$2 n=$3
	shift 3
	redis-benchmark -p "$port" -c "$CLIENTS" -P "$pipeline" -n "$n" -r "$KEYSPACE" --csv "$@" 2>/dev/null |
		awk -F, 'NR == 2 { gsub(/"/, ""); printf "%.0f %s %s\n", $2, $5, $7 }'
}

probe_args() { # test name -> a command in the shape redis-benchmark sends
	case "$1" in
	set) echo "set __bench_probe x" ;;
	get) echo "get __bench_probe" ;;
	incr) echo "incr __bench_probe_counter" ;;
	lpush) echo "lpush __bench_probe_list x" ;;
	hset) echo "hset __bench_probe_hash f x" ;;
	zadd) echo "zadd __bench_probe_zset 1 x" ;;
	*) echo "$1" ;;
	esac
}

rows=()
missing=()
IFS=, read -r -a tests <<<"$TESTS"
tests+=(zadd)
for pipeline in 1 16; do
	n=$N_P1
	[ "$pipeline" -eq 1 ] || n=$N_P16
	for t in "${tests[@]}"; do
		if [ "$t" = zadd ]; then
			args=("${ZADD[@]}")
		else
			args=(-t "$t")
		fi
		# shellcheck disable=SC2046 # probe_args is split on purpose
		if [ "$(supports "$meridian_port" $(probe_args "$t"))" = no ]; then
			[ "$pipeline" -ne 1 ] || missing+=("$t")
			echo "bench: ${t^^} -P $pipeline -n $n (Redis only: Meridian lacks it)" >&2
			read -r r_rps r_p50 r_p99 <<<"$(bench "$redis_port" "$pipeline" "$n" "${args[@]}")"
			rows+=("| ${t^^} | $pipeline | $r_rps | $r_p50 | $r_p99 | not implemented | | | |")
			continue
		fi
		echo "bench: ${t^^} -P $pipeline -n $n" >&2
		read -r r_rps r_p50 r_p99 <<<"$(bench "$redis_port" "$pipeline" "$n" "${args[@]}")"
		read -r m_rps m_p50 m_p99 <<<"$(bench "$meridian_port" "$pipeline" "$n" "${args[@]}")"
		ratio=$(awk -v m="$m_rps" -v r="$r_rps" 'BEGIN { if (r > 0) printf "%.2f", m / r; else print "-" }')
		rows+=("| ${t^^} | $pipeline | $r_rps | $r_p50 | $r_p99 | $m_rps | $m_p50 | $m_p99 | **${ratio}x** |")
	done
done

# --- report -----------------------------------------------------------------

missing_note=
if [ "${#missing[@]}" -gt 0 ]; then
	missing_note=$'\n\n'"Not measured, missing from Meridian at the time: ${missing[*]^^}."
fi
meridian_args=${MERIDIAN_ARGS:+ $MERIDIAN_ARGS}
cpu=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo unknown)
report=$(
	cat <<EOF
<!-- bench:start (generated by scripts/bench.sh; edit around it, not inside) -->
Measured $(date -u +%Y-%m-%d) on $(nproc) cores ($cpu), $(go version | cut -d' ' -f3),
$(redis-server --version | cut -d' ' -f1-3), $("$MERIDIAN" version | cut -d' ' -f1-2).
Client, Redis and Meridian share the machine.

| command | pipeline | Redis ops/s | Redis p50 ms | Redis p99 ms | Meridian ops/s | Meridian p50 ms | Meridian p99 ms | Meridian / Redis |
|---|---:|---:|---:|---:|---:|---:|---:|---:|
$(printf '%s\n' "${rows[@]}")

Commands run (each against Redis, then Meridian, on the same keyspace):

\`\`\`
redis-server --port \$REDIS_PORT --bind 127.0.0.1 --save '' --appendonly no
meridian server --bind 127.0.0.1 --port \$MERIDIAN_PORT --http 127.0.0.1:\$HTTP_PORT --log-level warn$meridian_args
redis-benchmark -p \$PORT -c $CLIENTS -P 1  -n $N_P1 -r $KEYSPACE --csv -t \$TEST   # TEST in $TESTS
redis-benchmark -p \$PORT -c $CLIENTS -P 16 -n $N_P16 -r $KEYSPACE --csv -t \$TEST
redis-benchmark -p \$PORT -c $CLIENTS -P 1  -n $N_P1 -r $KEYSPACE --csv ${ZADD[*]}
redis-benchmark -p \$PORT -c $CLIENTS -P 16 -n $N_P16 -r $KEYSPACE --csv ${ZADD[*]}
\`\`\`
Each \`-t\` test runs on its own, so that the two servers alternate test by test.${missing_note}
<!-- bench:end -->
EOF
)

echo "$report"
if [ "$OUT" = - ]; then
	exit 0
fi
if [ ! -f "$OUT" ] || ! grep -q '<!-- bench:start' "$OUT"; then
	printf '# Performance\n\n%s\n' "$report" >"$OUT.new"
else
	REPORT=$report awk '
		/<!-- bench:start/ { print ENVIRON["REPORT"]; skip = 1; next }
		/<!-- bench:end/ { skip = 0; next }
		!skip { print }
	' "$OUT" >"$OUT.new"
fi
mv "$OUT.new" "$OUT"
echo "bench: wrote $OUT" >&2
