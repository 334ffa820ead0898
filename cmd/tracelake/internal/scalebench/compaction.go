package scalebench

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/tracelake/tracelake/cmd/tracelake/internal/loadgen"
	"github.com/tracelake/tracelake/storage/compact"
	"github.com/tracelake/tracelake/storage/objstore"
	"github.com/tracelake/tracelake/storage/tracestore"
)

// compacted is what the compaction phase did.
type compacted struct {
	wall, cpu time.Duration
	blocks    int
	// From the blocks' metas.
	spans, traces, duplicates int64
	dataBytes, indexBytes     int64
	bloomBytes, aggBytes      int64
	attrFilterBytes           int64
	inputs                    int // ingest files the blocks replaced
	profile                   string
}

// compactAll compacts every window of the tenant with cfg.Compactors
// compactors sharing the bucket, as one pass of each at now (after the
// last window settled), and measures it. A second, unmeasured pass a
// grace period later deletes the inputs, leaving the bucket as a query
// service finds it a day later: blocks only.
func compactAll(ctx context.Context, cfg Config, bucket objstore.Bucket, now time.Time, profPath string, logger *slog.Logger) (*compacted, error) {
	var clock atomic.Int64
	clock.Store(now.UnixNano())
	nowFn := func() time.Time { return time.Unix(0, clock.Load()).UTC() }
	store := tracestore.New(bucket, tracestore.Config{Now: nowFn})
	ccfg := compact.DefaultConfig()
	ccfg.Now = nowFn
	ccfg.TempDir = cfg.WorkDir
	var compactors []*compact.Compactor
	for i := range cfg.Compactors {
		ccfg.Owner = fmt.Sprintf("scalebench-%d", i)
		c, err := compact.New(store, ccfg, logger, nil)
		if err != nil {
			return nil, err
		}
		compactors = append(compactors, c)
	}

	// Generation's garbage is not compaction's to collect.
	runtime.GC()
	res := &compacted{}
	if profPath != "" {
		f, err := os.Create(profPath)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, err
		}
		res.profile = profPath
	}
	cpu0, _ := loadgen.ProcessCPU()
	start := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	for _, c := range compactors {
		g.Go(func() error { return c.RunOnce(gctx) })
	}
	err := g.Wait()
	res.wall = time.Since(start)
	cpu1, _ := loadgen.ProcessCPU()
	res.cpu = cpu1 - cpu0
	if profPath != "" {
		pprof.StopCPUProfile()
	}
	if err != nil {
		return nil, fmt.Errorf("compact: %w", err)
	}

	clock.Store(now.Add(ccfg.Grace + time.Minute).UnixNano())
	if err := compactors[0].RunOnce(ctx); err != nil {
		return nil, fmt.Errorf("delete compacted inputs: %w", err)
	}
	st, err := compactors[0].Observe(ctx, cfg.Tenant)
	if err != nil {
		return nil, err
	}
	if len(st.Files) > 0 || len(st.Partial) > 0 {
		return nil, fmt.Errorf("after compaction %d ingest files and %d partial blocks are left", len(st.Files), len(st.Partial))
	}
	used, _, rejected := tracestore.Resolve(st.Blocks, nil)
	if len(rejected) > 0 {
		return nil, fmt.Errorf("%d blocks were rejected: compactors overlapped", len(rejected))
	}
	for _, b := range used {
		res.blocks++
		res.spans += int64(b.Spans)
		res.traces += int64(b.Traces)
		res.duplicates += int64(b.Duplicates)
		res.inputs += len(b.Inputs)
		res.dataBytes += b.Sizes[tracestore.BlockData]
		res.indexBytes += b.Sizes[tracestore.BlockIndex]
		res.bloomBytes += b.Sizes[tracestore.BlockBloom]
		res.aggBytes += b.Sizes[tracestore.BlockAggregates]
		res.attrFilterBytes += b.Sizes[tracestore.BlockAttrFilter]
	}
	return res, nil
}
