// Package jaeger receives spans in Jaeger's formats and hands them to the
// ingest pipeline as OTLP: the gRPC collector API (api_v2
// CollectorService/PostSpans, :14250), Thrift over HTTP (POST
// /api/traces, :14268) and the agent's UDP emitBatch in compact (:6831)
// and binary (:6832) Thrift. Jaeger's model is translated at this edge by
// the OpenTelemetry Collector's translator, so every later stage sees
// OTLP only.
//
// It must never acknowledge spans before the pipeline says they are
// stored, never answer a retryable failure with a code clients treat as
// permanent (or the reverse), never let outside bytes size an allocation
// beyond a small multiple of their own length, and never let a bad
// datagram crash, stop or block the UDP listener.
package jaeger
