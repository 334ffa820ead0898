package vparquet1

import (
	"bytes"
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracelake/tracelake/storage/spanfile"
	"github.com/tracelake/tracelake/storage/tracegen"
)

// Merging files gives every span of every input exactly once — duplicates
// sent again by a retry are dropped — sorted as the format requires, with
// one onTrace call per trace naming its rows, and ReadRows reading them.
func TestMerge(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	cfg := DefaultWriterConfig()
	cfg.RowsPerRowGroup = 50 // many row groups per input and output
	a := tracegen.Random(rng, 3, 2, 40)
	b := tracegen.Random(rng, 2, 2, 40)
	// c shares traces with a (late spans of the same traces) and repeats
	// some of a's spans exactly, as a client retry would.
	c := tracegen.Random(rng, 2, 1, 30)
	dups := 0
	for _, rs := range c.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for i, s := range ss.Spans().All() {
				src := a.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
				s.SetTraceID(src.At(i % src.Len()).TraceID())
			}
		}
	}
	retry := ptrace.NewTraces()
	a.ResourceSpans().At(1).CopyTo(retry.ResourceSpans().AppendEmpty())
	dups = retry.SpanCount()

	want := ptrace.NewTraces()
	for _, td := range []ptrace.Traces{a, b, c} {
		for _, rs := range td.ResourceSpans().All() {
			rs.CopyTo(want.ResourceSpans().AppendEmpty())
		}
	}
	var inputs []*File
	for _, td := range []ptrace.Traces{a, b, c, retry} {
		inputs = append(inputs, encodeOpen(t, cfg, NewBatch(td)))
	}

	var out bytes.Buffer
	var calls []pcommon.TraceID
	var lastRow int64 = -1
	rowsOf := map[pcommon.TraceID][2]int64{}
	info, err := NewWriter(cfg).Merge(context.Background(), &out, "t", inputs, func(spans []spanfile.SpanInfo, first int64) error {
		if first <= lastRow {
			t.Errorf("trace rows start at %d, after %d", first, lastRow)
		}
		for _, s := range spans {
			if s.TraceID != spans[0].TraceID {
				t.Errorf("one call holds traces %s and %s", spans[0].TraceID, s.TraceID)
			}
		}
		lastRow = first + int64(len(spans)) - 1
		calls = append(calls, spans[0].TraceID)
		rowsOf[spans[0].TraceID] = [2]int64{first, int64(len(spans))}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if info.Duplicates != dups || info.Spans != want.SpanCount() {
		t.Fatalf("merge: %d spans, %d duplicates; want %d and %d", info.Spans, info.Duplicates, want.SpanCount(), dups)
	}
	if !slices.IsSortedFunc(calls, func(x, y pcommon.TraceID) int { return bytes.Compare(x[:], y[:]) }) || len(calls) != info.Traces {
		t.Fatalf("onTrace calls are not one per trace in order (%d calls, %d traces)", len(calls), info.Traces)
	}
	f, err := Open(bytes.NewReader(out.Bytes()), int64(out.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if f.Info().Spans != info.Spans || f.Info().StartMin != info.StartMin || f.Info().EndMax != info.EndMax {
		t.Fatalf("footer %+v, merge said %+v", f.Info(), info)
	}
	got := ptrace.NewTraces()
	for _, id := range traceIDs(want) {
		r := rowsOf[id]
		if err := f.ReadRows(context.Background(), r[0], r[1], got); err != nil {
			t.Fatal(err)
		}
		one := ptrace.NewTraces()
		if _, err := f.FindTrace(context.Background(), id, one); err != nil || int64(one.SpanCount()) != r[1] {
			t.Fatalf("trace %s: FindTrace found %d spans (%v), rows say %d", id, one.SpanCount(), err, r[1])
		}
	}
	if g, w := canonical(t, got), canonical(t, want); !slices.Equal(g, w) {
		t.Fatalf("merged file holds %d spans, want %d", len(g), len(w))
	}
	// The output is itself a valid input: sorted, so merging it again
	// changes nothing.
	var again bytes.Buffer
	info2, err := NewWriter(cfg).Merge(context.Background(), &again, "t", []*File{f}, nil)
	if err != nil || info2.Spans != info.Spans || info2.Duplicates != 0 || info2.Traces != info.Traces {
		t.Fatalf("re-merge: %+v, %v", info2, err)
	}
	if err := f.ReadRows(context.Background(), int64(info.Spans)-1, 2, ptrace.NewTraces()); err == nil {
		t.Error("ReadRows past the end succeeded")
	}
}

// ReadRowRanges gives each run exactly what ReadRows gives it, whether a
// row group holds one run or many, and for runs crossing row groups.
func TestReadRowRangesMatchesReadRows(t *testing.T) {
	ctx := context.Background()
	for seed := uint64(1); seed <= 20; seed++ {
		rng := rand.New(rand.NewPCG(seed, 5))
		cfg := DefaultWriterConfig()
		cfg.RowsPerRowGroup = 4 + int64(rng.IntN(40))
		f := encodeOpen(t, cfg, NewBatch(tracegen.Random(rng, 3, 2, 40)))
		total := f.Parquet().NumRows()
		// Disjoint runs in random order, some empty, some long.
		var ranges []RowRange
		for row := int64(0); row < total; {
			n := min(total-row, int64(rng.IntN(12)))
			if rng.IntN(3) > 0 {
				ranges = append(ranges, RowRange{First: row, N: n})
			}
			row += n + int64(rng.IntN(5))
		}
		rng.Shuffle(len(ranges), func(i, j int) { ranges[i], ranges[j] = ranges[j], ranges[i] })
		seen := make([]bool, len(ranges))
		err := f.ReadRowRanges(ctx, ranges, func(i int, td ptrace.Traces) error {
			if seen[i] {
				t.Fatalf("seed %d: run %d twice", seed, i)
			}
			seen[i] = true
			want := ptrace.NewTraces()
			if err := f.ReadRows(ctx, ranges[i].First, ranges[i].N, want); err != nil {
				t.Fatal(err)
			}
			got, _ := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
			exp, _ := (&ptrace.JSONMarshaler{}).MarshalTraces(want)
			if !bytes.Equal(got, exp) {
				t.Fatalf("seed %d run %v:\n got %s\nwant %s", seed, ranges[i], got, exp)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for i, ok := range seen {
			if !ok {
				t.Fatalf("seed %d: run %d (%v) never read", seed, i, ranges[i])
			}
		}
	}
	f := encodeOpen(t, DefaultWriterConfig(), NewBatch(tracegen.Random(rand.New(rand.NewPCG(1, 1)), 1, 1, 5)))
	if err := f.ReadRowRanges(ctx, []RowRange{{First: 3, N: 9}}, func(int, ptrace.Traces) error { return nil }); err == nil {
		t.Fatal("a run past the end was read")
	}
}
