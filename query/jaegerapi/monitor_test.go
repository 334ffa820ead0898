package jaegerapi

import (
	"math"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/tracelake/tracelake/query"
	"github.com/tracelake/tracelake/query/querytest"
)

var sampleLinks = []query.DependencyLink{
	{Parent: "backend", Child: "postgres", CallCount: 12},
	{Parent: "frontend", Child: "backend", CallCount: 40, ErrorCount: 3},
	{Parent: "frontend", Child: "日本", CallCount: 1},
}

// sampleFamily is two series, one point without calls (NaN) among them.
func sampleFamily(m query.Metric, values ...float64) query.MetricFamily {
	t0 := time.Date(2024, 5, 1, 11, 58, 0, 0, time.UTC)
	series := func(service, op string, vs []float64) query.MetricSeries {
		s := query.MetricSeries{Service: service, Operation: op}
		for i, v := range vs {
			s.Points = append(s.Points, query.MetricPoint{Time: t0.Add(time.Duration(i) * time.Minute), Value: v})
		}
		return s
	}
	return query.MetricFamily{Metric: m, Series: []query.MetricSeries{
		series("frontend", "GET /", values),
		series("frontend", "POST /cart", []float64{0.5, math.NaN(), 1e-9}),
	}}
}

func TestMonitorGolden(t *testing.T) {
	tests := []struct {
		name, target string
		q            *querytest.Fake
	}{
		{"dependencies", "/api/dependencies?endTs=1714564800000&lookback=604800000",
			&querytest.Fake{Links: sampleLinks}},
		{"metrics_calls", "/api/metrics/calls?service=frontend&endTs=1714564800000&lookback=180000&step=60000&ratePer=600000",
			&querytest.Fake{Family: sampleFamily(query.MetricCalls, 0.0166, 2.5, 0)}},
		{"metrics_errors_by_operation", "/api/metrics/errors?service=frontend&groupByOperation=true",
			&querytest.Fake{Family: sampleFamily(query.MetricErrors, 0, 0.25, math.NaN())}},
		{"metrics_latencies_by_operation", "/api/metrics/latencies?service=frontend&groupByOperation=true&quantile=0.95",
			&querytest.Fake{Family: sampleFamily(query.MetricLatencies, 12.5, 30.015488, math.NaN())}},
		{"metrics_minstep", "/api/metrics/minstep", &querytest.Fake{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "metrics_calls" {
				tt.q.Family.Series = tt.q.Family.Series[:1] // not grouped: one series a service
				tt.q.Family.Series[0].Operation = ""
			}
			w := querytest.Get(t, newTestServer(tt.q, Options{}), tt.target)
			if w.Code != 200 {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			querytest.GoldenJSON(t, filepath.Join("testdata", tt.name+".golden.json"), w.Body.Bytes())
		})
	}
}

func TestDependenciesRoute(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		name, target string
		links        []query.DependencyLink
		wantCode     int
		wantBody     string
		wantRange    query.TimeRange
	}{
		{
			name: "defaults: a day to now", target: "/api/dependencies", links: sampleLinks[:1], wantCode: 200,
			wantBody:  `{"data":[{"parent":"backend","child":"postgres","callCount":12}],"total":0,"limit":0,"offset":0,"errors":null}`,
			wantRange: query.TimeRange{Start: fixedNow.Add(-day), End: fixedNow.Add(time.Millisecond)},
		},
		{
			name: "window", target: "/api/dependencies?endTs=1714564800000&lookback=3600000", wantCode: 200,
			wantBody:  `{"data":[],"total":0,"limit":0,"offset":0,"errors":null}`,
			wantRange: query.TimeRange{Start: time.UnixMilli(1714561200000).UTC(), End: time.UnixMilli(1714564800001).UTC()},
		},
		{
			name: "lookback before the epoch", target: "/api/dependencies?endTs=1000&lookback=5000", wantCode: 200,
			wantRange: query.TimeRange{Start: time.Unix(0, 0).UTC(), End: time.UnixMilli(1001).UTC()},
		},
		{
			name: "links of one service", target: "/api/dependencies?service=backend", links: sampleLinks, wantCode: 200,
			wantBody: `{"data":[{"parent":"backend","child":"postgres","callCount":12},{"parent":"frontend","child":"backend","callCount":40}],"total":0,"limit":0,"offset":0,"errors":null}`,
		},
		{
			name: "endTs not a number", target: "/api/dependencies?endTs=yesterday", wantCode: 400,
			wantBody: `{"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":400,"msg":"invalid value \"yesterday\" for parameter \"endTs\": must be a time in milliseconds since the Unix epoch"}]}`,
		},
		{name: "endTs negative", target: "/api/dependencies?endTs=-1", wantCode: 400},
		{name: "endTs past 2262", target: "/api/dependencies?endTs=9223372036854775", wantCode: 400},
		{
			name: "lookback zero", target: "/api/dependencies?lookback=0", wantCode: 400,
			wantBody: `{"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":400,"msg":"invalid value \"0\" for parameter \"lookback\": must be a positive number of milliseconds"}]}`,
		},
		{name: "lookback as a duration", target: "/api/dependencies?lookback=1h", wantCode: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := &querytest.Fake{Links: tt.links}
			w := querytest.Get(t, newTestServer(q, Options{}), tt.target)
			if w.Code != tt.wantCode {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.wantCode, w.Body)
			}
			if tt.wantBody != "" {
				if got := querytest.CompactJSON(t, w.Body.Bytes()); got != tt.wantBody {
					t.Errorf("body\n got %s\nwant %s", got, tt.wantBody)
				}
			}
			if tt.wantCode != 200 {
				if len(q.Calls) != 0 {
					t.Errorf("querier called for a bad request: %v", q.Calls)
				}
				return
			}
			if len(q.Ranges) != 1 {
				t.Fatalf("Dependencies calls %v", q.Ranges)
			}
			if tt.wantRange != (query.TimeRange{}) && (!q.Ranges[0].Start.Equal(tt.wantRange.Start) || !q.Ranges[0].End.Equal(tt.wantRange.End)) {
				t.Errorf("range [%v, %v), want [%v, %v)", q.Ranges[0].Start, q.Ranges[0].End, tt.wantRange.Start, tt.wantRange.End)
			}
		})
	}
}

func TestMetricsRoutes(t *testing.T) {
	const uiQuery = "service=frontend&quantile=0.95&endTs=1714564800000&lookback=3600000&step=60000&ratePer=600000"
	uiEnd := time.UnixMilli(1714564800000).UTC()
	tests := []struct {
		name, target string
		want         query.MetricsQuery // checked when Metric is set
		wantCode     int
		wantBody     string
	}{
		{
			name: "defaults", target: "/api/metrics/calls?service=frontend", wantCode: 200,
			want: query.MetricsQuery{
				Metric: query.MetricCalls, Services: []string{"frontend"}, SpanKinds: []string{"server"},
				End: fixedNow, Lookback: time.Hour, Step: time.Minute, RatePer: 10 * time.Minute,
			},
		},
		{
			name: "what the Monitor tab sends", target: "/api/metrics/latencies?" + uiQuery, wantCode: 200,
			want: query.MetricsQuery{
				Metric: query.MetricLatencies, Services: []string{"frontend"}, SpanKinds: []string{"server"},
				End: uiEnd, Lookback: time.Hour, Step: time.Minute, RatePer: 10 * time.Minute, Quantile: 0.95,
			},
		},
		{
			name: "by operation, several services and kinds", wantCode: 200,
			target: "/api/metrics/errors?service=a&service=b&service=a&groupByOperation=1&spanKind=client&spanKind=SPAN_KIND_PRODUCER&spanKind=Unspecified&spanKind=client",
			want: query.MetricsQuery{
				Metric: query.MetricErrors, Services: []string{"a", "b"}, GroupByOperation: true, SpanKinds: []string{"client", "producer", ""},
				End: fixedNow, Lookback: time.Hour, Step: time.Minute, RatePer: 10 * time.Minute,
			},
		},
		{
			name: "steps round up to minutes", target: "/api/metrics/calls?service=a&step=6&ratePer=90000&lookback=300000", wantCode: 200,
			want: query.MetricsQuery{
				Metric: query.MetricCalls, Services: []string{"a"}, SpanKinds: []string{"server"},
				End: fixedNow, Lookback: 5 * time.Minute, Step: time.Minute, RatePer: 2 * time.Minute,
			},
		},
		{
			name: "empty answer", target: "/api/metrics/calls?service=nobody", wantCode: 200,
			wantBody: `{"name":"service_call_rate","type":"GAUGE","help":"calls/sec, grouped by service","metrics":[]}`,
		},
		{
			name: "no service", target: "/api/metrics/calls", wantCode: 400,
			wantBody: `{"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":400,"msg":"parameter \"service\" is required"}]}`,
		},
		{name: "empty service", target: "/api/metrics/calls?service=", wantCode: 400},
		{
			name: "no quantile", target: "/api/metrics/latencies?service=a", wantCode: 400,
			wantBody: `{"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":400,"msg":"parameter \"quantile\" is required"}]}`,
		},
		{name: "quantile zero", target: "/api/metrics/latencies?service=a&quantile=0", wantCode: 400},
		{name: "quantile above one", target: "/api/metrics/latencies?service=a&quantile=1.5", wantCode: 400},
		{name: "quantile not a number", target: "/api/metrics/latencies?service=a&quantile=NaN", wantCode: 400},
		{
			name: "bad span kind", target: "/api/metrics/calls?service=a&spanKind=rpc", wantCode: 400,
			wantBody: `{"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":400,"msg":"invalid value \"rpc\" for parameter \"spanKind\": must be one of unspecified, internal, server, client, producer, consumer"}]}`,
		},
		{name: "bad groupByOperation", target: "/api/metrics/calls?service=a&groupByOperation=yes", wantCode: 400},
		{name: "step zero", target: "/api/metrics/calls?service=a&step=0", wantCode: 400},
		{name: "ratePer negative", target: "/api/metrics/calls?service=a&ratePer=-1", wantCode: 400},
		{name: "endTs not a number", target: "/api/metrics/calls?service=a&endTs=now", wantCode: 400},
		{
			name: "too many points", target: "/api/metrics/calls?service=a&lookback=31536000000&step=60000", wantCode: 400,
			wantBody: `{"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":400,"msg":"invalid parameters: \"lookback\" (31536000000) and \"step\" (60000) ask for 525601 points a series, at most 11000 are allowed"}]}`,
		},
		{name: "before the epoch", target: "/api/metrics/calls?service=a&endTs=60000&lookback=120000", wantCode: 400},
		{name: "minstep", target: "/api/metrics/minstep", wantCode: 200,
			wantBody: `{"data":60000,"total":0,"limit":0,"offset":0,"errors":null}`},
		{name: "minstep with a bad tenant", target: "/api/metrics/minstep", wantCode: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := &querytest.Fake{}
			var header []string
			if tt.name == "minstep with a bad tenant" {
				header = []string{"X-Scope-OrgID", "../x"}
			}
			w := querytest.Get(t, newTestServer(q, Options{}), tt.target, header...)
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
			if tt.wantCode != 200 && len(q.Calls) != 0 {
				t.Errorf("querier called for a bad request: %v", q.Calls)
			}
			if tt.want.Metric == 0 {
				return
			}
			if len(q.MetricsQueries) != 1 {
				t.Fatalf("Metrics calls: %+v", q.MetricsQueries)
			}
			got := q.MetricsQueries[0]
			if got.Metric != tt.want.Metric || !slices.Equal(got.Services, tt.want.Services) ||
				got.GroupByOperation != tt.want.GroupByOperation || !slices.Equal(got.SpanKinds, tt.want.SpanKinds) ||
				!got.End.Equal(tt.want.End) || got.Lookback != tt.want.Lookback || got.Step != tt.want.Step ||
				got.RatePer != tt.want.RatePer || got.Quantile != tt.want.Quantile {
				t.Errorf("query\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}
