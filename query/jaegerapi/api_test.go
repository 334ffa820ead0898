package jaegerapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

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
}

func TestRoutes(t *testing.T) {
	withData := func() *querytest.Fake {
		q := goldenQuerier()
		q.ServiceNames = []string{"backend", "frontend", "日本"}
		q.Ops = sampleOps
		return q
	}
	tests := []struct {
		name     string
		querier  func() *querytest.Fake
		target   string
		wantCode int
		wantBody string // compact JSON; empty skips the check
		check    func(t *testing.T, q *querytest.Fake)
	}{
		{
			name: "v1 services", querier: withData, target: "/api/services",
			wantCode: 200, wantBody: `{"data":["backend","frontend","日本"],"total":3,"limit":0,"offset":0,"errors":null}`,
		},
		{
			name: "v1 services none", querier: func() *querytest.Fake { return &querytest.Fake{} }, target: "/api/services",
			wantCode: 200, wantBody: `{"data":[],"total":0,"limit":0,"offset":0,"errors":null}`,
		},
		{
			name: "v1 service operations", querier: withData, target: "/api/services/frontend/operations",
			wantCode: 200, wantBody: `{"data":["GET /checkout","SELECT orders"],"total":2,"limit":0,"offset":0,"errors":null}`,
			check: func(t *testing.T, q *querytest.Fake) {
				if want := []querytest.OperationsCall{{Service: "frontend", SpanKind: ""}}; !slices.Equal(q.OperationsCalls, want) {
					t.Errorf("Operations calls %+v, want all kinds of frontend", q.OperationsCalls)
				}
			},
		},
		{
			name: "v1 service operations escaped name", querier: withData, target: "/api/services/a%2Fb%20%E6%97%A5/operations",
			wantCode: 200,
			check: func(t *testing.T, q *querytest.Fake) {
				if len(q.OperationsCalls) != 1 || q.OperationsCalls[0].Service != "a/b 日" {
					t.Errorf("Operations calls %+v, want service %q", q.OperationsCalls, "a/b 日")
				}
			},
		},
		{
			name: "v1 service operations none", querier: func() *querytest.Fake { return &querytest.Fake{} }, target: "/api/services/x/operations",
			wantCode: 200, wantBody: `{"data":[],"total":0,"limit":0,"offset":0,"errors":null}`,
		},
		{
			name: "v1 operations", querier: withData, target: "/api/operations?service=frontend",
			wantCode: 200,
			wantBody: `{"data":[{"name":"GET /checkout","spanKind":"client"},{"name":"GET /checkout","spanKind":"server"},` +
				`{"name":"SELECT orders","spanKind":""}],"total":3,"limit":0,"offset":0,"errors":null}`,
		},
		{
			name: "v1 operations by kind", querier: withData, target: "/api/operations?service=frontend&spanKind=server",
			wantCode: 200, wantBody: `{"data":[{"name":"GET /checkout","spanKind":"server"}],"total":1,"limit":0,"offset":0,"errors":null}`,
			check: func(t *testing.T, q *querytest.Fake) {
				if len(q.OperationsCalls) != 1 || q.OperationsCalls[0].SpanKind != "server" {
					t.Errorf("Operations calls %+v, want kind server", q.OperationsCalls)
				}
			},
		},
		{
			name: "v1 operations without service", querier: withData, target: "/api/operations",
			wantCode: 400, wantBody: `{"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":400,"msg":"parameter \"service\" is required"}]}`,
		},
		{
			name: "v1 operations bad kind", querier: withData, target: "/api/operations?service=a&spanKind=SERVER",
			wantCode: 400,
			wantBody: `{"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":400,"msg":"invalid value \"SERVER\" for parameter \"spanKind\": must be one of server, client, producer, consumer, internal"}]}`,
		},
		{
			name: "v1 trace short ID padded", querier: withData, target: "/api/traces/ABCD",
			wantCode: 200,
			check: func(t *testing.T, q *querytest.Fake) {
				if len(q.IDs) != 1 || q.IDs[0] != shortID {
					t.Errorf("asked for %v, want %v", q.IDs, shortID)
				}
				if q.Within[0] != (query.TimeRange{}) {
					t.Errorf("within %+v, want unbounded", q.Within[0])
				}
			},
		},
		{
			name: "v1 trace unknown", querier: withData, target: "/api/traces/0123456789abcdef",
			wantCode: 404, wantBody: `{"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":404,"msg":"trace not found"}]}`,
		},
		{
			name: "v1 trace without spans", target: "/api/traces/1",
			querier: func() *querytest.Fake {
				return &querytest.Fake{Traces: map[pcommon.TraceID]ptrace.Traces{querytest.TraceID("00000000000000000000000000000001"): ptrace.NewTraces()}}
			},
			wantCode: 404, wantBody: `{"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":404,"msg":"trace not found"}]}`,
		},
		{
			name: "v1 trace malformed", querier: withData, target: "/api/traces/xyz",
			wantCode: 400,
			wantBody: `{"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":400,"msg":"invalid value \"xyz\" for parameter \"traceID\": a trace ID is 1 to 32 hexadecimal characters"}]}`,
		},
		{
			name: "v1 trace too long", querier: withData, target: "/api/traces/" + strings.Repeat("a", 33),
			wantCode: 400,
		},
		{
			name: "v1 trace pretty", querier: func() *querytest.Fake { return &querytest.Fake{ServiceNames: []string{"a"}} }, target: "/api/services?prettyPrint=true",
			wantCode: 200, wantBody: `{"data":["a"],"total":1,"limit":0,"offset":0,"errors":null}`,
		},
		{
			name: "v1 search empty", querier: func() *querytest.Fake { return &querytest.Fake{} }, target: "/api/traces?service=x",
			wantCode: 200, wantBody: `{"data":[],"total":0,"limit":0,"offset":0,"errors":null}`,
		},
		{
			name: "v1 search all IDs missing", querier: func() *querytest.Fake { return &querytest.Fake{} }, target: "/api/traces?traceID=1&traceID=00000000000000000000000000000001",
			wantCode: 200, wantBody: `{"data":[],"total":0,"limit":0,"offset":0,"errors":[{"msg":"trace not found","traceID":"0000000000000001"}]}`,
			check: func(t *testing.T, q *querytest.Fake) {
				if len(q.IDs) != 1 {
					t.Errorf("duplicate IDs looked up %d times", len(q.IDs))
				}
			},
		},
		{
			name: "v3 services", querier: withData, target: "/api/v3/services",
			wantCode: 200, wantBody: `{"services":["backend","frontend","日本"]}`,
		},
		{
			name: "v3 services none", querier: func() *querytest.Fake { return &querytest.Fake{} }, target: "/api/v3/services",
			wantCode: 200, wantBody: `{"services":[]}`,
		},
		{
			name: "v3 operations", querier: withData, target: "/api/v3/operations?service=frontend",
			wantCode: 200,
			wantBody: `{"operations":[{"name":"GET /checkout","spanKind":"client"},{"name":"GET /checkout","spanKind":"server"},` +
				`{"name":"SELECT orders","spanKind":"internal"}]}`,
		},
		{
			name: "v3 operations span_kind alias", querier: withData, target: "/api/v3/operations?service=frontend&span_kind=client",
			wantCode: 200, wantBody: `{"operations":[{"name":"GET /checkout","spanKind":"client"}]}`,
		},
		{
			name: "v3 operations spanKind wins", querier: withData, target: "/api/v3/operations?service=frontend&span_kind=client&spanKind=server",
			wantCode: 200, wantBody: `{"operations":[{"name":"GET /checkout","spanKind":"server"}]}`,
		},
		{
			name: "v3 operations none", querier: func() *querytest.Fake { return &querytest.Fake{} }, target: "/api/v3/operations?service=x",
			wantCode: 200, wantBody: `{"operations":[]}`,
		},
		{
			name: "v3 operations without service", querier: withData, target: "/api/v3/operations",
			wantCode: 400, wantBody: `{"error":{"httpCode":400,"message":"parameter \"service\" is required"}}`,
		},
		{
			name: "v3 operations bad kind", querier: withData, target: "/api/v3/operations?service=a&span_kind=unspecified",
			wantCode: 400, wantBody: `{"error":{"httpCode":400,"message":"invalid value \"unspecified\" for parameter \"span_kind\": must be one of server, client, producer, consumer, internal"}}`,
		},
		{
			name: "v3 trace unknown", querier: withData, target: "/api/v3/traces/0123456789abcdef",
			wantCode: 404, wantBody: `{"error":{"httpCode":404,"message":"No traces found"}}`,
		},
		{
			name: "v3 trace malformed", querier: withData, target: "/api/v3/traces/0x12",
			wantCode: 400, wantBody: `{"error":{"httpCode":400,"message":"invalid value \"0x12\" for parameter \"trace_id\": a trace ID is 1 to 32 hexadecimal characters"}}`,
		},
		{
			name: "v3 find none", querier: func() *querytest.Fake { return &querytest.Fake{} }, target: "/api/v3/traces?" + v3Window,
			wantCode: 404, wantBody: `{"error":{"httpCode":404,"message":"No traces found"}}`,
		},
		{
			name: "v3 find only empty traces", querier: func() *querytest.Fake { return &querytest.Fake{Found: []ptrace.Traces{ptrace.NewTraces()}} },
			target: "/api/v3/traces?" + v3Window, wantCode: 404, wantBody: `{"error":{"httpCode":404,"message":"No traces found"}}`,
		},
		{
			name: "v3 summaries none", querier: func() *querytest.Fake { return &querytest.Fake{} }, target: "/api/v3/trace-summaries?" + v3Window,
			wantCode: 200, wantBody: `{"summaries":[]}`,
		},
		{
			name: "v3 summaries bad query", querier: withData, target: "/api/v3/trace-summaries",
			wantCode: 400, wantBody: `{"error":{"httpCode":400,"message":"parameters \"query.startTimeMin\" and \"query.startTimeMax\" are required"}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := tt.querier()
			w := querytest.Get(t, newTestServer(q, Options{}), tt.target)
			if w.Code != tt.wantCode {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.wantCode, w.Body)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if tt.wantBody != "" {
				if got := querytest.CompactJSON(t, w.Body.Bytes()); got != tt.wantBody {
					t.Errorf("body\n got %s\nwant %s", got, tt.wantBody)
				}
			}
			if tt.check != nil {
				tt.check(t, q)
			}
		})
	}
}

func TestPrettyPrint(t *testing.T) {
	h := newTestServer(&querytest.Fake{ServiceNames: []string{"a"}}, Options{})
	w := querytest.Get(t, h, "/api/services?prettyPrint=1")
	if !strings.Contains(w.Body.String(), "\n    \"data\"") {
		t.Errorf("not indented with 4 spaces:\n%s", w.Body)
	}
	w = querytest.Get(t, h, "/api/services?prettyPrint=false")
	if strings.Contains(w.Body.String(), "\n") {
		t.Errorf("indented although prettyPrint=false:\n%s", w.Body)
	}
}

func TestMethodNotAllowed(t *testing.T) {
	h := newTestServer(&querytest.Fake{}, Options{})
	for _, target := range []string{"/api/services", "/api/traces", "/api/v3/traces", "/api/v3/trace-summaries"} {
		r := newRequest(http.MethodPost, target)
		w := recorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusMethodNotAllowed {
			t.Errorf("POST %s: status %d, want 405", target, w.Code)
		}
	}
}

func TestTenant(t *testing.T) {
	tests := []struct {
		name       string
		opts       Options
		header     []string
		wantCode   int
		wantTenant string
		wantMsg    string
	}{
		{name: "default", wantCode: 200, wantTenant: "single-tenant"},
		{name: "configured default", opts: Options{DefaultTenant: "acme"}, wantCode: 200, wantTenant: "acme"},
		{name: "header", header: []string{"X-Scope-OrgID", "team-a"}, wantCode: 200, wantTenant: "team-a"},
		{name: "header any case", header: []string{"x-scope-orgid", "team-b"}, wantCode: 200, wantTenant: "team-b"},
		{name: "custom header", opts: Options{TenantHeader: "X-Tenant"}, header: []string{"X-Tenant", "t1"}, wantCode: 200, wantTenant: "t1"},
		{name: "custom header ignores default one", opts: Options{TenantHeader: "X-Tenant"}, header: []string{"X-Scope-OrgID", "t1"}, wantCode: 200, wantTenant: "single-tenant"},
		{name: "invalid", header: []string{"X-Scope-OrgID", "../etc"}, wantCode: 400, wantMsg: "X-Scope-OrgID"},
		{name: "empty", header: []string{"X-Scope-OrgID", ""}, wantCode: 400, wantMsg: "X-Scope-OrgID"},
		{name: "two values", header: []string{"X-Scope-OrgID", "a", "X-Scope-OrgID", "b"}, wantCode: 400, wantMsg: "X-Scope-OrgID"},
		{name: "misconfigured default", opts: Options{DefaultTenant: "a/b"}, wantCode: 500, wantMsg: "internal error"},
	}
	targets := []string{
		"/api/services", "/api/services/s/operations", "/api/operations?service=s", "/api/traces?service=s",
		"/api/traces/4bf92f3577b34da6a3ce929d0e0e4736",
		"/api/dependencies", "/api/metrics/calls?service=s", "/api/metrics/latencies?service=s&quantile=0.5",
		"/api/v3/services", "/api/v3/operations?service=s", "/api/v3/traces?" + v3Window,
		"/api/v3/traces/4bf92f3577b34da6a3ce929d0e0e4736", "/api/v3/trace-summaries?" + v3Window,
	}
	for _, tt := range tests {
		for _, target := range targets {
			t.Run(tt.name+" "+target, func(t *testing.T) {
				q := goldenQuerier()
				w := querytest.Get(t, newTestServer(q, tt.opts), target, tt.header...)
				if w.Code != tt.wantCode {
					t.Fatalf("status %d, want %d: %s", w.Code, tt.wantCode, w.Body)
				}
				if tt.wantCode == 200 && q.Tenant() != tt.wantTenant {
					t.Errorf("tenant %q, want %q", q.Tenant(), tt.wantTenant)
				}
				if tt.wantCode != 200 {
					if len(q.Calls) != 0 {
						t.Errorf("querier called %v for a rejected request", q.Calls)
					}
					if !strings.Contains(w.Body.String(), tt.wantMsg) {
						t.Errorf("body %s does not mention %q", w.Body, tt.wantMsg)
					}
				}
			})
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	if err := (Options{}).Validate(); err != nil {
		t.Errorf("zero Options: %v", err)
	}
	if err := (Options{DefaultTenant: ".."}).Validate(); err == nil {
		t.Error("invalid default tenant accepted")
	}
	o := (Options{DefaultLimit: 5000, MaxLimit: 10}).withDefaults()
	if o.DefaultLimit != 10 {
		t.Errorf("DefaultLimit %d above MaxLimit 10", o.DefaultLimit)
	}
}

// TestErrors checks the one error mapping on every route of both APIs.
func TestErrors(t *testing.T) {
	secret := errors.New("s3://bucket-7/secret-key: connection reset")
	tests := []struct {
		name      string
		err       error
		wantCode  int
		wantMsg   string // message in the body; "" means no body at all
		wantLog   string // level of the log line, "" for none
		v3Message string // when api_v3 says it differently
	}{
		{"not found", fmt.Errorf("lookup: %w", query.ErrNotFound), 404, "trace not found", "", "No traces found"},
		{"unavailable", fmt.Errorf("read block: %w: %w", query.ErrUnavailable, secret), 503, httpquery.MsgUnavailable, "WARN", ""},
		{"deadline", fmt.Errorf("scan: %w", context.DeadlineExceeded), 503, httpquery.MsgUnavailable, "WARN", ""},
		{"canceled", fmt.Errorf("scan: %w", context.Canceled), 0, "", "DEBUG", ""},
		{"other", secret, 500, httpquery.MsgInternal, "ERROR", ""},
	}
	targets := []string{
		"/api/services", "/api/services/s/operations", "/api/operations?service=s", "/api/traces?service=s",
		"/api/traces?traceID=1", "/api/traces/1",
		"/api/dependencies", "/api/metrics/errors?service=s",
		"/api/v3/services", "/api/v3/operations?service=s", "/api/v3/traces?" + v3Window,
		"/api/v3/traces/1", "/api/v3/trace-summaries?" + v3Window,
	}
	for _, tt := range tests {
		for _, target := range targets {
			t.Run(tt.name+" "+target, func(t *testing.T) {
				if tt.name == "not found" && target == "/api/traces?traceID=1" {
					t.Skip("a missing trace among traceID= is reported in errors with 200")
				}
				var logs bytes.Buffer
				logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
				w := querytest.Get(t, newTestServer(&querytest.Fake{Err: tt.err}, Options{Logger: logger}), target)
				if tt.wantCode == 0 {
					if w.Body.Len() != 0 || w.Header().Get("Content-Type") != "" {
						t.Errorf("wrote %d %q to a client that went away", w.Code, w.Body)
					}
				} else {
					if w.Code != tt.wantCode {
						t.Fatalf("status %d, want %d: %s", w.Code, tt.wantCode, w.Body)
					}
					msg := tt.wantMsg
					if strings.HasPrefix(target, "/api/v3/") && tt.v3Message != "" {
						msg = tt.v3Message
					}
					var want string
					if strings.HasPrefix(target, "/api/v3/") {
						want = fmt.Sprintf(`{"error":{"httpCode":%d,"message":%q}}`, tt.wantCode, msg)
					} else {
						want = fmt.Sprintf(`{"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":%d,"msg":%q}]}`, tt.wantCode, msg)
					}
					if got := querytest.CompactJSON(t, w.Body.Bytes()); got != want {
						t.Errorf("body\n got %s\nwant %s", got, want)
					}
				}
				if strings.Contains(w.Body.String(), "secret") {
					t.Errorf("internal error text leaked to the client: %s", w.Body)
				}
				switch {
				case tt.wantLog == "" && logs.Len() != 0:
					t.Errorf("unexpected log: %s", logs.String())
				case tt.wantLog != "" && !strings.Contains(logs.String(), "level="+tt.wantLog):
					t.Errorf("log %q, want a %s line", logs.String(), tt.wantLog)
				case tt.wantLog == "ERROR" && !strings.Contains(logs.String(), "secret-key"):
					t.Errorf("log %q does not carry the real error", logs.String())
				}
			})
		}
	}
}

// TestClientGone checks that a cancelled request context suppresses the
// answer even when the Querier reports something else.
func TestClientGone(t *testing.T) {
	h := newTestServer(&querytest.Fake{Err: fmt.Errorf("wrapped: %w", query.ErrUnavailable)}, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := newRequest(http.MethodGet, "/api/services").WithContext(ctx)
	w := recorder()
	h.ServeHTTP(w, r)
	if w.Body.Len() != 0 {
		t.Errorf("wrote %q to a client that went away", w.Body)
	}
}

func newRequest(method, target string) *http.Request {
	return httptest.NewRequest(method, target, nil)
}

func recorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

// A search's next page: the cursor goes to the Querier as given, and the
// next one comes back in the envelope (classic API) or a header (api_v3).
func TestCursor(t *testing.T) {
	q := &querytest.Fake{NextCursor: "next-page", Found: []ptrace.Traces{shortTrace()}}
	h := newTestServer(q, Options{})
	w := querytest.Get(t, h, "/api/traces?service=s&cursor=abc")
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"nextCursor":"next-page"`) {
		t.Fatalf("v1: %d %s", w.Code, w.Body.String())
	}
	w = querytest.Get(t, h, "/api/v3/traces?query.start_time_min=2026-11-21T08:00:00Z&query.start_time_max=2026-11-21T09:00:00Z&query.cursor=def")
	if w.Code != 200 || w.Header().Get(HeaderNextCursor) != "next-page" {
		t.Fatalf("v3: %d %q", w.Code, w.Header().Get(HeaderNextCursor))
	}
	if len(q.Queries) != 2 || q.Queries[0].Cursor != "abc" || q.Queries[1].Cursor != "def" {
		t.Fatalf("queries %+v", q.Queries)
	}
	q.Err = fmt.Errorf("%w: no", query.ErrBadCursor)
	if w := querytest.Get(t, h, "/api/traces?service=s&cursor=zzz"); w.Code != 400 || !strings.Contains(w.Body.String(), "invalid cursor") {
		t.Fatalf("bad cursor: %d %s", w.Code, w.Body.String())
	}
}
