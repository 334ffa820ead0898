package jaegerapi

import (
	"fmt"
	"net/http"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracelake/tracelake/query"
	"github.com/tracelake/tracelake/query/httpquery"
)

// api_v3 (Jaeger's cmd/jaeger/internal/extension/jaegerquery/internal/
// apiv3/http_gateway.go), used by the newest Jaeger UI. Traces are OTLP
// JSON as pdata's JSONMarshaler writes it: hex IDs, lowerCamelCase keys,
// enums as integers.

// msgNoTraces is Jaeger's message for a trace lookup or search that found
// nothing (returnTraces in http_gateway.go).
const msgNoTraces = "No traces found"

type v3ErrorBody struct {
	Error v3ErrorDetails `json:"error"`
}

type v3ErrorDetails struct {
	HTTPCode int    `json:"httpCode"`
	Message  string `json:"message"`
}

func (a *API) v3Fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg, write := httpquery.Failed(a.log, r, err)
	if !write {
		return
	}
	if status == http.StatusNotFound {
		msg = msgNoTraces
	}
	a.writeJSON(w, r, status, v3ErrorBody{v3ErrorDetails{HTTPCode: status, Message: msg}}, false)
}

// v3Services serves GET /api/v3/services: {"services": [...]}, never null.
func (a *API) v3Services(w http.ResponseWriter, r *http.Request) {
	t, err := a.tenants.Of(r)
	if err != nil {
		a.v3Fail(w, r, err)
		return
	}
	services, err := a.q.Services(r.Context(), t)
	if err != nil {
		a.v3Fail(w, r, err)
		return
	}
	if services == nil {
		services = []string{}
	}
	a.writeJSON(w, r, http.StatusOK, struct {
		Services []string `json:"services"`
	}{services}, false)
}

// v3Operations serves GET /api/v3/operations?service=&spanKind=:
// {"operations": [{name, spanKind}]}. As in Jaeger's getOperations, an
// unspecified span kind is reported as "internal". service is required
// (Jaeger's OpenAPI marks it so; Jaeger itself passes "" to storage).
func (a *API) v3Operations(w http.ResponseWriter, r *http.Request) {
	t, err := a.tenants.Of(r)
	if err != nil {
		a.v3Fail(w, r, err)
		return
	}
	v := r.URL.Query()
	service := v.Get(paramService)
	if service == "" {
		a.v3Fail(w, r, httpquery.MissingParam(paramService))
		return
	}
	kindStr, kindName := getParam(v, v3SpanKind)
	kind, err := parseSpanKind(kindName, kindStr)
	if err != nil {
		a.v3Fail(w, r, err)
		return
	}
	ops, err := a.q.Operations(r.Context(), t, service, kind)
	if err != nil {
		a.v3Fail(w, r, err)
		return
	}
	out := make([]uiOperation, len(ops))
	for i, op := range ops {
		k := op.SpanKind
		if k == "" {
			k = "internal"
		}
		out[i] = uiOperation{Name: op.Name, SpanKind: k}
	}
	a.writeJSON(w, r, http.StatusOK, struct {
		Operations []uiOperation `json:"operations"`
	}{out}, false)
}

// v3Trace serves GET /api/v3/traces/{traceID}: {"result": TracesData};
// an unknown trace is a 404 "No traces found", as in Jaeger.
func (a *API) v3Trace(w http.ResponseWriter, r *http.Request) {
	t, err := a.tenants.Of(r)
	if err != nil {
		a.v3Fail(w, r, err)
		return
	}
	id, err := parseTraceID("trace_id", r.PathValue("traceID"))
	if err != nil {
		a.v3Fail(w, r, err)
		return
	}
	within, err := parseV3TraceWindow(r.URL.Query())
	if err != nil {
		a.v3Fail(w, r, err)
		return
	}
	td, err := a.q.Trace(r.Context(), t, id, within)
	if err != nil {
		a.v3Fail(w, r, err)
		return
	}
	a.v3WriteTraces(w, r, []ptrace.Traces{td})
}

// v3FindTraces serves GET /api/v3/traces?query.…: every matching trace
// merged into one TracesData, or a 404 "No traces found".
func (a *API) v3FindTraces(w http.ResponseWriter, r *http.Request) {
	if found, ok := a.v3Search(w, r); ok {
		a.v3WriteTraces(w, r, found)
	}
}

// v3Search runs the search a query.… request describes; on failure it has
// answered already and ok is false.
func (a *API) v3Search(w http.ResponseWriter, r *http.Request) (found []ptrace.Traces, ok bool) {
	t, err := a.tenants.Of(r)
	if err == nil {
		var q query.TraceQuery
		if q, err = a.parseV3Query(r.URL.Query()); err == nil {
			var next string
			found, next, err = a.q.FindTracesPage(r.Context(), t, q)
			if next != "" {
				// api_v3's answer is OTLP's TracesData, which has no room
				// for it: the next page's query.cursor is a header.
				w.Header().Set(HeaderNextCursor, next)
			}
		}
	}
	if err != nil {
		a.v3Fail(w, r, err)
		return nil, false
	}
	return found, true
}

// HeaderNextCursor carries the query.cursor of a search's next page in
// api_v3 answers (a tracelake extension).
const HeaderNextCursor = "Tracelake-Next-Cursor"

// v3TraceSummaries serves GET /api/v3/trace-summaries?query.…: one
// summary per matching trace, {"summaries": []} when none matched (Jaeger
// does not answer 404 here).
func (a *API) v3TraceSummaries(w http.ResponseWriter, r *http.Request) {
	found, ok := a.v3Search(w, r)
	if !ok {
		return
	}
	out := make([]traceSummary, 0, len(found))
	for _, td := range found {
		if s, ok := summarize(td); ok {
			out = append(out, s)
		}
	}
	a.writeJSON(w, r, http.StatusOK, struct {
		Summaries []traceSummary `json:"summaries"`
	}{out}, false)
}

// v3WriteTraces answers {"result": TracesData} with every resource of
// traces, in order, or 404 when there is no span at all.
func (a *API) v3WriteTraces(w http.ResponseWriter, r *http.Request, traces []ptrace.Traces) {
	var merged ptrace.Traces
	spans := 0
	for _, td := range traces {
		spans += td.SpanCount()
	}
	switch {
	case spans == 0:
		a.v3Fail(w, r, query.ErrNotFound)
		return
	case len(traces) == 1:
		merged = traces[0]
	default:
		// Copy rather than move: the Querier's results are not ours.
		merged = ptrace.NewTraces()
		for _, td := range traces {
			rss := td.ResourceSpans()
			for i := 0; i < rss.Len(); i++ {
				rss.At(i).CopyTo(merged.ResourceSpans().AppendEmpty())
			}
		}
	}
	otlp, err := (&ptrace.JSONMarshaler{}).MarshalTraces(merged)
	if err != nil {
		a.v3Fail(w, r, fmt.Errorf("marshal OTLP JSON: %w", err))
		return
	}
	body := make([]byte, 0, len(otlp)+len(`{"result":}`))
	body = append(body, `{"result":`...)
	body = append(body, otlp...)
	body = append(body, '}')
	httpquery.WriteBody(w, http.StatusOK, contentType, body)
}
