package jaegerapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracelake/tracelake/query"
	"github.com/tracelake/tracelake/query/httpquery"
	"github.com/tracelake/tracelake/query/querytest"
)

var fuzzSeeds = []string{
	"",
	"service=frontend&operation=GET+%2F&limit=20&start=1714550400000000&end=1714554000000000",
	"service=a&lookback=2d&minDuration=1.2ms&maxDuration=1s",
	`tags={"http.status_code":"500"}&tag=error:true&tag=url:http://x:80`,
	"traceID=abc&traceID=4bf92f3577b34da6a3ce929d0e0e4736&raw=true",
	"lookback=custom&start=0&end=9223372036854774",
	"limit=-1&minDuration=-1h&lookback=99999999999999999w",
	"start=%ff&end=%00&tags=%7B",
	"query.service_name=a&" + v3Window + "&query.num_traces=5&query.attributes={}",
	"query.startTimeMin=2024-05-01T11:00:00.999999999%2B14:00&query.startTimeMax=2262-04-11T23:47:16.854775807Z&query.durationMin=1ns&query.durationMax=1ns",
	"startTime=2024-05-01T10:00:00Z&end_time=2024-05-01T11:00:00Z&rawTraces=1",
	"spanKind=server&span_kind=bogus&service=x",
	"service=a&service=b&groupByOperation=true&spanKind=client&spanKind=SPAN_KIND_SERVER&endTs=1714564800000&lookback=3600000&step=60000&ratePer=600000&quantile=0.95",
	"service=&endTs=-1&lookback=0&step=6&ratePer=9223372036854775807&quantile=NaN",
}

// FuzzParseTraceQuery feeds arbitrary query strings to every parameter
// parser: they must never panic, and what they accept must be a query the
// Querier contract allows.
func FuzzParseTraceQuery(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	a := New(&querytest.Fake{}, Options{Now: func() time.Time { return fixedNow }, MaxLimit: 50})
	f.Fuzz(func(t *testing.T, raw string) {
		v, _ := url.ParseQuery(raw) // keeps what parsed before an error
		if req, err := a.parseV1Search(v); err == nil {
			checkQuery(t, "v1", req.query, a.opts.MaxLimit)
			if len(req.traceIDs) > a.opts.MaxLimit {
				t.Errorf("v1: %d trace IDs accepted", len(req.traceIDs))
			}
		} else if _, ok := err.(*httpquery.ParamError); !ok {
			t.Errorf("v1: %T is not a parameter error: %v", err, err)
		}
		if q, err := a.parseV3Query(v); err == nil {
			checkQuery(t, "v3", q, a.opts.MaxLimit)
		} else if _, ok := err.(*httpquery.ParamError); !ok {
			t.Errorf("v3: %T is not a parameter error: %v", err, err)
		}
		for _, m := range []query.Metric{query.MetricCalls, query.MetricErrors, query.MetricLatencies} {
			if q, err := a.parseMetrics(v, m); err == nil {
				checkMetricsQuery(t, q)
			} else if _, ok := err.(*httpquery.ParamError); !ok {
				t.Errorf("metrics: %T is not a parameter error: %v", err, err)
			}
		}
		if tr, err := a.parseDependencies(v); err == nil && !tr.Start.Before(tr.End) {
			t.Errorf("dependencies window %+v is empty", tr)
		} else if _, ok := err.(*httpquery.ParamError); err != nil && !ok {
			t.Errorf("dependencies: %T is not a parameter error: %v", err, err)
		}
		if tr, err := parseV1TraceWindow(v); err == nil && !tr.Start.IsZero() && !tr.End.IsZero() && !tr.Start.Before(tr.End) {
			t.Errorf("v1 trace window %+v is empty", tr)
		}
		if tr, err := parseV3TraceWindow(v); err == nil && !tr.Start.IsZero() && !tr.End.IsZero() && !tr.Start.Before(tr.End) {
			t.Errorf("v3 trace window %+v is empty", tr)
		}
		for _, s := range v["traceID"] {
			if id, err := parseTraceID("traceID", s); err == nil {
				back, err := parseTraceID("traceID", jaegerTraceID(id))
				if err != nil || back != id {
					t.Errorf("trace ID %q does not round-trip: %v %v", s, back, err)
				}
			}
		}
	})
}

// checkQuery asserts what the Querier contract requires of a search.
func checkQuery(t *testing.T, api string, q query.TraceQuery, maxLimit int) {
	t.Helper()
	if q.Limit < 1 || q.Limit > maxLimit {
		t.Errorf("%s: limit %d outside [1, %d]", api, q.Limit, maxLimit)
	}
	if q.StartMin.IsZero() || q.StartMax.IsZero() || !q.StartMin.Before(q.StartMax) {
		t.Errorf("%s: window [%v, %v) empty or unbounded", api, q.StartMin, q.StartMax)
	}
	if q.StartMin.UnixNano() > q.StartMax.UnixNano() {
		t.Errorf("%s: window [%v, %v) overflows nanoseconds", api, q.StartMin, q.StartMax)
	}
	if q.DurationMin < 0 || q.DurationMax < 0 || (q.DurationMax != 0 && q.DurationMax < q.DurationMin) {
		t.Errorf("%s: durations [%v, %v]", api, q.DurationMin, q.DurationMax)
	}
	for k := range q.Attributes {
		if k == "" {
			t.Errorf("%s: empty attribute key", api)
		}
	}
}

// checkMetricsQuery asserts what the Querier contract requires of a
// metrics query.
func checkMetricsQuery(t *testing.T, q query.MetricsQuery) {
	t.Helper()
	if len(q.Services) == 0 || slices.Contains(q.Services, "") {
		t.Errorf("metrics: services %q", q.Services)
	}
	if q.Step <= 0 || q.RatePer <= 0 || q.Step%query.MetricsStep != 0 || q.RatePer%query.MetricsStep != 0 || q.Lookback <= 0 {
		t.Errorf("metrics: step %s, rate per %s, lookback %s", q.Step, q.RatePer, q.Lookback)
	}
	if q.Lookback/q.Step >= query.MaxMetricPoints {
		t.Errorf("metrics: %d points", q.Lookback/q.Step+1)
	}
	if start := q.End.Add(-q.Lookback - q.RatePer); start.Before(time.Unix(0, 0)) || q.End.UnixNano() < start.UnixNano() {
		t.Errorf("metrics: reads from %v", start)
	}
	if q.Metric == query.MetricLatencies && !(q.Quantile > 0 && q.Quantile <= 1) {
		t.Errorf("metrics: quantile %v", q.Quantile)
	}
}

// FuzzHandlers sends arbitrary paths and query strings through every
// route: no panic, always a JSON answer with a known status.
func FuzzHandlers(f *testing.F) {
	routes := []string{
		"/api/services", "/api/services/%s/operations", "/api/operations?%s", "/api/traces?%s",
		"/api/traces/%s", "/api/v3/services", "/api/v3/operations?%s", "/api/v3/traces?%s",
		"/api/v3/traces/%s", "/api/v3/trace-summaries?%s",
		"/api/dependencies?%s", "/api/metrics/calls?%s", "/api/metrics/errors?%s", "/api/metrics/latencies?%s",
		"/api/metrics/minstep?%s",
	}
	for i, s := range fuzzSeeds {
		f.Add(uint8(i), s)
	}
	f.Add(uint8(4), "4bf92f3577b34da6a3ce929d0e0e4736?start=1&end=0")
	f.Add(uint8(8), "abcd?startTime=x")
	q := goldenQuerier()
	q.ServiceNames = []string{"frontend"}
	q.Ops = sampleOps
	h := newTestServer(q, Options{})
	f.Fuzz(func(t *testing.T, route uint8, arg string) {
		target := strings.Replace(routes[int(route)%len(routes)], "%s", arg, 1)
		u, err := url.ParseRequestURI(target)
		if err != nil || strings.ContainsAny(target, " \t\r\n#") {
			return // not something an HTTP client could send
		}
		r := httptest.NewRequest(http.MethodGet, u.RequestURI(), nil)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		switch w.Code {
		case 200, 400, 404:
		case http.StatusMovedPermanently, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
			return // ServeMux cleaning the path, before any of our code
		default:
			t.Fatalf("%s: status %d: %s", target, w.Code, w.Body)
		}
		// ServeMux answers unknown paths with a plain-text 404 itself.
		if w.Code != 404 || w.Header().Get("Content-Type") == "application/json" {
			if !json.Valid(w.Body.Bytes()) {
				t.Fatalf("%s: answer is not JSON: %s", target, w.Body)
			}
		}
	})
}
