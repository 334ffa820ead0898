package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tracelake/tracelake/storage/tracestore"
)

// Writer stores a group of batches as one object. A nil error means the
// object is durably written.
type Writer interface {
	Write(ctx context.Context, tenant string, batches ...tracestore.Batch) (tracestore.FileRef, error)
}

// BatcherConfig tunes group commit.
type BatcherConfig struct {
	// MaxBytes flushes a tenant's group as soon as it holds this many bytes
	// (of converted spans).
	MaxBytes int
	// MaxDelay flushes a group this long after its first request arrived.
	// Zero flushes every request on its own at once (Lambda).
	MaxDelay time.Duration
	// MaxPendingBytes bounds the memory held by groups waiting for or in a
	// flush; past it, requests fail fast with ErrOverloaded.
	MaxPendingBytes int
	// MaxConcurrentFlushes bounds flushes in progress.
	MaxConcurrentFlushes int
	// FlushTimeout bounds one write to storage.
	FlushTimeout time.Duration
}

// Validate reports the first invalid setting.
func (c BatcherConfig) Validate() error {
	switch {
	case c.MaxBytes <= 0:
		return fmt.Errorf("max bytes per flush must be positive, got %d", c.MaxBytes)
	case c.MaxDelay < 0:
		return fmt.Errorf("max flush delay must not be negative, got %s", c.MaxDelay)
	case c.MaxPendingBytes < c.MaxBytes:
		return fmt.Errorf("max pending bytes (%d) must be at least max bytes per flush (%d)", c.MaxPendingBytes, c.MaxBytes)
	case c.MaxConcurrentFlushes <= 0:
		return fmt.Errorf("max concurrent flushes must be positive, got %d", c.MaxConcurrentFlushes)
	case c.FlushTimeout <= 0:
		return fmt.Errorf("flush timeout must be positive, got %s", c.FlushTimeout)
	}
	return nil
}

// Errors a Batcher returns. Both are retryable by clients.
var (
	// ErrOverloaded means the memory bound is reached: the request was not
	// taken and the client should retry later.
	ErrOverloaded = errors.New("ingest memory limit reached")
	// ErrUnavailable means the spans could not be stored (the write failed,
	// or the batcher is shutting down). Nothing was acknowledged.
	ErrUnavailable = errors.New("storage unavailable")
)

// Batcher group-commits batches: concurrent requests for a tenant join one
// group, which is written as one object when it is big or old enough, and
// every request of the group waits for that write and shares its outcome.
// It is safe for concurrent use.
type Batcher struct {
	cfg     BatcherConfig
	w       Writer
	metrics *batcherMetrics
	sem     chan struct{}

	// ctx is cancelled by Close when the grace period is over, abandoning
	// writes still in progress.
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	open    map[string]*group // the group each tenant's requests join now
	pending int               // bytes in open and flushing groups
	closed  bool
	flushes sync.WaitGroup
}

type group struct {
	tenant  string
	batches []tracestore.Batch
	bytes   int
	spans   int
	created time.Time
	timer   *time.Timer
	done    chan struct{} // closed when the write finished
	err     error         // the write's outcome, set before done is closed
}

// NewBatcher returns a Batcher writing through w. Metrics are registered
// with reg.
func NewBatcher(cfg BatcherConfig, w Writer, reg prometheus.Registerer) (*Batcher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Batcher{
		cfg:     cfg,
		w:       w,
		metrics: newBatcherMetrics(reg),
		sem:     make(chan struct{}, cfg.MaxConcurrentFlushes),
		ctx:     ctx,
		cancel:  cancel,
		open:    map[string]*group{},
	}, nil
}

// Add puts b into tenant's current group and waits until that group is
// written. It returns nil only when b's spans are durably stored;
// ErrOverloaded when memory is full; an error wrapping ErrUnavailable when
// the write failed; or ctx's error when the caller stopped waiting (the
// spans may then still be written: the client retries, and duplicates are
// removed when reading).
func (bt *Batcher) Add(ctx context.Context, tenant string, b tracestore.Batch) error {
	size := b.MemSize()
	bt.mu.Lock()
	if bt.closed {
		bt.mu.Unlock()
		return fmt.Errorf("%w: shutting down", ErrUnavailable)
	}
	if bt.pending+size > bt.cfg.MaxPendingBytes {
		bt.mu.Unlock()
		bt.metrics.overloaded.Inc()
		return ErrOverloaded
	}
	bt.pending += size
	bt.metrics.pending.Set(float64(bt.pending))
	g := bt.open[tenant]
	if g == nil {
		g = &group{tenant: tenant, created: time.Now(), done: make(chan struct{})}
		bt.open[tenant] = g
		if bt.cfg.MaxDelay > 0 {
			g.timer = time.AfterFunc(bt.cfg.MaxDelay, func() { bt.flushIfOpen(g) })
		}
	}
	g.batches = append(g.batches, b)
	g.bytes += size
	g.spans += b.Spans()
	if g.bytes >= bt.cfg.MaxBytes || bt.cfg.MaxDelay == 0 {
		bt.detachLocked(g)
	}
	bt.mu.Unlock()

	select {
	case <-g.done:
		return g.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// flushIfOpen flushes g when its delay expires, unless it was flushed
// already for size.
func (bt *Batcher) flushIfOpen(g *group) {
	bt.mu.Lock()
	defer bt.mu.Unlock()
	if bt.open[g.tenant] == g {
		bt.detachLocked(g)
	}
}

// detachLocked closes g to new requests and starts its write.
func (bt *Batcher) detachLocked(g *group) {
	delete(bt.open, g.tenant)
	if g.timer != nil {
		g.timer.Stop()
	}
	bt.flushes.Add(1)
	go bt.flush(g)
}

func (bt *Batcher) flush(g *group) {
	defer bt.flushes.Done()
	select {
	case bt.sem <- struct{}{}:
	case <-bt.ctx.Done():
		bt.finish(g, fmt.Errorf("%w: shut down before the write started", ErrUnavailable))
		return
	}
	defer func() { <-bt.sem }()

	ctx, cancel := context.WithTimeout(bt.ctx, bt.cfg.FlushTimeout)
	defer cancel()
	start := time.Now()
	ref, err := bt.w.Write(ctx, g.tenant, g.batches...)
	bt.metrics.flushDuration.Observe(time.Since(start).Seconds())
	if err != nil {
		bt.metrics.flushFailures.Inc()
		err = fmt.Errorf("%w: write of %d spans failed: %w", ErrUnavailable, g.spans, err)
	} else {
		bt.metrics.flushSpans.Observe(float64(g.spans))
		bt.metrics.flushBytes.Observe(float64(ref.Size))
		bt.metrics.flushWait.Observe(time.Since(g.created).Seconds())
	}
	bt.finish(g, err)
}

func (bt *Batcher) finish(g *group, err error) {
	// Release the memory before waking the waiters, so a request that has
	// returned is no longer counted against the bound.
	bt.mu.Lock()
	bt.pending -= g.bytes
	bt.metrics.pending.Set(float64(bt.pending))
	bt.mu.Unlock()
	g.batches = nil // waiters only need err
	g.err = err
	close(g.done)
}

// Flush starts writing every open group now, without waiting for size or
// delay, and waits until all writes in progress are done or ctx ends.
func (bt *Batcher) Flush(ctx context.Context) error {
	bt.mu.Lock()
	for _, g := range bt.open {
		bt.detachLocked(g)
	}
	bt.mu.Unlock()
	return bt.wait(ctx)
}

// Close stops taking requests, writes every open group, and waits for
// writes in progress until ctx ends; then it abandons them (their
// requests fail, unacknowledged) and returns ctx's error.
func (bt *Batcher) Close(ctx context.Context) error {
	bt.mu.Lock()
	bt.closed = true
	for _, g := range bt.open {
		bt.detachLocked(g)
	}
	bt.mu.Unlock()
	err := bt.wait(ctx)
	bt.cancel()
	if err != nil {
		bt.flushes.Wait() // abandoned writes end promptly once cancelled
	}
	return err
}

func (bt *Batcher) wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		bt.flushes.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

type batcherMetrics struct {
	flushDuration, flushSpans, flushBytes, flushWait prometheus.Histogram
	flushFailures, overloaded                        prometheus.Counter
	pending                                          prometheus.Gauge
}

func newBatcherMetrics(reg prometheus.Registerer) *batcherMetrics {
	m := &batcherMetrics{
		flushDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "tracelake_ingest_flush_duration_seconds",
			Help:    "Time to encode and durably write one group-commit flush.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
		}),
		flushWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "tracelake_ingest_flush_latency_seconds",
			Help:    "Time from a group's first request to its write completing: what a request waits at most.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
		}),
		flushSpans: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "tracelake_ingest_flush_spans",
			Help:    "Spans per flushed object.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 12),
		}),
		flushBytes: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "tracelake_ingest_flush_object_bytes",
			Help:    "Size of each flushed object.",
			Buckets: prometheus.ExponentialBuckets(256, 4, 12),
		}),
		flushFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tracelake_ingest_flush_failures_total",
			Help: "Flushes whose write failed; every request in them got a retryable error.",
		}),
		overloaded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tracelake_ingest_overloaded_requests_total",
			Help: "Requests refused because the memory bound was reached.",
		}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tracelake_ingest_pending_bytes",
			Help: "Bytes of converted spans waiting for or in a flush.",
		}),
	}
	reg.MustRegister(m.flushDuration, m.flushWait, m.flushSpans, m.flushBytes, m.flushFailures, m.overloaded, m.pending)
	return m
}
