// Package jaegerapi serves Jaeger's query HTTP APIs on top of a
// query.Querier, so that Grafana's Jaeger data source, both generations of
// the Jaeger UI and scripts written against Jaeger work unchanged:
//
//   - the classic JSON API under /api (services, operations, trace search,
//     trace by ID, the dependency graph) with its {"data", "total",
//     "limit", "offset", "errors"} envelope and Jaeger's UI trace model;
//   - the service performance monitoring API under /api/metrics (calls,
//     errors, latencies, minstep) that the UI's Monitor tab reads: RED
//     series as Jaeger's api_v2 MetricFamily JSON, computed by the
//     Querier from stored spans where Jaeger asks Prometheus;
//   - api_v3 under /api/v3 (services, operations, traces, trace-summaries)
//     answering with OTLP JSON.
//
// Its job is translation at the edge: parse and validate Jaeger's query
// parameters with Jaeger's defaults, resolve the tenant, call the Querier,
// and render OTLP pdata the way Jaeger renders it. OTLP is converted to the
// Jaeger model with the OpenTelemetry collector's translator so that the
// mapping of span kind, status, scope, events and trace state is the
// standard one.
//
// It must never touch storage or hold trace data between requests: every
// answer comes from the Querier it was given. It must never panic on
// client input, never trust a query parameter it has not validated, and
// never leak internal error text to clients (unexpected errors are logged
// and answered with a generic 500). Errors are mapped to HTTP status codes
// in exactly one place, httpquery.Classify, which zipkinapi shares; this
// package only shapes the error bodies (the classic envelope's errors
// array, api_v3's error object and its "No traces found").
package jaegerapi
