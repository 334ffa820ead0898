package jaegerapi

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/tracelake/tracelake/query"
	"github.com/tracelake/tracelake/query/querytest"
)

// micro renders t as the classic API's start/end parameters.
func micro(t time.Time) string { return strconv.FormatInt(t.UnixMicro(), 10) }

func TestV1SearchParams(t *testing.T) {
	start := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	end := time.Date(2024, 5, 1, 11, 0, 0, 0, time.UTC)
	defaults := func(mod func(q *query.TraceQuery)) query.TraceQuery {
		q := query.TraceQuery{
			ServiceName: "frontend",
			StartMin:    fixedNow.Add(-48 * time.Hour),
			StartMax:    fixedNow.Add(time.Microsecond),
			Limit:       100,
		}
		if mod != nil {
			mod(&q)
		}
		return q
	}
	tests := []struct {
		name  string
		opts  Options
		query string
		want  query.TraceQuery
	}{
		{"defaults (Jaeger: end now, 2 days back, limit 100)", Options{}, "service=frontend", defaults(nil)},
		{"service optional", Options{}, "", defaults(func(q *query.TraceQuery) { q.ServiceName = "" })},
		{"operation", Options{}, "service=frontend&operation=GET+%2Fcheckout", defaults(func(q *query.TraceQuery) { q.OperationName = "GET /checkout" })},
		{"start and end µs, end inclusive", Options{}, "service=frontend&start=" + micro(start) + "&end=" + micro(end),
			defaults(func(q *query.TraceQuery) { q.StartMin, q.StartMax = start, end.Add(time.Microsecond) })},
		{"start equals end", Options{}, "service=frontend&start=" + micro(start) + "&end=" + micro(start),
			defaults(func(q *query.TraceQuery) { q.StartMin, q.StartMax = start, start.Add(time.Microsecond) })},
		{"start only, end now", Options{}, "service=frontend&start=" + micro(start),
			defaults(func(q *query.TraceQuery) { q.StartMin = start })},
		{"lookback 1h", Options{}, "service=frontend&lookback=1h", defaults(func(q *query.TraceQuery) { q.StartMin = fixedNow.Add(-time.Hour) })},
		{"lookback 2d", Options{}, "service=frontend&lookback=2d", defaults(func(q *query.TraceQuery) { q.StartMin = fixedNow.Add(-48 * time.Hour) })},
		{"lookback 1w", Options{}, "service=frontend&lookback=1w", defaults(func(q *query.TraceQuery) { q.StartMin = fixedNow.Add(-7 * 24 * time.Hour) })},
		{"lookback 90m", Options{}, "service=frontend&lookback=90m", defaults(func(q *query.TraceQuery) { q.StartMin = fixedNow.Add(-90 * time.Minute) })},
		{"lookback custom means default", Options{}, "service=frontend&lookback=custom", defaults(nil)},
		{"lookback ignored with start", Options{}, "service=frontend&lookback=bogus&start=" + micro(start),
			defaults(func(q *query.TraceQuery) { q.StartMin = start })},
		{"lookback back from end", Options{}, "service=frontend&lookback=1h&end=" + micro(end),
			defaults(func(q *query.TraceQuery) { q.StartMin, q.StartMax = end.Add(-time.Hour), end.Add(time.Microsecond) })},
		{"lookback clamped at epoch", Options{}, "service=frontend&lookback=15000w",
			defaults(func(q *query.TraceQuery) { q.StartMin = time.Unix(0, 0).UTC() })},
		{"limit", Options{}, "service=frontend&limit=20", defaults(func(q *query.TraceQuery) { q.Limit = 20 })},
		{"limit capped", Options{}, "service=frontend&limit=100000", defaults(func(q *query.TraceQuery) { q.Limit = 1500 })},
		{"limit capped by option", Options{MaxLimit: 50}, "service=frontend&limit=51", defaults(func(q *query.TraceQuery) { q.Limit = 50 })},
		{"default limit option", Options{DefaultLimit: 20}, "service=frontend", defaults(func(q *query.TraceQuery) { q.Limit = 20 })},
		{"durations", Options{}, "service=frontend&minDuration=1.2ms&maxDuration=1s",
			defaults(func(q *query.TraceQuery) { q.DurationMin, q.DurationMax = 1200*time.Microsecond, time.Second })},
		{"durations µs spelling", Options{}, "service=frontend&minDuration=500us&maxDuration=500%C2%B5s",
			defaults(func(q *query.TraceQuery) { q.DurationMin, q.DurationMax = 500*time.Microsecond, 500*time.Microsecond })},
		{"min duration only", Options{}, "service=frontend&minDuration=2s", defaults(func(q *query.TraceQuery) { q.DurationMin = 2 * time.Second })},
		{"tags JSON", Options{}, `service=frontend&tags={"http.status_code":"500","error":"true"}`,
			defaults(func(q *query.TraceQuery) {
				q.Attributes = map[string]string{"http.status_code": "500", "error": "true"}
			})},
		{"tag k:v repeated, colon in value, JSON wins", Options{}, `service=frontend&tag=url:http://x:80/a&tag=error:false&tags={"error":"true"}`,
			defaults(func(q *query.TraceQuery) { q.Attributes = map[string]string{"url": "http://x:80/a", "error": "true"} })},
		{"tag empty value", Options{}, `service=frontend&tag=peer:`,
			defaults(func(q *query.TraceQuery) { q.Attributes = map[string]string{"peer": ""} })},
		{"empty tags JSON", Options{}, `service=frontend&tags={}`, defaults(nil)},
		{"raw accepted", Options{}, "service=frontend&raw=true", defaults(nil)},
		{"prettyPrint ignored", Options{}, "service=frontend&prettyPrint=true", defaults(nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := &querytest.Fake{}
			w := querytest.Get(t, newTestServer(q, tt.opts), "/api/traces?"+tt.query)
			if w.Code != 200 {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			if len(q.Queries) != 1 {
				t.Fatalf("FindTraces called %d times, want once", len(q.Queries))
			}
			if !reflect.DeepEqual(q.Queries[0], tt.want) {
				t.Errorf("query\n got %+v\nwant %+v", q.Queries[0], tt.want)
			}
		})
	}
}

func TestV1SearchByTraceID(t *testing.T) {
	start := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	end := time.Date(2024, 5, 1, 11, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		query      string
		wantIDs    []pcommon.TraceID
		wantWithin query.TimeRange
	}{
		{"IDs, no window: search everything", "traceID=abcd&traceID=4BF92F3577B34DA6A3CE929D0E0E4736&service=ignored",
			[]pcommon.TraceID{shortID, richID}, query.TimeRange{}},
		{"duplicates once", "traceID=abcd&traceID=000000000000ABCD", []pcommon.TraceID{shortID}, query.TimeRange{}},
		{"explicit window", "traceID=abcd&start=" + micro(start) + "&end=" + micro(end),
			[]pcommon.TraceID{shortID}, query.TimeRange{Start: start, End: end.Add(time.Microsecond)}},
		{"start only", "traceID=abcd&start=" + micro(start), []pcommon.TraceID{shortID}, query.TimeRange{Start: start}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := goldenQuerier()
			w := querytest.Get(t, newTestServer(q, Options{}), "/api/traces?"+tt.query)
			if w.Code != 200 {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			if len(q.Queries) != 0 {
				t.Error("FindTraces called for a lookup by ID")
			}
			if !reflect.DeepEqual(q.IDs, tt.wantIDs) {
				t.Errorf("IDs %v, want %v", q.IDs, tt.wantIDs)
			}
			for _, within := range q.Within {
				if within != tt.wantWithin {
					t.Errorf("within %+v, want %+v", within, tt.wantWithin)
				}
			}
			var env struct {
				Data  []uiTrace `json:"data"`
				Total int       `json:"total"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &env); err != nil || env.Total != len(tt.wantIDs) || len(env.Data) != len(tt.wantIDs) {
				t.Errorf("answer: %v, total %d, %d traces", err, env.Total, len(env.Data))
			}
		})
	}
}

// TestV1BadParams checks that every bad parameter is a 400 naming the
// parameter and the bad value, and that storage is not asked.
func TestV1BadParams(t *testing.T) {
	tests := []struct {
		name, target string
		mention      []string
	}{
		{"start not a number", "/api/traces?start=yesterday", []string{`"start"`, "yesterday"}},
		{"start negative", "/api/traces?start=-5", []string{`"start"`, "-5"}},
		{"start beyond 2262", "/api/traces?start=9223372036854775807", []string{`"start"`, "9223372036854775807"}},
		{"end not a number", "/api/traces?end=1.5", []string{`"end"`, "1.5"}},
		{"start after end", "/api/traces?start=2000&end=1000", []string{`"start"`, `"end"`, "2000", "1000"}},
		{"start in the future", "/api/traces?start=" + micro(fixedNow.Add(time.Hour)), []string{`"start"`, micro(fixedNow.Add(time.Hour))}},
		{"lookback", "/api/traces?lookback=yesterday", []string{`"lookback"`, "yesterday"}},
		{"lookback zero", "/api/traces?lookback=0s", []string{`"lookback"`, "0s"}},
		{"lookback negative days", "/api/traces?lookback=-2d", []string{`"lookback"`, "-2d"}},
		{"lookback fractional days", "/api/traces?lookback=1.5d", []string{`"lookback"`, "1.5d"}},
		{"lookback too many weeks", "/api/traces?lookback=99999999999999w", []string{`"lookback"`}},
		{"limit zero", "/api/traces?limit=0", []string{`"limit"`, `"0"`}},
		{"limit negative", "/api/traces?limit=-3", []string{`"limit"`, "-3"}},
		{"limit not a number", "/api/traces?limit=ten", []string{`"limit"`, "ten"}},
		{"limit beyond int32", "/api/traces?limit=99999999999", []string{`"limit"`, "99999999999"}},
		{"minDuration", "/api/traces?minDuration=fast", []string{`"minDuration"`, "fast"}},
		{"minDuration no unit", "/api/traces?minDuration=100", []string{`"minDuration"`, "100"}},
		{"maxDuration negative", "/api/traces?maxDuration=-1s", []string{`"maxDuration"`, "-1s"}},
		{"min above max", "/api/traces?minDuration=2s&maxDuration=1s", []string{`"minDuration"`, `"maxDuration"`, "2s", "1s"}},
		{"tags not JSON", "/api/traces?tags={error:true}", []string{`"tags"`, "{error:true}"}},
		{"tags not strings", `/api/traces?tags={"http.status_code":500}`, []string{`"tags"`, "500"}},
		{"tags empty key", `/api/traces?tags={"":"x"}`, []string{`"tags"`}},
		{"tag without colon", "/api/traces?tag=error", []string{`"tag"`, "error"}},
		{"tag empty key", "/api/traces?tag=:x", []string{`"tag"`, ":x"}},
		{"traceID", "/api/traces?traceID=xyz", []string{`"traceID"`, "xyz"}},
		{"traceID too long", "/api/traces?traceID=" + strings.Repeat("1", 33), []string{`"traceID"`, strings.Repeat("1", 33)}},
		{"raw", "/api/traces?raw=maybe", []string{`"raw"`, "maybe"}},
		{"too many traceIDs", "/api/traces?traceID=1&traceID=2&traceID=3", []string{`"traceID"`, "3"}},
		{"trace start", "/api/traces/abcd?start=x", []string{`"start"`, `"x"`}},
		{"trace end", "/api/traces/abcd?end=-1", []string{`"end"`, "-1"}},
		{"trace start after end", "/api/traces/abcd?start=5&end=4", []string{`"start"`, `"end"`}},
		{"trace raw", "/api/traces/abcd?raw=2", []string{`"raw"`, `"2"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := goldenQuerier()
			w := querytest.Get(t, newTestServer(q, Options{MaxLimit: 2}), tt.target)
			if w.Code != 400 {
				t.Fatalf("status %d, want 400: %s", w.Code, w.Body)
			}
			var env envelope
			if err := json.Unmarshal(w.Body.Bytes(), &env); err != nil || len(env.Errors) != 1 || env.Errors[0].Code != 400 || env.Data != nil {
				t.Fatalf("envelope %s (%v)", w.Body, err)
			}
			for _, m := range tt.mention {
				if !strings.Contains(env.Errors[0].Msg, m) {
					t.Errorf("message %q does not mention %s", env.Errors[0].Msg, m)
				}
			}
			if len(q.Calls) != 0 {
				t.Errorf("querier called: %v", q.Calls)
			}
		})
	}
}

func TestV1TraceWindow(t *testing.T) {
	start := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	end := time.Date(2024, 5, 1, 11, 0, 0, 0, time.UTC)
	q := goldenQuerier()
	w := querytest.Get(t, newTestServer(q, Options{}), "/api/traces/4bf92f3577b34da6a3ce929d0e0e4736?raw=true&start="+micro(start)+"&end="+micro(end))
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	want := query.TimeRange{Start: start, End: end.Add(time.Microsecond)}
	if len(q.Within) != 1 || q.Within[0] != want {
		t.Errorf("within %+v, want %+v", q.Within, want)
	}
}

func TestV3QueryParams(t *testing.T) {
	tmin := time.Date(2024, 5, 1, 11, 0, 0, 0, time.UTC)
	tmax := time.Date(2024, 5, 1, 12, 0, 0, 500_000_000, time.UTC)
	base := func(mod func(q *query.TraceQuery)) query.TraceQuery {
		q := query.TraceQuery{StartMin: tmin, StartMax: tmax.Add(time.Nanosecond), Limit: 100}
		if mod != nil {
			mod(&q)
		}
		return q
	}
	tests := []struct {
		name  string
		query string
		want  query.TraceQuery
	}{
		{"window only, defaults (Jaeger: search depth 100)", v3Window, base(nil)},
		{"snake_case window", "query.start_time_min=2024-05-01T11:00:00Z&query.start_time_max=2024-05-01T12:00:00.5Z", base(nil)},
		{"mixed window, nanos and offset", "query.startTimeMin=2024-05-01T13:00:00.000000001%2B02:00&query.start_time_max=2024-05-01T12:00:00.5Z",
			base(func(q *query.TraceQuery) { q.StartMin = tmin.Add(time.Nanosecond) })},
		{"camelCase fields", v3Window + "&query.serviceName=frontend&query.operationName=GET+%2Fcheckout&query.durationMin=1.5ms&query.durationMax=2s&query.searchDepth=20",
			base(func(q *query.TraceQuery) {
				q.ServiceName, q.OperationName = "frontend", "GET /checkout"
				q.DurationMin, q.DurationMax, q.Limit = 1500*time.Microsecond, 2*time.Second, 20
			})},
		{"snake_case fields", v3Window + "&query.service_name=frontend&query.operation_name=op&query.duration_min=1ms&query.duration_max=3s&query.search_depth=7",
			base(func(q *query.TraceQuery) {
				q.ServiceName, q.OperationName = "frontend", "op"
				q.DurationMin, q.DurationMax, q.Limit = time.Millisecond, 3*time.Second, 7
			})},
		{"num_traces", v3Window + "&query.num_traces=9", base(func(q *query.TraceQuery) { q.Limit = 9 })},
		{"canonical wins", v3Window + "&query.service_name=b&query.serviceName=a&query.num_traces=9&query.searchDepth=3",
			base(func(q *query.TraceQuery) { q.ServiceName, q.Limit = "a", 3 })},
		{"depth capped", v3Window + "&query.searchDepth=1000000", base(func(q *query.TraceQuery) { q.Limit = 1500 })},
		{"attributes", v3Window + `&query.attributes={"http.status_code":"500"}`,
			base(func(q *query.TraceQuery) { q.Attributes = map[string]string{"http.status_code": "500"} })},
		{"raw traces accepted", v3Window + "&query.rawTraces=true&query.raw_traces=false", base(nil)},
	}
	for _, tt := range tests {
		for _, route := range []string{"/api/v3/traces?", "/api/v3/trace-summaries?"} {
			t.Run(tt.name+" "+route, func(t *testing.T) {
				q := goldenQuerier()
				w := querytest.Get(t, newTestServer(q, Options{}), route+tt.query)
				if w.Code != 200 {
					t.Fatalf("status %d: %s", w.Code, w.Body)
				}
				if len(q.Queries) != 1 {
					t.Fatalf("FindTraces called %d times, want once", len(q.Queries))
				}
				got := q.Queries[0]
				if !got.StartMin.Equal(tt.want.StartMin) || !got.StartMax.Equal(tt.want.StartMax) {
					t.Errorf("window [%v, %v), want [%v, %v)", got.StartMin, got.StartMax, tt.want.StartMin, tt.want.StartMax)
				}
				got.StartMin, got.StartMax = tt.want.StartMin, tt.want.StartMax
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("query\n got %+v\nwant %+v", got, tt.want)
				}
			})
		}
	}
}

func TestV3BadParams(t *testing.T) {
	tests := []struct {
		name, target string
		mention      []string
	}{
		{"window missing", "/api/v3/traces?query.serviceName=a", []string{"query.startTimeMin", "query.startTimeMax", "required"}},
		{"max missing", "/api/v3/traces?query.startTimeMin=2024-05-01T11:00:00Z", []string{"query.startTimeMin", "query.startTimeMax", "required"}},
		{"min malformed", "/api/v3/traces?query.startTimeMin=yesterday&query.startTimeMax=2024-05-01T11:00:00Z", []string{`"query.startTimeMin"`, "yesterday"}},
		{"snake max malformed", "/api/v3/traces?query.startTimeMin=2024-05-01T11:00:00Z&query.start_time_max=1714563000", []string{`"query.start_time_max"`, "1714563000"}},
		{"min not before max", "/api/v3/traces?query.startTimeMin=2024-05-01T11:00:00Z&query.startTimeMax=2024-05-01T11:00:00Z", []string{"query.startTimeMin", "query.startTimeMax", "before"}},
		{"out of range", "/api/v3/traces?query.startTimeMin=1500-01-01T00:00:00Z&query.startTimeMax=2024-05-01T11:00:00Z", []string{`"query.startTimeMin"`, "1500-01-01"}},
		{"depth zero", "/api/v3/traces?" + v3Window + "&query.searchDepth=0", []string{`"query.searchDepth"`, `"0"`}},
		{"depth malformed alias", "/api/v3/traces?" + v3Window + "&query.num_traces=many", []string{`"query.num_traces"`, "many"}},
		{"durationMin", "/api/v3/traces?" + v3Window + "&query.durationMin=1", []string{`"query.durationMin"`, `"1"`}},
		{"duration_max", "/api/v3/traces?" + v3Window + "&query.duration_max=-1ms", []string{`"query.duration_max"`, "-1ms"}},
		{"min above max", "/api/v3/traces?" + v3Window + "&query.durationMin=2s&query.durationMax=1s", []string{"query.durationMin", "query.durationMax"}},
		{"attributes", "/api/v3/traces?" + v3Window + "&query.attributes=[1]", []string{`"query.attributes"`, "[1]"}},
		{"rawTraces", "/api/v3/traces?" + v3Window + "&query.raw_traces=yes", []string{`"query.raw_traces"`, "yes"}},
		{"summaries window", "/api/v3/trace-summaries?query.startTimeMin=x", []string{"query.startTimeMin", "query.startTimeMax"}},
		{"trace startTime", "/api/v3/traces/abcd?startTime=x", []string{`"startTime"`, `"x"`}},
		{"trace start_time", "/api/v3/traces/abcd?start_time=2024-05-01", []string{`"start_time"`, "2024-05-01"}},
		{"trace endTime", "/api/v3/traces/abcd?endTime=now", []string{`"endTime"`, "now"}},
		{"trace window reversed", "/api/v3/traces/abcd?startTime=2024-05-01T11:00:00Z&end_time=2024-05-01T10:00:00Z", []string{"startTime", "endTime"}},
		{"trace rawTraces", "/api/v3/traces/abcd?rawTraces=2", []string{`"rawTraces"`, `"2"`}},
		{"trace ID", "/api/v3/traces/" + strings.Repeat("f", 33), []string{`"trace_id"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := goldenQuerier()
			w := querytest.Get(t, newTestServer(q, Options{}), tt.target)
			if w.Code != 400 {
				t.Fatalf("status %d, want 400: %s", w.Code, w.Body)
			}
			var body v3ErrorBody
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error.HTTPCode != 400 {
				t.Fatalf("error body %s (%v)", w.Body, err)
			}
			for _, m := range tt.mention {
				if !strings.Contains(body.Error.Message, m) {
					t.Errorf("message %q does not mention %s", body.Error.Message, m)
				}
			}
			if len(q.Calls) != 0 {
				t.Errorf("querier called: %v", q.Calls)
			}
		})
	}
}

func TestV3TraceWindow(t *testing.T) {
	start := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	end := time.Date(2024, 5, 1, 11, 0, 0, 1, time.UTC)
	tests := []struct {
		query string
		want  query.TimeRange
	}{
		{"", query.TimeRange{}},
		{"startTime=2024-05-01T10:00:00Z&endTime=2024-05-01T11:00:00.000000001Z&rawTraces=true", query.TimeRange{Start: start, End: end.Add(time.Nanosecond)}},
		{"start_time=2024-05-01T10:00:00Z&raw_traces=false", query.TimeRange{Start: start}},
		{"end_time=2024-05-01T11:00:00.000000001Z", query.TimeRange{End: end.Add(time.Nanosecond)}},
	}
	for _, tt := range tests {
		q := goldenQuerier()
		w := querytest.Get(t, newTestServer(q, Options{}), "/api/v3/traces/4bf92f3577b34da6a3ce929d0e0e4736?"+tt.query)
		if w.Code != 200 {
			t.Fatalf("%s: status %d: %s", tt.query, w.Code, w.Body)
		}
		if len(q.Within) != 1 || !q.Within[0].Start.Equal(tt.want.Start) || !q.Within[0].End.Equal(tt.want.End) {
			t.Errorf("%s: within %+v, want %+v", tt.query, q.Within, tt.want)
		}
	}
}

func TestParseTraceID(t *testing.T) {
	tests := []struct {
		in   string
		want string // hex of the 128-bit ID; "" means invalid
	}{
		{"1", "00000000000000000000000000000001"},
		{"ABCdef", "00000000000000000000000000abcdef"},
		{"463ac35c9f6413ad", "0000000000000000463ac35c9f6413ad"},
		{"1463ac35c9f6413ad", "0000000000000001463ac35c9f6413ad"},
		{"4bf92f3577b34da6a3ce929d0e0e4736", "4bf92f3577b34da6a3ce929d0e0e4736"},
		{"", ""},
		{"4bf92f3577b34da6a3ce929d0e0e47361", ""},
		{"0x1", ""},
		{"+1", ""},
		{"-1", ""},
		{"1_0", ""},
		{"g", ""},
		{" 1", ""},
	}
	for _, tt := range tests {
		id, err := parseTraceID("traceID", tt.in)
		switch {
		case tt.want == "" && err == nil:
			t.Errorf("parseTraceID(%q) = %v, want an error", tt.in, id)
		case tt.want != "" && (err != nil || id.String() != tt.want):
			t.Errorf("parseTraceID(%q) = %v, %v, want %s", tt.in, id, err, tt.want)
		}
	}
	if got := jaegerTraceID(shortID); got != "000000000000abcd" {
		t.Errorf("jaegerTraceID(short) = %s", got)
	}
	if got := jaegerTraceID(richID); got != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("jaegerTraceID(rich) = %s", got)
	}
}
