package index

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tracelake/tracelake/storage/spanfile"
)

// spanMatches is the reference: Jaeger's rule, one span satisfying every
// condition.
func spanMatches(q Query, s *spanfile.SpanInfo) bool {
	return (q.Service == "" || s.Service == q.Service) &&
		(q.Name == "" || s.Name == q.Name) &&
		(q.StartMin == 0 || s.Start >= q.StartMin) &&
		(q.StartMax == 0 || s.Start < q.StartMax) &&
		(q.DurationMin == 0 || s.Duration >= q.DurationMin) &&
		(q.DurationMax == 0 || s.Duration <= q.DurationMax)
}

// randomQuery draws a query from values near the block's own, so that
// bounds often fall exactly on a span's start or duration.
func randomQuery(rng *rand.Rand, traces [][]spanfile.SpanInfo, c genConfig) Query {
	var q Query
	pick := func() *spanfile.SpanInfo {
		spans := traces[rng.IntN(len(traces))]
		return &spans[rng.IntN(len(spans))]
	}
	near := func(v int64) int64 { return v + rng.Int64N(5) - 2 }
	switch rng.IntN(4) {
	case 1:
		q.Service = pick().Service
	case 2:
		q.Service = "no-such-service"
	}
	switch rng.IntN(3) {
	case 1:
		q.Name = pick().Name
	case 2:
		q.Name = spanName(rng.IntN(c.names + 1))
	}
	if rng.IntN(2) == 0 {
		q.StartMin = near(pick().Start)
	}
	if rng.IntN(2) == 0 {
		q.StartMax = near(pick().Start)
	}
	if rng.IntN(2) == 0 {
		q.DurationMin = near(pick().Duration)
	}
	if rng.IntN(2) == 0 {
		q.DurationMax = near(pick().Duration)
	}
	return q
}

// TestSearchProperty checks Search against a brute-force evaluation over
// random spans: no false negatives ever, every Exact hit a true match, and
// hits in index order with the right rows.
func TestSearchProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	c := genConfig{
		traces: 200, services: 3, names: 3, maxServicesInTrace: 3, maxSpans: 10,
		startRange: 300, traceLen: 100, maxDuration: 60, randomKinds: true,
	}
	var exact, maybe, matches, queries, ranked int
	for block := 0; block < 60; block++ {
		traces := genBlock(rng, c)
		for _, spans := range traces {
			for i := range spans {
				if rng.IntN(10) == 0 {
					spans[i].Duration = -spans[i].Duration // as sent: may be negative
				}
			}
		}
		_, data, _ := build(t, traces)
		x := mustRead(t, data)
		firstRow := make([]int64, len(traces))
		for i := 1; i < len(traces); i++ {
			firstRow[i] = firstRow[i-1] + int64(len(traces[i-1]))
		}
		for range 300 {
			q := randomQuery(rng, traces, c)
			queries++
			want := make([]bool, len(traces))
			for i, spans := range traces {
				for j := range spans {
					if spanMatches(q, &spans[j]) {
						want[i] = true
						matches++
						break
					}
				}
			}
			next := 0 // hits come in index order, each trace once
			x.Search(q, func(h Hit) bool {
				i := next
				for i < len(traces) && traces[i][0].TraceID != h.TraceID {
					if want[i] {
						t.Fatalf("query %+v: false negative: trace %d (%s)", q, i, traces[i][0].TraceID)
					}
					i++
				}
				if i == len(traces) {
					t.Fatalf("query %+v: hit %s out of order or unknown", q, h.TraceID)
				}
				if h.Exact && !want[i] {
					t.Fatalf("query %+v: Exact hit on trace %d (%s), which has no matching span: %+v", q, i, h.TraceID, traces[i])
				}
				s := summarize(traces[i], firstRow[i])
				if h.Start != s.Start || h.First != firstRow[i] || h.Rows != int64(len(traces[i])) {
					t.Fatalf("hit %+v, want start %d rows [%d, +%d)", h, s.Start, firstRow[i], len(traces[i]))
				}
				if h.LatestExact {
					latest := int64(math.MinInt64)
					for j := range traces[i] {
						if spanMatches(q, &traces[i][j]) {
							latest = max(latest, traces[i][j].Start)
						}
					}
					if h.Latest != latest {
						t.Fatalf("query %+v: trace %d: Latest %d, but the latest matching span starts at %d", q, i, h.Latest, latest)
					}
					ranked++
				}
				if h.Exact {
					exact++
				} else {
					maybe++
				}
				next = i + 1
				return true
			})
			for i := next; i < len(traces); i++ {
				if want[i] {
					t.Fatalf("query %+v: false negative: trace %d (%s)", q, i, traces[i][0].TraceID)
				}
			}
		}
	}
	t.Logf("%d queries: %d matching traces; hits %d exact (%d ranked exactly), %d to verify", queries, matches, exact, ranked, maybe)
	if exact < matches/2 {
		t.Errorf("only %d of %d matches were exact hits; the index is not narrowing searches", exact, matches)
	}
}

func TestSearchCases(t *testing.T) {
	const ms = int64(1e6)
	span := func(id byte, svc, name string, start, dur int64) spanfile.SpanInfo {
		return spanfile.SpanInfo{TraceID: [16]byte{15: id}, Service: svc, Name: name, Start: start, Duration: dur}
	}
	traces := [][]spanfile.SpanInfo{
		// 1: two spans of one group at the extremes: a short early one and a
		// long late one. "long and early" matches neither.
		{span(1, "api", "GET", 100*ms, 1*ms), span(1, "api", "GET", 200*ms, 50*ms)},
		// 2: one span; whatever is not excluded is certain.
		{span(2, "db", "query", 150*ms, 10*ms)},
		// 3: api/GET and db/query spans.
		{span(3, "api", "GET", 120*ms, 5*ms), span(3, "db", "query", 130*ms, 20*ms)},
	}
	_, data, _ := build(t, traces)
	x := mustRead(t, data)
	type hit struct {
		id    byte
		exact bool
	}
	tests := []struct {
		name string
		q    Query
		want []hit
	}{
		{"everything", Query{}, []hit{{1, true}, {2, true}, {3, true}}},
		{"service", Query{Service: "db"}, []hit{{2, true}, {3, true}}},
		{"unknown service", Query{Service: "nope"}, nil},
		{"unknown name", Query{Name: "nope"}, nil},
		{"service and name across groups", Query{Service: "api", Name: "query"}, nil},
		{"name", Query{Name: "GET"}, []hit{{1, true}, {3, true}}},
		{"long and early: maybe", Query{Service: "api", DurationMin: 40 * ms, StartMax: 150 * ms}, []hit{{1, false}}},
		{"long: certain", Query{Service: "api", DurationMin: 40 * ms}, []hit{{1, true}}},
		{"window excludes", Query{StartMin: 300 * ms}, nil},
		{"window end is exclusive", Query{Service: "db", StartMax: 150 * ms}, []hit{{3, true}}},
		{"duration max inclusive", Query{Service: "db", DurationMax: 10 * ms}, []hit{{2, true}}},
		{"empty window", Query{StartMin: 200 * ms, StartMax: 100 * ms}, nil},
		{"empty window at the minimum", Query{StartMax: math.MinInt64}, nil},
		{"durations straddled: maybe", Query{DurationMin: 15 * ms, DurationMax: 25 * ms}, []hit{{1, false}, {3, true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []hit
			x.Search(tt.q, func(h Hit) bool {
				got = append(got, hit{h.TraceID[15], h.Exact})
				return true
			})
			if len(got) != len(tt.want) {
				t.Fatalf("hits %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("hits %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestSearchStops(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	c := realistic
	c.traces = 1000
	_, data, _ := build(t, genBlock(rng, c))
	x := mustRead(t, data)
	for _, q := range []Query{{}, {Service: serviceName(1)}, {Name: spanName(1)}} {
		n := 0
		x.Search(q, func(Hit) bool { n++; return n < 3 })
		if n != 3 {
			t.Errorf("Search(%+v) called fn %d times after it returned false at 3", q, n)
		}
	}
}

func TestSearchAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	c := realistic
	c.traces = 1000
	traces := genBlock(rng, c)
	var buf bytes.Buffer
	b := NewBuilder()
	row := int64(0)
	for _, spans := range traces {
		if err := b.Add(spans, row); err != nil {
			t.Fatal(err)
		}
		row += int64(len(spans))
	}
	if err := b.WriteIndex(&buf); err != nil {
		t.Fatal(err)
	}
	x := mustRead(t, buf.Bytes())
	q := Query{Service: serviceName(3), Name: spanName(2), DurationMin: 1e8, StartMin: genBase + 1e9}
	hits := 0
	allocs := testing.AllocsPerRun(10, func() { x.Search(q, func(Hit) bool { hits++; return true }) })
	if allocs != 0 || hits == 0 {
		t.Errorf("Search made %v allocations, %d hits", allocs, hits)
	}
}
