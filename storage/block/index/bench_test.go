package index

import (
	"bytes"
	"io"
	"math/rand/v2"
	"sync"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/tracelake/tracelake/storage/spanfile"
)

// bench is a realistic block of 100k traces (about 2M spans), built once
// for all benchmarks.
var bench struct {
	once   sync.Once
	traces [][]spanfile.SpanInfo
	data   []byte
}

func benchIndex(b *testing.B) ([][]spanfile.SpanInfo, *Index, []byte) {
	bench.once.Do(func() {
		bench.traces = genBlock(rand.New(rand.NewPCG(51, 52)), realistic)
		_, bench.data, _ = build(b, bench.traces)
	})
	return bench.traces, mustRead(b, bench.data), bench.data
}

// BenchmarkSearch reports ns/trace: the time to search the whole index
// divided by the traces in it.
func BenchmarkSearch(b *testing.B) {
	_, x, _ := benchIndex(b)
	for _, bc := range []struct {
		name string
		q    Query
	}{
		{"service", Query{Service: serviceName(7)}},
		{"service+name+duration", Query{Service: serviceName(7), Name: spanName(3), DurationMin: 1e9}},
		{"name", Query{Name: spanName(3)}},
		{"time+duration", Query{StartMin: genBase + 1000e9, StartMax: genBase + 1600e9, DurationMin: 1.5e9}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			hits, exact := 0, 0
			for b.Loop() {
				x.Search(bc.q, func(h Hit) bool {
					hits++
					if h.Exact {
						exact++
					}
					return true
				})
			}
			traces := float64(b.N) * float64(x.Len())
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/traces, "ns/trace")
			b.ReportMetric(traces/b.Elapsed().Seconds()/1e6, "Mtraces/s")
			b.ReportMetric(float64(hits)/float64(b.N), "hits/op")
			b.ReportMetric(float64(exact)/float64(b.N), "exact/op")
		})
	}
}

func BenchmarkLookup(b *testing.B) {
	traces, x, _ := benchIndex(b)
	rng := rand.New(rand.NewPCG(53, 54))
	ids := make([]pcommon.TraceID, 4096)
	for i := range ids {
		if i%2 == 0 {
			ids[i] = traces[rng.IntN(len(traces))][0].TraceID
		} else {
			ids[i] = pcommon.TraceID{byte(rng.Uint32()), byte(rng.Uint32()), 3: 1} // a miss
		}
	}
	i, found := 0, 0
	for b.Loop() {
		if _, _, ok := x.Lookup(ids[i%len(ids)]); ok {
			found++
		}
		i++
	}
	if found == 0 {
		b.Fatal("no hits")
	}
}

// BenchmarkWriteIndex writes the index and bloom filter of the block and
// reports their sizes per trace, and the index's MemSize once read.
func BenchmarkWriteIndex(b *testing.B) {
	traces, x, data := benchIndex(b)
	bld := NewBuilder()
	row, spans := int64(0), 0
	for _, s := range traces {
		if err := bld.Add(s, row); err != nil {
			b.Fatal(err)
		}
		row += int64(len(s))
		spans += len(s)
	}
	var bloomFile bytes.Buffer
	if err := bld.WriteBloom(&bloomFile); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := bld.WriteIndex(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
	n := float64(len(traces))
	b.ReportMetric(float64(len(data))/n, "file-B/trace")
	b.ReportMetric(float64(bloomFile.Len())/n, "bloom-B/trace")
	b.ReportMetric(float64(x.MemSize())/n, "mem-B/trace")
	b.ReportMetric(float64(spans)/n, "spans/trace")
	b.ReportMetric(float64(len(x.groups.service))/n, "groups/trace")
}

func BenchmarkReadIndex(b *testing.B) {
	_, _, data := benchIndex(b)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := ReadIndex(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAdd is compaction's cost per span of summarising traces.
func BenchmarkAdd(b *testing.B) {
	traces, _, _ := benchIndex(b)
	spans := 0
	for b.Loop() {
		bld := NewBuilder()
		row := int64(0)
		for _, s := range traces {
			if err := bld.Add(s, row); err != nil {
				b.Fatal(err)
			}
			row += int64(len(s))
		}
		spans += int(row)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(spans), "ns/span")
}
