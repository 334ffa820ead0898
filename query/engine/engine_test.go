package engine

import (
	"cmp"
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracelake/tracelake/query"
	"github.com/tracelake/tracelake/storage/compact"
	"github.com/tracelake/tracelake/storage/objstore"
	"github.com/tracelake/tracelake/storage/objstore/objstoretest"
	"github.com/tracelake/tracelake/storage/objstore/s3/s3test"
	"github.com/tracelake/tracelake/storage/spanfile"
	"github.com/tracelake/tracelake/storage/spanfile/vparquet1"
	"github.com/tracelake/tracelake/storage/tracegen"
	"github.com/tracelake/tracelake/storage/tracestore"
)

type fixture struct {
	engine *Engine
	all    ptrace.Traces // every distinct span written
	bucket objstore.Bucket
}

// layout is how a fixture's spans are stored.
type layout int

const (
	rawFiles  layout = iota // ingest files only
	compacted               // every file compacted into blocks
	mixed                   // blocks, and files written after compaction
)

func (l layout) String() string { return [...]string{"raw", "compacted", "mixed"}[l] }

// eachLayout runs fn for every layout, on an in-memory bucket and on a
// real MinIO server (skipped when there is none, unless required).
func eachLayout(t *testing.T, fn func(t *testing.T, newBucket func(*testing.T) objstore.Bucket, l layout)) {
	stores := map[string]func(*testing.T) objstore.Bucket{
		"memory": func(*testing.T) objstore.Bucket { return objstoretest.NewMemory() },
		"minio": func(t *testing.T) objstore.Bucket {
			return s3test.Start(t).NewBucket(t, t.Name())
		},
	}
	for _, name := range []string{"memory", "minio"} {
		for _, l := range []layout{rawFiles, compacted, mixed} {
			t.Run(name+"/"+l.String(), func(t *testing.T) { fn(t, stores[name], l) })
		}
	}
}

// newFixture writes random traces over several files on an in-memory
// bucket; some spans are written twice, as a client retry would.
func newFixture(t *testing.T, seed uint64, files int) *fixture {
	return newLayoutFixture(t, objstoretest.NewMemory(), rawFiles, seed, files)
}

// newLayoutFixture is newFixture on bucket, stored as l says.
func newLayoutFixture(t *testing.T, bucket objstore.Bucket, l layout, seed uint64, files int) *fixture {
	t.Helper()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, seed))
	written := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	store := tracestore.New(bucket, tracestore.Config{Now: func() time.Time { return written }})
	all := ptrace.NewTraces()
	var prev ptrace.Traces
	compactAt := map[layout]int{rawFiles: -1, compacted: files, mixed: files / 2}[l]
	for i := 0; i <= files; i++ {
		if i == compactAt {
			cfg := compact.DefaultConfig()
			cfg.Now = func() time.Time { return written.Add(3 * time.Hour) }
			cfg.RowsPerRowGroup = 16 // many row groups: pruning and ranged reads get exercised
			c, err := compact.New(store, cfg, slog.New(slog.DiscardHandler), nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if i == files {
			break
		}
		td := tracegen.Random(rng, 2, 2, 15)
		for _, rs := range td.ResourceSpans().All() {
			rs.CopyTo(all.ResourceSpans().AppendEmpty())
		}
		batches := []tracestore.Batch{tracestore.NewBatch(td)}
		if i > 0 && rng.IntN(2) == 0 {
			batches = append(batches, tracestore.NewBatch(prev)) // a retried request
		}
		if _, err := store.Write(ctx, "acme", batches...); err != nil {
			t.Fatal(err)
		}
		prev = td
	}
	cfg := DefaultConfig()
	cfg.Concurrency = 3
	cfg.Now = func() time.Time { return time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC) }
	e, err := New(store, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{engine: e, all: all, bucket: bucket}
}

type flatSpan struct {
	res   pcommon.Resource
	scope pcommon.InstrumentationScope
	span  ptrace.Span
}

func (f *fixture) spans() []flatSpan {
	var out []flatSpan
	for _, rs := range f.all.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				out = append(out, flatSpan{rs.Resource(), ss.Scope(), s})
			}
		}
	}
	return out
}

func spanIDs(td ptrace.Traces) []string {
	var out []string
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				out = append(out, s.SpanID().String()+s.Name())
			}
		}
	}
	slices.Sort(out)
	return out
}

func TestTraceAssemblesAcrossFilesWithoutDuplicates(t *testing.T) {
	eachLayout(t, func(t *testing.T, newBucket func(*testing.T) objstore.Bucket, l layout) {
		testTraceAssembles(t, newLayoutFixture(t, newBucket(t), l, 1, 6))
	})
}

func testTraceAssembles(t *testing.T, f *fixture) {
	want := map[pcommon.TraceID][]string{}
	for _, s := range f.spans() {
		want[s.span.TraceID()] = append(want[s.span.TraceID()], s.span.SpanID().String()+s.span.Name())
	}
	for id, w := range want {
		slices.Sort(w)
		td, err := f.engine.Trace(context.Background(), "acme", id, query.TimeRange{})
		if err != nil {
			t.Fatal(err)
		}
		if got := spanIDs(td); !slices.Equal(got, w) {
			t.Fatalf("trace %s: got spans %v, want %v", id, got, w)
		}
	}
	_, err := f.engine.Trace(context.Background(), "acme", pcommon.TraceID{9, 9}, query.TimeRange{})
	if !errors.Is(err, query.ErrNotFound) {
		t.Fatalf("unknown trace: %v", err)
	}
	_, err = f.engine.Trace(context.Background(), "other-tenant", f.spans()[0].span.TraceID(), query.TimeRange{})
	if !errors.Is(err, query.ErrNotFound) {
		t.Fatalf("another tenant's trace was visible: %v", err)
	}
}

// refFind is FindTraces by brute force over every span. A negative
// limit returns every match in rank order (latest match first).
func (f *fixture) refFind(q query.TraceQuery) []pcommon.TraceID {
	bestMatch := map[pcommon.TraceID]int64{}
	traceStart := map[pcommon.TraceID]int64{}
	for _, s := range f.spans() {
		id, start := s.span.TraceID(), int64(s.span.StartTimestamp())
		if ts, ok := traceStart[id]; !ok || start < ts {
			traceStart[id] = start
		}
		svc := ""
		if v, ok := s.res.Attributes().Get("service.name"); ok {
			svc = v.AsString()
		}
		dur := int64(s.span.EndTimestamp()) - start
		switch {
		case q.ServiceName != "" && svc != q.ServiceName,
			q.OperationName != "" && s.span.Name() != q.OperationName,
			start < q.StartMin.UnixNano() || start >= q.StartMax.UnixNano(),
			q.DurationMin != 0 && dur < int64(q.DurationMin),
			q.DurationMax != 0 && dur > int64(q.DurationMax):
			continue
		}
		ok := true
		for k, v := range q.Attributes {
			got, has := s.span.Attributes().Get(k)
			if !has || got.AsString() != v {
				ok = false
			}
		}
		for _, k := range q.AttributeKeys {
			_, has := s.span.Attributes().Get(k)
			if _, onRes := s.res.Attributes().Get(k); onRes {
				has = true
			}
			for _, ev := range s.span.Events().All() {
				if _, onEv := ev.Attributes().Get(k); onEv || ev.Name() == k {
					has = true
				}
			}
			if !has {
				ok = false
			}
		}
		if !ok {
			continue
		}
		if b, seen := bestMatch[id]; !seen || start > b {
			bestMatch[id] = start
		}
	}
	type r struct {
		id          pcommon.TraceID
		best, first int64
	}
	var rs []r
	for id, b := range bestMatch {
		rs = append(rs, r{id, b, traceStart[id]})
	}
	slices.SortFunc(rs, func(a, b r) int {
		if c := cmp.Compare(b.best, a.best); c != 0 {
			return c
		}
		return compareIDs(a.id, b.id)
	})
	if q.Limit < 0 { // every match, in rank order
		out := make([]pcommon.TraceID, len(rs))
		for i, x := range rs {
			out[i] = x.id
		}
		return out
	}
	if len(rs) > q.Limit {
		rs = rs[:q.Limit]
	}
	slices.SortFunc(rs, func(a, b r) int {
		if c := cmp.Compare(b.first, a.first); c != 0 {
			return c
		}
		return compareIDs(a.id, b.id)
	})
	out := make([]pcommon.TraceID, len(rs))
	for i, x := range rs {
		out[i] = x.id
	}
	return out
}

func TestFindTracesMatchesReference(t *testing.T) {
	eachLayout(t, func(t *testing.T, newBucket func(*testing.T) objstore.Bucket, l layout) {
		testFindTraces(t, newLayoutFixture(t, newBucket(t), l, 2, 8))
	})
}

func testFindTraces(t *testing.T, f *fixture) {
	spans := f.spans()
	rng := rand.New(rand.NewPCG(42, 42))
	base := time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)
	for q := 0; q < 60; q++ {
		s := spans[rng.IntN(len(spans))]
		tq := query.TraceQuery{
			StartMin: base.Add(time.Duration(rng.Int64N(int64(30 * time.Minute)))),
			Limit:    1 + rng.IntN(12),
		}
		tq.StartMax = tq.StartMin.Add(time.Duration(1 + rng.Int64N(int64(40*time.Minute))))
		if rng.IntN(2) == 0 {
			if v, ok := s.res.Attributes().Get("service.name"); ok {
				tq.ServiceName = v.AsString()
			}
		}
		if rng.IntN(3) == 0 {
			tq.OperationName = s.span.Name()
		}
		if rng.IntN(3) == 0 {
			tq.DurationMin = time.Duration(rng.Int64N(int64(2 * time.Second)))
		}
		if rng.IntN(3) == 0 {
			for k, v := range s.span.Attributes().All() {
				tq.Attributes = map[string]string{k: v.AsString()}
				break
			}
		}
		if rng.IntN(4) == 0 {
			for k := range s.span.Attributes().All() {
				tq.AttributeKeys = []string{k}
			}
		}
		got, err := f.engine.FindTraces(context.Background(), "acme", tq)
		if err != nil {
			t.Fatal(err)
		}
		var gotIDs []pcommon.TraceID
		for _, td := range got {
			gotIDs = append(gotIDs, td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).TraceID())
		}
		if want := f.refFind(tq); !slices.Equal(gotIDs, want) {
			t.Fatalf("query %+v:\n got %v\nwant %v", tq, gotIDs, want)
		}
	}
}

func TestServicesAndOperations(t *testing.T) {
	f := newFixture(t, 3, 4)
	wantSvc := map[string]bool{}
	wantOps := map[string]map[query.Operation]bool{}
	for _, s := range f.spans() {
		v, ok := s.res.Attributes().Get("service.name")
		if !ok {
			continue
		}
		wantSvc[v.Str()] = true
		if wantOps[v.Str()] == nil {
			wantOps[v.Str()] = map[query.Operation]bool{}
		}
		wantOps[v.Str()][query.Operation{Name: s.span.Name(), SpanKind: spanfile.KindName(s.span.Kind())}] = true
	}
	for round := 0; round < 2; round++ { // the second round is served from the cache
		svcs, err := f.engine.Services(context.Background(), "acme")
		if err != nil {
			t.Fatal(err)
		}
		if len(svcs) != len(wantSvc) || !slices.IsSorted(svcs) {
			t.Fatalf("services %v, want %v", svcs, wantSvc)
		}
		for _, svc := range svcs {
			ops, err := f.engine.Operations(context.Background(), "acme", svc, "")
			if err != nil {
				t.Fatal(err)
			}
			if len(ops) != len(wantOps[svc]) {
				t.Fatalf("%s: %d operations, want %d", svc, len(ops), len(wantOps[svc]))
			}
			for _, op := range ops {
				if !wantOps[svc][op] {
					t.Fatalf("%s: unexpected %+v", svc, op)
				}
			}
			server, err := f.engine.Operations(context.Background(), "acme", svc, "server")
			if err != nil {
				t.Fatal(err)
			}
			for _, op := range server {
				if op.SpanKind != "server" {
					t.Fatalf("spanKind filter let %+v through", op)
				}
			}
		}
	}
}

func TestStorageFailuresAreRetryable(t *testing.T) {
	f := newFixture(t, 4, 2)
	faulty := objstoretest.NewFaulty(f.bucket)
	faulty.Inject(objstoretest.Fault{Op: objstoretest.OpList, Err: errors.New("connection refused")})
	e, _ := New(tracestore.New(faulty, tracestore.Config{}), DefaultConfig(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if _, err := e.Services(context.Background(), "acme"); !errors.Is(err, query.ErrUnavailable) {
		t.Fatalf("Services on a failing store = %v", err)
	}
	if _, err := e.Trace(context.Background(), "acme", pcommon.TraceID{1}, query.TimeRange{}); !errors.Is(err, query.ErrUnavailable) {
		t.Fatalf("Trace on a failing store = %v", err)
	}
}

func TestTopKKeepsTheLatest(t *testing.T) {
	k := newTopK(3)
	ids := []pcommon.TraceID{{1}, {2}, {3}, {4}, {5}}
	k.add(ids[0], 10)
	k.add(ids[1], 20)
	k.add(ids[2], 30)
	k.add(ids[3], 5)  // worse than all: ignored
	k.add(ids[0], 40) // raises trace 1
	k.add(ids[4], 25) // evicts trace 2 (20)
	got := k.ids()
	slices.SortFunc(got, compareIDs)
	want := []pcommon.TraceID{ids[0], ids[2], ids[4]}
	if !slices.Equal(got, want) {
		t.Fatalf("top 3 = %v, want %v", got, want)
	}
}

// countingBucket counts whole-object reads, which is how the store opens
// files on a bucket that cannot pread.
type countingBucket struct {
	objstore.Bucket
	gets atomic.Int64
}

func (c *countingBucket) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	c.gets.Add(1)
	return c.Bucket.Get(ctx, key)
}

func TestLookupsOpenOnlyFilesThatMayHoldTheTrace(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(8, 8))
	counting := &countingBucket{Bucket: objstoretest.NewMemory()}
	store := tracestore.New(counting, tracestore.Config{})
	var ids []pcommon.TraceID
	const files = 8
	for i := 0; i < files; i++ {
		td := tracegen.Telemetrygen(rng, 200, 1, time.Now())
		ids = append(ids, td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).TraceID())
		if _, err := store.Write(ctx, "acme", tracestore.NewBatch(td)); err != nil {
			t.Fatal(err)
		}
	}
	e, err := New(store, DefaultConfig(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Trace(ctx, "acme", ids[0], query.TimeRange{}); err != nil {
		t.Fatal(err)
	}
	if got := counting.gets.Load(); got != files {
		t.Fatalf("the first lookup read %d files, want all %d (nothing is cached yet)", got, files)
	}
	counting.gets.Store(0)
	for _, id := range ids {
		td, err := e.Trace(ctx, "acme", id, query.TimeRange{})
		if err != nil || td.SpanCount() != 2 {
			t.Fatalf("Trace(%s) = %d spans, %v", id, td.SpanCount(), err)
		}
	}
	// One file per lookup, give or take a bloom filter false positive.
	if got := counting.gets.Load(); got > files+1 {
		t.Fatalf("%d lookups read %d files; with cached indexes each should read about one", files, got)
	}
}

func TestAttributeValues(t *testing.T) {
	f := newFixture(t, 5, 4)
	want := map[string]map[string]bool{} // service → values of k0.3
	for _, s := range f.spans() {
		svc := ""
		if v, ok := s.res.Attributes().Get("service.name"); ok {
			svc = v.Str()
		}
		if v, ok := s.span.Attributes().Get("k0.3"); ok {
			for _, key := range []string{svc, ""} {
				if want[key] == nil {
					want[key] = map[string]bool{}
				}
				want[key][v.AsString()] = true
			}
		}
	}
	if len(want[""]) == 0 {
		t.Fatal("fixture has no k0.3 attributes: the test would check nothing")
	}
	for svc, w := range want {
		for round := 0; round < 2; round++ { // the second is served from the cache
			got, err := f.engine.AttributeValues(context.Background(), "acme", svc, "k0.3")
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(w) || !slices.IsSorted(got) {
				t.Fatalf("AttributeValues(%q) = %q, want %v", svc, got, w)
			}
			for _, v := range got {
				if !w[v] {
					t.Fatalf("unexpected value %q", v)
				}
			}
		}
	}
}

// Paging through a search with a small limit yields every match exactly
// once, page after page in rank order, whatever the storage layout; spans
// stored between pages do not disturb the pages; cursors from another
// search or not from us are refused.
func TestFindTracesPages(t *testing.T) {
	eachLayout(t, func(t *testing.T, newBucket func(*testing.T) objstore.Bucket, l layout) {
		f := newLayoutFixture(t, newBucket(t), l, 6, 8)
		ctx := context.Background()
		base := time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)
		spans := f.spans()
		rng := rand.New(rand.NewPCG(7, 7))
		for round := 0; round < 8; round++ {
			tq := query.TraceQuery{StartMin: base, StartMax: base.Add(2 * time.Hour), Limit: 1 + rng.IntN(4)}
			if round%2 == 1 {
				if v, ok := spans[rng.IntN(len(spans))].res.Attributes().Get("service.name"); ok {
					tq.ServiceName = v.AsString()
				}
			}
			all := tq
			all.Limit = -1
			want := f.refFind(all)
			pos := map[pcommon.TraceID]int{}
			for i, id := range want {
				pos[id] = i
			}
			var got []pcommon.TraceID
			last := -1
			for pages := 0; ; pages++ {
				if pages > len(want)+1 {
					t.Fatalf("query %+v: paging does not end", tq)
				}
				page, next, err := f.engine.FindTracesPage(ctx, "acme", tq)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) > tq.Limit {
					t.Fatalf("page of %d traces, limit %d", len(page), tq.Limit)
				}
				first := len(want)
				for _, td := range page {
					id := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).TraceID()
					p, ok := pos[id]
					if !ok {
						t.Fatalf("query %+v: trace %s does not match", tq, id)
					}
					first = min(first, p)
					got = append(got, id)
				}
				if len(page) > 0 && first <= last {
					t.Fatalf("query %+v: a page starts at rank %d, the previous ended at %d", tq, first, last)
				}
				for _, td := range page {
					last = max(last, pos[td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).TraceID()])
				}
				if next == "" {
					break
				}
				tq.Cursor = next
			}
			if len(got) != len(want) {
				t.Fatalf("query %+v: pages held %d traces, want %d", tq, len(got), len(want))
			}
			seen := map[pcommon.TraceID]bool{}
			for _, id := range got {
				if seen[id] {
					t.Fatalf("trace %s on two pages", id)
				}
				seen[id] = true
			}
		}

		// Spans stored between pages: every trace of the first page's
		// answer still comes exactly once.
		{
			tq := query.TraceQuery{StartMin: base, StartMax: base.Add(2 * time.Hour), Limit: 3}
			all := tq
			all.Limit = -1
			want := f.refFind(all)
			page, next, err := f.engine.FindTracesPage(ctx, "acme", tq)
			if err != nil {
				t.Fatal(err)
			}
			store := tracestore.New(f.bucket, tracestore.Config{Now: func() time.Time { return time.Date(2026, 11, 21, 9, 30, 0, 0, time.UTC) }})
			if _, err := store.Write(ctx, "acme", tracestore.NewBatch(tracegen.Random(rand.New(rand.NewPCG(99, 99)), 1, 1, 20))); err != nil {
				t.Fatal(err)
			}
			count := map[pcommon.TraceID]int{}
			for {
				for _, td := range page {
					count[td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).TraceID()]++
				}
				if next == "" {
					break
				}
				tq.Cursor = next
				if page, next, err = f.engine.FindTracesPage(ctx, "acme", tq); err != nil {
					t.Fatal(err)
				}
			}
			for _, id := range want {
				if count[id] != 1 {
					t.Fatalf("with spans stored between pages, trace %s came %d times", id, count[id])
				}
			}
		}

		// A cursor pins the window: a later page of a search is the same
		// whatever its own time bounds say, and belongs to its search.
		tq := query.TraceQuery{StartMin: base, StartMax: base.Add(2 * time.Hour), Limit: 2}
		_, next, err := f.engine.FindTracesPage(ctx, "acme", tq)
		if err != nil || next == "" {
			t.Fatalf("first page: next %q, %v", next, err)
		}
		second := tq
		second.Cursor = next
		p1, _, err := f.engine.FindTracesPage(ctx, "acme", second)
		if err != nil {
			t.Fatal(err)
		}
		moved := second
		moved.StartMin, moved.StartMax = base.Add(time.Hour), base.Add(90*time.Minute)
		p2, _, err := f.engine.FindTracesPage(ctx, "acme", moved)
		if err != nil || len(p1) != len(p2) {
			t.Fatalf("the cursor did not pin the window: %d and %d traces (%v)", len(p1), len(p2), err)
		}
		other := second
		other.ServiceName = "another"
		if _, _, err := f.engine.FindTracesPage(ctx, "acme", other); !errors.Is(err, query.ErrBadCursor) {
			t.Errorf("cursor of another search: %v", err)
		}
		for _, bad := range []string{"x", "AAAA", next[:len(next)-2]} {
			q := tq
			q.Cursor = bad
			if _, _, err := f.engine.FindTracesPage(ctx, "acme", q); !errors.Is(err, query.ErrBadCursor) {
				t.Errorf("cursor %q: %v", bad, err)
			}
		}
	})
}

// rangeCountingBucket counts ranged reads.
type rangeCountingBucket struct {
	objstore.Bucket
	ranges atomic.Int64
}

func (c *rangeCountingBucket) GetRange(ctx context.Context, key string, off, length int64) (io.ReadCloser, error) {
	c.ranges.Add(1)
	return c.Bucket.GetRange(ctx, key, off, length)
}

// A tag search reads a block's row groups in at most one request each (the
// needed columns of several groups coalesced), never one per page or
// column: on an object store, latency and CPU are per request.
func TestTagSearchReadsARowGroupPerRequest(t *testing.T) {
	ctx := context.Background()
	counting := &rangeCountingBucket{Bucket: objstoretest.NewMemory()}
	f := newLayoutFixture(t, counting, compacted, 5, 6)
	store := f.engine.store
	groups := 0
	for ref, err := range store.Blocks(ctx, "acme", 0) {
		if err != nil {
			t.Fatal(err)
		}
		m, err := store.ReadBlockMeta(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		of, err := store.OpenBlock(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		groups += len(of.File.(*vparquet1.File).Parquet().RowGroups())
		of.Close()
	}
	if groups < 4 {
		t.Fatalf("%d row groups: the fixture should make many", groups)
	}
	q := query.TraceQuery{Attributes: map[string]string{"no.such.key": "x"}, Limit: 10}
	if _, err := f.engine.FindTraces(ctx, "acme", q); err != nil { // warms footers and indexes
		t.Fatal(err)
	}
	counting.ranges.Store(0)
	if _, err := f.engine.FindTraces(ctx, "acme", q); err != nil {
		t.Fatal(err)
	}
	if got := counting.ranges.Load(); got > int64(groups)+2 {
		t.Fatalf("a tag search over %d row groups made %d ranged reads", groups, got)
	}
}
