package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"golang.org/x/sync/errgroup"

	"github.com/tracelake/tracelake/query"
	"github.com/tracelake/tracelake/storage/aggregate"
	"github.com/tracelake/tracelake/storage/objstore"
	"github.com/tracelake/tracelake/storage/spanfile"
	"github.com/tracelake/tracelake/storage/tracestore"
)

// The Querier's promises are the aggregates' limits: this does not
// compile if they ever differ.
var (
	_ = [1]struct{}{}[query.MetricsStep-aggregate.BucketWidth]
	_ = [1]struct{}{}[query.MaxMetricPoints-aggregate.MaxPoints]
)

// aggregates returns the aggregate (dependency links and RED metrics) of
// the tenant's spans that may have started in [start, end), Unix ns, zero
// leaving a side open. It may count spans outside the range too: callers
// ask the aggregate for the minutes they want.
//
// It is the one place that decides where aggregates come from: a block's
// is the one compaction stored beside it (tracestore.BlockAggregates); an
// ingest file not compacted yet is scanned. Either is cached by the span
// file's object key (objects are immutable, so entries never go stale),
// and the aggregates of every source are merged.
//
// Links are found within a trace as one source holds it: when a trace's
// parent and child spans were flushed to different ingest files, their
// link is missing until compaction merges those files into one block.
// Likewise an exact duplicate span (a retried write) is removed only
// within a source, so a retry that landed in another ingest file is
// counted twice until compaction removes it.
func (e *Engine) aggregates(ctx context.Context, tenant string, start, end int64) (*aggregate.Aggregate, error) {
	srcs, err := e.files(ctx, tenant, start, end)
	if err != nil {
		return nil, unavailable(err)
	}
	cache := e.aggs
	parts := make([]*aggregate.Aggregate, len(srcs))
	var blocks, scans []int // indexes into srcs of what is not cached
	for i, src := range srcs {
		switch a, ok := cache.get(src.Key); {
		case ok:
			parts[i] = a
		case src.block != nil:
			blocks = append(blocks, i)
		default:
			scans = append(scans, i)
		}
	}

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(e.cfg.Concurrency)
	var mu sync.Mutex
	for _, i := range blocks {
		g.Go(func() error {
			a, err := e.blockAggregate(gctx, srcs[i].block)
			if errors.Is(err, errNoBlockAggregate) {
				mu.Lock()
				defer mu.Unlock()
				scans = append(scans, i)
				return nil
			}
			if err != nil {
				return err
			}
			parts[i] = a
			cache.put(srcs[i].Key, a)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, unavailable(err)
	}

	scanSrcs := make([]source, len(scans))
	for j, i := range scans {
		scanSrcs[j] = srcs[i]
	}
	err = e.eachFile(ctx, scanSrcs, func(j int, f spanfile.File) error {
		a, err := scanAggregate(ctx, f)
		if err != nil {
			return err
		}
		parts[scans[j]] = a
		cache.put(scanSrcs[j].Key, a)
		return nil
	})
	if err != nil {
		return nil, unavailable(err)
	}
	if len(parts) == 1 {
		return parts[0], nil // shared with the cache: callers only read it
	}
	out := aggregate.New()
	for _, a := range parts {
		out.Merge(a)
	}
	return out, nil
}

// errNoBlockAggregate says a block's stored aggregate cannot be used, so
// its data file must be scanned instead.
var errNoBlockAggregate = errors.New("no usable block aggregate")

// blockAggregate reads the aggregate compaction stored beside a block. A
// missing or undecodable one is errNoBlockAggregate (logged when
// corrupt): the block's spans are still there to scan.
func (e *Engine) blockAggregate(ctx context.Context, m *tracestore.BlockMeta) (*aggregate.Aggregate, error) {
	key := m.ObjectKey(tracestore.BlockAggregates)
	data, err := e.store.ReadObject(ctx, key)
	if errors.Is(err, objstore.ErrNotFound) {
		return nil, errNoBlockAggregate
	}
	if err != nil {
		return nil, err
	}
	a, err := aggregate.Decode(data)
	if err != nil {
		e.logger.WarnContext(ctx, "block aggregate unreadable, scanning the block instead", "key", key, "err", err)
		return nil, errNoBlockAggregate
	}
	return a, nil
}

// scanAggregate builds the aggregate of one file. A file holds a trace's
// spans consecutively (it is sorted by trace ID), so each run of one
// trace ID is a whole trace as far as the file knows.
func scanAggregate(ctx context.Context, f spanfile.File) (*aggregate.Aggregate, error) {
	a := aggregate.New()
	var trace []spanfile.SpanInfo
	err := f.Scan(ctx, func(si *spanfile.SpanInfo) error {
		if len(trace) > 0 && trace[0].TraceID != si.TraceID {
			a.AddTrace(trace)
			trace = trace[:0]
		}
		trace = append(trace, *si)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("scan for aggregates: %w", err)
	}
	a.AddTrace(trace)
	// Flush before the aggregate is shared: the cache hands it to
	// concurrent queries, which only read it.
	a.Flush()
	return a, nil
}

// Dependencies returns the calls between services made by spans that
// started in r.
func (e *Engine) Dependencies(ctx context.Context, tenant string, r query.TimeRange) ([]query.DependencyLink, error) {
	start, end := unixNano(r.Start), unixNano(r.End)
	if start != 0 && end != 0 && start >= end {
		return []query.DependencyLink{}, nil
	}
	agg, err := e.aggregates(ctx, tenant, start, end)
	if err != nil {
		return nil, err
	}
	if r.Start.IsZero() {
		start = math.MinInt64
	}
	if r.End.IsZero() {
		end = math.MaxInt64
	}
	links := agg.Links(start, end)
	out := make([]query.DependencyLink, len(links))
	for i, l := range links {
		out[i] = query.DependencyLink{Parent: l.Parent, Child: l.Child, CallCount: l.CallCount, ErrorCount: l.ErrorCount}
	}
	return out, nil
}

// errBadMetricsQuery is what Metrics returns for a query the Querier
// contract rules out; the API layers validate before calling.
var errBadMetricsQuery = errors.New("invalid metrics query")

// Metrics returns RED series.
func (e *Engine) Metrics(ctx context.Context, tenant string, q query.MetricsQuery) (query.MetricFamily, error) {
	sq, err := seriesQuery(q)
	if err != nil {
		return query.MetricFamily{}, err
	}
	start, end, err := sq.Bounds()
	if err != nil {
		return query.MetricFamily{}, fmt.Errorf("%w: %w", errBadMetricsQuery, err)
	}
	if start == end { // no point to compute
		return query.MetricFamily{Metric: q.Metric, Series: []query.MetricSeries{}}, nil
	}
	agg, err := e.aggregates(ctx, tenant, start, end)
	if err != nil {
		return query.MetricFamily{}, err
	}
	series, err := agg.Series(sq)
	if err != nil {
		return query.MetricFamily{}, fmt.Errorf("%w: %w", errBadMetricsQuery, err)
	}
	out := query.MetricFamily{Metric: q.Metric, Series: make([]query.MetricSeries, len(series))}
	for i, s := range series {
		points := make([]query.MetricPoint, len(s.Points))
		for j, p := range s.Points {
			points[j] = query.MetricPoint{Time: time.Unix(0, p.Time).UTC(), Value: metricValue(q.Metric, p)}
		}
		out.Series[i] = query.MetricSeries{Service: s.Service, Operation: s.Operation, Points: points}
	}
	return out, nil
}

func metricValue(m query.Metric, p aggregate.Point) float64 {
	switch m {
	case query.MetricCalls:
		return p.CallRate()
	case query.MetricErrors:
		return p.ErrorRate()
	default: // MetricLatencies
		return p.Latency / float64(time.Millisecond)
	}
}

// seriesQuery translates and checks a MetricsQuery.
func seriesQuery(q query.MetricsQuery) (aggregate.SeriesQuery, error) {
	bad := func(format string, args ...any) (aggregate.SeriesQuery, error) {
		return aggregate.SeriesQuery{}, fmt.Errorf("%w: "+format, append([]any{errBadMetricsQuery}, args...)...)
	}
	switch q.Metric {
	case query.MetricCalls, query.MetricErrors:
	case query.MetricLatencies:
		if !(q.Quantile > 0 && q.Quantile <= 1) {
			return bad("quantile %v is not in (0, 1]", q.Quantile)
		}
	default:
		return bad("unknown metric %d", q.Metric)
	}
	if len(q.Services) == 0 {
		return bad("no service")
	}
	if q.End.IsZero() {
		return bad("no end time")
	}
	sq := aggregate.SeriesQuery{
		Services:         q.Services,
		GroupByOperation: q.GroupByOperation,
		End:              q.End.UnixNano(),
		Lookback:         q.Lookback,
		Step:             q.Step,
		Window:           q.RatePer,
	}
	if q.Metric == query.MetricLatencies {
		sq.Quantile = q.Quantile
	}
	for _, name := range q.SpanKinds {
		kind, ok := spanKind(name)
		if !ok {
			return bad("unknown span kind %q", name)
		}
		sq.Kinds = append(sq.Kinds, kind)
	}
	return sq, nil
}

// spanKind is the inverse of spanfile.KindName.
func spanKind(name string) (ptrace.SpanKind, bool) {
	for k := ptrace.SpanKindUnspecified; k <= ptrace.SpanKindConsumer; k++ {
		if spanfile.KindName(k) == name {
			return k, true
		}
	}
	return 0, false
}
