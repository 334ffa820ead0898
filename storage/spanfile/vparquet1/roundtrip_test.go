package vparquet1

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracelake/tracelake/storage/tracegen"
)

// canonical flattens td into one proto encoding per span (with its
// resource and scope), sorted: two Traces hold the same data exactly when
// their canonical forms are equal, however spans are grouped.
func canonical(t *testing.T, td ptrace.Traces) []string {
	t.Helper()
	var out []string
	var m ptrace.ProtoMarshaler
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		for j := 0; j < rs.ScopeSpans().Len(); j++ {
			ss := rs.ScopeSpans().At(j)
			for k := 0; k < ss.Spans().Len(); k++ {
				one := ptrace.NewTraces()
				ors := one.ResourceSpans().AppendEmpty()
				rs.Resource().CopyTo(ors.Resource())
				ors.SetSchemaUrl(rs.SchemaUrl())
				oss := ors.ScopeSpans().AppendEmpty()
				ss.Scope().CopyTo(oss.Scope())
				oss.SetSchemaUrl(ss.SchemaUrl())
				ss.Spans().At(k).CopyTo(oss.Spans().AppendEmpty())
				b, err := m.MarshalTraces(one)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, string(b))
			}
		}
	}
	slices.Sort(out)
	return out
}

func traceIDs(td ptrace.Traces) []pcommon.TraceID {
	seen := map[pcommon.TraceID]bool{}
	var ids []pcommon.TraceID
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				if !seen[s.TraceID()] {
					seen[s.TraceID()] = true
					ids = append(ids, s.TraceID())
				}
			}
		}
	}
	return ids
}

// roundTrip writes batches into a file, reads every trace back and
// checks the result is identical to the input.
func roundTrip(t *testing.T, cfg WriterConfig, inputs ...ptrace.Traces) *File {
	t.Helper()
	want := ptrace.NewTraces()
	var batches []*Batch
	for _, td := range inputs {
		for _, rs := range td.ResourceSpans().All() {
			rs.CopyTo(want.ResourceSpans().AppendEmpty())
		}
		batches = append(batches, NewBatch(td))
	}
	data, info, err := NewWriter(cfg).Encode("tenant-a", batches...)
	if err != nil {
		t.Fatal(err)
	}
	if info.Spans != want.SpanCount() {
		t.Fatalf("info.Spans = %d, want %d", info.Spans, want.SpanCount())
	}
	f, err := Open(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Info(); got.Spans != info.Spans || got.StartMin != info.StartMin || got.EndMax != info.EndMax || got.Tenant != "tenant-a" || got.Format != FormatName {
		t.Fatalf("Info() = %+v, written %+v", got, info)
	}
	got := ptrace.NewTraces()
	for _, id := range traceIDs(want) {
		if _, err := f.FindTrace(context.Background(), id, got); err != nil {
			t.Fatalf("FindTrace(%s): %v", id, err)
		}
	}
	if g, w := canonical(t, got), canonical(t, want); !slices.Equal(g, w) {
		t.Fatalf("round trip changed data: got %d spans, want %d", len(g), len(w))
	}
	return f
}

// encodeOpen writes batches with cfg and opens the result.
func encodeOpen(t *testing.T, cfg WriterConfig, batches ...*Batch) *File {
	t.Helper()
	data, _, err := NewWriter(cfg).Encode("t", batches...)
	if err != nil {
		t.Fatal(err)
	}
	f, err := Open(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestRoundTripSpecExample(t *testing.T) {
	raw, err := os.ReadFile("testdata/otlp-example-trace.json")
	if err != nil {
		t.Fatal(err)
	}
	td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(raw)
	if err != nil {
		t.Fatal(err)
	}
	if td.SpanCount() != 1 {
		t.Fatalf("fixture has %d spans", td.SpanCount())
	}
	roundTrip(t, DefaultWriterConfig(), td)
}

func TestRoundTripRandom(t *testing.T) {
	small := DefaultWriterConfig()
	small.RowsPerRowGroup = 7 // many row groups: traces straddle them
	small.PageBufferSize = 512
	for seed := uint64(1); seed <= 40; seed++ {
		rng := rand.New(rand.NewPCG(seed, seed))
		inputs := []ptrace.Traces{
			tracegen.Random(rng, 1+rng.IntN(3), 1+rng.IntN(3), 1+rng.IntN(30)),
			tracegen.Random(rng, 1+rng.IntN(3), 1+rng.IntN(3), 1+rng.IntN(30)),
		}
		cfg := DefaultWriterConfig()
		if seed%2 == 0 {
			cfg = small
		}
		roundTrip(t, cfg, inputs...)
	}
}

func TestRoundTripEdgeValues(t *testing.T) {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty() // no attributes at all
	s := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	s.SetTraceID(pcommon.TraceID{1})
	s.SetSpanID(pcommon.SpanID{2})
	// zero timestamps, end before start (clock trouble), and values whose
	// zero forms must not be confused with absent ones
	s.SetStartTimestamp(10)
	s.SetEndTimestamp(5)
	a := s.Attributes()
	a.PutDouble("neg-zero", math.Copysign(0, -1))
	a.PutDouble("zero", 0)
	a.PutDouble("inf", math.Inf(-1))
	a.PutDouble("nan", math.NaN())
	a.PutStr("empty", "")
	a.PutStr("", "empty key")
	a.PutInt("int-zero", 0)
	a.PutInt("int-min", math.MinInt64)
	a.PutBool("false", false)
	a.PutEmptyBytes("no-bytes")
	a.PutEmpty("empty-value")
	a.PutEmptySlice("empty-slice")
	a.PutEmptyMap("empty-map")
	ev := s.Events().AppendEmpty() // an event with nothing set
	_ = ev
	ln := s.Links().AppendEmpty() // a link with nothing set
	_ = ln
	f := roundTrip(t, DefaultWriterConfig(), td)

	got := ptrace.NewTraces()
	if _, err := f.FindTrace(context.Background(), pcommon.TraceID{1}, got); err != nil {
		t.Fatal(err)
	}
	v, _ := got.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().Get("neg-zero")
	if !math.Signbit(v.Double()) {
		t.Errorf("negative zero came back as %v", v.Double())
	}
}

func TestFindTraceMissing(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	f := encodeOpen(t, DefaultWriterConfig(), NewBatch(tracegen.Random(rng, 2, 2, 20)))
	td := ptrace.NewTraces()
	n, err := f.FindTrace(context.Background(), tracegen.TraceID(rng), td)
	if err != nil || n != 0 || td.SpanCount() != 0 {
		t.Fatalf("FindTrace(unknown) = %d, %v, %d spans", n, err, td.SpanCount())
	}
}

func TestOpenRejectsOtherFiles(t *testing.T) {
	if _, err := Open(bytes.NewReader([]byte("not parquet at all")), 18); err == nil {
		t.Fatal("Open accepted garbage")
	}
}

// TestTraceIndex: the in-memory index must never rule out a trace the file
// holds, and should rule out almost every other.
func TestTraceIndex(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 11))
	td := tracegen.Telemetrygen(rng, 5000, 1, time.Now())
	cfg := DefaultWriterConfig()
	cfg.RowsPerRowGroup = 1000
	f := encodeOpen(t, cfg, NewBatch(td))
	idx, err := f.TraceIndex(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range traceIDs(td) {
		if !idx.MayContain(id) {
			t.Fatalf("index rules out trace %s, which the file holds", id)
		}
	}
	falsePositives := 0
	for i := 0; i < 10000; i++ {
		if idx.MayContain(tracegen.TraceID(rng)) {
			falsePositives++
		}
	}
	if falsePositives > 300 { // ~1% expected
		t.Errorf("%d of 10000 absent traces pass the index", falsePositives)
	}
	if idx.MemSize() == 0 || idx.MemSize() > 10000*3 {
		t.Errorf("index of 10000 spans takes %d bytes", idx.MemSize())
	}
	t.Logf("index: %d bytes for 10000 spans, %d/10000 false positives", idx.MemSize(), falsePositives)
}

// Every file a Writer writes, however many came before, names its column
// chunks in the footer (path_in_schema): readers other than ours rely on
// it. parquet-go's writer Reset used to clear the shared schema's paths.
func TestFootersNameTheirColumns(t *testing.T) {
	w := NewWriter(DefaultWriterConfig())
	rng := rand.New(rand.NewPCG(4, 4))
	check := func(what string, data []byte) *File {
		t.Helper()
		f, err := OpenRows(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		for gi, rg := range f.Parquet().Metadata().RowGroups {
			for ci, c := range rg.Columns {
				if got, want := strings.Join(c.MetaData.PathInSchema, "."), f.ColumnPath(ci); got != want || want == "" {
					t.Fatalf("%s: row group %d column %d: path_in_schema %q, schema %q", what, gi, ci, got, want)
				}
			}
		}
		return f
	}
	var files []*File
	for i := range 4 {
		data, _, err := w.Encode("t", NewBatch(tracegen.Random(rng, 2, 2, 20)))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, check(fmt.Sprintf("file %d", i), data))
	}
	for i := range 3 {
		var buf bytes.Buffer
		if _, err := w.Merge(context.Background(), &buf, "t", files, nil); err != nil {
			t.Fatal(err)
		}
		check(fmt.Sprintf("merge %d", i), buf.Bytes())
	}
}
