package jaegerapi

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/tracelake/tracelake/query"
	"github.com/tracelake/tracelake/storage/tenant"
)

// Defaults applied by New to zero Options fields.
const (
	// DefaultTenantHeader is the header naming the tenant, as in Cortex,
	// Loki, Tempo and Grafana's data sources.
	DefaultTenantHeader = "X-Scope-OrgID"
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
	o = o.withDefaults()
	if err := tenant.Validate(o.DefaultTenant); err != nil {
		return fmt.Errorf("default tenant: %w", err)
	}
	return nil
}

func (o Options) withDefaults() Options {
	if o.TenantHeader == "" {
		o.TenantHeader = DefaultTenantHeader
	}
	if o.DefaultTenant == "" {
		o.DefaultTenant = tenant.Default
	}
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
	q    query.Querier
	opts Options
	log  *slog.Logger
}

// New returns an API answering from q. Zero fields of opts take their
// defaults; see Options.Validate to check a configuration up front.
func New(q query.Querier, opts Options) *API {
	opts = opts.withDefaults()
	return &API{q: q, opts: opts, log: opts.Logger}
}

// Register adds the API's routes to mux:
//
//	GET /api/services
//	GET /api/services/{service}/operations
//	GET /api/operations
//	GET /api/traces
//	GET /api/traces/{traceID}
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

	mux.HandleFunc("GET /api/v3/services", a.v3Services)
	mux.HandleFunc("GET /api/v3/operations", a.v3Operations)
	mux.HandleFunc("GET /api/v3/traces", a.v3FindTraces)
	mux.HandleFunc("GET /api/v3/traces/{traceID}", a.v3Trace)
	mux.HandleFunc("GET /api/v3/trace-summaries", a.v3TraceSummaries)
}

// tenantOf returns the request's tenant: the tenant header when present,
// the default tenant otherwise.
func (a *API) tenantOf(r *http.Request) (string, error) {
	values := r.Header.Values(a.opts.TenantHeader)
	switch len(values) {
	case 0:
		if err := tenant.Validate(a.opts.DefaultTenant); err != nil {
			return "", fmt.Errorf("misconfigured default tenant: %w", err)
		}
		return a.opts.DefaultTenant, nil
	case 1:
		if err := tenant.Validate(values[0]); err != nil {
			return "", &paramError{msg: fmt.Sprintf("invalid %s header: %v", a.opts.TenantHeader, err)}
		}
		return values[0], nil
	default:
		return "", &paramError{msg: fmt.Sprintf("invalid %s header: %d values given, one tenant is allowed", a.opts.TenantHeader, len(values))}
	}
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
	writeBody(w, status, body)
}

func writeBody(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// prettyPrint reports whether the classic API was asked to indent its
// answer (Jaeger's prettyPrint parameter: any value but "false").
func prettyPrint(r *http.Request) bool {
	v := r.URL.Query().Get("prettyPrint")
	return v != "" && v != "false"
}
