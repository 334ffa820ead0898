#!/usr/bin/env bash
# Benchmarks tracelake's ingest per protocol: for each of OTLP/gRPC,
# OTLP/HTTP, Zipkin v2 JSON and Jaeger Thrift over HTTP it starts a fresh
# all-in-one on a temporary directory, runs `tracelake load` against it
# (fresh IDs, telemetrygen-shaped spans, 1024 concurrent exporters), and
# prints the load tool's report: spans/s per server core, stored bytes per
# span, peak RSS, export and trace-by-ID latencies. During the OTLP/gRPC
# run it also takes a CPU profile of the server and prints where the time
# went. Used by `make bench`.
#
#   scripts/bench.sh [path/to/tracelake]     BENCH_DURATION=30s by default
set -euo pipefail
bin=${1:-bin/tracelake}
duration=${BENCH_DURATION:-30s}
secs=${duration%s}
work=$(mktemp -d)
pid=
stop_server() {
	if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	pid=
}
trap 'stop_server; rm -rf "$work"' EXIT

# Ports away from the defaults, so a running instance does not interfere.
grpc=127.0.0.1:24317 http=127.0.0.1:24318 query=127.0.0.1:26686 admin=127.0.0.1:24269
zipkin=127.0.0.1:29411 jaeger=127.0.0.1:24268

start_server() {
	rm -rf "$work/data"
	"$bin" all-in-one --storage "$work/data" --log.level warn \
		--ingest.otlp.grpc-addr $grpc --ingest.otlp.http-addr $http \
		--zipkin.http-addr $zipkin --ingest.jaeger.thrift-http-addr $jaeger \
		--ingest.jaeger.grpc-addr "" --ingest.jaeger.agent-compact-addr "" --ingest.jaeger.agent-binary-addr "" \
		--ingest.sampling.http-addr "" \
		--query.http-addr $query --admin.addr $admin &
	pid=$!
	for _ in $(seq 100); do
		curl -fsS "http://$admin/readyz" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	curl -fsS "http://$admin/readyz" >/dev/null
}

for run in "grpc $grpc" "http http://$http" "zipkin http://$zipkin" "jaeger-thrift http://$jaeger"; do
	set -- $run
	start_server
	echo
	echo "== $1, $duration, fresh server"
	prof=
	if [ "$1" = grpc ]; then
		curl -fsS -o "$work/cpu.prof" "http://$admin/debug/pprof/profile?seconds=$(( secs > 12 ? secs - 5 : secs ))" &
		prof=$!
	fi
	lookups=50
	[ "$1" = grpc ] && lookups=200
	"$bin" load --protocol "$1" --endpoint "$2" --query-url "http://$query" \
		--metrics-url "http://$admin/metrics" --duration "$duration" --workers 1024 --lookups $lookups
	[ -n "$prof" ] && wait $prof
	stop_server
done

echo
echo "== where the server's CPU went during the OTLP/gRPC run (top 25, cumulative)"
go tool pprof -top -cum -nodecount=25 "$bin" "$work/cpu.prof" 2>/dev/null | sed -n '1,6p;/flat%/,$p'
