// Package loadgen is tracelake's load tool ("tracelake load", run by
// "make bench"): it replays OTLP export requests against a running
// tracelake as fast as it acknowledges them (or at a set rate), then reads
// the server's own /metrics and times trace-by-ID lookups, and reports the
// figures the speed targets are stated in: spans per second per server
// core, stored bytes per span, peak server RSS, export and lookup
// latencies.
//
// The client shares the machine with the server, so it must cost little:
// requests are encoded once, as templates shaped like telemetrygen's
// traces, and each send only copies a template and overwrites its trace
// IDs, span IDs and timestamps in place (see template.go). Every span sent
// is new, so stored bytes are not flattered by duplicates.
//
// It measures; it must never be used to judge correctness. Its checks
// (spans acknowledged versus accepted, lookups answering the right number
// of spans) are there so a broken server cannot post a good figure, not to
// replace the behavioural tests: a clean report says nothing about what
// the server stored beyond counts.
package loadgen
