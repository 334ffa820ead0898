package compact

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tracelake/tracelake/storage/aggregate"
	"github.com/tracelake/tracelake/storage/block/index"
	"github.com/tracelake/tracelake/storage/objstore"
	"github.com/tracelake/tracelake/storage/spanfile"
	"github.com/tracelake/tracelake/storage/spanfile/vparquet1"
	"github.com/tracelake/tracelake/storage/tracestore"
)

// Compactor carries out plans against one store.
type Compactor struct {
	store  *tracestore.Store
	bucket objstore.Bucket
	cfg    Config
	logger *slog.Logger
	writer *vparquet1.Writer
	m      *metrics
}

// New returns a Compactor. reg may be nil.
func New(store *tracestore.Store, cfg Config, logger *slog.Logger, reg prometheus.Registerer) (*Compactor, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Owner == "" {
		host, _ := os.Hostname()
		cfg.Owner = fmt.Sprintf("%s/%d", host, os.Getpid())
	}
	switch {
	case cfg.LeaseTTL <= 0:
		return nil, fmt.Errorf("compactor lease TTL must be positive, got %s", cfg.LeaseTTL)
	case cfg.Grace < 0:
		return nil, fmt.Errorf("compactor grace period must not be negative")
	case cfg.Settle < -time.Hour:
		return nil, fmt.Errorf("compactor settle period must be at least -1h")
	case cfg.MaxBlockBytes <= 0 || cfg.MaxBlockFiles <= 0:
		return nil, fmt.Errorf("compactor block bounds must be positive")
	case cfg.RowsPerRowGroup <= 0:
		return nil, fmt.Errorf("compactor rows per row group must be positive")
	}
	wcfg := vparquet1.DefaultWriterConfig()
	wcfg.RowsPerRowGroup = cfg.RowsPerRowGroup
	wcfg.CreatedBy = "tracelake compactor"
	return &Compactor{store: store, bucket: store.Bucket(), cfg: cfg, logger: logger,
		writer: vparquet1.NewWriter(wcfg), m: newMetrics(reg)}, nil
}

// Run compacts every tenant every Interval until ctx ends.
func (c *Compactor) Run(ctx context.Context) error {
	t := time.NewTicker(c.cfg.Interval)
	defer t.Stop()
	for {
		if err := c.RunOnce(ctx); err != nil && ctx.Err() == nil {
			c.logger.Warn("compaction pass failed; retrying next interval", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// RunOnce makes one pass over every tenant: compacts the windows that are
// due and deletes what grace periods released.
func (c *Compactor) RunOnce(ctx context.Context) error {
	tenants, err := c.store.Tenants(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, t := range tenants {
		if err := c.Tenant(ctx, t); err != nil {
			errs = append(errs, fmt.Errorf("tenant %s: %w", t, err))
		}
	}
	return errors.Join(errs...)
}

// Observe lists one tenant's files and blocks.
func (c *Compactor) Observe(ctx context.Context, tenantID string) (State, error) {
	var st State
	for f, err := range c.store.Files(ctx, tenantID, 0, 0) {
		if err != nil {
			return st, err
		}
		st.Files = append(st.Files, f)
	}
	type seen struct {
		partial   Partial
		published bool
	}
	var blocks []*seen
	byKey := map[string]*seen{}
	for o, err := range c.store.BlockObjects(ctx, tenantID, time.Time{}) {
		if err != nil {
			return st, err
		}
		b := byKey[o.Block.Key]
		if b == nil {
			b = &seen{partial: Partial{Block: o.Block}}
			byKey[o.Block.Key] = b
			blocks = append(blocks, b)
		}
		if o.Name == tracestore.BlockMetaName {
			b.published = true
			continue
		}
		b.partial.Keys = append(b.partial.Keys, o.Attrs.Key)
	}
	for _, b := range blocks {
		if !b.published {
			st.Partial = append(st.Partial, b.partial)
			continue
		}
		m, err := c.store.ReadBlockMeta(ctx, b.partial.Block)
		if errors.Is(err, objstore.ErrNotFound) {
			continue // deleted since the listing
		}
		if err != nil {
			return st, err
		}
		st.Blocks = append(st.Blocks, m)
	}
	leases, err := observeLeases(ctx, c.bucket, tenantID)
	if err != nil {
		return st, err
	}
	st.Leases = leases
	return st, nil
}

// Tenant compacts one tenant's due windows and deletes what is released.
func (c *Compactor) Tenant(ctx context.Context, tenantID string) error {
	st, err := c.Observe(ctx, tenantID)
	if err != nil {
		return err
	}
	plan := MakePlan(c.cfg, tenantID, st, c.cfg.Now())
	var errs []error
	for _, job := range plan.Jobs {
		if err := c.Window(ctx, job.Tenant, job.Window); err != nil {
			if errors.Is(err, errLeaseHeld) {
				continue
			}
			errs = append(errs, fmt.Errorf("window %s: %w", job.Window, err))
		}
	}
	for _, key := range plan.DeleteFiles {
		if err := c.bucket.Delete(ctx, key); err != nil {
			errs = append(errs, err)
			continue
		}
		c.m.deleted.WithLabelValues("input").Inc()
	}
	for _, key := range plan.DeleteLeases {
		if err := c.bucket.Delete(ctx, key); err != nil {
			errs = append(errs, err)
		}
	}
	for _, keys := range plan.DeleteBlocks {
		for _, key := range keys {
			if err := c.bucket.Delete(ctx, key); err != nil {
				errs = append(errs, err)
				break // keep the order: meta.json goes first
			}
		}
		c.m.deleted.WithLabelValues("block").Inc()
	}
	return errors.Join(errs...)
}

// Window compacts one window under its lease: block after block until no
// ingest file of the window is left uncovered.
func (c *Compactor) Window(ctx context.Context, tenantID, window string) error {
	l, err := acquire(ctx, c.bucket, tenantID, window, c.cfg.Owner, c.cfg.Now(), c.cfg.LeaseTTL)
	if err != nil {
		return err
	}
	for {
		// Decide the inputs under the lease, from a fresh listing: what
		// was planned may have been done by a compactor since.
		files, err := c.store.WindowFiles(ctx, tenantID, window)
		if err != nil {
			return err
		}
		blocks, err := c.store.WindowBlocks(ctx, tenantID, window)
		if err != nil {
			return err
		}
		_, raw, _ := tracestore.Resolve(blocks, files)
		if len(raw) == 0 {
			return l.release(ctx)
		}
		slices.SortFunc(raw, func(a, b tracestore.FileRef) int { return a.ID.Compare(b.ID) })
		if _, err := c.compact(ctx, l, tenantID, window, take(c.cfg, raw)); err != nil {
			c.m.blocks.WithLabelValues("failed").Inc()
			return err
		}
		c.m.blocks.WithLabelValues("ok").Inc()
	}
}

// compact writes one block of inputs and publishes it.
func (c *Compactor) compact(ctx context.Context, l *lease, tenantID, window string, inputs []tracestore.FileRef) (*tracestore.BlockMeta, error) {
	start := time.Now()
	files := make([]*vparquet1.File, 0, len(inputs))
	var inBytes int64
	for _, ref := range inputs {
		of, err := c.store.Open(ctx, ref)
		if err != nil {
			return nil, err
		}
		defer of.Close()
		f, ok := of.File.(*vparquet1.File)
		if !ok {
			return nil, fmt.Errorf("%s: compaction reads vparquet1 files only", ref.Key)
		}
		files = append(files, f)
		inBytes += ref.Size
	}
	id, err := c.store.NewBlockID()
	if err != nil {
		return nil, err
	}
	meta := &tracestore.BlockMeta{ID: id, Tenant: tenantID, Window: window, Sizes: map[string]int64{}}
	for _, ref := range inputs {
		meta.Inputs = append(meta.Inputs, ref.Key)
	}

	tmp, err := os.CreateTemp(c.cfg.TempDir, "tracelake-block-*.parquet")
	if err != nil {
		return nil, fmt.Errorf("temporary block file: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	ib := index.NewBuilder()
	agg := aggregate.New()
	info, err := c.writer.Merge(ctx, tmp, tenantID, files, func(spans []spanfile.SpanInfo, first int64) error {
		agg.AddTrace(spans)
		return ib.Add(spans, first)
	})
	if err != nil {
		return nil, fmt.Errorf("merge %d files: %w", len(files), err)
	}
	meta.StartMin, meta.EndMax = info.StartMin, info.EndMax
	meta.Spans, meta.Traces, meta.Duplicates = info.Spans, info.Traces, info.Duplicates

	size, err := tmp.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, err
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	if err := c.put(ctx, meta, tracestore.BlockData, tmp, size); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := ib.WriteIndex(&buf); err != nil {
		return nil, fmt.Errorf("write index: %w", err)
	}
	if err := c.putBytes(ctx, meta, tracestore.BlockIndex, buf.Bytes()); err != nil {
		return nil, err
	}
	buf.Reset()
	if err := ib.WriteBloom(&buf); err != nil {
		return nil, fmt.Errorf("write bloom filter: %w", err)
	}
	if err := c.putBytes(ctx, meta, tracestore.BlockBloom, buf.Bytes()); err != nil {
		return nil, err
	}
	// The attribute filter: which (key, value) pairs each row group holds,
	// read back from the block just written, a column at a time.
	written, err := vparquet1.OpenRows(tmp, size)
	if err != nil {
		return nil, fmt.Errorf("reopen the block written: %w", err)
	}
	fb := index.NewAttrFilterBuilder(len(written.Parquet().RowGroups()))
	if err := written.EachAttribute(ctx, fb); err != nil {
		return nil, fmt.Errorf("attribute filter: %w", err)
	}
	buf.Reset()
	if err := fb.Write(&buf); err != nil {
		return nil, err
	}
	if err := c.putBytes(ctx, meta, tracestore.BlockAttrFilter, buf.Bytes()); err != nil {
		return nil, err
	}
	aggBytes, err := agg.Encode()
	if err != nil {
		return nil, fmt.Errorf("encode aggregates: %w", err)
	}
	if err := c.putBytes(ctx, meta, tracestore.BlockAggregates, aggBytes); err != nil {
		return nil, err
	}

	// Publish only while the lease has time left: a compactor whose lease
	// lapsed may have been replaced by one compacting the same inputs.
	now := c.cfg.Now()
	if err := l.ensure(ctx, now, c.cfg.LeaseTTL); err != nil {
		return nil, err
	}
	meta.Compacted = now.UTC()
	data, err := tracestore.EncodeBlockMeta(meta)
	if err != nil {
		return nil, err
	}
	key := meta.ObjectKey(tracestore.BlockMetaName)
	if err := c.bucket.PutIfAbsent(ctx, key, bytes.NewReader(data), int64(len(data))); err != nil {
		return nil, fmt.Errorf("publish block %s: %w", key, err)
	}
	meta.Key = key
	c.m.spans.Add(float64(info.Spans))
	c.m.duplicates.Add(float64(info.Duplicates))
	c.m.inBytes.Add(float64(inBytes))
	c.m.outBytes.Add(float64(size))
	c.m.duration.Observe(time.Since(start).Seconds())
	c.logger.Info("block published", "tenant", tenantID, "window", window, "block", id.String(),
		"inputs", len(inputs), "spans", info.Spans, "traces", info.Traces, "duplicates", info.Duplicates,
		"input_bytes", inBytes, "block_bytes", size, "took", time.Since(start).Round(time.Millisecond))
	return meta, nil
}

func (c *Compactor) put(ctx context.Context, meta *tracestore.BlockMeta, name string, r io.Reader, size int64) error {
	key := meta.ObjectKey(name)
	if err := c.bucket.Put(ctx, key, r, size); err != nil {
		return fmt.Errorf("write %s: %w", key, err)
	}
	meta.Sizes[name] = size
	return nil
}

func (c *Compactor) putBytes(ctx context.Context, meta *tracestore.BlockMeta, name string, data []byte) error {
	return c.put(ctx, meta, name, bytes.NewReader(data), int64(len(data)))
}
