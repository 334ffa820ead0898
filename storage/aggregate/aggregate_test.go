package aggregate

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracelake/tracelake/storage/spanfile"
)

func TestDependencyRules(t *testing.T) {
	tests := []struct {
		name  string
		spans []spanfile.SpanInfo
		want  []Link
	}{
		{
			name: "parent and child in different services",
			spans: []spanfile.SpanInfo{
				span(1, 0, "frontend", server),
				span(2, 1, "frontend", client),
				span(3, 2, "backend", server),
			},
			want: []Link{{Parent: "frontend", Child: "backend", CallCount: 1}},
		},
		{
			name: "child in the same service is no link",
			spans: []spanfile.SpanInfo{
				span(1, 0, "frontend", server),
				span(2, 1, "frontend", internal),
				span(3, 2, "frontend", client),
			},
		},
		{
			name: "error of the child span",
			spans: []spanfile.SpanInfo{
				span(1, 0, "frontend", client),
				failed(span(2, 1, "backend", server)),
				span(3, 1, "backend", server),
			},
			want: []Link{{Parent: "frontend", Child: "backend", CallCount: 2, ErrorCount: 1}},
		},
		{
			name: "zipkin shared span is one call",
			spans: []spanfile.SpanInfo{
				span(1, 0, "gateway", server),
				span(2, 1, "gateway", client),
				span(2, 1, "api", server), // shared: same ID, parent is the client's parent
				span(3, 2, "api", client),
				span(3, 2, "db", server), // shared again, two levels down
			},
			want: []Link{{Parent: "api", Child: "db", CallCount: 1}, {Parent: "gateway", Child: "api", CallCount: 1}},
		},
		{
			name: "shared span whose client failed",
			spans: []spanfile.SpanInfo{
				failed(span(2, 0, "gateway", client)),
				span(2, 0, "api", server),
			},
			want: []Link{{Parent: "gateway", Child: "api", CallCount: 1, ErrorCount: 1}},
		},
		{
			name: "shared span's server half does not count its parent relation",
			spans: []spanfile.SpanInfo{
				span(1, 0, "edge", server),
				span(2, 1, "proxy", client), // the client's parent is in another service
				span(2, 1, "api", server),
			},
			want: []Link{{Parent: "edge", Child: "proxy", CallCount: 1}, {Parent: "proxy", Child: "api", CallCount: 1}},
		},
		{
			name: "children of a shared span are the server's",
			spans: []spanfile.SpanInfo{
				span(2, 0, "gateway", client),
				span(2, 0, "api", server),
				span(4, 2, "api", internal),
			},
			want: []Link{{Parent: "gateway", Child: "api", CallCount: 1}},
		},
		{
			name: "producer to consumer",
			spans: []spanfile.SpanInfo{
				span(1, 0, "orders", server),
				span(2, 1, "orders", producer),
				span(3, 2, "billing", consumer),
				span(4, 2, "shipping", consumer),
			},
			want: []Link{{Parent: "orders", Child: "billing", CallCount: 1}, {Parent: "orders", Child: "shipping", CallCount: 1}},
		},
		{
			name: "parent not in the trace",
			spans: []spanfile.SpanInfo{
				span(2, 99, "backend", server),
				span(3, 2, "backend", client),
			},
		},
		{
			name: "root spans only",
			spans: []spanfile.SpanInfo{
				span(1, 0, "a", server),
				span(2, 0, "b", server),
			},
		},
		{
			name: "spans without a service",
			spans: []spanfile.SpanInfo{
				span(1, 0, "", server),
				span(2, 1, "a", server),
				span(3, 2, "", server),
			},
		},
		{
			name: "exact duplicates count once",
			spans: []spanfile.SpanInfo{
				span(1, 0, "frontend", client),
				span(2, 1, "backend", server),
				span(2, 1, "backend", server),
			},
			want: []Link{{Parent: "frontend", Child: "backend", CallCount: 1}},
		},
		{
			name: "unsorted input",
			spans: []spanfile.SpanInfo{
				span(3, 2, "c", server),
				span(2, 1, "b", server),
				span(1, 0, "a", server),
			},
			want: []Link{{Parent: "a", Child: "b", CallCount: 1}, {Parent: "b", Child: "c", CallCount: 1}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := New()
			a.AddTrace(slices.Clone(tt.spans))
			got := a.Links(t0-int64(time.Hour), t0+int64(time.Hour))
			if !slices.Equal(got, tt.want) {
				t.Errorf("links\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestAddTraceReusesNothing(t *testing.T) {
	// The caller may overwrite its slice, names included.
	buf := []byte("frontend")
	spans := []spanfile.SpanInfo{span(1, 0, string(buf), client), span(2, 1, "backend", server)}
	a := New()
	a.AddTrace(spans)
	spans[0].Service, spans[1].Service = "x", "y"
	copy(buf, "XXXXXXXX")
	if got := a.Links(t0, t0+int64(time.Minute)); len(got) != 1 || got[0].Parent != "frontend" {
		t.Errorf("links %+v", got)
	}
	a.AddTrace(nil)
}

func TestLinksByMinute(t *testing.T) {
	a := New()
	minute := int64(time.Minute)
	for i, start := range []int64{t0 - 1, t0, t0 + minute - 1, t0 + minute, t0 + 5*minute} {
		p := span(uint64(2*i+1), 0, "a", client)
		c := at(span(uint64(2*i+2), uint64(2*i+1), "b", server), start)
		a.AddTrace([]spanfile.SpanInfo{p, c})
	}
	tests := []struct {
		start, end int64
		want       uint64
	}{
		{t0, t0 + minute, 2},              // the minute at t0
		{t0, t0 + 2*minute, 3},            // two minutes
		{t0 - minute, t0 + 6*minute, 5},   // everything
		{t0 + 1, t0 + minute + 1, 1},      // rounds to the minutes starting in the range
		{t0 - minute, t0, 1},              // the minute before
		{t0 + 2*minute, t0 + 5*minute, 0}, // nothing
		{t0 + 5*minute, t0 + 5*minute, 0},
	}
	for _, tt := range tests {
		var got uint64
		for _, l := range a.Links(tt.start, tt.end) {
			got += l.CallCount
		}
		if got != tt.want {
			t.Errorf("Links(t0%+ds, t0%+ds) = %d calls, want %d", (tt.start-t0)/1e9, (tt.end-t0)/1e9, got, tt.want)
		}
	}
}

func TestRED(t *testing.T) {
	a := New()
	minute := int64(time.Minute)
	spans := []spanfile.SpanInfo{
		span(1, 0, "api", server),
		failed(span(2, 0, "api", server)),
		at(span(3, 0, "api", server), t0+minute),
		span(4, 0, "api", client),
		at(span(5, 0, "api", server), t0-1), // the minute before
	}
	spans[1].Duration = -5 // as sent: counted as 0
	a.AddTrace(spans)
	a.Flush()
	type key struct {
		kind   ptrace.SpanKind
		bucket int64
	}
	got := map[key][2]uint64{}
	for k, op := range a.ops {
		if k.service != "api" || k.name != "op-api" {
			t.Errorf("operation %+v", k)
		}
		for b, c := range op.all() {
			got[key{k.kind, b}] = [2]uint64{c.calls, c.errors}
			if c.durations.total() != c.calls {
				t.Errorf("%+v minute %d: %d durations for %d calls", k, b, c.durations.total(), c.calls)
			}
		}
	}
	b := bucketOf(t0)
	want := map[key][2]uint64{
		{server, b}:     {2, 1},
		{server, b + 1}: {1, 0},
		{client, b}:     {1, 0},
		{server, b - 1}: {1, 0},
	}
	if len(got) != len(want) {
		t.Fatalf("cells %v, want %v", got, want)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%+v: calls, errors %v, want %v", k, got[k], w)
		}
	}
}

func TestBucketOf(t *testing.T) {
	minute := int64(time.Minute)
	for _, tt := range []struct{ t, want int64 }{
		{0, 0}, {1, 0}, {minute - 1, 0}, {minute, 1}, {-1, -1}, {-minute, -1}, {-minute - 1, -2},
	} {
		if got := bucketOf(tt.t); got != tt.want {
			t.Errorf("bucketOf(%d) = %d, want %d", tt.t, got, tt.want)
		}
	}
	for _, tt := range []struct{ t, want int64 }{
		{0, 0}, {1, 1}, {minute, 1}, {minute + 1, 2}, {-1, 0}, {-minute, -1}, {-minute - 1, -1},
		{math.MaxInt64, math.MaxInt64/minute + 1}, {math.MinInt64, math.MinInt64 / minute},
	} {
		if got := firstBucketFrom(tt.t); got != tt.want {
			t.Errorf("firstBucketFrom(%d) = %d, want %d", tt.t, got, tt.want)
		}
	}
}

func TestMerge(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	w := newWorld(8, 4)
	traces := w.traces(rng, 300, 12, t0, 10*time.Minute)
	all := New()
	parts := []*Aggregate{New(), New(), New()}
	for i, tr := range traces {
		all.AddTrace(tr)
		parts[i%3].AddTrace(tr)
	}
	a, b, c := parts[0], parts[1], parts[2]
	before := make([][]byte, 3)
	for i, p := range parts {
		before[i], _ = p.Encode()
	}
	merge := func(xs ...*Aggregate) *Aggregate {
		out := New()
		for _, x := range xs {
			out.Merge(x)
		}
		return out
	}
	ab := merge(a, b)
	ab.Merge(c)
	bc := merge(b, c)
	abc2 := merge(a)
	abc2.Merge(bc)
	for name, got := range map[string]*Aggregate{
		"(a+b)+c": ab, "a+(b+c)": abc2, "c+b+a": merge(c, b, a), "b+a+c": merge(b, a, c),
	} {
		if !got.equal(all) {
			t.Errorf("%s differs from aggregating every trace at once", name)
		}
	}
	for i, p := range parts {
		after, _ := p.Encode()
		if string(after) != string(before[i]) {
			t.Errorf("Merge changed its argument %d", i)
		}
	}
	// A merged aggregate shares no histogram with its sources.
	m := merge(a)
	for _, op := range m.ops {
		for _, c := range op.all() {
			c.durations.add(0)
		}
	}
	if after, _ := a.Encode(); string(after) != string(before[0]) {
		t.Error("changing a merged aggregate changed its source")
	}
}

func TestFarApartMinutes(t *testing.T) {
	// Spans of one operation and link years apart (wrong clocks) must not
	// make the aggregate allocate a cell for every minute between them.
	a := New()
	day := int64(24 * time.Hour)
	starts := []int64{t0, t0 + int64(time.Minute), t0 + day, 0, -day, t0 + 100*365*day, t0 - 30*day}
	for i, start := range starts {
		a.AddTrace([]spanfile.SpanInfo{span(uint64(2*i+1), 0, "a", client), at(span(uint64(2*i+2), uint64(2*i+1), "b", server), start)})
	}
	if size := a.MemSize(); size > 64<<10 {
		t.Errorf("MemSize %d bytes for %d spans", size, 2*len(starts))
	}
	for _, start := range starts {
		if got := a.Links(start, start+1); len(got) != 1 || got[0].CallCount != 1 {
			t.Errorf("links at t0%+dd: %+v", (start-t0)/day, got)
		}
	}
	if got := a.Links(math.MinInt64, math.MaxInt64); len(got) != 1 || got[0].CallCount != uint64(len(starts)) {
		t.Errorf("all links %+v", got)
	}
	data, err := a.Encode()
	if err != nil {
		t.Fatal(err)
	}
	b, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if !b.equal(a) {
		t.Error("round trip changed the counts")
	}
	m := New()
	m.Merge(a)
	m.Merge(b)
	if got := m.Links(math.MinInt64, math.MaxInt64); got[0].CallCount != 2*uint64(len(starts)) {
		t.Errorf("merged links %+v", got)
	}
}

func TestUnbufferedPath(t *testing.T) {
	// Operations and links numbered beyond what a record holds are counted
	// directly.
	a := New()
	a.cache = new(lookups) // as AddTrace does
	op := a.op("svc", "name", server)
	pair := a.pair("x", "y")
	op.id, pair.id = 1<<idBits, 1<<idBits
	a.recordRED(op, bucketOf(t0), binOf(5), true)
	a.recordLink(pair, bucketOf(t0), true)
	if len(a.pend.red) != 0 || len(a.pend.links) != 0 {
		t.Fatal("buffered")
	}
	c := op.at(bucketOf(t0))
	if c.calls != 1 || c.errors != 1 || c.durations.total() != 1 {
		t.Errorf("cell %+v", c)
	}
	if got := a.Links(t0, t0+1); len(got) != 1 || got[0] != (Link{Parent: "x", Child: "y", CallCount: 1, ErrorCount: 1}) {
		t.Errorf("links %+v", got)
	}
}
