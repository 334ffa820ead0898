package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"golang.org/x/sync/errgroup"

	"github.com/tracelake/tracelake/query"
	"github.com/tracelake/tracelake/storage/spanfile"
	"github.com/tracelake/tracelake/storage/tracestore"
)

// Config tunes an Engine.
type Config struct {
	// Concurrency bounds the files read at once by one query.
	Concurrency int
	// TraceSlack widens a search's time window when fetching the matched
	// traces whole, so spans of a trace stored outside the window (long
	// traces, late spans) are included.
	TraceSlack time.Duration
	// ServicesLookback is how far back Services and Operations look.
	ServicesLookback time.Duration
	// OperationsCacheFiles bounds the per-file operation lists kept in
	// memory (files are immutable, so entries never go stale).
	OperationsCacheFiles int
	// TraceIndexCacheBytes bounds the memory of per-file trace indexes
	// (about 1.4 bytes per span): lookups by trace ID open only the files
	// whose index may hold the trace.
	TraceIndexCacheBytes int
	// Now is the clock. Defaults to time.Now.
	Now func() time.Time
}

// DefaultConfig returns the settings the query service starts with.
func DefaultConfig() Config {
	return Config{Concurrency: 8, TraceSlack: time.Hour, ServicesLookback: 7 * 24 * time.Hour, OperationsCacheFiles: 100_000, TraceIndexCacheBytes: 64 << 20}
}

// Validate reports the first invalid setting.
func (c Config) Validate() error {
	switch {
	case c.Concurrency <= 0:
		return fmt.Errorf("query concurrency must be positive, got %d", c.Concurrency)
	case c.TraceSlack < 0:
		return fmt.Errorf("trace slack must not be negative, got %s", c.TraceSlack)
	case c.ServicesLookback <= 0:
		return fmt.Errorf("services lookback must be positive, got %s", c.ServicesLookback)
	case c.OperationsCacheFiles <= 0:
		return fmt.Errorf("operations cache size must be positive, got %d", c.OperationsCacheFiles)
	case c.TraceIndexCacheBytes < 0:
		return fmt.Errorf("trace index cache size must not be negative, got %d", c.TraceIndexCacheBytes)
	}
	return nil
}

// Engine answers queries from a tracestore.Store. It is safe for
// concurrent use.
type Engine struct {
	store  *tracestore.Store
	cfg    Config
	logger *slog.Logger
	ops    *lru[string, []spanfile.Operation]
	// values holds AttributeValues answers by file, service and key.
	values *lru[valuesKey, []string]
	// indexes holds trace indexes by object key; files are immutable, so
	// an entry is valid for as long as the file exists.
	indexes *lru[string, spanfile.TraceIndex]
}

var _ query.Querier = (*Engine)(nil)

// New returns an engine reading store.
func New(store *tracestore.Store, cfg Config, logger *slog.Logger) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Engine{
		store:   store,
		cfg:     cfg,
		logger:  logger,
		ops:     newLRU[string, []spanfile.Operation](cfg.OperationsCacheFiles, nil),
		values:  newLRU[valuesKey, []string](cfg.OperationsCacheFiles, nil),
		indexes: newLRU[string](cfg.TraceIndexCacheBytes, spanfile.TraceIndex.MemSize),
	}, nil
}

// unavailable marks storage failures as retryable for the API layer;
// context errors pass through unchanged.
func unavailable(err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("%w: %w", query.ErrUnavailable, err)
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// files lists the tenant's files overlapping [start, end).
func (e *Engine) files(ctx context.Context, tenant string, start, end int64) ([]tracestore.FileRef, error) {
	var refs []tracestore.FileRef
	for ref, err := range e.store.Files(ctx, tenant, start, end) {
		if err != nil {
			return nil, err
		}
		refs = append(refs, ref)
	}
	return refs, nil
}

// eachFile opens every file with bounded concurrency and calls fn with it.
// fn may run concurrently for different files.
func (e *Engine) eachFile(ctx context.Context, refs []tracestore.FileRef, fn func(i int, f spanfile.File) error) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(e.cfg.Concurrency)
	for i, ref := range refs {
		g.Go(func() error {
			f, err := e.store.Open(ctx, ref)
			if err != nil {
				return err
			}
			defer f.Close()
			if err := fn(i, f); err != nil {
				return fmt.Errorf("%s: %w", ref.Key, err)
			}
			return nil
		})
	}
	return g.Wait()
}

// Trace returns every stored span of one trace.
func (e *Engine) Trace(ctx context.Context, tenant string, id pcommon.TraceID, within query.TimeRange) (ptrace.Traces, error) {
	found, err := e.fetch(ctx, tenant, []pcommon.TraceID{id}, unixNano(within.Start), unixNano(within.End))
	if err != nil {
		return ptrace.Traces{}, err
	}
	td, ok := found[id]
	if !ok {
		return ptrace.Traces{}, fmt.Errorf("trace %s: %w", id, query.ErrNotFound)
	}
	return td, nil
}

// fetch reads the spans of ids from every file in [start, end), in one
// pass over the files, and returns the traces that have any. Files whose
// cached trace index rules out every ID are not opened at all.
func (e *Engine) fetch(ctx context.Context, tenant string, ids []pcommon.TraceID, start, end int64) (map[pcommon.TraceID]ptrace.Traces, error) {
	all, err := e.files(ctx, tenant, start, end)
	if err != nil {
		return nil, unavailable(err)
	}
	var refs []tracestore.FileRef
	for _, ref := range all {
		if idx, ok := e.indexes.get(ref.Key); ok && !mayContainAny(idx, ids) {
			continue
		}
		refs = append(refs, ref)
	}
	// Per file, per ID: filled concurrently, merged in file order so the
	// answer does not depend on which file was read first.
	parts := make([][]ptrace.Traces, len(refs))
	err = e.eachFile(ctx, refs, func(i int, f spanfile.File) error {
		idx, err := e.traceIndex(ctx, refs[i].Key, f)
		if err != nil {
			return err
		}
		parts[i] = make([]ptrace.Traces, len(ids))
		for j, id := range ids {
			if !idx.MayContain(id) {
				continue
			}
			td := ptrace.NewTraces()
			n, err := f.FindTrace(ctx, id, td)
			if err != nil {
				return err
			}
			if n > 0 {
				parts[i][j] = td
			}
		}
		return nil
	})
	if err != nil {
		return nil, unavailable(err)
	}
	out := make(map[pcommon.TraceID]ptrace.Traces, len(ids))
	for j, id := range ids {
		var merged ptrace.Traces
		for i := range refs {
			td := parts[i][j]
			if td == (ptrace.Traces{}) {
				continue
			}
			if merged == (ptrace.Traces{}) {
				merged = td
				continue
			}
			td.ResourceSpans().MoveAndAppendTo(merged.ResourceSpans())
		}
		if merged != (ptrace.Traces{}) {
			dedupe(merged)
			out[id] = merged
		}
	}
	return out, nil
}

func mayContainAny(idx spanfile.TraceIndex, ids []pcommon.TraceID) bool {
	for _, id := range ids {
		if idx.MayContain(id) {
			return true
		}
	}
	return false
}

// traceIndex returns the open file's trace index, from the cache or read
// now and cached.
func (e *Engine) traceIndex(ctx context.Context, key string, f spanfile.File) (spanfile.TraceIndex, error) {
	if idx, ok := e.indexes.get(key); ok {
		return idx, nil
	}
	idx, err := f.TraceIndex(ctx)
	if err != nil {
		return nil, err
	}
	e.indexes.put(key, idx)
	return idx, nil
}

// spanKey identifies a span for removing duplicates that client retries
// create. The two halves of a Zipkin shared span share an ID but differ in
// kind and service, so they are kept.
type spanKey struct {
	id, parent pcommon.SpanID
	start, end pcommon.Timestamp
	name       string
	kind       ptrace.SpanKind
	service    string
}

// dedupe removes exact duplicate spans and then empty scopes/resources.
func dedupe(td ptrace.Traces) {
	seen := map[spanKey]struct{}{}
	td.ResourceSpans().RemoveIf(func(rs ptrace.ResourceSpans) bool {
		service := ""
		if v, ok := rs.Resource().Attributes().Get("service.name"); ok {
			service = v.AsString()
		}
		rs.ScopeSpans().RemoveIf(func(ss ptrace.ScopeSpans) bool {
			ss.Spans().RemoveIf(func(s ptrace.Span) bool {
				k := spanKey{s.SpanID(), s.ParentSpanID(), s.StartTimestamp(), s.EndTimestamp(), s.Name(), s.Kind(), service}
				if _, dup := seen[k]; dup {
					return true
				}
				seen[k] = struct{}{}
				return false
			})
			return ss.Spans().Len() == 0
		})
		return rs.ScopeSpans().Len() == 0
	})
}

// FindTraces returns the traces matching q, newest first.
func (e *Engine) FindTraces(ctx context.Context, tenant string, q query.TraceQuery) ([]ptrace.Traces, error) {
	if q.Limit <= 0 {
		return nil, fmt.Errorf("limit must be positive, got %d", q.Limit)
	}
	flt := spanfile.Filter{
		Service:     q.ServiceName,
		Name:        q.OperationName,
		StartMin:    unixNano(q.StartMin),
		StartMax:    unixNano(q.StartMax),
		DurationMin: int64(q.DurationMin),
		DurationMax: int64(q.DurationMax),
	}
	for k, v := range q.Attributes {
		flt.Attributes = append(flt.Attributes, spanfile.Attribute{Key: k, Value: v})
	}
	flt.Keys = q.AttributeKeys
	slices.SortFunc(flt.Attributes, func(a, b spanfile.Attribute) int { return cmp.Compare(a.Key, b.Key) })

	refs, err := e.files(ctx, tenant, flt.StartMin, flt.StartMax)
	if err != nil {
		return nil, unavailable(err)
	}
	best := newTopK(q.Limit)
	var mu sync.Mutex
	err = e.eachFile(ctx, refs, func(i int, f spanfile.File) error {
		// The file is open anyway: remember its trace index, so fetching
		// the matches (and later lookups) can skip the files without them.
		if _, err := e.traceIndex(ctx, refs[i].Key, f); err != nil {
			return err
		}
		local := newTopK(q.Limit)
		if err := f.Search(ctx, flt, func(m spanfile.Match) bool {
			local.add(m.TraceID, m.Start)
			return true
		}); err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		best.merge(local)
		return nil
	})
	if err != nil {
		return nil, unavailable(err)
	}
	ids := best.ids()
	if len(ids) == 0 {
		return nil, nil
	}
	start, end := flt.StartMin, flt.StartMax
	if start != 0 {
		start -= int64(e.cfg.TraceSlack)
	}
	if end != 0 {
		end += int64(e.cfg.TraceSlack)
	}
	found, err := e.fetch(ctx, tenant, ids, start, end)
	if err != nil {
		return nil, err
	}
	type result struct {
		id    pcommon.TraceID
		start pcommon.Timestamp
		td    ptrace.Traces
	}
	results := make([]result, 0, len(found))
	for id, td := range found {
		results = append(results, result{id, traceStart(td), td})
	}
	slices.SortFunc(results, func(a, b result) int {
		if c := cmp.Compare(b.start, a.start); c != 0 {
			return c
		}
		return compareIDs(a.id, b.id)
	})
	out := make([]ptrace.Traces, len(results))
	for i, r := range results {
		out[i] = r.td
	}
	return out, nil
}

func traceStart(td ptrace.Traces) pcommon.Timestamp {
	var first pcommon.Timestamp
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				if first == 0 || s.StartTimestamp() < first {
					first = s.StartTimestamp()
				}
			}
		}
	}
	return first
}

func compareIDs(a, b pcommon.TraceID) int {
	for i := range a {
		if c := cmp.Compare(a[i], b[i]); c != 0 {
			return c
		}
	}
	return 0
}

// perRecentFile returns read(file) for every file of the tenant in the
// last ServicesLookback, using cache (keyed by key(file)) for files read
// before: files are immutable, so a cached answer never goes stale.
func perRecentFile[K comparable, V any](ctx context.Context, e *Engine, tenant string, cache *lru[K, V], key func(tracestore.FileRef) K, read func(context.Context, spanfile.File) (V, error)) ([]V, error) {
	now := e.cfg.Now()
	refs, err := e.files(ctx, tenant, now.Add(-e.cfg.ServicesLookback).UnixNano(), 0)
	if err != nil {
		return nil, unavailable(err)
	}
	out := make([]V, len(refs))
	var missing []tracestore.FileRef
	var missingIdx []int
	for i, ref := range refs {
		if v, ok := cache.get(key(ref)); ok {
			out[i] = v
		} else {
			missing = append(missing, ref)
			missingIdx = append(missingIdx, i)
		}
	}
	err = e.eachFile(ctx, missing, func(j int, f spanfile.File) error {
		v, err := read(ctx, f)
		if err != nil {
			return err
		}
		out[missingIdx[j]] = v
		cache.put(key(missing[j]), v)
		return nil
	})
	if err != nil {
		return nil, unavailable(err)
	}
	return out, nil
}

// operations returns the distinct operations of the tenant's recent files.
func (e *Engine) operations(ctx context.Context, tenant string) (map[spanfile.Operation]struct{}, error) {
	lists, err := perRecentFile(ctx, e, tenant, e.ops,
		func(ref tracestore.FileRef) string { return ref.Key },
		func(ctx context.Context, f spanfile.File) ([]spanfile.Operation, error) { return f.Operations(ctx) })
	if err != nil {
		return nil, err
	}
	all := map[spanfile.Operation]struct{}{}
	for _, ops := range lists {
		for _, op := range ops {
			all[op] = struct{}{}
		}
	}
	return all, nil
}

type valuesKey struct{ file, service, attr string }

// AttributeValues returns the distinct values of span attribute key on
// spans of service (any when empty) seen in the last ServicesLookback.
func (e *Engine) AttributeValues(ctx context.Context, tenant, service, key string) ([]string, error) {
	lists, err := perRecentFile(ctx, e, tenant, e.values,
		func(ref tracestore.FileRef) valuesKey { return valuesKey{ref.Key, service, key} },
		func(ctx context.Context, f spanfile.File) ([]string, error) {
			return f.AttributeValues(ctx, service, key)
		})
	if err != nil {
		return nil, err
	}
	set := map[string]struct{}{}
	for _, vs := range lists {
		for _, v := range vs {
			set[v] = struct{}{}
		}
	}
	out := make([]string, 0, len(set))
	for v := range set {
		out = append(out, v)
	}
	slices.Sort(out)
	return out, nil
}

// Services returns the services seen in the last ServicesLookback.
func (e *Engine) Services(ctx context.Context, tenant string) ([]string, error) {
	ops, err := e.operations(ctx, tenant)
	if err != nil {
		return nil, err
	}
	set := map[string]struct{}{}
	for op := range ops {
		if op.Service != "" { // spans without service.name cannot be searched by it
			set[op.Service] = struct{}{}
		}
	}
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	slices.Sort(out)
	return out, nil
}

// Operations returns service's operations seen in the last ServicesLookback.
func (e *Engine) Operations(ctx context.Context, tenant, service, spanKind string) ([]query.Operation, error) {
	ops, err := e.operations(ctx, tenant)
	if err != nil {
		return nil, err
	}
	var out []query.Operation
	for op := range ops {
		if op.Service != service {
			continue
		}
		kind := spanfile.KindName(op.Kind)
		if spanKind != "" && kind != spanKind {
			continue
		}
		out = append(out, query.Operation{Name: op.Name, SpanKind: kind})
	}
	slices.SortFunc(out, func(a, b query.Operation) int {
		if c := cmp.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return cmp.Compare(a.SpanKind, b.SpanKind)
	})
	return out, nil
}
