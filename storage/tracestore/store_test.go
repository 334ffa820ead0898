package tracestore

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracelake/tracelake/storage/objstore"
	"github.com/tracelake/tracelake/storage/objstore/objstoretest"
	"github.com/tracelake/tracelake/storage/tracegen"
)

func TestKeyRoundTrip(t *testing.T) {
	s := New(objstoretest.NewMemory(), Config{Now: func() time.Time { return time.Date(2026, 11, 21, 8, 30, 0, 0, time.UTC) }})
	id, err := s.newID(s.cfg.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ start, end int64 }{
		{1_700_000_000_123_456_789, 1_700_000_001_000_000_001},
		{0, 0},
		{-1_500_000, 1}, // pre-epoch spans round outwards too
	} {
		key := fileKey("acme", id, tc.start, tc.end)
		if !strings.HasPrefix(key, "acme/ingest/2026-11-21T08/") {
			t.Fatalf("key %q has the wrong partition", key)
		}
		ref, err := ParseKey(key)
		if err != nil {
			t.Fatal(err)
		}
		if ref.Tenant != "acme" || ref.ID != id || !ref.Written.Equal(time.Date(2026, 11, 21, 8, 30, 0, 0, time.UTC)) {
			t.Fatalf("ParseKey(%q) = %+v", key, ref)
		}
		if ref.StartMin > tc.start || ref.EndMax < tc.end || tc.start-ref.StartMin >= 1e6 || ref.EndMax-tc.end >= 1e6 {
			t.Fatalf("range [%d,%d] not rounded outwards to ms: [%d,%d]", tc.start, tc.end, ref.StartMin, ref.EndMax)
		}
	}
}

func TestParseKeyRejects(t *testing.T) {
	for _, key := range []string{
		"acme/ingest/2026-11-21T08/01JDA1.parquet",
		"acme/blocks/2026-11-21T08/01JDA3T6G0000000000000000_1_2.parquet",
		"acme/ingest/2026-11-21T09/01JDA3T6G0000000000000000_1_2.parquet", // hour ≠ ULID time
		"acme/ingest/2026-11-21T08/01JDA3T6G0000000000000000_x_2.parquet",
		"ac me/ingest/2026-11-21T08/01JDA3T6G0000000000000000_1_2.parquet",
		"acme/ingest/2026-11-21T08/01JDA3T6G0000000000000000_1_2.tmp",
	} {
		if _, err := ParseKey(key); err == nil {
			t.Errorf("ParseKey(%q) accepted it", key)
		}
	}
}

func TestWriteListOpen(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(2, 2))
	bucket := objstoretest.NewMemory()
	now := time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)
	s := New(bucket, Config{Now: func() time.Time { return now }})

	// Three files written an hour apart, each with spans around its write time.
	var refs []FileRef
	var tds []ptrace.Traces
	for i := 0; i < 3; i++ {
		now = time.Date(2026, 11, 21, 8+i, 5, 0, 0, time.UTC)
		td := tracegen.Telemetrygen(rng, 10, 1, now.Add(-time.Minute))
		ref, err := s.Write(ctx, "acme", NewBatch(td))
		if err != nil {
			t.Fatal(err)
		}
		refs, tds = append(refs, ref), append(tds, td)
	}
	if _, err := s.Write(ctx, "other", NewBatch(tracegen.Telemetrygen(rng, 1, 0, now))); err != nil {
		t.Fatal(err)
	}

	list := func(start, end time.Time) []string {
		var s0, e0 int64
		if !start.IsZero() {
			s0 = start.UnixNano()
		}
		if !end.IsZero() {
			e0 = end.UnixNano()
		}
		var keys []string
		for ref, err := range s.Files(ctx, "acme", s0, e0) {
			if err != nil {
				t.Fatal(err)
			}
			keys = append(keys, ref.Key)
		}
		return keys
	}
	if got := list(time.Time{}, time.Time{}); len(got) != 3 {
		t.Fatalf("unbounded listing found %d files, want 3", len(got))
	}
	// The second file's spans start at 09:04; a window around it finds it
	// alone.
	got := list(time.Date(2026, 11, 21, 9, 3, 0, 0, time.UTC), time.Date(2026, 11, 21, 9, 10, 0, 0, time.UTC))
	if len(got) != 1 || got[0] != refs[1].Key {
		t.Fatalf("window listing = %v, want [%s]", got, refs[1].Key)
	}

	f, err := s.Open(ctx, refs[1])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if info := f.Info(); info.Spans != 20 || info.Tenant != "acme" {
		t.Fatalf("Info() = %+v", info)
	}
	id := tds[1].ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).TraceID()
	out := ptrace.NewTraces()
	if n, err := f.FindTrace(ctx, id, out); err != nil || n != 2 {
		t.Fatalf("FindTrace = %d, %v; want 2 spans", n, err)
	}
}

func TestWriteFailureIsReported(t *testing.T) {
	ctx := context.Background()
	faulty := objstoretest.NewFaulty(objstoretest.NewMemory())
	faulty.Inject(objstoretest.Fault{Op: objstoretest.OpPut, Err: errBoom})
	s := New(faulty, Config{})
	_, err := s.Write(ctx, "acme", NewBatch(tracegen.Telemetrygen(rand.New(rand.NewPCG(1, 1)), 1, 1, time.Now())))
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("Write on a failing bucket = %v", err)
	}
	n := 0
	for range faulty.List(ctx, "", objstore.ListOptions{}) {
		n++
	}
	if n != 0 {
		t.Fatalf("a failed write left %d objects", n)
	}
}

var errBoom = errorString("boom")

type errorString string

func (e errorString) Error() string { return string(e) }
