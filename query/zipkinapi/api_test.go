package zipkinapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracelake/tracelake/query"
	"github.com/tracelake/tracelake/query/httpquery"
	"github.com/tracelake/tracelake/query/querytest"
)

var sampleOps = []query.Operation{
	{Name: "GET /checkout", SpanKind: "client"},
	{Name: "GET /checkout", SpanKind: "server"},
	{Name: "SELECT orders", SpanKind: ""},
	{Name: "个人信息", SpanKind: "internal"},
}

func TestRoutes(t *testing.T) {
	withData := func(t *testing.T) *querytest.Fake {
		q := goldenQuerier(t)
		q.ServiceNames = []string{"frontend", "backend", "个人信息服务", "backend"}
		q.Ops = sampleOps
		q.Values = map[string][]string{
			"service.peer.name": {"kafka", "backend"},
			"peer.service":      {"Inventory", "kafka"},
			"http.method":       {"POST", "GET"},
		}
		q.Links = []query.DependencyLink{
			{Parent: "frontend", Child: "backend", CallCount: 40, ErrorCount: 3},
			{Parent: "frontend", Child: "个人信息服务", CallCount: 2},
		}
		return q
	}
	empty := func(*testing.T) *querytest.Fake { return &querytest.Fake{} }
	autocomplete := Options{AutocompleteKeys: []string{"http.method", "env"}}

	tests := []struct {
		name     string
		querier  func(t *testing.T) *querytest.Fake
		opts     Options
		target   string
		wantCode int
		wantBody string // compact JSON for 200, plain text otherwise; empty skips the check
		check    func(t *testing.T, q *querytest.Fake)
	}{
		// services
		{
			name: "services sorted", querier: withData, target: "/api/v2/services",
			wantCode: 200, wantBody: `["backend","frontend","个人信息服务"]`,
		},
		{name: "services none", querier: empty, target: "/api/v2/services", wantCode: 200, wantBody: `[]`},

		// spans
		{
			name: "span names", querier: withData, target: "/api/v2/spans?serviceName=frontend",
			wantCode: 200, wantBody: `["GET /checkout","SELECT orders","个人信息"]`,
			check: func(t *testing.T, q *querytest.Fake) {
				if want := []querytest.OperationsCall{{Service: "frontend", SpanKind: ""}}; !slices.Equal(q.OperationsCalls, want) {
					t.Errorf("Operations calls %+v, want every kind of frontend", q.OperationsCalls)
				}
			},
		},
		{
			name: "span names non-ASCII service", querier: withData, target: "/api/v2/spans?serviceName=%E4%B8%AA%E4%BA%BA%E4%BF%A1%E6%81%AF%E6%9C%8D%E5%8A%A1",
			wantCode: 200,
			check: func(t *testing.T, q *querytest.Fake) {
				if len(q.OperationsCalls) != 1 || q.OperationsCalls[0].Service != "个人信息服务" {
					t.Errorf("Operations calls %+v", q.OperationsCalls)
				}
			},
		},
		{
			name: "span names keep case", querier: withData, target: "/api/v2/spans?serviceName=Checkout+API",
			wantCode: 200,
			check: func(t *testing.T, q *querytest.Fake) {
				if len(q.OperationsCalls) != 1 || q.OperationsCalls[0].Service != "Checkout API" {
					t.Errorf("Operations calls %+v, want the service as given", q.OperationsCalls)
				}
			},
		},
		{name: "span names none", querier: empty, target: "/api/v2/spans?serviceName=x", wantCode: 200, wantBody: `[]`},
		{name: "span names without service", querier: withData, target: "/api/v2/spans", wantCode: 400, wantBody: `parameter "serviceName" is required`},
		{name: "span names empty service", querier: withData, target: "/api/v2/spans?serviceName=", wantCode: 400, wantBody: `parameter "serviceName" is required`},

		// remoteServices
		{
			name: "remote services from both keys", querier: withData, target: "/api/v2/remoteServices?serviceName=%E4%B8%AA%E4%BA%BA%E4%BF%A1%E6%81%AF%E6%9C%8D%E5%8A%A1",
			wantCode: 200, wantBody: `["Inventory","backend","kafka"]`,
			check: func(t *testing.T, q *querytest.Fake) {
				want := []querytest.ValuesCall{{Service: "个人信息服务", Key: "service.peer.name"}, {Service: "个人信息服务", Key: "peer.service"}}
				if !slices.Equal(q.ValuesCalls, want) {
					t.Errorf("AttributeValues calls %+v, want %+v", q.ValuesCalls, want)
				}
			},
		},
		{name: "remote services none", querier: empty, target: "/api/v2/remoteServices?serviceName=x", wantCode: 200, wantBody: `[]`},
		{name: "remote services without service", querier: withData, target: "/api/v2/remoteServices", wantCode: 400, wantBody: `parameter "serviceName" is required`},

		// traces
		{
			name: "search defaults", querier: withData, target: "/api/v2/traces",
			wantCode: 200,
			check: func(t *testing.T, q *querytest.Fake) {
				want := query.TraceQuery{
					StartMin: fixedNow.Add(-24 * time.Hour),
					StartMax: fixedNow.Add(time.Microsecond),
					Limit:    10,
				}
				checkQueries(t, q, want)
			},
		},
		{
			name: "search every parameter", querier: withData,
			target:   "/api/v2/traces?serviceName=%E4%B8%AA%E4%BA%BA%E4%BF%A1%E6%81%AF%E6%9C%8D%E5%8A%A1&spanName=GET+%2Fcheckout&annotationQuery=http.method%3DGET+and+error+and+http.url%3D%2Fx%3Fa%3Db&minDuration=1500&maxDuration=2000000&endTs=1714560000000&lookback=3600000&limit=25",
			wantCode: 200,
			check: func(t *testing.T, q *querytest.Fake) {
				end := time.UnixMilli(1714560000000).UTC()
				checkQueries(t, q, query.TraceQuery{
					ServiceName:   "个人信息服务",
					OperationName: "GET /checkout",
					Attributes:    map[string]string{"http.method": "GET", "http.url": "/x?a=b"},
					AttributeKeys: []string{"error"},
					StartMin:      end.Add(-time.Hour),
					StartMax:      end.Add(time.Microsecond),
					DurationMin:   1500 * time.Microsecond,
					DurationMax:   2 * time.Second,
					Limit:         25,
				})
			},
		},
		{
			name: "search spanName all is any", querier: withData, target: "/api/v2/traces?spanName=all",
			wantCode: 200,
			check: func(t *testing.T, q *querytest.Fake) {
				if len(q.Queries) != 1 || q.Queries[0].OperationName != "" {
					t.Errorf("queries %+v, want no span name", q.Queries)
				}
			},
		},
		{
			name: "search limit capped", querier: withData, opts: Options{MaxLimit: 50}, target: "/api/v2/traces?limit=2147483647",
			wantCode: 200,
			check: func(t *testing.T, q *querytest.Fake) {
				if len(q.Queries) != 1 || q.Queries[0].Limit != 50 {
					t.Errorf("queries %+v, want limit 50", q.Queries)
				}
			},
		},
		{
			name: "search lookback before the epoch", querier: withData, target: "/api/v2/traces?endTs=1000&lookback=5000",
			wantCode: 200,
			check: func(t *testing.T, q *querytest.Fake) {
				checkQueries(t, q, query.TraceQuery{
					StartMin: time.Unix(0, 0).UTC(),
					StartMax: time.UnixMilli(1000).UTC().Add(time.Microsecond),
					Limit:    10,
				})
			},
		},
		{name: "search nothing found", querier: empty, target: "/api/v2/traces?serviceName=x", wantCode: 200, wantBody: `[]`},
		{
			name: "search by remote service asks both keys", querier: withData,
			target: "/api/v2/traces?serviceName=frontend&remoteServiceName=backend&annotationQuery=error", wantCode: 200,
			check: func(t *testing.T, q *querytest.Fake) {
				base := query.TraceQuery{
					ServiceName:   "frontend",
					AttributeKeys: []string{"error"},
					StartMin:      fixedNow.Add(-24 * time.Hour),
					StartMax:      fixedNow.Add(time.Microsecond),
					Limit:         10,
				}
				a, b := base, base
				a.Attributes = map[string]string{"service.peer.name": "backend"}
				b.Attributes = map[string]string{"peer.service": "backend"}
				checkQueries(t, q, a, b)
			},
		},
		{name: "search endTs zero", querier: withData, target: "/api/v2/traces?endTs=0", wantCode: 400,
			wantBody: `invalid value "0" for parameter "endTs": must be a positive time in milliseconds since the Unix epoch, before the year 2262`},
		{name: "search endTs past 2262", querier: withData, target: "/api/v2/traces?endTs=9223372036855", wantCode: 400,
			wantBody: `invalid value "9223372036855" for parameter "endTs": must be a positive time in milliseconds since the Unix epoch, before the year 2262`},
		{name: "search endTs not a number", querier: withData, target: "/api/v2/traces?endTs=2024-05-01", wantCode: 400,
			wantBody: `invalid value "2024-05-01" for parameter "endTs": must be a positive time in milliseconds since the Unix epoch, before the year 2262`},
		{name: "search lookback negative", querier: withData, target: "/api/v2/traces?lookback=-1", wantCode: 400,
			wantBody: `invalid value "-1" for parameter "lookback": must be a positive number of milliseconds`},
		{name: "search lookback as duration", querier: withData, target: "/api/v2/traces?lookback=1h", wantCode: 400,
			wantBody: `invalid value "1h" for parameter "lookback": must be a positive number of milliseconds`},
		{name: "search limit zero", querier: withData, target: "/api/v2/traces?limit=0", wantCode: 400,
			wantBody: `invalid value "0" for parameter "limit": must be a positive integer`},
		{name: "search limit too big for an int", querier: withData, target: "/api/v2/traces?limit=2147483648", wantCode: 400,
			wantBody: `invalid value "2147483648" for parameter "limit": must be a positive integer`},
		{name: "search minDuration zero", querier: withData, target: "/api/v2/traces?minDuration=0", wantCode: 400,
			wantBody: `invalid value "0" for parameter "minDuration": must be a positive number of microseconds`},
		{name: "search minDuration as duration", querier: withData, target: "/api/v2/traces?minDuration=1ms", wantCode: 400,
			wantBody: `invalid value "1ms" for parameter "minDuration": must be a positive number of microseconds`},
		{name: "search maxDuration overflow", querier: withData, target: "/api/v2/traces?minDuration=1&maxDuration=9223372036854776", wantCode: 400,
			wantBody: `invalid value "9223372036854776" for parameter "maxDuration": must be a positive number of microseconds`},
		{name: "search maxDuration alone", querier: withData, target: "/api/v2/traces?maxDuration=100", wantCode: 400,
			wantBody: `parameter "maxDuration" is only valid with "minDuration"`},
		{name: "search maxDuration below minDuration", querier: withData, target: "/api/v2/traces?minDuration=100&maxDuration=99", wantCode: 400,
			wantBody: `invalid parameters: "maxDuration" (99) is less than "minDuration" (100)`},
		{name: "search malformed query string", querier: withData, target: "/api/v2/traces?serviceName=%zz", wantCode: 400,
			wantBody: `malformed query string: invalid URL escape "%zz"`},

		// trace
		{
			name: "trace 64-bit", querier: withData, target: "/api/v2/trace/463ac35c9f6413ad", wantCode: 200,
			check: func(t *testing.T, q *querytest.Fake) {
				if !slices.Equal(q.IDs, []pcommon.TraceID{zipkinID}) || q.Within[0] != (query.TimeRange{}) {
					t.Errorf("Trace(%v, %v), want %v over all time", q.IDs, q.Within, zipkinID)
				}
			},
		},
		{name: "trace 64-bit padded to 128", querier: withData, target: "/api/v2/trace/0000000000000000463ac35c9f6413ad", wantCode: 200},
		{name: "trace upper case", querier: withData, target: "/api/v2/trace/4BF92F3577B34DA6A3CE929D0E0E4736", wantCode: 200},
		{name: "trace space after ID", querier: withData, target: "/api/v2/trace/463ac35c9f6413ad%20", wantCode: 200},
		{
			name: "trace short ID padded", querier: empty, target: "/api/v2/trace/abcd", wantCode: 404, wantBody: `000000000000abcd not found`,
			check: func(t *testing.T, q *querytest.Fake) {
				if !slices.Equal(q.IDs, []pcommon.TraceID{querytest.TraceID("0000000000000000000000000000abcd")}) {
					t.Errorf("Trace(%v)", q.IDs)
				}
			},
		},
		{name: "trace not found 128-bit", querier: empty, target: "/api/v2/trace/4bf92f3577b34da6a3ce929d0e0e4736", wantCode: 404,
			wantBody: `4bf92f3577b34da6a3ce929d0e0e4736 not found`},
		{name: "trace malformed", querier: withData, target: "/api/v2/trace/0e8b46e1-81b", wantCode: 400,
			wantBody: `invalid value "0e8b46e1-81b" for parameter "traceId": a trace ID is 1 to 32 hexadecimal characters, not all zeros`},
		{name: "trace too long", querier: withData, target: "/api/v2/trace/4bf92f3577b34da6a3ce929d0e0e47360", wantCode: 400,
			wantBody: `invalid value "4bf92f3577b34da6a3ce929d0e0e47360" for parameter "traceId": a trace ID is 1 to 32 hexadecimal characters, not all zeros`},
		{name: "trace all zeros", querier: withData, target: "/api/v2/trace/0000000000000000", wantCode: 400,
			wantBody: `invalid value "0000000000000000" for parameter "traceId": a trace ID is 1 to 32 hexadecimal characters, not all zeros`},
		{name: "trace blank", querier: withData, target: "/api/v2/trace/%20", wantCode: 400,
			wantBody: `invalid value " " for parameter "traceId": a trace ID is 1 to 32 hexadecimal characters, not all zeros`},
		{name: "trace with no spans", querier: func(*testing.T) *querytest.Fake {
			return &querytest.Fake{Traces: map[pcommon.TraceID]ptrace.Traces{otlpID: ptrace.NewTraces()}}
		}, target: "/api/v2/trace/4bf92f3577b34da6a3ce929d0e0e4736", wantCode: 404, wantBody: `4bf92f3577b34da6a3ce929d0e0e4736 not found`},

		// traceMany
		{
			name: "trace many leaves out missing traces", querier: withData, target: "/api/v2/traceMany?traceIds=abcd,463ac35c9f6413ad", wantCode: 200,
			check: func(t *testing.T, q *querytest.Fake) {
				if len(q.IDs) != 2 {
					t.Errorf("Trace called for %v", q.IDs)
				}
			},
		},
		{name: "trace many none found", querier: empty, target: "/api/v2/traceMany?traceIds=a,b", wantCode: 200, wantBody: `[]`},
		{name: "trace many missing", querier: withData, target: "/api/v2/traceMany", wantCode: 400, wantBody: `parameter "traceIds" is required`},
		{name: "trace many empty", querier: withData, target: "/api/v2/traceMany?traceIds=", wantCode: 400, wantBody: `parameter "traceIds" is empty`},
		{name: "trace many single", querier: withData, target: "/api/v2/traceMany?traceIds=463ac35c9f6413ad", wantCode: 400,
			wantBody: `parameter "traceIds" names one trace: use /api/v2/trace/{traceId} to retrieve a single trace`},
		{name: "trace many redundant", querier: withData, target: "/api/v2/traceMany?traceIds=abcd,0000abcd", wantCode: 400,
			wantBody: `invalid value "0000abcd" for parameter "traceIds": trace ID 000000000000abcd is listed more than once`},
		{name: "trace many malformed", querier: withData, target: "/api/v2/traceMany?traceIds=abcd,0e8b46e1-81b", wantCode: 400,
			wantBody: `invalid value "0e8b46e1-81b" for parameter "traceIds": a trace ID is 1 to 32 hexadecimal characters, not all zeros`},
		{name: "trace many empty element", querier: withData, target: "/api/v2/traceMany?traceIds=abcd,,ef", wantCode: 400,
			wantBody: `invalid value "" for parameter "traceIds": a trace ID is 1 to 32 hexadecimal characters, not all zeros`},
		{name: "trace many too many", querier: withData, opts: Options{MaxLimit: 2}, target: "/api/v2/traceMany?traceIds=a,b,c", wantCode: 400,
			wantBody: `parameter "traceIds" names 3 traces, at most 2 are allowed`},

		// dependencies
		{
			name: "dependencies", querier: withData, target: "/api/v2/dependencies?endTs=1714560000000&lookback=3600000", wantCode: 200,
			wantBody: `[{"parent":"frontend","child":"backend","callCount":40,"errorCount":3},{"parent":"frontend","child":"个人信息服务","callCount":2}]`,
			check: func(t *testing.T, q *querytest.Fake) {
				end := time.UnixMilli(1714560000000).UTC()
				want := query.TimeRange{Start: end.Add(-time.Hour), End: end.Add(time.Microsecond)}
				if len(q.Ranges) != 1 || !q.Ranges[0].Start.Equal(want.Start) || !q.Ranges[0].End.Equal(want.End) {
					t.Errorf("Dependencies ranges %+v, want %+v", q.Ranges, want)
				}
			},
		},
		{
			name: "dependencies default lookback", querier: withData, target: "/api/v2/dependencies?endTs=86400001", wantCode: 200,
			check: func(t *testing.T, q *querytest.Fake) {
				if len(q.Ranges) != 1 || !q.Ranges[0].Start.Equal(time.UnixMilli(1)) {
					t.Errorf("Dependencies ranges %+v, want a day back from endTs", q.Ranges)
				}
			},
		},
		{name: "dependencies none", querier: empty, target: "/api/v2/dependencies?endTs=1", wantCode: 200, wantBody: `[]`},
		{name: "dependencies without endTs", querier: withData, target: "/api/v2/dependencies?lookback=1", wantCode: 400, wantBody: `parameter "endTs" is required`},
		{name: "dependencies bad lookback", querier: withData, target: "/api/v2/dependencies?endTs=1&lookback=0", wantCode: 400,
			wantBody: `invalid value "0" for parameter "lookback": must be a positive number of milliseconds`},

		// autocomplete
		{name: "autocomplete keys none by default", querier: withData, target: "/api/v2/autocompleteKeys", wantCode: 200, wantBody: `[]`},
		{name: "autocomplete keys sorted", querier: withData, opts: autocomplete, target: "/api/v2/autocompleteKeys", wantCode: 200, wantBody: `["env","http.method"]`},
		{
			name: "autocomplete values", querier: withData, opts: autocomplete, target: "/api/v2/autocompleteValues?key=http.method",
			wantCode: 200, wantBody: `["GET","POST"]`,
			check: func(t *testing.T, q *querytest.Fake) {
				if want := []querytest.ValuesCall{{Service: "", Key: "http.method"}}; !slices.Equal(q.ValuesCalls, want) {
					t.Errorf("AttributeValues calls %+v, want %+v", q.ValuesCalls, want)
				}
			},
		},
		{name: "autocomplete values none", querier: withData, opts: autocomplete, target: "/api/v2/autocompleteValues?key=env", wantCode: 200, wantBody: `[]`},
		{
			name: "autocomplete values of an unconfigured key", querier: withData, target: "/api/v2/autocompleteValues?key=http.method",
			wantCode: 200, wantBody: `[]`,
			check: func(t *testing.T, q *querytest.Fake) {
				if len(q.Calls) != 0 {
					t.Errorf("Querier called: %v", q.Calls)
				}
			},
		},
		{name: "autocomplete values without key", querier: withData, opts: autocomplete, target: "/api/v2/autocompleteValues", wantCode: 400, wantBody: `parameter "key" is required`},

		// tenants
		{
			name: "default tenant", querier: withData, target: "/api/v2/services", wantCode: 200,
			check: func(t *testing.T, q *querytest.Fake) {
				if q.Tenant() != "single-tenant" {
					t.Errorf("tenant %q", q.Tenant())
				}
			},
		},
		{
			name: "configured default tenant", querier: withData, opts: Options{DefaultTenant: "acme"}, target: "/api/v2/services", wantCode: 200,
			check: func(t *testing.T, q *querytest.Fake) {
				if q.Tenant() != "acme" {
					t.Errorf("tenant %q", q.Tenant())
				}
			},
		},
		{name: "unknown route", querier: withData, target: "/api/v2/nope", wantCode: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := tt.querier(t)
			w := querytest.Get(t, newTestServer(q, tt.opts), tt.target)
			if w.Code != tt.wantCode {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.wantCode, w.Body)
			}
			switch {
			case w.Code == 200:
				if ct := w.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
					t.Errorf("Content-Type %q", ct)
				}
				if tt.wantBody != "" {
					if got := querytest.CompactJSON(t, w.Body.Bytes()); got != tt.wantBody {
						t.Errorf("body\n got %s\nwant %s", got, tt.wantBody)
					}
				}
			case tt.wantBody != "":
				if ct := w.Header().Get("Content-Type"); ct != "text/plain; charset=utf-8" {
					t.Errorf("Content-Type %q", ct)
				}
				if got := w.Body.String(); got != tt.wantBody {
					t.Errorf("body\n got %s\nwant %s", got, tt.wantBody)
				}
			}
			if tt.check != nil {
				tt.check(t, q)
			}
		})
	}
}

// checkQueries compares the searches the Querier received with want.
func checkQueries(t *testing.T, q *querytest.Fake, want ...query.TraceQuery) {
	t.Helper()
	got, _ := json.Marshal(q.Queries)
	w, _ := json.Marshal(want)
	if !bytes.Equal(got, w) {
		t.Errorf("queries\n got %s\nwant %s", got, w)
	}
}

func TestSearchByRemoteServiceMerges(t *testing.T) {
	// Each key finds one trace and both find the Zipkin one: the answer
	// is both traces once each, newest first.
	q := &querytest.Fake{FoundBy: func(tq query.TraceQuery) []ptrace.Traces {
		if tq.Attributes["peer.service"] != "" {
			return []ptrace.Traces{otlpTrace(), zipkinTrace(t)}
		}
		return []ptrace.Traces{zipkinTrace(t)}
	}}
	for _, tc := range []struct {
		limit string
		want  []string
	}{
		{"10", []string{"4bf92f3577b34da6a3ce929d0e0e4736", "463ac35c9f6413ad"}},
		{"1", []string{"4bf92f3577b34da6a3ce929d0e0e4736"}},
	} {
		w := querytest.Get(t, newTestServer(q, Options{}), "/api/v2/traces?remoteServiceName=inventory&limit="+tc.limit)
		var traces [][]struct {
			TraceID string `json:"traceId"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &traces); err != nil {
			t.Fatalf("%v\n%s", err, w.Body)
		}
		var ids []string
		for _, tr := range traces {
			ids = append(ids, tr[0].TraceID)
		}
		if !slices.Equal(ids, tc.want) {
			t.Errorf("limit %s: traces %v, want %v", tc.limit, ids, tc.want)
		}
	}

	// An annotationQuery naming another remote service under one key
	// leaves only the other key to search.
	q = &querytest.Fake{}
	querytest.Get(t, newTestServer(q, Options{}), "/api/v2/traces?remoteServiceName=a&annotationQuery=peer.service%3Db")
	if len(q.Queries) != 1 || q.Queries[0].Attributes["service.peer.name"] != "a" || q.Queries[0].Attributes["peer.service"] != "b" {
		t.Errorf("queries %+v", q.Queries)
	}
}

// TestRemoteServiceAttribute pins where the collector's Zipkin→OTLP
// translator keeps remoteEndpoint.serviceName, which remoteServiceKeys
// relies on.
func TestRemoteServiceAttribute(t *testing.T) {
	td := zipkinTrace(t)
	found := false
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				if s.Kind() != ptrace.SpanKindClient || s.Name() != "post /charge" {
					continue
				}
				found = true
				v, ok := s.Attributes().Get(remoteServiceKeys[0])
				if !ok || v.Str() != "backend" {
					t.Errorf("client span attributes %v, want %s=backend", s.Attributes().AsRaw(), remoteServiceKeys[0])
				}
			}
		}
	}
	if !found {
		t.Fatal("client span not found")
	}
}

func TestTenantHeader(t *testing.T) {
	tests := []struct {
		name     string
		opts     Options
		header   []string
		wantCode int
		want     string // tenant, or the error message
	}{
		{name: "header", header: []string{"X-Scope-OrgID", "acme"}, wantCode: 200, want: "acme"},
		{name: "custom header", opts: Options{TenantHeader: "X-Tenant"}, header: []string{"X-Tenant", "beta", "X-Scope-OrgID", "acme"}, wantCode: 200, want: "beta"},
		{name: "invalid", header: []string{"X-Scope-OrgID", "a/b"}, wantCode: 400,
			want: `invalid X-Scope-OrgID header: tenant ID "a/b" has a character '/' that is not allowed (use letters, digits and !_.*'()-)`},
		{name: "two values", header: []string{"X-Scope-OrgID", "a", "X-Scope-OrgID", "b"}, wantCode: 400,
			want: "invalid X-Scope-OrgID header: 2 values given, one tenant is allowed"},
		{name: "misconfigured default", opts: Options{DefaultTenant: "a b"}, wantCode: 500, want: "internal error"},
	}
	routes := []string{
		"/api/v2/services", "/api/v2/spans?serviceName=a", "/api/v2/remoteServices?serviceName=a",
		"/api/v2/traces", "/api/v2/trace/abc", "/api/v2/traceMany?traceIds=a,b",
		"/api/v2/autocompleteValues?key=k", "/api/v2/autocompleteKeys", "/api/v2/dependencies?endTs=1",
	}
	for _, tt := range tests {
		for _, route := range routes {
			t.Run(tt.name+" "+route, func(t *testing.T) {
				q := goldenQuerier(t)
				tt.opts.AutocompleteKeys = []string{"k"}
				w := querytest.Get(t, newTestServer(q, tt.opts), route, tt.header...)
				if w.Code == 404 && tt.wantCode == 200 && strings.HasPrefix(route, "/api/v2/trace/") {
					w.Code = 200 // the trace does not exist; the tenant is what counts
				}
				if w.Code != tt.wantCode {
					t.Fatalf("status %d, want %d: %s", w.Code, tt.wantCode, w.Body)
				}
				if tt.wantCode == 200 {
					if len(q.Calls) > 0 && q.Tenant() != tt.want {
						t.Errorf("tenant %q, want %q", q.Tenant(), tt.want)
					}
					return
				}
				if got := w.Body.String(); got != tt.want {
					t.Errorf("body %q, want %q", got, tt.want)
				}
				if len(q.Calls) != 0 {
					t.Errorf("Querier called with a bad tenant: %v", q.Calls)
				}
			})
		}
	}
}

func TestErrors(t *testing.T) {
	routes := []string{
		"/api/v2/services", "/api/v2/spans?serviceName=a", "/api/v2/remoteServices?serviceName=a",
		"/api/v2/traces", "/api/v2/traces?remoteServiceName=a", "/api/v2/trace/abc",
		"/api/v2/traceMany?traceIds=a,b", "/api/v2/autocompleteValues?key=k",
	}
	secret := errors.New("s3://bucket/secret/key: connection refused")
	tests := []struct {
		name     string
		err      error
		wantCode int
		wantBody string
		wantLog  string
	}{
		{"unavailable", fmt.Errorf("read block: %w: %w", query.ErrUnavailable, secret), 503, httpquery.MsgUnavailable, "WARN"},
		{"deadline", fmt.Errorf("read block: %w", context.DeadlineExceeded), 503, httpquery.MsgUnavailable, "WARN"},
		{"unexpected", secret, 500, httpquery.MsgInternal, "ERROR"},
	}
	for _, tt := range tests {
		for _, route := range routes {
			t.Run(tt.name+" "+route, func(t *testing.T) {
				var logs bytes.Buffer
				log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
				q := &querytest.Fake{Err: tt.err}
				w := querytest.Get(t, newTestServer(q, Options{Logger: log, AutocompleteKeys: []string{"k"}}), route)
				if w.Code != tt.wantCode || w.Body.String() != tt.wantBody {
					t.Errorf("got %d %q, want %d %q", w.Code, w.Body, tt.wantCode, tt.wantBody)
				}
				if strings.Contains(w.Body.String(), "secret") {
					t.Errorf("internal error leaked: %s", w.Body)
				}
				if !strings.Contains(logs.String(), tt.wantLog) || !strings.Contains(logs.String(), tt.err.Error()) {
					t.Errorf("log %q does not record the %s error", logs.String(), tt.wantLog)
				}
			})
		}
	}
}

// TestClientGone checks that nothing is written for a request whose
// client has gone, however the Querier reports it.
func TestClientGone(t *testing.T) {
	for _, qerr := range []error{context.Canceled, query.ErrUnavailable, errors.New("boom")} {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		q := &querytest.Fake{Err: qerr}
		r := httptest.NewRequest(http.MethodGet, "/api/v2/services", nil).WithContext(ctx)
		w := httptest.NewRecorder()
		newTestServer(q, Options{}).ServeHTTP(w, r)
		if w.Body.Len() != 0 || w.Header().Get("Content-Type") != "" {
			t.Errorf("%v: wrote %d %q to a client that is gone", qerr, w.Code, w.Body)
		}
	}
}

func TestOptions(t *testing.T) {
	if err := (Options{}).Validate(); err != nil {
		t.Errorf("zero options: %v", err)
	}
	if err := (Options{DefaultTenant: "a/b"}).Validate(); err == nil {
		t.Error("bad default tenant accepted")
	}
	if err := (Options{AutocompleteKeys: []string{"a", ""}}).Validate(); err == nil {
		t.Error("empty autocomplete key accepted")
	}
	keys := []string{"b", "a", "b"}
	a := New(&querytest.Fake{}, Options{AutocompleteKeys: keys})
	keys[0] = "z"
	if !slices.Equal(a.opts.AutocompleteKeys, []string{"a", "b"}) {
		t.Errorf("autocomplete keys %v, want a private sorted copy", a.opts.AutocompleteKeys)
	}
	if a.opts.MaxLimit != DefaultMaxLimit || a.opts.TenantHeader != DefaultTenantHeader {
		t.Errorf("defaults %+v", a.opts)
	}
}

// TestServer runs real HTTP round trips, with a non-ASCII service name in
// the query and in the answer.
func TestServer(t *testing.T) {
	q := goldenQuerier(t)
	q.ServiceNames = []string{"个人信息服务"}
	q.Ops = sampleOps
	srv := httptest.NewServer(newTestServer(q, Options{}))
	defer srv.Close()
	client := srv.Client()

	res, err := client.Get(srv.URL + "/api/v2/services")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	err = json.NewDecoder(res.Body).Decode(&names)
	res.Body.Close()
	if err != nil || !slices.Equal(names, []string{"个人信息服务"}) {
		t.Errorf("services %v, %v", names, err)
	}

	res, err = client.Get(srv.URL + "/api/v2/spans?serviceName=个人信息服务")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if want := []querytest.OperationsCall{{Service: "个人信息服务"}}; res.StatusCode != 200 || !slices.Equal(q.OperationsCalls, want) {
		t.Errorf("status %d, Operations calls %+v", res.StatusCode, q.OperationsCalls)
	}

	res, err = client.Get(srv.URL + "/api/v2/trace/463ac35c9f6413ad")
	if err != nil {
		t.Fatal(err)
	}
	var spans []map[string]any
	err = json.NewDecoder(res.Body).Decode(&spans)
	res.Body.Close()
	if err != nil || len(spans) != 7 {
		t.Fatalf("trace: %v, %d spans", err, len(spans))
	}
	var consumer string
	for _, s := range spans {
		if s["kind"] == "CONSUMER" {
			consumer = s["localEndpoint"].(map[string]any)["serviceName"].(string)
		}
	}
	if consumer != "个人信息服务" {
		t.Errorf("consumer service %q", consumer)
	}

	res, err = client.Head(srv.URL + "/api/v2/services")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("HEAD status %d", res.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/v2/traces", nil)
	res, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST status %d, want 405", res.StatusCode)
	}
}
