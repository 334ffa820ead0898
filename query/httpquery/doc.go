// Package httpquery holds what the query area's HTTP APIs (jaegerapi,
// zipkinapi) share at the edge: the error a client made (ParamError and
// its constructors), the one mapping from an error to an HTTP status and
// the message a client may see (Classify), the logging of a failed request
// (Failed), the tenant a request is for (Tenants), and the headers every
// answer carries (WriteBody).
//
// The APIs keep what is theirs: the shape of their error bodies (Jaeger's
// envelope and api_v3 error object, Zipkin's plain text), their own
// messages for a status (api_v3's "No traces found", Zipkin's
// "<traceId> not found"), their routes and their parameters.
//
// It must never touch storage or call a query.Querier, never render a
// protocol's format, and never leak internal error text: only a
// ParamError's message, and fixed messages for everything else, reach a
// client. Statuses must never be decided anywhere but Classify; an API may
// reword the message of a status, never change the status.
package httpquery
