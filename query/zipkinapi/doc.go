// Package zipkinapi serves Zipkin's query API v2 (/api/v2/...) on top of a
// query.Querier, so that Zipkin Lens, Grafana's Zipkin data source and
// scripts written against a Zipkin server work unchanged on port 9411.
//
// Its job is translation at the edge: parse Zipkin's query parameters with
// the defaults and validation of Zipkin's own server (ZipkinQueryApiV2 and
// QueryRequest in openzipkin/zipkin), resolve the tenant, call the Querier,
// and render OTLP pdata as Zipkin v2 JSON with the OpenTelemetry
// collector's zipkinv2.FromTranslator and zipkin-go's model, so the mapping
// of kinds, endpoints, annotations and tags is the standard one.
//
// Routes and what they answer:
//
//	GET /api/v2/services                     service names, sorted
//	GET /api/v2/spans?serviceName=           span names of a service, sorted
//	GET /api/v2/remoteServices?serviceName=  remote service names of a service
//	GET /api/v2/traces?...                   a search: a list of traces
//	GET /api/v2/trace/{traceId}              one trace: a list of spans
//	GET /api/v2/traceMany?traceIds=a,b       several traces by ID
//	GET /api/v2/dependencies?endTs=          calls between services (see below)
//	GET /api/v2/autocompleteKeys             Options.AutocompleteKeys
//	GET /api/v2/autocompleteValues?key=      values of a configured key
//
// Errors follow Zipkin: a plain-text body, 400 for a bad parameter (the
// message names it), 404 "<traceId> not found" for an unknown trace, and
// here also 503 when storage is unavailable (Zipkin answers 500). Nothing
// is written once the client has gone away.
//
// Dependencies: /api/v2/dependencies validates endTs and lookback as
// Zipkin does and answers the Querier's links, counted from stored spans
// to the minute: a span whose parent belongs to another service, or the
// server half of a shared span, is one call from the parent's (or
// client's) service, and an error when the span failed. Zipkin's linker
// also counts calls to an uninstrumented remote service (a client span's
// remoteEndpoint); tracelake does not. errorCount is left out when 0, as
// Zipkin's encoder does.
//
// Remote services: the collector's Zipkin→OTLP translator stores a span's
// remoteEndpoint.serviceName as the span attribute service.peer.name
// (semantic conventions 1.40; older translator settings and OpenTelemetry
// SDKs write peer.service), and the reverse translator reads
// service.peer.name, then peer.service. So remoteServices lists the values
// of both, and the remoteServiceName search filter matches either.
//
// What OTLP cannot hold: the Zipkin ingest path keeps a span's debug and
// shared flags in the boolean attributes zipkin.debug and zipkin.shared;
// they become the span's fields again here instead of tags. A SERVER span
// with the ID of a CLIENT span of the same trace is shared even without
// the attribute, as Zipkin defines shared spans. The error tag's message,
// which the translator replaces with "true", is put back too.
//
// Deliberate differences from Zipkin's server:
//
//   - Names are case-sensitive. Zipkin lowercases service and span names
//     when it stores them and when it searches; tracelake stores names as
//     sent and matches them exactly, so the lists from /services and
//     /spans are what searches must use. zipkin-go's JSON still writes
//     names in lowercase, as Zipkin's model requires.
//   - Trace IDs may be upper-case hex and may carry surrounding spaces;
//     Zipkin rejects upper case ("should be lower-hex encoded").
//   - limit is capped at Options.MaxLimit, and times that storage cannot
//     represent (past the year 2262) are rejected.
//   - A malformed query string (bad percent-encoding) is a 400 instead of
//     being partly ignored.
//   - No Cache-Control headers on the name lists: answers depend on the
//     tenant header, and shared caches would mix tenants.
//
// It must never touch storage or hold trace data between requests, never
// panic on client input, never trust a parameter it has not validated, and
// never leak internal error text to clients (unexpected errors are logged
// and answered with a generic 500). Errors are mapped to HTTP statuses in
// exactly one place, httpquery.Classify, which jaegerapi shares; this
// package only writes them as Zipkin does (plain text, and
// "<traceId> not found" for an unknown trace).
package zipkinapi
