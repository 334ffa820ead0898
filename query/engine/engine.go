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
	"github.com/tracelake/tracelake/storage/aggregate"
	"github.com/tracelake/tracelake/storage/block/index"
	"github.com/tracelake/tracelake/storage/objstore"
	"github.com/tracelake/tracelake/storage/spanfile"
	"github.com/tracelake/tracelake/storage/spanfile/vparquet1"
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
	// BlockIndexCacheBytes bounds the memory of the blocks' trace indexes,
	// lookup tables and bloom filters (together about 370 bytes per trace
	// of ten spans), read once per block: searches are fast while the
	// blocks of the usual search window fit.
	BlockIndexCacheBytes int
	// AggregateCacheBytes bounds the memory of per-file aggregates
	// (dependency links and RED metrics; a few KiB per file).
	AggregateCacheBytes int
	// Now is the clock. Defaults to time.Now.
	Now func() time.Time
}

// DefaultConfig returns the settings the query service starts with.
func DefaultConfig() Config {
	return Config{Concurrency: 8, TraceSlack: time.Hour, ServicesLookback: 7 * 24 * time.Hour, OperationsCacheFiles: 100_000,
		TraceIndexCacheBytes: 64 << 20, BlockIndexCacheBytes: 1 << 30, AggregateCacheBytes: 64 << 20}
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
	case c.BlockIndexCacheBytes < 0:
		return fmt.Errorf("block index cache size must not be negative, got %d", c.BlockIndexCacheBytes)
	case c.AggregateCacheBytes < 0:
		return fmt.Errorf("aggregate cache size must not be negative, got %d", c.AggregateCacheBytes)
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
	// metas holds block metas by key; blockIndexes and blooms the blocks'
	// trace indexes and bloom filters by block prefix. Blocks are
	// immutable too.
	metas        *lru[string, *tracestore.BlockMeta]
	blockIndexes *lru[string, *index.Index]
	blooms       *lru[string, *index.Bloom]
	// attrFilters holds the blocks' attribute filters (nil: the block has
	// none).
	attrFilters *lru[string, *index.AttrFilter]
	// lookups holds the blocks' ID-to-rows tables, which outlive their
	// indexes in memory: a lookup by ID then never reloads an index.
	lookups *lru[string, *index.LookupTable]
	// aggs holds aggregates by span file key (see aggregates).
	aggs *lru[string, *aggregate.Aggregate]
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
		metas:   newLRU[string, *tracestore.BlockMeta](cfg.OperationsCacheFiles, nil),
		// Blooms and lookup tables are small and consulted on every lookup:
		// they get budgets of their own, so indexes do not evict them.
		blockIndexes: newLRU[string](cfg.BlockIndexCacheBytes*3/4, (*index.Index).MemSize),
		blooms:       newLRU[string](cfg.BlockIndexCacheBytes/16, (*index.Bloom).MemSize),
		attrFilters:  newLRU[string](cfg.BlockIndexCacheBytes/16, (*index.AttrFilter).MemSize),
		lookups:      newLRU[string](cfg.BlockIndexCacheBytes*3/16, (*index.LookupTable).MemSize),
		aggs:         newLRU[string](cfg.AggregateCacheBytes, (*aggregate.Aggregate).MemSize),
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

// source is one object a query reads: a block's data file, or an ingest
// file no block has replaced yet.
type source struct {
	Key   string                // the span file's object key
	ref   tracestore.FileRef    // an ingest file (block == nil)
	block *tracestore.BlockMeta // a block
}

// files lists what holds the tenant's spans in [start, end): the blocks
// and the ingest files they have not replaced, resolved so that every
// span is read exactly once (tracestore.Resolve), in key order.
func (e *Engine) files(ctx context.Context, tenant string, start, end int64) ([]source, error) {
	var refs []tracestore.FileRef
	for ref, err := range e.store.Files(ctx, tenant, start, end) {
		if err != nil {
			return nil, err
		}
		refs = append(refs, ref)
	}
	var blocks []*tracestore.BlockMeta
	for ref, err := range e.store.Blocks(ctx, tenant, start) {
		if err != nil {
			return nil, err
		}
		m, ok := e.metas.get(ref.Key)
		if !ok {
			var err error
			m, err = e.store.ReadBlockMeta(ctx, ref)
			if errors.Is(err, objstore.ErrNotFound) {
				continue // deleted since the listing (a rejected block)
			}
			if err != nil {
				return nil, err
			}
			e.metas.put(ref.Key, m)
		}
		blocks = append(blocks, m)
	}
	used, raw, _ := tracestore.Resolve(blocks, refs)
	out := make([]source, 0, len(used)+len(raw))
	for _, b := range used {
		if b.Overlaps(start, end) {
			out = append(out, source{Key: b.ObjectKey(tracestore.BlockData), block: b})
		}
	}
	for _, r := range raw {
		out = append(out, source{Key: r.Key, ref: r})
	}
	return out, nil
}

// open opens a source's span file.
func (e *Engine) open(ctx context.Context, src source) (*tracestore.OpenFile, error) {
	if src.block != nil {
		return e.store.OpenBlock(ctx, src.block)
	}
	return e.store.Open(ctx, src.ref)
}

// eachFile opens every source with bounded concurrency and calls fn with
// it. fn may run concurrently for different sources.
func (e *Engine) eachFile(ctx context.Context, srcs []source, fn func(i int, f spanfile.File) error) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(e.cfg.Concurrency)
	for i, src := range srcs {
		g.Go(func() error {
			f, err := e.open(ctx, src)
			if err != nil {
				return err
			}
			defer f.Close()
			if err := fn(i, f); err != nil {
				return fmt.Errorf("%s: %w", src.Key, err)
			}
			return nil
		})
	}
	return g.Wait()
}

// blockIndex returns a block's trace index, cached.
func (e *Engine) blockIndex(ctx context.Context, m *tracestore.BlockMeta) (*index.Index, error) {
	if x, ok := e.blockIndexes.get(m.Prefix()); ok {
		return x, nil
	}
	data, err := e.store.ReadObject(ctx, m.ObjectKey(tracestore.BlockIndex))
	if err != nil {
		return nil, err
	}
	x, err := index.ReadIndex(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", m.ObjectKey(tracestore.BlockIndex), err)
	}
	e.blockIndexes.put(m.Prefix(), x)
	return x, nil
}

// blockLookup returns a block's lookup table, cached.
func (e *Engine) blockLookup(ctx context.Context, m *tracestore.BlockMeta) (*index.LookupTable, error) {
	if t, ok := e.lookups.get(m.Prefix()); ok {
		return t, nil
	}
	x, err := e.blockIndex(ctx, m)
	if err != nil {
		return nil, err
	}
	t := x.LookupTable()
	e.lookups.put(m.Prefix(), t)
	return t, nil
}

// blockBloom returns a block's bloom filter, cached.
func (e *Engine) blockBloom(ctx context.Context, m *tracestore.BlockMeta) (*index.Bloom, error) {
	if b, ok := e.blooms.get(m.Prefix()); ok {
		return b, nil
	}
	data, err := e.store.ReadObject(ctx, m.ObjectKey(tracestore.BlockBloom))
	if err != nil {
		return nil, err
	}
	b, err := index.ReadBloom(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", m.ObjectKey(tracestore.BlockBloom), err)
	}
	e.blooms.put(m.Prefix(), b)
	return b, nil
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

// fetch reads the spans of ids from every source in [start, end), in one
// pass, and returns the traces that have any. A block is read only where
// its bloom filter and index say it holds an ID, and then only the rows
// the index names; ingest files whose cached trace index rules out every
// ID are not opened at all.
func (e *Engine) fetch(ctx context.Context, tenant string, ids []pcommon.TraceID, start, end int64) (map[pcommon.TraceID]ptrace.Traces, error) {
	srcs, err := e.files(ctx, tenant, start, end)
	if err != nil {
		return nil, unavailable(err)
	}
	// Per source, per ID: filled concurrently, merged in source order so
	// the answer does not depend on which was read first.
	parts := make([][]ptrace.Traces, len(srcs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(e.cfg.Concurrency)
	for i, src := range srcs {
		g.Go(func() error {
			var err error
			if src.block != nil {
				parts[i], err = e.fetchBlock(gctx, src.block, ids)
			} else {
				parts[i], err = e.fetchFile(gctx, src, ids)
			}
			if err != nil {
				return fmt.Errorf("%s: %w", src.Key, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, unavailable(err)
	}
	out := make(map[pcommon.TraceID]ptrace.Traces, len(ids))
	for j, id := range ids {
		var merged ptrace.Traces
		for i := range srcs {
			if parts[i] == nil {
				continue
			}
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

// fetchBlock reads ids from a block: bloom filter, index, then the rows.
func (e *Engine) fetchBlock(ctx context.Context, m *tracestore.BlockMeta, ids []pcommon.TraceID) ([]ptrace.Traces, error) {
	bloom, err := e.blockBloom(ctx, m)
	if err != nil {
		return nil, err
	}
	var maybe []int
	for j, id := range ids {
		if bloom.MayContain(id) {
			maybe = append(maybe, j)
		}
	}
	if len(maybe) == 0 {
		return nil, nil
	}
	x, err := e.blockLookup(ctx, m)
	if err != nil {
		return nil, err
	}
	type rows struct {
		j           int
		first, rows int64
	}
	var found []rows
	for _, j := range maybe {
		if first, n, ok := x.Lookup(ids[j]); ok {
			found = append(found, rows{j, first, n})
		}
	}
	if len(found) == 0 {
		return nil, nil
	}
	f, err := e.store.OpenBlock(ctx, m)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rr, ok := f.File.(rowReader)
	if !ok {
		return nil, fmt.Errorf("block data file cannot read rows")
	}
	// One pass over each row group however many of the traces it holds
	// (a page of 1,500 search results is a few row groups).
	runs := make([]vparquet1.RowRange, len(found))
	for i, r := range found {
		runs[i] = vparquet1.RowRange{First: r.first, N: r.rows}
	}
	out := make([]ptrace.Traces, len(ids))
	err = rr.ReadRowRanges(ctx, runs, func(i int, td ptrace.Traces) error {
		out[found[i].j] = td
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// groupSearcher searches chosen row groups of a file.
type groupSearcher interface {
	SearchGroups(ctx context.Context, flt spanfile.Filter, keep func(gi int) bool, fn func(spanfile.Match) bool) error
	NumRowGroups() int
}

// derivedKeys are the tags Jaeger's translation derives from span fields
// (spanfile.Filter): a block's attribute filter knows nothing of them.
var derivedKeys = map[string]bool{
	"error": true, "span.kind": true, "otel.status_code": true, "otel.status_description": true,
	"otel.scope.name": true, "otel.scope.version": true,
}

// attrGroups consults a block's attribute filter for flt's tag conditions:
// keep accepts the row groups that may hold a match (nil: every group, or
// no filter applies), of the groups the filter describes, and skip says
// no group can. Conditions on derived
// keys cannot be judged by the filter and are left to the search.
func (e *Engine) attrGroups(ctx context.Context, m *tracestore.BlockMeta, flt spanfile.Filter) (keep func(int) bool, groups int, skip bool, err error) {
	var pairs []spanfile.Attribute
	var keys []string
	for _, a := range flt.Attributes {
		if !derivedKeys[a.Key] {
			pairs = append(pairs, a)
		}
	}
	for _, k := range flt.Keys {
		if !derivedKeys[k] {
			keys = append(keys, k)
		}
	}
	if len(pairs) == 0 && len(keys) == 0 {
		return nil, 0, false, nil
	}
	af, err := e.blockAttrFilter(ctx, m)
	if err != nil || af == nil {
		return nil, 0, false, err
	}
	ok := make([]bool, af.Groups())
	any := false
	for g := range ok {
		ok[g] = true
		for _, a := range pairs {
			ok[g] = ok[g] && af.MayHavePair(g, a.Key, a.Value)
		}
		for _, k := range keys {
			ok[g] = ok[g] && af.MayHaveKey(g, k)
		}
		any = any || ok[g]
	}
	if !any {
		return nil, 0, true, nil
	}
	return func(g int) bool { return ok[g] }, len(ok), false, nil
}

// blockAttrFilter returns a block's attribute filter, cached; nil when the
// block was written without one.
func (e *Engine) blockAttrFilter(ctx context.Context, m *tracestore.BlockMeta) (*index.AttrFilter, error) {
	if f, ok := e.attrFilters.get(m.Prefix()); ok {
		return f, nil
	}
	if _, ok := m.Sizes[tracestore.BlockAttrFilter]; !ok {
		return nil, nil
	}
	data, err := e.store.ReadObject(ctx, m.ObjectKey(tracestore.BlockAttrFilter))
	if err != nil {
		return nil, err
	}
	f, err := index.ReadAttrFilter(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", m.ObjectKey(tracestore.BlockAttrFilter), err)
	}
	e.attrFilters.put(m.Prefix(), f)
	return f, nil
}

// rowReader reads rows by number: what a block's index points at.
type rowReader interface {
	ReadRows(ctx context.Context, first, n int64, td ptrace.Traces) error
	ReadRowRanges(ctx context.Context, ranges []vparquet1.RowRange, fn func(i int, td ptrace.Traces) error) error
}

// fetchFile reads ids from an ingest file, skipping it when its cached
// trace index rules every ID out.
func (e *Engine) fetchFile(ctx context.Context, src source, ids []pcommon.TraceID) ([]ptrace.Traces, error) {
	if idx, ok := e.indexes.get(src.Key); ok && !mayContainAny(idx, ids) {
		return nil, nil
	}
	f, err := e.store.Open(ctx, src.ref)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	idx, err := e.traceIndex(ctx, src.Key, f)
	if err != nil {
		return nil, err
	}
	out := make([]ptrace.Traces, len(ids))
	for j, id := range ids {
		if !idx.MayContain(id) {
			continue
		}
		td := ptrace.NewTraces()
		n, err := f.FindTrace(ctx, id, td)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			out[j] = td
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
	out, _, err := e.FindTracesPage(ctx, tenant, q)
	return out, err
}

// FindTracesPage returns one page of the traces matching q, newest first,
// and the cursor of the next page ("" when there is none).
//
// Pages follow the order the search ranks by: latest matching span first,
// then trace ID. A page after a cursor is the first Limit traces after the
// cursor's position in that order, computed afresh over the cursor's
// pinned time window: it keeps the best (returned so far + Limit + slack)
// traces and drops those at or before the cursor, and widens the search
// in the rare case new spans pushed too many traces ahead of the cursor.
func (e *Engine) FindTracesPage(ctx context.Context, tenant string, q query.TraceQuery) ([]ptrace.Traces, string, error) {
	if q.Limit <= 0 {
		return nil, "", fmt.Errorf("limit must be positive, got %d", q.Limit)
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
	flt.Keys = slices.Clone(q.AttributeKeys)
	slices.Sort(flt.Keys)
	slices.SortFunc(flt.Attributes, func(a, b spanfile.Attribute) int { return cmp.Compare(a.Key, b.Key) })

	fp := fingerprint(flt)
	var after *cursor
	if q.Cursor != "" {
		c, err := decodeCursor(q.Cursor)
		if err != nil {
			return nil, "", err
		}
		if c.fingerprint != fp {
			return nil, "", fmt.Errorf("%w: it continues another search (service, operation, tags and durations must stay the same)", query.ErrBadCursor)
		}
		flt.StartMin, flt.StartMax = c.startMin, c.startMax
		after = &c
	}

	srcs, err := e.files(ctx, tenant, flt.StartMin, flt.StartMax)
	if err != nil {
		return nil, "", unavailable(err)
	}
	k := q.Limit + 1 // one more tells whether there is a next page
	if after != nil {
		k += int(after.returned) + q.Limit // the returned ones, and slack for newcomers
	}
	var page []ranked
	for {
		best, err := e.search(ctx, srcs, flt, k)
		if err != nil {
			return nil, "", err
		}
		all := best.sorted()
		page = all
		if after != nil {
			i := 0
			for i < len(all) && !after.before(all[i]) {
				i++
			}
			page = all[i:]
		}
		if len(page) > q.Limit || len(all) < k {
			break // a full page and one more, or every match
		}
		k *= 4
	}
	next := ""
	if len(page) > q.Limit {
		page = page[:q.Limit]
		c := cursor{rank: page[len(page)-1].start, id: page[len(page)-1].id, fingerprint: fp,
			startMin: flt.StartMin, startMax: flt.StartMax}
		if after != nil {
			c.returned = after.returned
		}
		c.returned += uint32(len(page))
		next = c.encode()
	}
	if len(page) == 0 {
		return nil, next, nil
	}
	ids := make([]pcommon.TraceID, len(page))
	for i, r := range page {
		ids[i] = r.id
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
		return nil, "", err
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
	return out, next, nil
}

// search keeps the best k traces matching flt over srcs.
func (e *Engine) search(ctx context.Context, srcs []source, flt spanfile.Filter, k int) (*topK, error) {
	// Newest first: once k traces rank above the latest span a source can
	// hold, the source cannot change the answer and is skipped. A search
	// for a common tag value over a day then reads the last hour or two.
	order := slices.Clone(srcs)
	slices.SortStableFunc(order, func(a, b source) int { return cmp.Compare(b.latest(), a.latest()) })
	best := newTopK(k)
	var mu sync.Mutex
	// Sources being searched, by their latest span: a source is cancelled
	// as soon as the others' results outrank it.
	running := map[*source]context.CancelFunc{}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(e.cfg.Concurrency)
	for i := range order {
		src := &order[i]
		g.Go(func() error {
			mu.Lock()
			if best.outranks(src.latest()) {
				mu.Unlock()
				return nil
			}
			sctx, cancel := context.WithCancel(gctx)
			defer cancel()
			running[src] = cancel
			mu.Unlock()

			local, err := e.searchSource(sctx, *src, flt, k)
			mu.Lock()
			defer mu.Unlock()
			delete(running, src)
			if err != nil {
				if gctx.Err() == nil && sctx.Err() != nil {
					return nil // outranked while searched: it cannot change the answer
				}
				return fmt.Errorf("%s: %w", src.Key, err)
			}
			best.merge(local)
			for other, stop := range running {
				if best.outranks(other.latest()) {
					stop()
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, unavailable(err)
	}
	return best, nil
}

// latest bounds the start of any span in the source.
func (s source) latest() int64 {
	if s.block != nil {
		return s.block.EndMax
	}
	return s.ref.EndMax
}

// searchSource finds the best limit traces matching flt in one source.
// A block answers from its index when the index can (see blockSearch);
// otherwise, and for ingest files, the span file is searched.
func (e *Engine) searchSource(ctx context.Context, src source, flt spanfile.Filter, limit int) (*topK, error) {
	local := newTopK(limit)
	if src.block != nil {
		done, err := e.blockSearch(ctx, src.block, flt, local)
		if err != nil || done {
			return local, err
		}
	}
	var keep func(int) bool
	var groups int
	if src.block != nil {
		var skip bool
		var err error
		if keep, groups, skip, err = e.attrGroups(ctx, src.block, flt); err != nil || skip {
			return local, err
		}
	}
	f, err := e.open(ctx, src)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if keep != nil {
		gs, ok := f.File.(groupSearcher)
		if !ok {
			return nil, fmt.Errorf("block data file cannot search by row group")
		}
		if n := gs.NumRowGroups(); n != groups {
			return nil, fmt.Errorf("%s: the attribute filter describes %d row groups, the data file has %d", src.Key, groups, n)
		}
		err = gs.SearchGroups(ctx, flt, keep, func(m spanfile.Match) bool {
			local.add(m.TraceID, m.Start)
			return true
		})
		return local, err
	}
	if src.block == nil {
		// The file is open anyway: remember its trace index, so fetching
		// the matches (and later lookups) can skip the files without them.
		if _, err := e.traceIndex(ctx, src.Key, f); err != nil {
			return nil, err
		}
	}
	err = f.Search(ctx, flt, func(m spanfile.Match) bool {
		local.add(m.TraceID, m.Start)
		return true
	})
	return local, err
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

// perRecentFile returns read(file) for every source of the tenant in the
// last ServicesLookback, using cache (keyed by key(object key)) for
// sources read before: span files are immutable, so a cached answer never
// goes stale.
func perRecentFile[K comparable, V any](ctx context.Context, e *Engine, tenant string, cache *lru[K, V], key func(string) K, read func(context.Context, spanfile.File) (V, error)) ([]V, error) {
	now := e.cfg.Now()
	srcs, err := e.files(ctx, tenant, now.Add(-e.cfg.ServicesLookback).UnixNano(), 0)
	if err != nil {
		return nil, unavailable(err)
	}
	out := make([]V, len(srcs))
	var missing []source
	var missingIdx []int
	for i, src := range srcs {
		if v, ok := cache.get(key(src.Key)); ok {
			out[i] = v
		} else {
			missing = append(missing, src)
			missingIdx = append(missingIdx, i)
		}
	}
	err = e.eachFile(ctx, missing, func(j int, f spanfile.File) error {
		v, err := read(ctx, f)
		if err != nil {
			return err
		}
		out[missingIdx[j]] = v
		cache.put(key(missing[j].Key), v)
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
		func(key string) string { return key },
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
		func(file string) valuesKey { return valuesKey{file, service, key} },
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
