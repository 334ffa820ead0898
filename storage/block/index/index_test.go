package index

import (
	"bytes"
	"encoding/json"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracelake/tracelake/storage/spanfile"
)

var update = flag.Bool("update", false, "rewrite the testdata fixtures")

// oddTraces gives some traces no root span and some several, with equal
// starts, so that the root rule's tie-breaks are exercised.
func oddTraces(rng *rand.Rand, traces [][]spanfile.SpanInfo) {
	for _, spans := range traces {
		switch rng.IntN(4) {
		case 0: // no root
			for i := range spans {
				spans[i].ParentSpanID = pcommon.SpanID{9, 9}
			}
		case 1: // several roots, some starting together
			for i := range spans {
				if rng.IntN(2) == 0 {
					spans[i].ParentSpanID = pcommon.SpanID{}
					spans[i].Start = spans[len(spans)-1].Start
				}
			}
		}
	}
}

func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	c := realistic
	c.traces = 2000
	traces := genBlock(rng, c)
	oddTraces(rng, traces)
	// Gaps between traces' rows are allowed; leave a few.
	b := NewBuilder()
	var want []TraceSummary
	row := int64(0)
	for _, spans := range traces {
		row += int64(rng.IntN(2))
		if err := b.Add(spans, row); err != nil {
			t.Fatal(err)
		}
		want = append(want, summarize(spans, row))
		row += int64(len(spans))
	}
	var buf bytes.Buffer
	if err := b.WriteIndex(&buf); err != nil {
		t.Fatal(err)
	}
	x := mustRead(t, buf.Bytes())
	if x.Len() != len(want) || b.Len() != len(want) {
		t.Fatalf("Len: index %d, builder %d, want %d", x.Len(), b.Len(), len(want))
	}
	for i := range want {
		if got := x.Trace(i); !reflect.DeepEqual(got, want[i]) {
			t.Fatalf("Trace(%d):\n got %+v\nwant %+v", i, got, want[i])
		}
	}
	if got, limit := x.MemSize(), 2*buf.Len()+len(want)*400; got <= buf.Len() || got > limit {
		t.Errorf("MemSize = %d for a %d-byte file of %d traces", got, buf.Len(), len(want))
	}
}

// TestRoundTripEdgeValues stores the extremes of every field: negative
// durations, kinds outside OTLP's enum, empty and non-ASCII strings.
func TestRoundTripEdgeValues(t *testing.T) {
	id := func(b byte) pcommon.TraceID { return pcommon.TraceID{15: b} }
	traces := [][]spanfile.SpanInfo{
		{{TraceID: pcommon.TraceID{}, Service: "", Name: "", Start: -5, Duration: -10}},
		{
			{TraceID: id(1), ParentSpanID: pcommon.SpanID{1}, Service: "ünïcode", Name: "a\x00b", Kind: 99, Start: 1 << 62, Duration: 1 << 62},
			{TraceID: id(1), ParentSpanID: pcommon.SpanID{1}, Service: "ünïcode", Name: "a\x00b", Kind: 99, Start: -1 << 62, Duration: -1 << 62, StatusCode: ptrace.StatusCodeError},
			{TraceID: id(1), ParentSpanID: pcommon.SpanID{1}, Service: "ünïcode", Name: "a\x00b", Kind: -3, Start: 0, Duration: 0},
		},
		{{TraceID: pcommon.TraceID{0: 0xff, 15: 0xff}, Service: "z", Name: strings.Repeat("n", 1000), Start: 7, Duration: 1}},
	}
	b := NewBuilder()
	var want []TraceSummary
	row := int64(0)
	for _, spans := range traces {
		if err := b.Add(spans, row); err != nil {
			t.Fatal(err)
		}
		want = append(want, summarize(spans, row))
		row += int64(len(spans)) + 1000
	}
	var buf bytes.Buffer
	if err := b.WriteIndex(&buf); err != nil {
		t.Fatal(err)
	}
	x := mustRead(t, buf.Bytes())
	for i := range want {
		if got := x.Trace(i); !reflect.DeepEqual(got, want[i]) {
			t.Errorf("Trace(%d):\n got %+v\nwant %+v", i, got, want[i])
		}
	}
}

func TestLookup(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	c := realistic
	c.traces = 5000
	traces := genBlock(rng, c)
	_, data, _ := build(t, traces)
	x := mustRead(t, data)
	row := int64(0)
	present := map[pcommon.TraceID]bool{}
	for _, spans := range traces {
		first, rows, ok := x.Lookup(spans[0].TraceID)
		if !ok || first != row || rows != int64(len(spans)) {
			t.Fatalf("Lookup(%s) = %d, %d, %v; want %d, %d, true", spans[0].TraceID, first, rows, ok, row, len(spans))
		}
		row += int64(len(spans))
		present[spans[0].TraceID] = true
	}
	// Misses: random IDs, neighbours of present ones, the extremes.
	misses := []pcommon.TraceID{{}, {0: 0xff, 1: 0xff, 2: 0xff, 3: 0xff, 4: 0xff, 5: 0xff, 6: 0xff, 7: 0xff,
		8: 0xff, 9: 0xff, 10: 0xff, 11: 0xff, 12: 0xff, 13: 0xff, 14: 0xff, 15: 0xff}}
	for i := 0; i < 1000; i++ {
		var id pcommon.TraceID
		for j := range id {
			id[j] = byte(rng.UintN(256))
		}
		misses = append(misses, id)
		near := traces[rng.IntN(len(traces))][0].TraceID
		near[15]++
		misses = append(misses, near)
	}
	for _, id := range misses {
		if present[id] {
			continue
		}
		if first, rows, ok := x.Lookup(id); ok {
			t.Fatalf("Lookup(%s) = %d, %d, true for an absent trace", id, first, rows)
		}
	}
}

func TestEmpty(t *testing.T) {
	_, data, bf := build(t, nil)
	x := mustRead(t, data)
	if x.Len() != 0 {
		t.Fatalf("Len = %d", x.Len())
	}
	if _, _, ok := x.Lookup(pcommon.TraceID{1}); ok {
		t.Error("Lookup found a trace in an empty index")
	}
	x.Search(Query{}, func(Hit) bool { t.Error("Search found a trace in an empty index"); return true })
	bl, err := ReadBloom(bf)
	if err != nil {
		t.Fatal(err)
	}
	_ = bl.MayContain(pcommon.TraceID{1})
}

func TestAddRejects(t *testing.T) {
	id := func(b byte) pcommon.TraceID { return pcommon.TraceID{15: b} }
	span := func(tid pcommon.TraceID) spanfile.SpanInfo {
		return spanfile.SpanInfo{TraceID: tid, Service: "s", Name: "n"}
	}
	tests := []struct {
		name  string
		spans []spanfile.SpanInfo
		first int64
		want  string
	}{
		{"no spans", nil, 10, "no spans"},
		{"earlier ID", []spanfile.SpanInfo{span(id(1))}, 10, "ascending trace-ID order"},
		{"same ID", []spanfile.SpanInfo{span(id(5))}, 10, "ascending trace-ID order"},
		{"mixed IDs", []spanfile.SpanInfo{span(id(6)), span(id(7))}, 10, "span 1 has trace ID"},
		{"overlapping rows", []spanfile.SpanInfo{span(id(6))}, 1, "overlaps"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBuilder()
			if err := b.Add([]spanfile.SpanInfo{span(id(5)), span(id(5))}, 0); err != nil {
				t.Fatal(err)
			}
			var before bytes.Buffer
			if err := b.WriteIndex(&before); err != nil {
				t.Fatal(err)
			}
			err := b.Add(tt.spans, tt.first)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Add = %v, want an error containing %q", err, tt.want)
			}
			if b.Len() != 1 {
				t.Fatalf("Len = %d after a failed Add", b.Len())
			}
			var after bytes.Buffer
			if err := b.WriteIndex(&after); err != nil {
				t.Fatal(err)
			}
			x := mustRead(t, after.Bytes())
			if x.Len() != 1 || x.Trace(0).Spans != 2 {
				t.Fatalf("a failed Add changed the index: %+v", x.Trace(0))
			}
		})
	}
}

// writeRaw writes an Arrow IPC file of one record batch from arrays.
func writeRaw(t *testing.T, schema *arrow.Schema, cols []arrow.Array, opts ...ipc.Option) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := ipc.NewFileWriter(&buf, append([]ipc.Option{ipc.WithSchema(schema)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	n := int64(0)
	if len(cols) > 0 {
		n = int64(cols[0].Len())
	}
	rec := array.NewRecordBatch(schema, cols, n)
	defer rec.Release()
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestReadIndexRejects(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	c := realistic
	c.traces = 50
	b, good, bloomFile := build(t, genBlock(rng, c))

	// A valid index, its schema metadata replaced.
	withMeta := func(keys, values []string) []byte {
		rec := readRecord(t, good)
		defer rec.Release()
		md := arrow.NewMetadata(keys, values)
		schema := arrow.NewSchema(rec.Schema().Fields(), &md)
		return writeRaw(t, schema, rec.Columns())
	}
	// A valid index, written from a tampered builder.
	tampered := func(f func(b *Builder)) []byte {
		cp := *b
		cp.traces = traceCols{
			ids: append([]idKey(nil), b.traces.ids...), first: append([]int64(nil), b.traces.first...),
			spans: b.traces.spans, errors: b.traces.errors, start: b.traces.start, end: b.traces.end,
			rootGroup: append([]int32(nil), b.traces.rootGroup...), groupOff: b.traces.groupOff,
		}
		cp.groups.minDur = append([]int64(nil), b.groups.minDur...)
		f(&cp)
		var buf bytes.Buffer
		if err := cp.WriteIndex(&buf); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	mem := memory.DefaultAllocator
	ib := array.NewInt64Builder(mem)
	ib.Append(1)
	other := writeRaw(t, arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Int64}}, nil), []arrow.Array{ib.NewArray()})

	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"nil", nil, "not an Arrow IPC file"},
		{"garbage", []byte("hello, world, this is not arrow"), "not an Arrow IPC file"},
		{"bloom file", bloomFile, "not an Arrow IPC file"},
		{"truncated", good[:len(good)/2], "not an Arrow IPC file"},
		{"footer cut", append(append([]byte(nil), good[:len(good)-100]...), good[len(good)-10:]...), "malformed"},
		{"other arrow file", other, `not a trace index: schema metadata tracelake.index.format is ""`},
		{"other format", withMeta([]string{metaFormat, metaVersion}, []string{"parquet", "1"}), `is "parquet", want "tlidx"`},
		{"version 2", withMeta([]string{metaFormat, metaVersion}, []string{formatName, "2"}), `trace index version "2" is not supported`},
		{"no version", withMeta([]string{metaFormat}, []string{formatName}), `trace index version "" is not supported`},
		{"unsorted IDs", tampered(func(b *Builder) { b.traces.ids[3], b.traces.ids[4] = b.traces.ids[4], b.traces.ids[3] }), "not strictly ascending"},
		{"overlapping rows", tampered(func(b *Builder) { b.traces.first[7] = b.traces.first[6] }), "overlap"},
		{"root out of range", tampered(func(b *Builder) { b.traces.rootGroup[0] = 1000 }), "root group"},
		{"min above max", tampered(func(b *Builder) { b.groups.minDur[0] = b.groups.maxDur[0] + 1 }), "inconsistent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, err := ReadIndex(tt.data)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ReadIndex = %v, %v; want an error containing %q", x, err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "read trace index: ") {
				t.Errorf("error %q lacks context", err)
			}
		})
	}
}

// TestReadIndexMissingColumn: a file of the right format and version but
// without a column is refused by name.
func TestReadIndexMissingColumn(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	c := realistic
	c.traces = 10
	_, good, _ := build(t, genBlock(rng, c))
	rec := readRecord(t, good)
	defer rec.Release()
	s := rec.Schema()
	md := s.Metadata()
	fields := append([]arrow.Field(nil), s.Fields()...)
	cols := append([]arrow.Array(nil), rec.Columns()...)
	i := s.FieldIndices(colRootGroup)[0]
	fields = append(fields[:i], fields[i+1:]...)
	cols = append(cols[:i], cols[i+1:]...)
	_, err := ReadIndex(writeRaw(t, arrow.NewSchema(fields, &md), cols))
	if err == nil || !strings.Contains(err.Error(), `column "root_group" is missing`) {
		t.Fatalf("ReadIndex = %v", err)
	}
}

// TestReadIndexUncompressed: compression is the writer's choice; a reader
// takes uncompressed and LZ4 bodies as well.
func TestReadIndexOtherCompression(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	c := realistic
	c.traces = 100
	traces := genBlock(rng, c)
	_, good, _ := build(t, traces)
	want := mustRead(t, good)
	for name, opts := range map[string][]ipc.Option{"none": nil, "lz4": {ipc.WithLZ4()}} {
		rec := readRecord(t, good)
		x := mustRead(t, writeRaw(t, rec.Schema(), rec.Columns(), opts...))
		rec.Release()
		if !reflect.DeepEqual(x, want) {
			t.Errorf("%s: index differs from the zstd one", name)
		}
	}
}

func readRecord(t *testing.T, data []byte) arrow.RecordBatch {
	t.Helper()
	r, err := ipc.NewFileReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rec, err := r.RecordBatchAt(0)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// TestFixtures reads files written by an earlier build, against the
// summaries recorded with them: old indexes must stay readable. -update
// rewrites all three from generated traces.
func TestFixtures(t *testing.T) {
	indexPath := filepath.Join("testdata", "v1.tlidx")
	bloomPath := filepath.Join("testdata", "v1.tlbf")
	wantPath := filepath.Join("testdata", "v1.json")
	if *update {
		rng := rand.New(rand.NewPCG(11, 12))
		c := realistic
		c.traces = 20
		c.maxSpans = 8
		traces := genBlock(rng, c)
		oddTraces(rng, traces)
		_, data, bf := build(t, traces)
		var want []TraceSummary
		row := int64(0)
		for _, spans := range traces {
			want = append(want, summarize(spans, row))
			row += int64(len(spans))
		}
		js, err := json.MarshalIndent(want, "", "\t")
		if err != nil {
			t.Fatal(err)
		}
		for path, b := range map[string][]byte{indexPath: data, bloomPath: bf, wantPath: append(js, '\n')} {
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	var want []TraceSummary
	if js, err := os.ReadFile(wantPath); err != nil {
		t.Fatal(err)
	} else if err := json.Unmarshal(js, &want); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(indexPath)
	if err != nil {
		t.Fatal(err)
	}
	x := mustRead(t, data)
	if x.Len() != len(want) {
		t.Fatalf("Len = %d, want %d", x.Len(), len(want))
	}
	for i := range want {
		if got := x.Trace(i); !reflect.DeepEqual(got, want[i]) {
			t.Errorf("Trace(%d):\n got %+v\nwant %+v", i, got, want[i])
		}
	}
	bf, err := os.ReadFile(bloomPath)
	if err != nil {
		t.Fatal(err)
	}
	bl, err := ReadBloom(bf)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range want {
		if !bl.MayContain(s.TraceID) {
			t.Errorf("bloom lacks %s", s.TraceID)
		}
	}
}

func TestZeroBuilder(t *testing.T) {
	var b Builder
	var empty bytes.Buffer
	if err := b.WriteIndex(&empty); err != nil {
		t.Fatal(err)
	}
	if x := mustRead(t, empty.Bytes()); x.Len() != 0 {
		t.Fatalf("Len = %d", x.Len())
	}
	spans := []spanfile.SpanInfo{{TraceID: pcommon.TraceID{1}, Service: "s", Name: "n"}}
	if err := b.Add(spans, 0); err != nil {
		t.Fatal(err)
	}
	var one bytes.Buffer
	if err := b.WriteIndex(&one); err != nil {
		t.Fatal(err)
	}
	if got, want := mustRead(t, one.Bytes()).Trace(0), summarize(spans, 0); !reflect.DeepEqual(got, want) {
		t.Fatalf("Trace(0) = %+v, want %+v", got, want)
	}
}
