package plugins_test

import (
	"context"
	"fmt"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracelake/tracelake/wasm/abi"
	"github.com/tracelake/tracelake/wasm/host"
)

// Smoke tests of the other Go example plugins, built to WebAssembly and
// run by the host with the configuration their README shows: one check of
// each that the build does what the plugin is for. Their native tests
// (package main, sdktest) cover the logic in depth.

// named is a span for namedTraces: its name identifies it afterwards.
type named struct {
	name    string
	service string
	traceID pcommon.TraceID
	set     func(ptrace.Span) // attributes, status, duration…
}

// namedTraces puts each span in a resource of its service (one resource
// per service, in order of first appearance).
func namedTraces(spans ...named) ptrace.Traces {
	td := ptrace.NewTraces()
	scopes := map[string]ptrace.SpanSlice{}
	start := time.Unix(1700000000, 0)
	for i, sp := range spans {
		ss, ok := scopes[sp.service]
		if !ok {
			rs := td.ResourceSpans().AppendEmpty()
			rs.Resource().Attributes().PutStr("service.name", sp.service)
			ss = rs.ScopeSpans().AppendEmpty().Spans()
			scopes[sp.service] = ss
		}
		s := ss.AppendEmpty()
		s.SetName(sp.name)
		s.SetTraceID(sp.traceID)
		s.SetSpanID(spanID(i))
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Millisecond)))
		if sp.set != nil {
			sp.set(s)
		}
	}
	return td
}

func spansByName(td ptrace.Traces) map[string]ptrace.Span {
	out := map[string]ptrace.Span{}
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				out[s.Name()] = s
			}
		}
	}
	return out
}

// checkKept checks which of the spans named in want are left.
func checkKept(t *testing.T, td ptrace.Traces, want map[string]bool) map[string]ptrace.Span {
	t.Helper()
	got := spansByName(td)
	for name, keep := range want {
		if _, ok := got[name]; ok != keep {
			t.Errorf("span %s: kept %v, want %v", name, ok, keep)
		}
	}
	return got
}

func withDuration(d time.Duration) func(ptrace.Span) {
	return func(s ptrace.Span) { s.SetEndTimestamp(s.StartTimestamp() + pcommon.Timestamp(d)) }
}

// TestErrorsSlow: error and slow spans are kept (unedited) from a trace
// the percentage drops, whose ordinary spans go; an ordinary span of a
// trace the percentage keeps gets its threshold.
func TestErrorsSlow(t *testing.T) {
	t.Parallel()
	pl := load(t, "errors-slow", goPlugins["errors-slow"], `{"min_duration_ms": 500, "percent": 5}`)
	if f := pl.Features(); f != 0 {
		t.Errorf("features %#x, want 0", f)
	}
	dropped := pcommon.TraceID{0: 1, 15: 1}                                        // R = 1: below 5 %'s threshold (f3333…)
	kept := pcommon.TraceID{0: 2, 9: 0xff, 10: 0xff, 11: 0xff, 12: 0xff, 15: 0xff} // R = ffffffff0000ff
	td := namedTraces(
		named{name: "error", service: "checkout", traceID: dropped, set: func(s ptrace.Span) {
			s.Status().SetCode(ptrace.StatusCodeError)
			s.TraceState().FromRaw("vendor=x")
		}},
		named{name: "slow", service: "checkout", traceID: dropped, set: withDuration(600 * time.Millisecond)},
		named{name: "almost-slow", service: "checkout", traceID: dropped, set: withDuration(499 * time.Millisecond)},
		named{name: "ok-status", service: "checkout", traceID: dropped, set: func(s ptrace.Span) { s.Status().SetCode(ptrace.StatusCodeOk) }},
		named{name: "sampled", service: "checkout", traceID: kept},
	)
	st := process(t, pl, td)
	got := checkKept(t, td, map[string]bool{"error": true, "slow": true, "almost-slow": false, "ok-status": false, "sampled": true})
	if st.Kept != 3 || st.Dropped != 2 {
		t.Errorf("stats %+v", st)
	}
	if s, ok := got["error"]; ok && s.TraceState().AsRaw() != "vendor=x" {
		t.Errorf("error span's trace state %q; kept with probability 1, it must not change", s.TraceState().AsRaw())
	}
	if s, ok := got["slow"]; ok && s.TraceState().AsRaw() != "" {
		t.Errorf("slow span's trace state %q, want none", s.TraceState().AsRaw())
	}
	if s, ok := got["sampled"]; ok && s.TraceState().AsRaw() != "ot=th:f3333" {
		t.Errorf("sampled span's trace state %q, want ot=th:f3333", s.TraceState().AsRaw())
	}
}

// TestAttributeRules: /health and /ready… spans go, unless they failed;
// look-alikes and other spans stay.
func TestAttributeRules(t *testing.T) {
	t.Parallel()
	pl := load(t, "attribute-rules", goPlugins["attribute-rules"], `{
  "drop": [
    {"attribute": "http.route", "equals": "/health"},
    {"attribute": "url.path", "prefix": "/ready"}
  ],
  "keep_if_error": true
}`)
	if f := pl.Features(); f != abi.FeatureSpanAttributes {
		t.Errorf("features %#x, want span attributes", f)
	}
	attr := func(k, v string) func(ptrace.Span) { return func(s ptrace.Span) { s.Attributes().PutStr(k, v) } }
	td := namedTraces(
		named{name: "health", service: "checkout", set: attr("http.route", "/health")},
		named{name: "healthz", service: "checkout", set: attr("http.route", "/healthz")},
		named{name: "readyz", service: "cart", set: attr("url.path", "/readyz")},
		named{name: "not-ready", service: "cart", set: attr("url.path", "/api/ready")},
		named{name: "orders", service: "cart", set: attr("http.route", "/orders")},
		named{name: "health-failed", service: "cart", set: func(s ptrace.Span) {
			s.Attributes().PutStr("http.route", "/health")
			s.Status().SetCode(ptrace.StatusCodeError)
		}},
		named{name: "route-as-resource", service: "checkout"},
	)
	// A resource attribute is not a span attribute: no rule sees it.
	td.ResourceSpans().At(0).Resource().Attributes().PutStr("http.route", "/health")
	st := process(t, pl, td)
	checkKept(t, td, map[string]bool{"health": false, "healthz": true, "readyz": false, "not-ready": true,
		"orders": true, "health-failed": true, "route-as-resource": true})
	if st.Dropped != 2 || st.Edits != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestPIIRedaction: an address, a card number, a bearer token, a denied
// key and an authorization header are redacted; the allowed http.route
// and values with nothing to find are left alone.
func TestPIIRedaction(t *testing.T) {
	t.Parallel()
	pl := load(t, "pii-redaction", goPlugins["pii-redaction"], `{
  "replacement": "[REDACTED]",
  "keys": {"allow": ["http.route"], "deny": ["enduser.id"]},
  "detect": ["email", "card", "bearer"]
}`)
	if f := pl.Features(); f != abi.FeatureSpanAttributes {
		t.Errorf("features %#x, want span attributes", f)
	}
	td := namedTraces(named{name: "GET /users", service: "checkout", set: func(s ptrace.Span) {
		a := s.Attributes()
		a.PutStr("user.contact", "mail bob@example.com today")
		a.PutStr("http.route", "/users/bob@example.com")
		a.PutInt("enduser.id", 42)
		a.PutStr("http.request.header.authorization", "Basic dXNlcjpwYXNz")
		a.PutStr("payment", "card 4111 1111 1111 1111 ok")
		a.PutStr("upstream", "sent Bearer abcdefgh12345678")
		a.PutStr("plain", "nothing to see, user@host")
		a.PutInt("count", 7)
	}})
	td.ResourceSpans().At(0).Resource().Attributes().PutStr("owner", "alice@example.com")
	st := process(t, pl, td)
	if st.Kept != 1 || st.Edits != 5 {
		t.Errorf("stats %+v, want 1 kept and 5 edits", st)
	}
	s, ok := spansByName(td)["GET /users"]
	if !ok {
		t.Fatal("the span was dropped")
	}
	want := map[string]any{
		"user.contact":                      "mail [REDACTED] today",
		"http.route":                        "/users/bob@example.com",
		"enduser.id":                        "[REDACTED]",
		"http.request.header.authorization": "[REDACTED]",
		"payment":                           "card [REDACTED] ok",
		"upstream":                          "sent Bearer [REDACTED]",
		"plain":                             "nothing to see, user@host",
		"count":                             int64(7),
	}
	if got := s.Attributes().AsRaw(); !reflect.DeepEqual(got, want) {
		t.Errorf("attributes\n got %v\nwant %v", got, want)
	}
	if v, _ := td.ResourceSpans().At(0).Resource().Attributes().Get("owner"); v.Str() != "alice@example.com" {
		t.Errorf("resource attribute changed to %q: the ABI cannot edit them", v.Str())
	}
}

// TestRateLimit: with the host's clock fixed, each service keeps its
// burst — the first spans in batch order — and no more, until the clock
// moves and its rate refills the bucket.
func TestRateLimit(t *testing.T) {
	t.Parallel()
	var now atomic.Int64
	now.Store(time.Unix(1700000000, 0).UnixNano())
	l, err := host.NewLoader(host.LoaderConfig{CacheDir: cacheDir, Now: func() time.Time { return time.Unix(0, now.Load()) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close(context.Background()) })
	// One instance: buckets are per instance.
	pl, err := loadWith(t, l, "rate-limit", goPlugins["rate-limit"],
		`{"spans_per_second": 100, "burst": 200, "per_service": {"checkout": 50, "cart": {"spans_per_second": 10, "burst": 40}}}`,
		func(c *host.Config) { c.MaxInstances = 1 })
	if err != nil {
		t.Fatal(err)
	}
	if f := pl.Features(); f != 0 {
		t.Errorf("features %#x, want 0", f)
	}
	request := func() ptrace.Traces {
		var spans []named
		for _, svc := range []struct {
			name string
			n    int
		}{{"checkout", 120}, {"cart", 60}, {"search", 250}} {
			for i := range svc.n {
				spans = append(spans, named{name: fmt.Sprintf("%s-%03d", svc.name, i), service: svc.name})
			}
		}
		return namedTraces(spans...)
	}
	// check: service's spans [0, n) are kept, the rest dropped.
	check := func(step string, td ptrace.Traces, want map[string]int) {
		t.Helper()
		got := spansByName(td)
		total := 0
		for svc, n := range want {
			total += n
			for i := range n {
				if _, ok := got[fmt.Sprintf("%s-%03d", svc, i)]; !ok {
					t.Errorf("%s: %s span %d dropped; want the first %d kept", step, svc, i, n)
					break
				}
			}
		}
		if len(got) != total {
			t.Errorf("%s: kept %d spans, want %d (%v)", step, len(got), total, want)
		}
	}

	td := request()
	process(t, pl, td)
	check("first request", td, map[string]int{"checkout": 50, "cart": 40, "search": 200})

	td = request() // the same instant: the buckets are empty
	process(t, pl, td)
	check("same instant", td, map[string]int{})

	now.Add(int64(time.Second))
	td = request()
	process(t, pl, td)
	check("a second later", td, map[string]int{"checkout": 50, "cart": 10, "search": 100})
}
