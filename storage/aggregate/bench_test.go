package aggregate

import (
	"math/rand/v2"
	"testing"
	"time"
)

// BenchmarkAddTrace measures what compaction pays per span: traces of 20
// spans from a system of 30 services with 10 operations each, spread over
// an hour (a block's window), added to one aggregate. The spans are in
// cache, as they are when a decoder has just produced them: a pool of 256
// traces is added over and over, moved a minute later on every pass so
// that the whole hour of cells is in use. ("cold" adds 4096 traces, 8 MiB
// of spans that do not stay in cache: that is the price of reading the
// input, not of counting it.)
func BenchmarkAddTrace(b *testing.B) {
	for _, tt := range []struct {
		name  string
		pool  int
		shift bool
	}{{"hot", 256, true}, {"cold", 4096, false}} {
		b.Run(tt.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(7, 8))
			traces := newWorld(30, 10).traces(rng, tt.pool, 20, t0, time.Hour)
			a := New()
			for _, tr := range newWorld(30, 10).traces(rng, 4096, 20, t0, time.Hour) {
				a.AddTrace(tr) // warm: the cells exist, as in a long compaction
			}
			b.ResetTimer()
			n := 0
			for i := 0; i < b.N; i++ {
				k := i % len(traces)
				if tt.shift && k == 0 && i > 0 {
					shift := int64(time.Minute)
					if (i/len(traces))%60 == 0 {
						shift = -59 * int64(time.Minute)
					}
					for _, tr := range traces {
						for s := range tr {
							tr[s].Start += shift
						}
					}
				}
				a.AddTrace(traces[k])
				n += len(traces[k])
			}
			a.Flush() // count what is still buffered
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/span")
		})
	}
}

func BenchmarkMerge(b *testing.B) {
	rng := rand.New(rand.NewPCG(9, 10))
	w := newWorld(30, 10)
	part := New()
	for _, tr := range w.traces(rng, 2000, 20, t0, 5*time.Minute) {
		part.AddTrace(tr)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		New().Merge(part)
	}
}

func BenchmarkEncodeDecode(b *testing.B) {
	a := sample(11, 20000)
	data, _ := a.Encode()
	b.Logf("%d bytes", len(data))
	b.Run("encode", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := a.Encode(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := Decode(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSeries is the Monitor tab's heaviest request: the p95 of every
// operation of a service, a point a minute over the last hour, each over
// the ten minutes before it, from an hour of 30 services × 10 operations.
func BenchmarkSeries(b *testing.B) {
	rng := rand.New(rand.NewPCG(12, 13))
	a := New()
	for _, tr := range newWorld(30, 10).traces(rng, 20000, 20, t0, time.Hour) {
		a.AddTrace(tr)
	}
	a.Flush()
	q := SeriesQuery{
		Services: []string{"svc-03"}, GroupByOperation: true, Quantile: 0.95,
		End: t0 + int64(time.Hour), Lookback: time.Hour, Step: time.Minute, Window: 10 * time.Minute,
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := a.Series(q); err != nil {
			b.Fatal(err)
		}
	}
}
