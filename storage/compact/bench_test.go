package compact

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tracelake/tracelake/storage/objstore/objstoretest"
	"github.com/tracelake/tracelake/storage/tracegen"
	"github.com/tracelake/tracelake/storage/tracestore"
)

// BenchmarkCompact: compaction of one window of 40 ingest files of
// 10,000 telemetrygen-shaped spans each (400,000 spans), in memory, so
// the figure is the compactor's own cost: reading, merging, index,
// aggregates, writing. Reported in spans/s (one core: the compactor is
// single-threaded per window).
func BenchmarkCompact(b *testing.B) {
	ctx := context.Background()
	const files, perFile = 40, 10_000
	base := objstoretest.NewMemory()
	clk := &clock{now: t0}
	store := tracestore.New(base, tracestore.Config{Now: clk.Now})
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < files; i++ {
		td := tracegen.Telemetrygen(rng, perFile/4, 3, t0.Add(time.Duration(i)*time.Minute))
		if _, err := store.Write(ctx, "t", tracestore.NewBatch(td)); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		bucket := snapshot(b, base)
		clk.now = t0.Add(3 * time.Hour)
		cfg := DefaultConfig()
		cfg.Now = clk.Now
		c := newCompactor(b, tracestore.New(bucket, tracestore.Config{Now: clk.Now}), cfg)
		b.StartTimer()
		if err := c.Window(ctx, "t", "2026-11-21T08"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(files*perFile*b.N)/b.Elapsed().Seconds(), "spans/s")
}
