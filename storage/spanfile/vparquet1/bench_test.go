package vparquet1

import (
	"bytes"
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracelake/tracelake/storage/tracegen"
)

// telemetrygenRequests returns n requests of 100 telemetrygen spans each.
func telemetrygenRequests(n int) []ptrace.Traces {
	rng := rand.New(rand.NewPCG(1, 2))
	now := time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)
	out := make([]ptrace.Traces, n)
	for i := range out {
		out[i] = tracegen.Telemetrygen(rng, 50, 1, now.Add(time.Duration(i)*time.Millisecond))
	}
	return out
}

// BenchmarkConvert measures pdata → rows, the part of writing done in
// request goroutines.
func BenchmarkConvert(b *testing.B) {
	reqs := telemetrygenRequests(400)
	b.ReportAllocs()
	b.ResetTimer()
	spans := 0
	for i := 0; i < b.N; i++ {
		batch := NewBatch(reqs[i%len(reqs)])
		spans += batch.Len()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(spans), "ns/span")
}

// BenchmarkWrite measures sorting and encoding a flush of 400 requests
// (40,000 spans) into one file, and reports the stored bytes per span.
func BenchmarkWrite(b *testing.B) {
	reqs := telemetrygenRequests(400)
	batches := make([]*Batch, len(reqs))
	for i, td := range reqs {
		batches[i] = NewBatch(td)
	}
	w := NewWriter(DefaultWriterConfig())
	b.ReportAllocs()
	b.ResetTimer()
	var size, spans int
	for i := 0; i < b.N; i++ {
		data, info, err := w.Encode("t", batches...)
		if err != nil {
			b.Fatal(err)
		}
		size, spans = len(data), info.Spans
	}
	b.ReportMetric(float64(size)/float64(spans), "bytes/span")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*spans), "ns/span")
}

// BenchmarkFindTrace measures one lookup by trace ID in a 40,000-span
// file held in memory: opening the footer, then finding the trace.
func BenchmarkFindTrace(b *testing.B) {
	reqs := telemetrygenRequests(400)
	batches := make([]*Batch, len(reqs))
	for i, td := range reqs {
		batches[i] = NewBatch(td)
	}
	data, _, err := NewWriter(DefaultWriterConfig()).Encode("t", batches...)
	if err != nil {
		b.Fatal(err)
	}
	var ids []pcommon.TraceID
	for _, td := range reqs[:50] {
		ids = append(ids, td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).TraceID())
	}
	b.Run("open", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := Open(bytes.NewReader(data), int64(len(data))); err != nil {
				b.Fatal(err)
			}
		}
	})
	f, err := Open(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("find", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			td := ptrace.NewTraces()
			if n, err := f.FindTrace(context.Background(), ids[i%len(ids)], td); err != nil || n != 2 {
				b.Fatalf("FindTrace = %d, %v", n, err)
			}
		}
	})
	b.Run("miss", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			id := pcommon.TraceID{byte(i), byte(i >> 8), 3}
			if _, err := f.FindTrace(context.Background(), id, ptrace.NewTraces()); err != nil {
				b.Fatal(err)
			}
		}
	})
}
