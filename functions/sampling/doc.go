// Package sampling answers Jaeger remote-sampling requests: it tells
// Jaeger SDKs, OpenTelemetry SDKs' jaeger_remote sampler and the
// Collector's jaegerremotesampling clients which sampling strategy to use
// for a service and its operations, exactly as Jaeger does, so those
// clients work unchanged against tracelake.
//
// Strategies come from a file in the format of Jaeger's
// --sampling.strategies-file (see ParseStrategies), resolved with Jaeger's
// rules, and reloaded atomically when the file changes (see Provider).
// They are served over HTTP (GET /sampling and the legacy GET /, port
// 5778; see NewHTTPHandler) and over gRPC
// (jaeger.api_v2.SamplingManager, registered on a server that someone
// else owns; see GRPCService).
//
// It must never make a sampling decision itself: it only tells SDKs what
// to do, and spans that reach tracelake are stored whatever this package
// says. It must never serve a strategy it has not validated, and never
// let a bad strategies file replace one that works.
package sampling
