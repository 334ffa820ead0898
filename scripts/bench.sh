#!/usr/bin/env bash
# Benchmarks a fresh tracelake all-in-one: starts it on a temporary
# directory, runs `tracelake load` against it over gRPC and then HTTP,
# takes a CPU profile of the server during the gRPC run, and prints the
# reports and the profile's top functions. Used by `make bench`.
#
#   scripts/bench.sh [path/to/tracelake]     BENCH_DURATION=30s by default
set -euo pipefail
bin=${1:-bin/tracelake}
duration=${BENCH_DURATION:-30s}
secs=${duration%s}
work=$(mktemp -d)
pid=
cleanup() {
	if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

# Ports away from the defaults, so a running instance does not interfere.
grpc=127.0.0.1:24317 http=127.0.0.1:24318 query=127.0.0.1:26686 admin=127.0.0.1:24269
"$bin" all-in-one --storage "$work/data" --log.level warn \
	--ingest.otlp.grpc-addr $grpc --ingest.otlp.http-addr $http \
	--query.http-addr $query --admin.addr $admin &
pid=$!
for _ in $(seq 100); do
	curl -fsS "http://$admin/readyz" >/dev/null 2>&1 && break
	sleep 0.1
done
curl -fsS "http://$admin/readyz" >/dev/null

echo "== OTLP/gRPC, $duration (server CPU profile taken meanwhile)"
curl -fsS -o "$work/cpu.prof" "http://$admin/debug/pprof/profile?seconds=$(( secs > 12 ? secs - 5 : secs ))" &
prof=$!
"$bin" load --protocol grpc --endpoint $grpc --query-url "http://$query" \
	--metrics-url "http://$admin/metrics" --duration "$duration" --workers 1024
wait $prof

echo
echo "== OTLP/HTTP, $duration"
"$bin" load --protocol http --endpoint "http://$http" --query-url "http://$query" \
	--metrics-url "http://$admin/metrics" --duration "$duration" --workers 1024 --lookups 50

echo
echo "== where the server's CPU went during the gRPC run (top 25, cumulative)"
go tool pprof -top -cum -nodecount=25 "$bin" "$work/cpu.prof" 2>/dev/null | sed -n '1,6p;/flat%/,$p'
