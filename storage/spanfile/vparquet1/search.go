package vparquet1

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/parquet-go/parquet-go"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracelake/tracelake/storage/spanfile"
)

const searchBatch = 512

// basicColumns are the top-level columns a search without attribute
// conditions reads; attrColumns are what attribute conditions add.
var (
	basicColumns = []string{"trace_id", "name", "start_unix_nano", "duration_nano", "service_name"}
	attrColumns  = append(slices.Clone(basicColumns), "attrs", "resource", "events", "kind", "status_code", "status_message", "scope")
)

// prefetchColumns fetches the chunks of row group gi's columns named (all
// when nil) when the reader can prefetch: ranges closer than 1 MiB are
// read as one, so a search costs a request or two per row group instead
// of one per page per column.
func (f *File) prefetchColumns(gi int, names []string) error {
	return f.prefetchGroups([]int{gi}, names)
}

// prefetchBatchBytes bounds how much of the next row groups a search
// fetches in one request: on an object store a request costs latency and
// CPU (signing, a connection turn) whatever its size, and row groups of
// 8,192 spans are only a few hundred kB.
const prefetchBatchBytes = 4 << 20

// prefetchGroups is prefetchColumns for several row groups at once.
func (f *File) prefetchGroups(groups []int, names []string) error {
	p, ok := f.reader.(Prefetcher)
	if !ok {
		return nil
	}
	type span struct{ off, end int64 }
	var spans []span
	for _, gi := range groups {
		for ci, c := range f.pf.Metadata().RowGroups[gi].Columns {
			if names != nil && !slices.Contains(names, f.colTop[ci]) {
				continue
			}
			start := c.MetaData.DataPageOffset
			if d := c.MetaData.DictionaryPageOffset; d > 0 && d < start {
				start = d
			}
			spans = append(spans, span{start, start + c.MetaData.TotalCompressedSize})
		}
	}
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.off, b.off) })
	const gap = 1 << 20
	for i := 0; i < len(spans); {
		cur := spans[i]
		for i++; i < len(spans) && spans[i].off <= cur.end+gap; i++ {
			cur.end = max(cur.end, spans[i].end)
		}
		if err := p.Prefetch(cur.off, cur.end-cur.off); err != nil {
			return err
		}
	}
	return nil
}

// maxPrefetchGroups bounds the row groups one prefetch covers when they
// are not adjacent: each may be a range of its own, and a reader keeps
// only its last few ranges.
const maxPrefetchGroups = 6

// groupBytes is the compressed size of row group gi's columns named (all
// when nil).
func (f *File) groupBytes(gi int, names []string) int64 {
	var n int64
	for ci, c := range f.pf.Metadata().RowGroups[gi].Columns {
		if names == nil || slices.Contains(names, f.colTop[ci]) {
			n += c.MetaData.TotalCompressedSize
		}
	}
	return n
}

// Search calls fn for every span matching flt. Row groups whose statistics
// exclude the time window or service are skipped unread; the others are
// searched a column at a time (see groupSearch).
func (f *File) Search(ctx context.Context, flt spanfile.Filter, fn func(spanfile.Match) bool) error {
	return f.SearchGroups(ctx, flt, nil, fn)
}

// SearchGroups is Search over the row groups keep accepts (all when keep
// is nil): for callers that know more about the groups than their
// statistics say, such as a block's attribute filter.
func (f *File) SearchGroups(ctx context.Context, flt spanfile.Filter, keep func(gi int) bool, fn func(spanfile.Match) bool) error {
	g := newGroupSearch(f, newMatcher())
	cols := basicColumns
	if len(flt.Attributes) > 0 || len(flt.Keys) > 0 {
		cols = attrColumns
	}
	skip := func(gi int) bool { return (keep != nil && !keep(gi)) || f.prune(gi, flt) }
	fetched := 0 // row groups before it are prefetched (or pruned)
	for gi, rg := range f.pf.RowGroups() {
		if err := ctx.Err(); err != nil {
			return err
		}
		if skip(gi) {
			continue
		}
		if gi >= fetched {
			// The columns of this and the next unpruned row groups, up to
			// prefetchBatchBytes, in one request.
			batch, size := []int{gi}, f.groupBytes(gi, cols)
			fetched = gi + 1
			for ; fetched < len(f.pf.RowGroups()); fetched++ {
				if skip(fetched) {
					continue
				}
				n := f.groupBytes(fetched, cols)
				if size+n > prefetchBatchBytes {
					break
				}
				batch, size = append(batch, fetched), size+n
			}
			if err := f.prefetchGroups(batch, cols); err != nil {
				return fmt.Errorf("row group %d: %w", gi, err)
			}
		}
		more, err := g.search(rg, &flt, fn)
		if err != nil {
			return fmt.Errorf("row group %d: %w", gi, err)
		}
		if !more {
			return nil
		}
	}
	return nil
}

// searchGroup reads the projection T of every row of rg in batches and
// calls fn for each until it returns false; it reports whether fn wanted more.
func searchGroup[T any](rg parquet.RowGroup, fn func(*T) bool) (bool, error) {
	r := parquet.NewGenericRowGroupReader[T](rg)
	defer r.Close()
	buf := make([]T, min(searchBatch, rg.NumRows()))
	for {
		clear(buf) // the reader may otherwise reuse slices of the last batch
		n, err := r.Read(buf)
		for i := 0; i < n; i++ {
			if !fn(&buf[i]) {
				return false, nil
			}
		}
		if err == io.EOF || (err == nil && n == 0) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
	}
}

// prune reports whether row group gi cannot hold a match, judging by the
// min/max statistics of its start and service columns.
func (f *File) prune(gi int, flt spanfile.Filter) bool {
	cols := f.pf.Metadata().RowGroups[gi].Columns
	if st := cols[f.colStart].MetaData.Statistics; len(st.MinValue) == 8 && len(st.MaxValue) == 8 {
		lo := int64(binary.LittleEndian.Uint64(st.MinValue))
		hi := int64(binary.LittleEndian.Uint64(st.MaxValue))
		if flt.StartMax != 0 && lo >= flt.StartMax {
			return true
		}
		if flt.StartMin != 0 && hi < flt.StartMin {
			return true
		}
	}
	if flt.Service != "" {
		st := cols[f.colService].MetaData.Statistics
		if st.MinValue != nil && st.MaxValue != nil {
			s := []byte(flt.Service)
			if bytes.Compare(s, st.MinValue) < 0 || bytes.Compare(s, st.MaxValue) > 0 {
				return true
			}
		}
	}
	return false
}

// matcher decodes resources, scopes and attribute values for searches,
// caching resources and scopes (a file holds few distinct ones).
type matcher struct {
	resources map[string]pcommon.Map
	scopes    map[string]pcommon.InstrumentationScope
	err       error
}

func newMatcher() *matcher {
	return &matcher{resources: map[string]pcommon.Map{}, scopes: map[string]pcommon.InstrumentationScope{}}
}

func (m *matcher) fail(err error) {
	if m.err == nil {
		m.err = err
	}
}

func (m *matcher) resource(blob []byte) pcommon.Map {
	if attrs, ok := m.resources[string(blob)]; ok {
		return attrs
	}
	rs := ptrace.NewResourceSpans()
	if err := decodeResource(blob, rs); err != nil {
		m.fail(err)
	}
	attrs := rs.Resource().Attributes()
	m.resources[string(blob)] = attrs
	return attrs
}

func (m *matcher) scope(blob []byte) pcommon.InstrumentationScope {
	if sc, ok := m.scopes[string(blob)]; ok {
		return sc
	}
	ss := ptrace.NewScopeSpans()
	if err := decodeScope(blob, ss); err != nil {
		m.fail(err)
	}
	m.scopes[string(blob)] = ss.Scope()
	return ss.Scope()
}

// attrString is the string form of a span attribute's value, the same as
// pcommon.Value.AsString gives (what Jaeger's JSON shows).
func (m *matcher) attrString(a *attr) string {
	switch a.Type {
	case tagString:
		return a.Str
	case tagBool:
		return strconv.FormatBool(a.Int != 0)
	case tagInt:
		return strconv.FormatInt(a.Int, 10)
	}
	tmp := pcommon.NewMap()
	if err := a.putInto(tmp); err != nil {
		m.fail(err)
		return ""
	}
	v, _ := tmp.Get(a.Key)
	return valueString(v)
}

func valueString(v pcommon.Value) string {
	if v.Type() == pcommon.ValueTypeStr {
		return v.Str()
	}
	return v.AsString()
}

// operationRow projects what Operations reads.
type operationRow struct {
	Name        string `parquet:"name,dict"`
	Kind        int32  `parquet:"kind,dict"`
	ServiceName string `parquet:"service_name,dict"`
}

// Operations returns the distinct (service, name, kind) triples in the file.
func (f *File) Operations(ctx context.Context) ([]spanfile.Operation, error) {
	seen := map[spanfile.Operation]struct{}{}
	for gi, rg := range f.pf.RowGroups() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		_, err := searchGroup(rg, func(r *operationRow) bool {
			seen[spanfile.Operation{Service: r.ServiceName, Name: r.Name, Kind: ptrace.SpanKind(r.Kind)}] = struct{}{}
			return true
		})
		if err != nil {
			return nil, fmt.Errorf("row group %d: %w", gi, err)
		}
	}
	out := make([]spanfile.Operation, 0, len(seen))
	for op := range seen {
		out = append(out, op)
	}
	return out, nil
}

// valueRow projects what AttributeValues reads.
type valueRow struct {
	ServiceName string `parquet:"service_name,dict"`
	Attrs       []attr `parquet:"attrs"`
}

// AttributeValues returns the distinct string forms of span attribute
// key's values on spans of service (any when empty).
func (f *File) AttributeValues(ctx context.Context, service, key string) ([]string, error) {
	m := newMatcher()
	seen := map[string]struct{}{}
	for gi, rg := range f.pf.RowGroups() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if service != "" && f.prune(gi, spanfile.Filter{Service: service}) {
			continue
		}
		_, err := searchGroup(rg, func(r *valueRow) bool {
			if service != "" && r.ServiceName != service {
				return true
			}
			for i := range r.Attrs {
				if r.Attrs[i].Key == key {
					seen[m.attrString(&r.Attrs[i])] = struct{}{}
				}
			}
			return true
		})
		if err != nil {
			return nil, fmt.Errorf("row group %d: %w", gi, err)
		}
		if m.err != nil {
			return nil, fmt.Errorf("row group %d: %w", gi, m.err)
		}
	}
	out := make([]string, 0, len(seen))
	for v := range seen {
		out = append(out, v)
	}
	return out, nil
}
