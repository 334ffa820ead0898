package jaegerapi

import (
	"encoding/binary"
	"errors"
	"net/http"

	model "github.com/jaegertracing/jaeger-idl/model/v1"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracelake/tracelake/query"
	"github.com/tracelake/tracelake/query/httpquery"
)

// The classic API (Jaeger's cmd/jaeger/internal/extension/jaegerquery/
// internal/http_handler.go), used by Grafana's Jaeger data source and the
// Jaeger UI before api_v3.

// envelope wraps every classic API answer, successful or not.
type envelope struct {
	Data   any       `json:"data"`
	Total  int       `json:"total"`
	Limit  int       `json:"limit"`
	Offset int       `json:"offset"`
	Errors []v1Error `json:"errors"`
	// NextCursor, a tracelake extension, fetches the next page of a
	// search when passed back as the cursor parameter.
	NextCursor string `json:"nextCursor,omitempty"`
}

type v1Error struct {
	Code    int    `json:"code,omitempty"`
	Msg     string `json:"msg"`
	TraceID string `json:"traceID,omitempty"`
}

func (a *API) v1OK(w http.ResponseWriter, r *http.Request, data any, total int, errs []v1Error) {
	a.writeJSON(w, r, http.StatusOK, envelope{Data: data, Total: total, Errors: errs}, prettyPrint(r))
}

func (a *API) v1Fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg, write := httpquery.Failed(a.log, r, err)
	if !write {
		return
	}
	a.writeJSON(w, r, status, envelope{Errors: []v1Error{{Code: status, Msg: msg}}}, prettyPrint(r))
}

// v1Services serves GET /api/services: the sorted service names.
func (a *API) v1Services(w http.ResponseWriter, r *http.Request) {
	t, err := a.tenants.Of(r)
	if err != nil {
		a.v1Fail(w, r, err)
		return
	}
	services, err := a.q.Services(r.Context(), t)
	if err != nil {
		a.v1Fail(w, r, err)
		return
	}
	if services == nil {
		services = []string{}
	}
	a.v1OK(w, r, services, len(services), nil)
}

// v1ServiceOperations serves GET /api/services/{service}/operations: the
// service's distinct operation names, of every span kind (Jaeger's
// getOperationsLegacy).
func (a *API) v1ServiceOperations(w http.ResponseWriter, r *http.Request) {
	t, err := a.tenants.Of(r)
	if err != nil {
		a.v1Fail(w, r, err)
		return
	}
	ops, err := a.q.Operations(r.Context(), t, r.PathValue("service"), "")
	if err != nil {
		a.v1Fail(w, r, err)
		return
	}
	names := []string{}
	seen := make(map[string]bool, len(ops))
	for _, op := range ops {
		if !seen[op.Name] {
			seen[op.Name] = true
			names = append(names, op.Name)
		}
	}
	a.v1OK(w, r, names, len(names), nil)
}

// v1Operations serves GET /api/operations?service=&spanKind=: the
// service's operations with their span kinds; an unspecified kind is
// reported as "" as Jaeger's classic API does. service is required.
func (a *API) v1Operations(w http.ResponseWriter, r *http.Request) {
	t, err := a.tenants.Of(r)
	if err != nil {
		a.v1Fail(w, r, err)
		return
	}
	v := r.URL.Query()
	service := v.Get(paramService)
	if service == "" {
		a.v1Fail(w, r, httpquery.MissingParam(paramService))
		return
	}
	kind, err := parseSpanKind(paramSpanKind, v.Get(paramSpanKind))
	if err != nil {
		a.v1Fail(w, r, err)
		return
	}
	ops, err := a.q.Operations(r.Context(), t, service, kind)
	if err != nil {
		a.v1Fail(w, r, err)
		return
	}
	data := make([]uiOperation, len(ops))
	for i, op := range ops {
		data[i] = uiOperation{Name: op.Name, SpanKind: op.SpanKind}
	}
	a.v1OK(w, r, data, len(data), nil)
}

// v1Search serves GET /api/traces: a trace search, or, with traceID=
// parameters, exactly those traces. As in Jaeger, a requested trace that
// does not exist is left out of data and reported in errors as
// {"msg": "trace not found", "traceID": …} with status 200.
func (a *API) v1Search(w http.ResponseWriter, r *http.Request) {
	t, err := a.tenants.Of(r)
	if err != nil {
		a.v1Fail(w, r, err)
		return
	}
	req, err := a.parseV1Search(r.URL.Query())
	if err != nil {
		a.v1Fail(w, r, err)
		return
	}
	ctx := r.Context()
	traces := []uiTrace{}
	var errs []v1Error

	if len(req.traceIDs) > 0 {
		for _, id := range req.traceIDs {
			td, err := a.q.Trace(ctx, t, id, req.within)
			var ui uiTrace
			ok := false
			switch {
			case err == nil:
				ui, ok = toUITrace(td)
			case !errors.Is(err, query.ErrNotFound):
				a.v1Fail(w, r, err)
				return
			}
			if !ok {
				errs = append(errs, v1Error{Msg: query.ErrNotFound.Error(), TraceID: jaegerTraceID(id)})
				continue
			}
			traces = append(traces, ui)
		}
		a.v1OK(w, r, traces, len(traces), errs)
		return
	}

	found, next, err := a.q.FindTracesPage(ctx, t, req.query)
	if err != nil {
		a.v1Fail(w, r, err)
		return
	}
	traces = appendUITraces(traces, found)
	a.writeJSON(w, r, http.StatusOK, envelope{Data: traces, Total: len(traces), NextCursor: next}, prettyPrint(r))
}

// v1Trace serves GET /api/traces/{traceID}: data is a one-element list;
// an unknown trace is a 404 "trace not found".
func (a *API) v1Trace(w http.ResponseWriter, r *http.Request) {
	t, err := a.tenants.Of(r)
	if err != nil {
		a.v1Fail(w, r, err)
		return
	}
	id, err := parseTraceID(paramTraceID, r.PathValue("traceID"))
	if err != nil {
		a.v1Fail(w, r, err)
		return
	}
	within, err := parseV1TraceWindow(r.URL.Query())
	if err != nil {
		a.v1Fail(w, r, err)
		return
	}
	td, err := a.q.Trace(r.Context(), t, id, within)
	if err != nil {
		a.v1Fail(w, r, err)
		return
	}
	ui, ok := toUITrace(td)
	if !ok {
		a.v1Fail(w, r, query.ErrNotFound)
		return
	}
	a.v1OK(w, r, []uiTrace{ui}, 1, nil)
}

func appendUITraces(dst []uiTrace, found []ptrace.Traces) []uiTrace {
	for _, td := range found {
		if ui, ok := toUITrace(td); ok {
			dst = append(dst, ui)
		}
	}
	return dst
}

// jaegerTraceID renders id as Jaeger does: 16 hex digits when the high 64
// bits are zero, 32 otherwise.
func jaegerTraceID(id pcommon.TraceID) string {
	return model.NewTraceID(binary.BigEndian.Uint64(id[:8]), binary.BigEndian.Uint64(id[8:])).String()
}
