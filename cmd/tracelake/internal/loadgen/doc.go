// Package loadgen is tracelake's load tool ("tracelake load", run by
// "make bench"): it replays export requests against a running tracelake
// as fast as it acknowledges them (or at a set rate), then reads the
// server's own /metrics and times trace-by-ID lookups, and reports the
// figures the speed targets are stated in: spans per second per server
// core, stored bytes per span, peak server RSS, export and lookup
// latencies.
//
// It speaks each protocol tracelake receives (Config.Protocol): OTLP over
// gRPC or HTTP, Zipkin v2 JSON (POST /api/v2/spans) and Jaeger Thrift over
// HTTP (POST /api/traces, a binary-protocol jaeger.Batch). Every protocol
// carries the same traces, telemetrygen's shape, the last two as the
// collector's translators write them; Zipkin and Jaeger acknowledge with
// 202 Accepted and have no partial success. All trace IDs are 128-bit, so
// a lookup names the trace however it was sent.
//
// The client shares the machine with the server, so it must cost little:
// requests are encoded once, as templates, and each send only copies a
// template and overwrites its trace IDs, span IDs and timestamps in place
// (see template.go): raw bytes in OTLP, big-endian i64s in Thrift, lower
// hex and decimal microseconds of unchanged length in Zipkin's JSON. Each
// template is checked when built, by patching it and decoding the result
// with the format's own decoder. Every span sent is new, so stored bytes
// are not flattered by duplicates.
//
// It measures; it must never be used to judge correctness. Its checks
// (spans acknowledged versus accepted, lookups answering the right number
// of spans) are there so a broken server cannot post a good figure, not to
// replace the behavioural tests: a clean report says nothing about what
// the server stored beyond counts.
package loadgen
