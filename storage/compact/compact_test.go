package compact

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracelake/tracelake/storage/objstore"
	"github.com/tracelake/tracelake/storage/objstore/objstoretest"
	"github.com/tracelake/tracelake/storage/spanfile"
	"github.com/tracelake/tracelake/storage/tracegen"
	"github.com/tracelake/tracelake/storage/tracestore"
)

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

var t0 = time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)

type spanID struct {
	trace pcommon.TraceID
	span  pcommon.SpanID
}

// fixture writes ingest files into two windows (08:00 and 09:00), with
// traces that span files and windows, and returns the IDs of every span.
func fixture(t testing.TB, store *tracestore.Store, clk *clock, tenantID string, files int) map[spanID]bool {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, uint64(files)))
	want := map[spanID]bool{}
	shared := tracegen.TraceID(rng) // a trace with spans in every file
	for i := 0; i < files; i++ {
		clk.mu.Lock()
		clk.now = t0.Add(time.Duration(i) * 2 * time.Hour / time.Duration(files))
		clk.mu.Unlock()
		td := tracegen.Telemetrygen(rng, 5+rng.IntN(5), 3, clk.Now())
		extra := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().AppendEmpty()
		extra.SetTraceID(shared)
		extra.SetSpanID(tracegen.SpanID(rng))
		extra.SetName("shared")
		extra.SetStartTimestamp(pcommon.NewTimestampFromTime(clk.Now()))
		extra.SetEndTimestamp(pcommon.NewTimestampFromTime(clk.Now().Add(time.Millisecond)))
		for _, rs := range td.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, s := range ss.Spans().All() {
					want[spanID{s.TraceID(), s.SpanID()}] = true
				}
			}
		}
		if _, err := store.Write(context.Background(), tenantID, tracestore.NewBatch(td)); err != nil {
			t.Fatal(err)
		}
	}
	return want
}

// readable lists what a reader would read (tracestore.Resolve over a full
// listing) and returns every span's ID, failing the test when a span is
// read twice.
func readable(t testing.TB, store *tracestore.Store, tenantID string) map[spanID]bool {
	t.Helper()
	ctx := context.Background()
	var files []tracestore.FileRef
	for f, err := range store.Files(ctx, tenantID, 0, 0) {
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	var blocks []*tracestore.BlockMeta
	for ref, err := range store.Blocks(ctx, tenantID, 0) {
		if err != nil {
			t.Fatal(err)
		}
		m, err := store.ReadBlockMeta(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		blocks = append(blocks, m)
	}
	used, raw, _ := tracestore.Resolve(blocks, files)
	got := map[spanID]bool{}
	read := func(f *tracestore.OpenFile, what string) {
		defer f.Close()
		err := f.Scan(ctx, func(si *spanfile.SpanInfo) error {
			k := spanID{si.TraceID, si.SpanID}
			if got[k] {
				return fmt.Errorf("span %s/%s read twice (again in %s)", si.TraceID, si.SpanID, what)
			}
			got[k] = true
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range used {
		f, err := store.OpenBlock(ctx, b)
		if err != nil {
			t.Fatalf("block %s: %v", b.Key, err)
		}
		read(f, b.Key)
	}
	for _, r := range raw {
		f, err := store.Open(ctx, r)
		if err != nil {
			t.Fatalf("file %s: %v", r.Key, err)
		}
		read(f, r.Key)
	}
	return got
}

func sameSpans(t testing.TB, got, want map[spanID]bool, when string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d spans readable, want %d", when, len(got), len(want))
	}
	for k := range want {
		if !got[k] {
			t.Fatalf("%s: span %s/%s missing", when, k.trace, k.span)
		}
	}
}

func testConfig(clk *clock, owner string) Config {
	cfg := DefaultConfig()
	cfg.Now = clk.Now
	cfg.Owner = owner
	cfg.RowsPerRowGroup = 64
	return cfg
}

func newCompactor(t testing.TB, store *tracestore.Store, cfg Config) *Compactor {
	t.Helper()
	c, err := New(store, cfg, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// keys lists every key in the bucket.
func keys(t testing.TB, b objstore.Bucket) []string {
	t.Helper()
	var out []string
	for a, err := range b.List(context.Background(), "", objstore.ListOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, a.Key)
	}
	return out
}

// settled checks the end state of compaction: no ingest file, no lease,
// every block complete.
func settled(t testing.TB, b objstore.Bucket, tenantID string) {
	t.Helper()
	blocks := map[string][]string{}
	for _, k := range keys(t, b) {
		switch {
		case strings.HasPrefix(k, tenantID+"/ingest/"):
			t.Errorf("ingest file left after compaction and grace: %s", k)
		case strings.HasPrefix(k, tenantID+"/compactor/"):
			t.Errorf("lease left: %s", k)
		case strings.HasPrefix(k, tenantID+"/blocks/"):
			dir := k[:strings.LastIndex(k, "/")]
			blocks[dir] = append(blocks[dir], k[strings.LastIndex(k, "/")+1:])
		}
	}
	for dir, names := range blocks {
		slices.Sort(names)
		if want := []string{"aggregates", "attrfilter", "bloom", "data.parquet", "index.arrow", "meta.json"}; !slices.Equal(names, want) {
			t.Errorf("block %s has %v, want %v", dir, names, want)
		}
	}
	if len(blocks) == 0 {
		t.Error("no blocks")
	}
}

// The whole cycle: windows are compacted once settled, every span stays
// readable exactly once at each stage, inputs go after the grace period,
// and a second pass has nothing to do.
func TestCompactWindows(t *testing.T) {
	ctx := context.Background()
	clk := &clock{now: t0}
	bucket := objstoretest.NewMemory()
	store := tracestore.New(bucket, tracestore.Config{Now: clk.Now})
	want := fixture(t, store, clk, "acme", 8)
	c := newCompactor(t, store, testConfig(clk, "a"))

	clk.now = t0.Add(time.Hour + time.Minute) // 08:00 ended, not settled
	if err := c.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	st, _ := c.Observe(ctx, "acme")
	if len(st.Blocks) != 0 {
		t.Fatalf("window compacted before it settled: %d blocks", len(st.Blocks))
	}
	clk.Add(10 * time.Minute) // 08:00 settled; 09:00 is still being written
	if err := c.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	st, _ = c.Observe(ctx, "acme")
	if len(st.Blocks) != 1 || st.Blocks[0].Window != "2026-11-21T08" || len(st.Blocks[0].Inputs) != 4 {
		t.Fatalf("after 08:00 settled: %d blocks (%+v)", len(st.Blocks), st.Blocks)
	}
	sameSpans(t, readable(t, store, "acme"), want, "after the first block")
	if len(st.Files) != 8 {
		t.Fatalf("inputs deleted before the grace period: %d files left", len(st.Files))
	}

	clk.Add(2 * time.Hour) // everything settled, 08:00's grace is over
	if err := c.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	sameSpans(t, readable(t, store, "acme"), want, "after both windows")
	clk.Add(time.Hour)
	if err := c.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	sameSpans(t, readable(t, store, "acme"), want, "after the grace periods")
	settled(t, bucket, "acme")

	st, _ = c.Observe(ctx, "acme")
	total := 0
	for _, b := range st.Blocks {
		total += b.Spans
		if b.Traces == 0 || b.Sizes[tracestore.BlockData] == 0 {
			t.Errorf("block %s: meta %+v", b.Key, b)
		}
	}
	if total != len(want) {
		t.Errorf("blocks hold %d spans, want %d", total, len(want))
	}
	before := keys(t, bucket)
	if err := c.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if after := keys(t, bucket); !slices.Equal(before, after) {
		t.Errorf("a pass with nothing to do changed the bucket:\n%v\n%v", before, after)
	}
}

// Exact duplicates (a client retrying an export that was stored) are
// removed; Zipkin-style shared spans (one span ID, client and server
// halves) are not.
func TestCompactRemovesDuplicates(t *testing.T) {
	ctx := context.Background()
	clk := &clock{now: t0}
	bucket := objstoretest.NewMemory()
	store := tracestore.New(bucket, tracestore.Config{Now: clk.Now})
	rng := rand.New(rand.NewPCG(3, 4))
	td := tracegen.Telemetrygen(rng, 20, 3, t0)
	// A shared span: the same span ID with the other kind and service.
	shared := ptrace.NewTraces()
	rs := shared.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "backend")
	s := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).CopyTo(s)
	s.SetKind(ptrace.SpanKindServer)
	for i := 0; i < 3; i++ { // the original and two retries
		if _, err := store.Write(ctx, "t", tracestore.NewBatch(td)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := store.Write(ctx, "t", tracestore.NewBatch(shared)); err != nil {
		t.Fatal(err)
	}
	clk.Add(2 * time.Hour)
	c := newCompactor(t, store, testConfig(clk, "a"))
	if err := c.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	st, _ := c.Observe(ctx, "t")
	if len(st.Blocks) != 1 {
		t.Fatalf("%d blocks", len(st.Blocks))
	}
	b := st.Blocks[0]
	if b.Spans != td.SpanCount()+1 || b.Duplicates != 2*td.SpanCount() {
		t.Fatalf("block has %d spans and removed %d duplicates; want %d and %d", b.Spans, b.Duplicates, td.SpanCount()+1, 2*td.SpanCount())
	}
}

// crashing stops every mutation after the first n: the process died.
// With after, the n-th mutation happens but its caller sees a failure,
// as when the response is lost.
type crashing struct {
	objstore.Bucket
	n     int64
	after bool
	count atomic.Int64
}

var errCrash = errors.New("crashed")

func (c *crashing) mutate(op func() error) error {
	k := c.count.Add(1)
	if k < c.n {
		return op()
	}
	if k == c.n && c.after {
		_ = op()
	}
	return errCrash
}

func (c *crashing) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	return c.mutate(func() error { return c.Bucket.Put(ctx, key, r, size) })
}

func (c *crashing) PutIfAbsent(ctx context.Context, key string, r io.Reader, size int64) error {
	return c.mutate(func() error { return c.Bucket.PutIfAbsent(ctx, key, r, size) })
}

func (c *crashing) Delete(ctx context.Context, key string) error {
	return c.mutate(func() error { return c.Bucket.Delete(ctx, key) })
}

// snapshot copies every object of a bucket into a new memory bucket.
func snapshot(t testing.TB, from objstore.Bucket) objstore.Bucket {
	t.Helper()
	ctx := context.Background()
	to := objstoretest.NewMemory()
	for _, k := range keys(t, from) {
		rc, err := from.Get(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := to.Put(ctx, k, bytes.NewReader(data), int64(len(data))); err != nil {
			t.Fatal(err)
		}
	}
	return to
}

// A compactor that dies at any step — before or after any write or
// delete takes effect — leaves a bucket from which every span reads
// exactly once; another compactor, once the lease expired, finishes the
// job, and after the grace period nothing is left over.
func TestCrashAtEveryStep(t *testing.T) {
	ctx := context.Background()
	clk := &clock{now: t0}
	base := objstoretest.NewMemory()
	want := fixture(t, tracestore.New(base, tracestore.Config{Now: clk.Now}), clk, "acme", 6)
	start := t0.Add(3 * time.Hour) // both windows settled

	// Count the mutations of a clean run: inputs deleted too.
	counting := &crashing{Bucket: snapshot(t, base), n: 1 << 40}
	clk.now = start
	cfg := testConfig(clk, "a")
	cfg.Grace = 0
	c := newCompactor(t, tracestore.New(counting, tracestore.Config{Now: clk.Now}), cfg)
	for pass := 0; pass < 2; pass++ { // the second deletes the inputs
		if err := c.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	settled(t, counting.Bucket, "acme")
	steps := counting.count.Load()
	if steps < 10 {
		t.Fatalf("a clean run made only %d mutations", steps)
	}
	for n := int64(1); n <= steps; n++ {
		for _, after := range []bool{false, true} {
			t.Run(fmt.Sprintf("step=%d/after=%v", n, after), func(t *testing.T) {
				clk.now = start
				b := &crashing{Bucket: snapshot(t, base), n: n, after: after}
				store := tracestore.New(b, tracestore.Config{Now: clk.Now})
				cfg := testConfig(clk, "dies")
				cfg.Grace = 0
				dies := newCompactor(t, store, cfg)
				err := dies.RunOnce(ctx)
				if err == nil {
					err = dies.RunOnce(ctx)
				}
				if !errors.Is(err, errCrash) {
					t.Fatalf("run with a crash at step %d: %v", n, err)
				}
				// Read through the bucket as it was left.
				survivor := tracestore.New(b.Bucket, tracestore.Config{Now: clk.Now})
				sameSpans(t, readable(t, survivor, "acme"), want, "after the crash")

				// Another compactor takes over once the lease expired,
				// and after the grace period cleans up.
				clk.Add(cfg.LeaseTTL + time.Second)
				other := newCompactor(t, survivor, testConfig(clk, "other"))
				if err := other.RunOnce(ctx); err != nil {
					t.Fatal(err)
				}
				sameSpans(t, readable(t, survivor, "acme"), want, "after recovery")
				clk.Add(DefaultConfig().Grace + 2*cfg.LeaseTTL + time.Second)
				if err := other.RunOnce(ctx); err != nil {
					t.Fatal(err)
				}
				sameSpans(t, readable(t, survivor, "acme"), want, "after the grace period")
				settled(t, b.Bucket, "acme")
			})
		}
	}
}

// Compactors running at once on one bucket never both compact a window:
// every span is in exactly one block at the end.
func TestConcurrentCompactors(t *testing.T) {
	ctx := context.Background()
	clk := &clock{now: t0}
	bucket := objstoretest.NewMemory()
	store := tracestore.New(bucket, tracestore.Config{Now: clk.Now})
	want := map[spanID]bool{}
	for _, tenantID := range []string{"a", "b"} {
		for k := range fixture(t, store, clk, tenantID, 12) {
			want[k] = true
		}
	}
	clk.now = t0.Add(3 * time.Hour)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cfg := testConfig(clk, fmt.Sprintf("c%d", i))
			cfg.Grace = 0
			c := newCompactor(t, tracestore.New(bucket, tracestore.Config{Now: clk.Now}), cfg)
			errs <- c.RunOnce(ctx)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// Whatever a compactor skipped because another held the lease, a
	// later pass does; the one after the grace period deletes the inputs.
	last := newCompactor(t, store, testConfig(clk, "last"))
	if err := last.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Hour)
	if err := last.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	got := map[spanID]bool{}
	for _, tenantID := range []string{"a", "b"} {
		for k := range readable(t, store, tenantID) {
			got[k] = true
		}
		c := newCompactor(t, store, testConfig(clk, "check"))
		st, err := c.Observe(ctx, tenantID)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, rejected := tracestore.Resolve(st.Blocks, st.Files); len(rejected) != 0 {
			t.Errorf("tenant %s: %d blocks compacted the same inputs twice", tenantID, len(rejected))
		}
		if len(st.Files) != 0 {
			t.Errorf("tenant %s: %d ingest files left", tenantID, len(st.Files))
		}
	}
	sameSpans(t, got, want, "after concurrent compaction")
}

// A window with more input than one block takes becomes several blocks,
// each within the bounds, every span readable once.
func TestCompactSplitsLargeWindows(t *testing.T) {
	ctx := context.Background()
	clk := &clock{now: t0}
	bucket := objstoretest.NewMemory()
	store := tracestore.New(bucket, tracestore.Config{Now: clk.Now})
	want := fixture(t, store, clk, "acme", 8)
	clk.now = t0.Add(3 * time.Hour)
	cfg := testConfig(clk, "a")
	cfg.MaxBlockFiles = 3
	c := newCompactor(t, store, cfg)
	if err := c.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := c.Observe(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	perWindow := map[string]int{}
	for _, b := range st.Blocks {
		perWindow[b.Window]++
		if len(b.Inputs) > 3 {
			t.Errorf("block %s has %d inputs, bound 3", b.Key, len(b.Inputs))
		}
	}
	if perWindow["2026-11-21T08"] != 2 || perWindow["2026-11-21T09"] != 2 {
		t.Errorf("blocks per window %v, want 2 each (4 files, 3 per block)", perWindow)
	}
	sameSpans(t, readable(t, store, "acme"), want, "after splitting")
}
