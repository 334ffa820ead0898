package zipkinapi

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"

	zipkinmodel "github.com/openzipkin/zipkin-go/model"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracelake/tracelake/query"
	"github.com/tracelake/tracelake/query/httpquery"
)

// Span attributes that hold a span's remote service name: where the
// collector's Zipkin→OTLP translator puts remoteEndpoint.serviceName
// (semantic conventions 1.40, the default since its
// EmitV1NetworkConventions gate went beta), and the older key it and
// OpenTelemetry SDKs write. The OTLP→Zipkin translator reads them in
// this order.
var remoteServiceKeys = []string{"service.peer.name", "peer.service"}

// request parses the tenant and the query string every route starts with.
// A query string that is not valid URL encoding is refused rather than
// partly ignored: a dropped serviceName would widen a search silently.
func (a *API) request(r *http.Request) (tenant string, v url.Values, err error) {
	if tenant, err = a.tenants.Of(r); err != nil {
		return "", nil, err
	}
	if v, err = url.ParseQuery(r.URL.RawQuery); err != nil {
		return "", nil, httpquery.ParamErrorf("malformed query string: %v", err)
	}
	return tenant, v, nil
}

// services serves GET /api/v2/services: every service name, sorted.
func (a *API) services(w http.ResponseWriter, r *http.Request) {
	t, _, err := a.request(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	names, err := a.q.Services(r.Context(), t)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.writeJSON(w, r, sortedUnique(names))
}

// spanNames serves GET /api/v2/spans?serviceName=: the distinct span
// names of the service, of every kind, sorted. serviceName is required.
func (a *API) spanNames(w http.ResponseWriter, r *http.Request) {
	t, v, err := a.request(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	service, err := requiredParam(v, paramServiceName)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	ops, err := a.q.Operations(r.Context(), t, service, "")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	names := make([]string, len(ops))
	for i, op := range ops {
		names[i] = op.Name
	}
	a.writeJSON(w, r, sortedUnique(names))
}

// remoteServices serves GET /api/v2/remoteServices?serviceName=: the
// remote service names the service's spans record, sorted. serviceName
// is required.
func (a *API) remoteServices(w http.ResponseWriter, r *http.Request) {
	t, v, err := a.request(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	service, err := requiredParam(v, paramServiceName)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var names []string
	for _, key := range remoteServiceKeys {
		values, err := a.q.AttributeValues(r.Context(), t, service, key)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		names = append(names, values...)
	}
	a.writeJSON(w, r, sortedUnique(names))
}

// traces serves GET /api/v2/traces: a search answering a list of traces,
// each a list of spans, newest trace first. See parseTracesQuery.
func (a *API) traces(w http.ResponseWriter, r *http.Request) {
	t, v, err := a.request(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	req, err := a.parseTracesQuery(v)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	found, err := a.find(r.Context(), t, req)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.writeTraces(w, r, found)
}

// find runs a search. The remote service name is a span attribute under
// either of two keys, and a TraceQuery can only ask for all of its
// attributes, so a search by remote service is one search per key, merged
// the way the Querier orders its answers.
func (a *API) find(ctx context.Context, tenant string, req tracesRequest) ([]ptrace.Traces, error) {
	if req.remoteService == "" {
		return a.q.FindTraces(ctx, tenant, req.query)
	}
	var all []ptrace.Traces
	for _, key := range remoteServiceKeys {
		if other, ok := req.query.Attributes[key]; ok && other != req.remoteService {
			continue // the annotationQuery already asks for another value
		}
		q := req.query
		q.Attributes = maps.Clone(req.query.Attributes)
		if q.Attributes == nil {
			q.Attributes = make(map[string]string, 1)
		}
		q.Attributes[key] = req.remoteService
		found, err := a.q.FindTraces(ctx, tenant, q)
		if err != nil {
			return nil, err
		}
		all = append(all, found...)
	}
	return mergeTraces(all, req.query.Limit), nil
}

// mergeTraces orders traces as Querier.FindTraces does (newest first by
// trace start time, ties by trace ID), drops repeats and keeps limit.
func mergeTraces(all []ptrace.Traces, limit int) []ptrace.Traces {
	type entry struct {
		td    ptrace.Traces
		id    pcommon.TraceID
		start pcommon.Timestamp
	}
	entries := make([]entry, 0, len(all))
	seen := make(map[pcommon.TraceID]bool, len(all))
	for _, td := range all {
		id, start, ok := traceKey(td)
		if !ok || seen[id] {
			continue
		}
		seen[id] = true
		entries = append(entries, entry{td, id, start})
	}
	slices.SortFunc(entries, func(x, y entry) int {
		return cmp.Or(cmp.Compare(y.start, x.start), bytes.Compare(x.id[:], y.id[:]))
	})
	out := make([]ptrace.Traces, 0, min(len(entries), limit))
	for _, e := range entries[:min(len(entries), limit)] {
		out = append(out, e.td)
	}
	return out
}

// traceKey returns a trace's ID and start time (its earliest span start).
func traceKey(td ptrace.Traces) (id pcommon.TraceID, start pcommon.Timestamp, ok bool) {
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				if !ok || s.StartTimestamp() < start {
					start = s.StartTimestamp()
				}
				if !ok {
					id = s.TraceID()
				}
				ok = true
			}
		}
	}
	return id, start, ok
}

// trace serves GET /api/v2/trace/{traceId}: the trace's spans, or 404
// "<traceId> not found".
func (a *API) trace(w http.ResponseWriter, r *http.Request) {
	t, _, err := a.request(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	id, err := parseTraceID(paramTraceID, r.PathValue(paramTraceID))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	spans, err := a.lookup(r.Context(), t, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	body, err := json.Marshal(spans)
	if err != nil {
		a.fail(w, r, fmt.Errorf("encode trace %s: %w", zipkinTraceID(id), err))
		return
	}
	writeRaw(w, body)
}

// traceMany serves GET /api/v2/traceMany?traceIds=: the traces found, in
// the order asked; IDs with no stored trace are left out.
func (a *API) traceMany(w http.ResponseWriter, r *http.Request) {
	t, v, err := a.request(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	ids, err := a.parseTraceIDs(v)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	traces := make([][]*zipkinmodel.SpanModel, 0, len(ids))
	for _, id := range ids {
		spans, err := a.lookup(r.Context(), t, id)
		if errors.Is(err, query.ErrNotFound) {
			continue
		}
		if err != nil {
			a.fail(w, r, err)
			return
		}
		traces = append(traces, spans)
	}
	a.writeJSON(w, r, traces)
}

// lookup returns the Zipkin spans of one trace, or a notFoundError.
func (a *API) lookup(ctx context.Context, tenant string, id pcommon.TraceID) ([]*zipkinmodel.SpanModel, error) {
	td, err := a.q.Trace(ctx, tenant, id, query.TimeRange{})
	if errors.Is(err, query.ErrNotFound) {
		return nil, &notFoundError{traceID: zipkinTraceID(id)}
	}
	if err != nil {
		return nil, err
	}
	spans, err := toZipkin(td)
	if err != nil {
		return nil, fmt.Errorf("trace %s: %w", zipkinTraceID(id), err)
	}
	if len(spans) == 0 {
		return nil, &notFoundError{traceID: zipkinTraceID(id)}
	}
	return spans, nil
}

// writeTraces renders found traces as a list of span lists, skipping
// traces with no span to show.
func (a *API) writeTraces(w http.ResponseWriter, r *http.Request, found []ptrace.Traces) {
	traces := make([][]*zipkinmodel.SpanModel, 0, len(found))
	for _, td := range found {
		spans, err := toZipkin(td)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if len(spans) > 0 {
			traces = append(traces, spans)
		}
	}
	a.writeJSON(w, r, traces)
}

// dependencyLink is Zipkin's DependencyLink as its JSON encoder writes
// it: errorCount only when there were errors.
type dependencyLink struct {
	Parent     string `json:"parent"`
	Child      string `json:"child"`
	CallCount  uint64 `json:"callCount"`
	ErrorCount uint64 `json:"errorCount,omitempty"`
}

// dependencies serves GET /api/v2/dependencies?endTs=&lookback=: the calls
// between services made by spans that started in [endTs-lookback, endTs],
// after Zipkin's validation of endTs (required) and lookback, sorted by
// parent then child.
func (a *API) dependencies(w http.ResponseWriter, r *http.Request) {
	t, v, err := a.request(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	tr, err := parseDependencies(v)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	links, err := a.q.Dependencies(r.Context(), t, tr)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]dependencyLink, len(links))
	for i, l := range links {
		out[i] = dependencyLink{Parent: l.Parent, Child: l.Child, CallCount: l.CallCount, ErrorCount: l.ErrorCount}
	}
	a.writeJSON(w, r, out)
}

// autocompleteKeys serves GET /api/v2/autocompleteKeys: the configured
// keys, sorted.
func (a *API) autocompleteKeys(w http.ResponseWriter, r *http.Request) {
	if _, _, err := a.request(r); err != nil {
		a.fail(w, r, err)
		return
	}
	a.writeJSON(w, r, sortedUnique(a.opts.AutocompleteKeys))
}

// autocompleteValues serves GET /api/v2/autocompleteValues?key=: the
// values of a configured key, sorted. As in Zipkin, whose storage indexes
// only AUTOCOMPLETE_KEYS, any other key answers an empty list; key is
// required.
func (a *API) autocompleteValues(w http.ResponseWriter, r *http.Request) {
	t, v, err := a.request(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	key, err := requiredParam(v, paramKey)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if _, ok := slices.BinarySearch(a.opts.AutocompleteKeys, key); !ok {
		a.writeJSON(w, r, []string{})
		return
	}
	values, err := a.q.AttributeValues(r.Context(), t, "", key)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.writeJSON(w, r, sortedUnique(values))
}

// requiredParam returns a parameter that must be given and not be empty.
func requiredParam(v url.Values, name string) (string, error) {
	s := v.Get(name)
	if s == "" {
		return "", httpquery.MissingParam(name)
	}
	return s, nil
}

// sortedUnique returns a sorted copy of names without repeats, never nil
// so that it encodes as [] (Zipkin's maybeCacheNames sorts too).
func sortedUnique(names []string) []string {
	out := make([]string, len(names))
	copy(out, names)
	slices.Sort(out)
	return slices.Compact(out)
}
