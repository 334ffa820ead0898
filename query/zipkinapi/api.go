package zipkinapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/tracelake/tracelake/query"
	"github.com/tracelake/tracelake/query/httpquery"
)

// Defaults applied by New to zero Options fields, and Zipkin's fixed
// defaults.
const (
	// DefaultTenantHeader is the header naming the tenant, as in Cortex,
	// Loki, Tempo and Grafana's data sources.
	DefaultTenantHeader = httpquery.DefaultTenantHeader
	// DefaultMaxLimit caps the traces one search may ask for and the trace
	// IDs one traceMany may name. Zipkin's traceMany splits its parameter
	// into at most 1000 IDs; its search has no cap.
	DefaultMaxLimit = 1000
	// DefaultLimit is the number of traces a search returns when it does
	// not say (@Default("10") in ZipkinQueryApiV2.getTraces).
	DefaultLimit = 10
	// DefaultLookback is how far before endTs a search or the dependency
	// graph looks when lookback is absent: Zipkin's QUERY_LOOKBACK
	// default of 86400000 ms.
	DefaultLookback = 24 * time.Hour
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
	// Now is the clock that gives a search's default endTs. Default
	// time.Now.
	Now func() time.Time
	// AutocompleteKeys are the span attribute keys whose values
	// /api/v2/autocompleteValues reveals (Zipkin's AUTOCOMPLETE_KEYS).
	// Default none.
	AutocompleteKeys []string
	// MaxLimit caps a search's limit (larger limits are lowered to it)
	// and the number of IDs one traceMany may name. Default
	// DefaultMaxLimit.
	MaxLimit int
}

// Validate reports whether o, once defaulted, can serve requests.
func (o Options) Validate() error {
	o = o.withDefaults()
	if err := o.tenants().Validate(); err != nil {
		return err
	}
	for _, k := range o.AutocompleteKeys {
		if k == "" {
			return fmt.Errorf("autocomplete keys: empty key")
		}
	}
	return nil
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
	// A private, sorted, duplicate-free copy: the caller may reuse its
	// slice, and Zipkin answers autocompleteKeys sorted.
	keys := slices.Clone(o.AutocompleteKeys)
	slices.Sort(keys)
	o.AutocompleteKeys = slices.Compact(keys)
	return o
}

// API serves Zipkin's query API v2 from a query.Querier. It is safe for
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

// Register adds the API's GET routes to mux. The POST routes Zipkin serves
// on the same paths (span ingest) are not this package's.
//
//	GET /api/v2/services
//	GET /api/v2/spans
//	GET /api/v2/remoteServices
//	GET /api/v2/traces
//	GET /api/v2/trace/{traceId}
//	GET /api/v2/traceMany
//	GET /api/v2/dependencies
//	GET /api/v2/autocompleteKeys
//	GET /api/v2/autocompleteValues
func (a *API) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v2/services", a.services)
	mux.HandleFunc("GET /api/v2/spans", a.spanNames)
	mux.HandleFunc("GET /api/v2/remoteServices", a.remoteServices)
	mux.HandleFunc("GET /api/v2/traces", a.traces)
	mux.HandleFunc("GET /api/v2/trace/{traceId}", a.trace)
	mux.HandleFunc("GET /api/v2/traceMany", a.traceMany)
	mux.HandleFunc("GET /api/v2/dependencies", a.dependencies)
	mux.HandleFunc("GET /api/v2/autocompleteKeys", a.autocompleteKeys)
	mux.HandleFunc("GET /api/v2/autocompleteValues", a.autocompleteValues)
}

// writeJSON writes v with status 200. Marshalling happens before anything
// is written so that a value that cannot be encoded becomes a clean 500.
func (a *API) writeJSON(w http.ResponseWriter, r *http.Request, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		a.fail(w, r, fmt.Errorf("encode response: %w", err))
		return
	}
	writeRaw(w, body)
}

// Content types of Zipkin's answers: JSON for data, plain text for errors.
const (
	contentJSON = "application/json; charset=utf-8"
	contentText = "text/plain; charset=utf-8"
)

// writeRaw writes an already encoded JSON answer with status 200.
func writeRaw(w http.ResponseWriter, body []byte) {
	httpquery.WriteBody(w, http.StatusOK, contentJSON, body)
}

// fail answers err as Zipkin does: a status and a plain-text message. The
// status is httpquery.Classify's; an unknown trace says which, as in
// Zipkin ("<traceId> not found").
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg, write := httpquery.Failed(a.log, r, err)
	if !write {
		return
	}
	var nf *notFoundError
	if status == http.StatusNotFound && errors.As(err, &nf) {
		msg = nf.Error()
	}
	httpquery.WriteBody(w, status, contentText, []byte(msg))
}
