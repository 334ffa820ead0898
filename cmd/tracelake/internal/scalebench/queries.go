package scalebench

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// Latency summarises durations, in milliseconds.
type Latency struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

// summarize takes nearest-rank quantiles: with fewer than 100 samples the
// p99 is the maximum.
func summarize(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	q := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(s)))) - 1
		return millis(s[min(max(i, 0), len(s)-1)])
	}
	return Latency{Count: len(s), P50: q(0.50), P90: q(0.90), P99: q(0.99), Max: millis(s[len(s)-1])}
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// api calls the query process's Jaeger API.
type api struct {
	client *http.Client
	base   string
	tenant string
}

// get returns the status and body of one request and how long it took,
// reading the whole body.
func (a *api) get(ctx context.Context, path string, q url.Values) (int, []byte, time.Duration, error) {
	u := a.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, nil, 0, err
	}
	req.Header.Set("X-Scope-OrgID", a.tenant)
	start := time.Now()
	resp, err := a.client.Do(req)
	if err != nil {
		return 0, nil, 0, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if err != nil {
		return 0, nil, 0, fmt.Errorf("GET %s: %w", u, err)
	}
	return resp.StatusCode, body, took, nil
}

// Lookups is the trace-by-ID phase.
type Lookups struct {
	// IDs is how many ordinary traces were looked up, each once cold
	// (first lookup of that ID since the process started) and once warm.
	IDs        int         `json:"ids"`
	Cold       Latency     `json:"cold"`
	Warm       Latency     `json:"warm"`
	FirstMilli float64     `json:"first_ms"` // the very first lookup: reads every block's bloom filter
	MeanSpans  float64     `json:"mean_spans"`
	Big        []BigLookup `json:"big"`
}

// BigLookup is one big trace looked up.
type BigLookup struct {
	Spans int     `json:"spans"`
	Cold  float64 `json:"cold_ms"`
	Warm  float64 `json:"warm_ms"`
}

// lookups fetches every sample by ID with GET /api/traces/{id}, twice,
// checking each answer holds the trace's spans.
func lookups(ctx context.Context, a *api, samples []traceSample) (*Lookups, error) {
	res := &Lookups{}
	var cold, warm []time.Duration
	var spans int
	for pass := range 2 {
		for i, s := range samples {
			status, body, took, err := a.get(ctx, "/api/traces/"+hex.EncodeToString(s.id[:]), nil)
			if err != nil {
				return nil, err
			}
			if status != http.StatusOK {
				return nil, fmt.Errorf("trace %x: %d %.200s", s.id, status, body)
			}
			var got struct {
				Data []struct {
					Spans []json.RawMessage `json:"spans"`
				} `json:"data"`
			}
			if err := json.Unmarshal(body, &got); err != nil {
				return nil, fmt.Errorf("trace %x: %w", s.id, err)
			}
			if len(got.Data) != 1 || len(got.Data[0].Spans) != s.spans {
				n := 0
				if len(got.Data) > 0 {
					n = len(got.Data[0].Spans)
				}
				return nil, fmt.Errorf("trace %x: %d traces, %d spans, want 1 of %d spans", s.id, len(got.Data), n, s.spans)
			}
			if pass == 0 && i == 0 {
				res.FirstMilli = millis(took)
			}
			switch {
			case s.big && pass == 0:
				res.Big = append(res.Big, BigLookup{Spans: s.spans, Cold: millis(took)})
			case s.big:
				for j := range res.Big {
					if res.Big[j].Warm == 0 && res.Big[j].Spans == s.spans {
						res.Big[j].Warm = millis(took)
						break
					}
				}
			case pass == 0:
				cold = append(cold, took)
				spans += s.spans
			default:
				warm = append(warm, took)
			}
		}
	}
	res.IDs = len(cold)
	res.Cold, res.Warm = summarize(cold), summarize(warm)
	if len(cold) > 0 {
		res.MeanSpans = float64(spans) / float64(len(cold))
	}
	return res, nil
}

// Search is one search shape's runs.
type Search struct {
	Shape   string  `json:"shape"`
	Example string  `json:"example"` // the first request
	Latency Latency `json:"latency"`
	// Runs is how many searches ran; fewer than asked for when the
	// shape's time budget ran out (Budgeted).
	Runs     int  `json:"runs"`
	Budgeted bool `json:"budget_exhausted,omitempty"`
	// CPUMillis is the query process's mean CPU time per search.
	CPUMillis float64 `json:"cpu_ms"`
	// Traces is the mean number of traces answered; Empty the searches
	// that found none.
	Traces float64 `json:"traces"`
	Empty  int     `json:"empty"`
	// Attributes is true for shapes with an attribute (tag) condition,
	// which the blocks' indexes cannot decide: Parquet must be read.
	Attributes bool `json:"attribute_condition"`
	// SpansPerCoreSecond is, for the single-predicate scan, the spans in
	// the searched range per CPU second of the query process.
	SpansPerCoreSecond float64 `json:"spans_per_core_second,omitempty"`
}

// shape is a kind of search; req makes its i-th request.
type shape struct {
	name  string
	scan  bool // reads Parquet
	rate  bool // the single-predicate scan the scan rate is measured on
	v3    bool // api_v3: 404 means no traces
	path  string
	query func(i int) url.Values
}

// minSearchRuns is how many runs a shape gets whatever its budget.
const minSearchRuns = 5

// search runs sh runs times, one request at a time, reading the query
// process's CPU time around each; once budget (if not 0) is spent it
// stops after minSearchRuns.
func search(ctx context.Context, a *api, q *queryProc, sh shape, runs int, budget time.Duration, spansInRange int64) (*Search, error) {
	res := &Search{Shape: sh.name, Attributes: sh.scan}
	var took []time.Duration
	var cpu time.Duration
	traces := 0
	began := time.Now()
	for i := range runs {
		if budget > 0 && i >= minSearchRuns && time.Since(began) > budget {
			res.Budgeted = true
			break
		}
		params := sh.query(i)
		if i == 0 {
			res.Example = sh.path + "?" + params.Encode()
		}
		c0, err := q.cpu()
		if err != nil {
			return nil, err
		}
		status, body, d, err := a.get(ctx, sh.path, params)
		if err != nil {
			return nil, err
		}
		c1, err := q.cpu()
		if err != nil {
			return nil, err
		}
		n, err := countTraces(status, body, sh.v3)
		if err != nil {
			return nil, fmt.Errorf("%s: %s?%s: %w", sh.name, sh.path, params.Encode(), err)
		}
		took = append(took, d)
		cpu += c1 - c0
		traces += n
		if n == 0 {
			res.Empty++
		}
	}
	res.Runs = len(took)
	res.Latency = summarize(took)
	res.CPUMillis = millis(cpu) / float64(res.Runs)
	res.Traces = float64(traces) / float64(res.Runs)
	if sh.rate && cpu > 0 {
		res.SpansPerCoreSecond = float64(spansInRange) * float64(res.Runs) / cpu.Seconds()
	}
	return res, nil
}

// countTraces checks a search answer and counts its traces.
func countTraces(status int, body []byte, v3 bool) (int, error) {
	if v3 {
		if status == http.StatusNotFound {
			return 0, nil // "No traces found"
		}
		if status != http.StatusOK {
			return 0, fmt.Errorf("%d %.300s", status, body)
		}
		var got struct {
			Result struct {
				ResourceSpans []struct {
					ScopeSpans []struct {
						Spans []struct {
							TraceID string `json:"traceId"`
						} `json:"spans"`
					} `json:"scopeSpans"`
				} `json:"resourceSpans"`
			} `json:"result"`
		}
		if err := json.Unmarshal(body, &got); err != nil {
			return 0, err
		}
		ids := map[string]bool{}
		for _, rs := range got.Result.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					ids[s.TraceID] = true
				}
			}
		}
		return len(ids), nil
	}
	if status != http.StatusOK {
		return 0, fmt.Errorf("%d %.300s", status, body)
	}
	var got struct {
		Data []struct {
			TraceID string `json:"traceID"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		return 0, err
	}
	return len(got.Data), nil
}

// shapes are the searches timed, over [start, end) and with parameters
// varied run by run.
func shapes(w *world, users []userSample, start, end time.Time) []shape {
	// Services by popularity, most popular first.
	byPop := make([]*service, len(w.services))
	copy(byPop, w.services)
	slices.SortStableFunc(byPop, func(a, b *service) int {
		switch {
		case a.weight > b.weight:
			return -1
		case a.weight < b.weight:
			return 1
		}
		return 0
	})
	// Services with spans that carry HTTP status codes: HTTP servers and
	// their callers.
	var httpish []*service
	for _, s := range byPop {
		ok := s.proto == protoHTTP
		for _, d := range s.down {
			ok = ok || w.services[d].proto == protoHTTP
		}
		if ok {
			httpish = append(httpish, s)
		}
	}
	durations := [][2]string{{"1ms", "10ms"}, {"10ms", "100ms"}, {"100ms", "1s"}, {"250ms", "5s"}, {"1s", "30s"}, {"50ms", "200ms"}}
	v1 := func(extra url.Values) url.Values {
		q := url.Values{
			"start": {strconv.FormatInt(start.UnixMicro(), 10)},
			"end":   {strconv.FormatInt(end.UnixMicro()-1, 10)},
			"limit": {"20"},
		}
		for k, v := range extra {
			q[k] = v
		}
		return q
	}
	tags := func(k, v string) string {
		b, _ := json.Marshal(map[string]string{k: v})
		return string(b)
	}
	user := func(i int) userSample { return users[i%len(users)] }
	return []shape{
		{name: "service", path: "/api/traces", query: func(i int) url.Values {
			return v1(url.Values{"service": {byPop[i%len(byPop)].name}})
		}},
		{name: "service + operation", path: "/api/traces", query: func(i int) url.Values {
			s := byPop[i%len(byPop)]
			return v1(url.Values{"service": {s.name}, "operation": {s.ops[(i/len(byPop))%len(s.ops)].name}})
		}},
		{name: "service + duration range", path: "/api/traces", query: func(i int) url.Values {
			d := durations[i%len(durations)]
			return v1(url.Values{"service": {byPop[i%len(byPop)].name}, "minDuration": {d[0]}, "maxDuration": {d[1]}})
		}},
		{name: "no service (api_v3)", v3: true, path: "/api/v3/traces", query: func(i int) url.Values {
			return url.Values{
				"query.start_time_min": {start.Format(time.RFC3339Nano)},
				"query.start_time_max": {end.Add(-time.Duration(i) * time.Minute).Format(time.RFC3339Nano)},
				"query.num_traces":     {"20"},
			}
		}},
		{name: "service + tag http.response.status_code=500", scan: true, path: "/api/traces", query: func(i int) url.Values {
			return v1(url.Values{"service": {httpish[i%len(httpish)].name}, "tags": {tags("http.response.status_code", "500")}})
		}},
		{name: "service + tag user.id", scan: true, path: "/api/traces", query: func(i int) url.Values {
			u := user(2 * i)
			return v1(url.Values{"service": {u.service}, "tags": {tags("user.id", u.user)}})
		}},
		{name: "tag user.id only (single-predicate scan)", scan: true, rate: true, path: "/api/traces", query: func(i int) url.Values {
			return v1(url.Values{"tags": {tags("user.id", user(2*i+1).user)}})
		}},
	}
}
