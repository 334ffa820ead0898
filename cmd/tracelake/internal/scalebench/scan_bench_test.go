package scalebench

import (
	"bytes"
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracelake/tracelake/storage/spanfile"
	"github.com/tracelake/tracelake/storage/spanfile/vparquet1"
)

// BenchmarkScan measures searching one block-like file (8,192-row groups,
// as the compactor writes) of 100,000 spans of the scale benchmark's
// realistic traces, held in memory: the single-predicate scan rate the
// scale benchmark reports, without the object store. The tag shapes are
// the scale benchmark's; "duration" is a range the index cannot decide.
func BenchmarkScan(b *testing.B) {
	out, f := benchBlock(b)
	user := out.users[0]
	for _, bc := range []struct {
		name string
		flt  spanfile.Filter
	}{
		{"tag=int", spanfile.Filter{Attributes: []spanfile.Attribute{{Key: "http.response.status_code", Value: "500"}}}},
		{"service+tag=int", spanfile.Filter{Service: user.service, Attributes: []spanfile.Attribute{{Key: "http.response.status_code", Value: "500"}}}},
		{"tag=str", spanfile.Filter{Attributes: []spanfile.Attribute{{Key: "user.id", Value: user.user}}}},
		{"error=true", spanfile.Filter{Attributes: []spanfile.Attribute{{Key: "error", Value: "true"}}}},
		{"duration", spanfile.Filter{Service: user.service, DurationMin: int64(50 * time.Millisecond), DurationMax: int64(200 * time.Millisecond)}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			matches := 0
			for b.Loop() {
				err := f.Search(context.Background(), bc.flt, func(spanfile.Match) bool { matches++; return true })
				if err != nil {
					b.Fatal(err)
				}
			}
			if matches == 0 {
				b.Fatal("no matches: the benchmark measures nothing realistic")
			}
			b.ReportMetric(float64(out.spans)*float64(b.N)/b.Elapsed().Seconds(), "spans/s")
		})
	}
}

// BenchmarkReadRows measures the read behind a lookup by ID in a block
// held in memory: a trace's rows, found by the block index, decoded into
// pdata. The file is opened once, as the store keeps blocks open.
func BenchmarkReadRows(b *testing.B) {
	_, f := benchBlock(b)
	type rows struct {
		id          pcommon.TraceID
		first, rows int64
	}
	var traces []rows
	var cur rows
	row := int64(0)
	err := f.Scan(context.Background(), func(si *spanfile.SpanInfo) error {
		if row == 0 || si.TraceID != cur.id {
			if row > 0 {
				traces = append(traces, cur)
			}
			cur = rows{id: si.TraceID, first: row}
		}
		cur.rows++
		row++
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	spans := 0
	for b.Loop() {
		t := traces[rng.IntN(len(traces))]
		td := ptrace.NewTraces()
		if err := f.ReadRows(context.Background(), t.first, t.rows, td); err != nil {
			b.Fatal(err)
		}
		spans += td.SpanCount()
	}
	b.ReportMetric(float64(spans)/float64(b.N), "spans/op")
}

// benchBlock generates 100,000 spans of the scale benchmark's traces and
// encodes them as the compactor writes blocks (8,192-row groups), opened
// in memory.
func benchBlock(b *testing.B) (*generated, *vparquet1.File) {
	b.Helper()
	w := newWorld(rand.New(rand.NewPCG(7, 0)), 10_000)
	hour := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	out := newGenerator(w, 1, 0, 0.015).file(fileSpec{from: hour, to: hour.Add(time.Hour), hourEnd: hour.Add(time.Hour), traces: 10_000, spans: 100_000}, 0)
	cfg := vparquet1.DefaultWriterConfig()
	cfg.RowsPerRowGroup = 8192
	data, _, err := vparquet1.NewWriter(cfg).Encode("t", vparquet1.NewBatch(out.td))
	if err != nil {
		b.Fatal(err)
	}
	f, err := vparquet1.OpenRows(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		b.Fatal(err)
	}
	return out, f
}
