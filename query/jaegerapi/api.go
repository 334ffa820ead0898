package jaegerapi

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/tracelake/tracelake/query"
	"github.com/tracelake/tracelake/query/httpquery"
)

// Defaults applied by New to zero Options fields.
const (
	// DefaultTenantHeader is the header naming the tenant, as in Cortex,
	// Loki, Tempo and Grafana's data sources.
	DefaultTenantHeader = httpquery.DefaultTenantHeader
	// DefaultSearchLimit is the number of traces a search returns when it
	// does not say: Jaeger's defaultQueryLimit (query_parser.go) for the
	// classic API and defaultSearchDepth (apiv3/query_parser.go) for api_v3.
	DefaultSearchLimit = 100
	// DefaultMaxLimit caps what a search may ask for. 1500 is the largest
	// "Limit Results" the Jaeger UI's search form offers.
	DefaultMaxLimit = 1500
	// DefaultLookback is how far back a classic search looks when it gives
	// neither start nor lookback: Jaeger's defaultTraceQueryLookbackDuration.
	DefaultLookback = 48 * time.Hour
)

// Options configures an API. The zero value is usable.
type Options struct {
	// TenantHeader names the request header carrying the tenant ID.
	// Default DefaultTenantHeader.
	TenantHeader string
	// DefaultTenant is the tenant of requests without TenantHeader.
	// Default tenant.Default.
	DefaultTenant string
	// Logger receives unexpected errors. Default: discard.
	Logger *slog.Logger
	// Now is the clock used for search defaults. Default time.Now.
	Now func() time.Time
	// DefaultLimit is the number of traces a search returns when it does
	// not say. Default DefaultSearchLimit.
	DefaultLimit int
	// MaxLimit caps the number of traces a search may ask for (and the
	// number of trace IDs one request may name); larger limits are
	// lowered to it. Default DefaultMaxLimit.
	MaxLimit int
}

// Validate reports whether o, once defaulted, can serve requests.
func (o Options) Validate() error {
	return o.tenants().Validate()
}

// tenants returns the tenant settings, defaulted.
func (o Options) tenants() httpquery.Tenants {
	return httpquery.Tenants{Header: o.TenantHeader, Default: o.DefaultTenant}.WithDefaults()
}

func (o Options) withDefaults() Options {
	t := o.tenants()
	o.TenantHeader, o.DefaultTenant = t.Header, t.Default
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxLimit <= 0 {
		o.MaxLimit = DefaultMaxLimit
	}
	if o.DefaultLimit <= 0 {
		o.DefaultLimit = DefaultSearchLimit
	}
	o.DefaultLimit = min(o.DefaultLimit, o.MaxLimit)
	return o
}

// API serves Jaeger's query HTTP APIs from a query.Querier. It is safe for
// concurrent use.
type API struct {
	q       query.Querier
	opts    Options
	tenants httpquery.Tenants
	log     *slog.Logger
}

// New returns an API answering from q. Zero fields of opts take their
// defaults; see Options.Validate to check a configuration up front.
func New(q query.Querier, opts Options) *API {
	opts = opts.withDefaults()
	return &API{q: q, opts: opts, tenants: opts.tenants(), log: opts.Logger}
}

// Register adds the API's routes to mux:
//
//	GET /api/services
//	GET /api/services/{service}/operations
//	GET /api/operations
//	GET /api/traces
//	GET /api/traces/{traceID}
//	GET /api/dependencies
//	GET /api/metrics/calls
//	GET /api/metrics/errors
//	GET /api/metrics/latencies
//	GET /api/metrics/minstep
//	GET /api/v3/services
//	GET /api/v3/operations
//	GET /api/v3/traces
//	GET /api/v3/traces/{traceID}
//	GET /api/v3/trace-summaries
func (a *API) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/services", a.v1Services)
	mux.HandleFunc("GET /api/services/{service}/operations", a.v1ServiceOperations)
	mux.HandleFunc("GET /api/operations", a.v1Operations)
	mux.HandleFunc("GET /api/traces", a.v1Search)
	mux.HandleFunc("GET /api/traces/{traceID}", a.v1Trace)
	mux.HandleFunc("GET /api/dependencies", a.v1Dependencies)
	mux.HandleFunc("GET /api/metrics/calls", a.metricCalls)
	mux.HandleFunc("GET /api/metrics/errors", a.metricErrors)
	mux.HandleFunc("GET /api/metrics/latencies", a.metricLatencies)
	mux.HandleFunc("GET /api/metrics/minstep", a.v1MinStep)

	mux.HandleFunc("GET /api/v3/services", a.v3Services)
	mux.HandleFunc("GET /api/v3/operations", a.v3Operations)
	mux.HandleFunc("GET /api/v3/traces", a.v3FindTraces)
	mux.HandleFunc("GET /api/v3/traces/{traceID}", a.v3Trace)
	mux.HandleFunc("GET /api/v3/trace-summaries", a.v3TraceSummaries)
}

// writeJSON writes v with status. Marshalling happens before anything is
// written so that a value that cannot be encoded becomes a clean 500.
func (a *API) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any, indent bool) {
	var (
		body []byte
		err  error
	)
	if indent {
		body, err = json.MarshalIndent(v, "", "    ")
	} else {
		body, err = json.Marshal(v)
	}
	if err != nil {
		a.log.ErrorContext(r.Context(), "encode response", "route", r.Pattern, "err", err)
		status = http.StatusInternalServerError
		body = []byte(`{"error":"internal error"}`)
	}
	httpquery.WriteBody(w, status, contentType, body)
}

// contentType is what every answer of both APIs is, errors included.
const contentType = "application/json"

// prettyPrint reports whether the classic API was asked to indent its
// answer (Jaeger's prettyPrint parameter: any value but "false").
func prettyPrint(r *http.Request) bool {
	v := r.URL.Query().Get("prettyPrint")
	return v != "" && v != "false"
}
