// Package otlp receives OTLP traces over gRPC and HTTP and hands them to
// the ingest pipeline, following the OTLP specification's status codes,
// content types, encodings and partial-success rules exactly.
//
// It must never acknowledge a request before the pipeline says its spans
// are stored, and never answer a retryable failure with a code clients
// treat as permanent (or the reverse).
package otlp
