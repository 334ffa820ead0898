package vparquet1

import (
	"cmp"
	"container/heap"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"strconv"
	"unsafe"

	"github.com/parquet-go/parquet-go"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracelake/tracelake/storage/spanfile"
)

// MergeInfo summarises a merged file.
type MergeInfo struct {
	FileInfo
	Traces     int
	Duplicates int // spans dropped as exact duplicates of another
}

// TraceFunc receives the spans of one trace of a merged file, in row
// order, and the row of the first of them. The slice is reused after the
// call returns.
type TraceFunc func(spans []spanfile.SpanInfo, firstRow int64) error

// Merge writes the spans of inputs, which are vparquet1 files (each sorted
// as this format requires), as one sorted file to out, streaming: memory
// holds one batch of rows per input, not the inputs. Rows are moved as
// Parquet values, never decoded into spans. Exact duplicates — the same
// span sent twice, as client retries do — are written once: two rows are
// duplicates when trace ID, span ID, parent span ID, start, duration,
// name, kind and service are equal (the query engine removes duplicates by
// the same rule, so a trace reads the same before and after a merge), and
// the row of the earlier input is kept. onTrace, when not nil, is called
// once per trace of the output, in order.
func (w *Writer) Merge(ctx context.Context, out io.Writer, tenant string, inputs []*File, onTrace TraceFunc) (MergeInfo, error) {
	var info MergeInfo
	pw := w.newParquetWriter(out)

	var (
		chunk   = make([]parquet.Row, 0, 256)
		row     int64    // rows written so far
		run     []runKey // the rows written with the current (trace, start, span ID)
		trace   []spanfile.SpanInfo
		first   int64 // row of trace[0]
		cur     pcommon.TraceID
		inRun   sortKey
		events  int
		strs    = map[string]string{} // names and services, interned
		flushed error
	)
	intern := func(b []byte) string {
		if s, ok := strs[unsafe.String(unsafe.SliceData(b), len(b))]; ok {
			return s
		}
		s := string(b)
		strs[s] = s
		return s
	}
	flushTrace := func() error {
		if len(trace) == 0 {
			return nil
		}
		info.Traces++
		if onTrace != nil {
			if err := onTrace(trace, first); err != nil {
				return err
			}
		}
		trace = trace[:0]
		return nil
	}
	// Rows in chunk point into their cursors' buffers, so chunk is
	// written out before any cursor reads its next batch.
	flushChunk := func() error {
		if len(chunk) == 0 {
			return nil
		}
		if _, err := pw.WriteRows(chunk); err != nil {
			return fmt.Errorf("write rows: %w", err)
		}
		clear(chunk)
		chunk = chunk[:0]
		return nil
	}
	beforeRefill := func() {
		if flushed == nil {
			flushed = flushChunk()
		}
	}

	h := &cursorHeap{}
	var cursors []*cursor
	defer func() {
		for _, c := range cursors {
			c.close()
		}
	}()
	for i, f := range inputs {
		if err := checkColumns(f.pf.Schema()); err != nil {
			return info, fmt.Errorf("input %d: %w", i, err)
		}
		c := &cursor{input: i, groups: f.pf.RowGroups(), beforeRefill: beforeRefill}
		cursors = append(cursors, c)
		ok, err := c.next()
		if err != nil {
			return info, fmt.Errorf("input %d: %w", i, err)
		}
		if ok {
			h.items = append(h.items, c)
		}
	}
	heap.Init(h)

	for len(h.items) > 0 {
		if events++; events%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return info, err
			}
		}
		c := h.items[0]
		r := c.buf[c.pos]
		k := c.key
		if k.hi != inRun.hi || k.lo != inRun.lo || k.start != inRun.start || k.spanID != inRun.spanID || len(run) == 0 {
			run, inRun = run[:0], k
		}
		name, service := intern(r[colName].ByteArray()), intern(r[colService].ByteArray())
		rk := runKey{parent: [8]byte(r[colParent].ByteArray()), duration: r[colDuration].Int64(), name: name, kind: r[colKind].Int32(), service: service}
		dup := false
		for _, o := range run {
			if o == rk {
				dup = true
				break
			}
		}
		if dup {
			info.Duplicates++
		} else {
			run = append(run, rk)
			tid := pcommon.TraceID(r[colTraceID].ByteArray())
			if tid != cur || len(trace) == 0 {
				if err := flushTrace(); err != nil {
					return info, err
				}
				cur, first = tid, row
			}
			start, dur := k.start, rk.duration
			trace = append(trace, spanfile.SpanInfo{
				TraceID: tid, SpanID: pcommon.SpanID(r[colSpanID].ByteArray()), ParentSpanID: rk.parent,
				Service: service, Name: name, Kind: ptrace.SpanKind(rk.kind),
				Start: start, Duration: dur, StatusCode: ptrace.StatusCode(r[colStatus].Int32()),
			})
			end := start + dur
			if info.Spans == 0 || start < info.StartMin {
				info.StartMin = start
			}
			if info.Spans == 0 || end > info.EndMax {
				info.EndMax = end
			}
			info.Spans++
			chunk = append(chunk, r)
			row++
			if len(chunk) == cap(chunk) {
				if err := flushChunk(); err != nil {
					return info, err
				}
			}
		}
		ok, err := c.next()
		if flushed != nil {
			return info, flushed
		}
		if err != nil {
			return info, fmt.Errorf("input %d: %w", c.input, err)
		}
		if ok {
			heap.Fix(h, 0)
		} else {
			heap.Pop(h)
		}
	}
	if err := flushChunk(); err != nil {
		return info, err
	}
	if err := flushTrace(); err != nil {
		return info, err
	}
	pw.SetKeyValueMetadata(MetaFormat, FormatName)
	pw.SetKeyValueMetadata(MetaVersion, FormatVersion)
	pw.SetKeyValueMetadata(MetaTenant, tenant)
	pw.SetKeyValueMetadata(MetaSpans, strconv.Itoa(info.Spans))
	pw.SetKeyValueMetadata(MetaStartMin, strconv.FormatInt(info.StartMin, 10))
	pw.SetKeyValueMetadata(MetaEndMax, strconv.FormatInt(info.EndMax, 10))
	if err := pw.Close(); err != nil {
		return info, fmt.Errorf("close parquet writer: %w", err)
	}
	return info, nil
}

// The leaf columns Merge reads from rows. Each is required and not
// repeated, so it holds exactly one value per row, at its column index.
const (
	colTraceID  = 0
	colSpanID   = 1
	colParent   = 2
	colName     = 5
	colKind     = 6
	colStart    = 7
	colDuration = 8
	colStatus   = 9
	colService  = 11
)

// checkColumns verifies a file's schema puts the columns Merge reads where
// it reads them.
func checkColumns(s *parquet.Schema) error {
	for name, want := range map[string]int{"trace_id": colTraceID, "span_id": colSpanID, "parent_span_id": colParent,
		"name": colName, "kind": colKind, "start_unix_nano": colStart, "duration_nano": colDuration,
		"status_code": colStatus, "service_name": colService} {
		leaf, ok := s.Lookup(name)
		if !ok || leaf.ColumnIndex != want {
			return fmt.Errorf("%w: column %s is not leaf %d", ErrNotThisFormat, name, want)
		}
	}
	return nil
}

// runKey is what, besides trace ID, span ID and start, makes two rows the
// same span.
type runKey struct {
	parent   [8]byte
	duration int64
	name     string
	kind     int32
	service  string
}

// cursor reads one input's rows in order, a batch at a time.
type cursor struct {
	input        int
	groups       []parquet.RowGroup
	gi           int
	rows         parquet.Rows
	finished     parquet.Rows // read to the end, closed at the next refill
	buf          []parquet.Row
	pos, n       int
	key          sortKey
	beforeRefill func() // called before the buffer's rows are overwritten
}

// next advances to the next row; false at the end of the input.
func (c *cursor) next() (bool, error) {
	c.pos++
	for c.pos >= c.n {
		// The buffer's rows are all consumed: whoever holds them must be
		// done with them before they are overwritten, or their row
		// group's reader closed.
		if c.beforeRefill != nil {
			c.beforeRefill()
		}
		if c.finished != nil {
			c.finished.Close()
			c.finished = nil
		}
		if c.rows == nil {
			if c.gi >= len(c.groups) {
				return false, nil
			}
			c.rows = c.groups[c.gi].Rows()
			c.gi++
			if c.buf == nil {
				c.buf = make([]parquet.Row, 256)
			}
		}
		n, err := c.rows.ReadRows(c.buf)
		c.pos, c.n = 0, n
		if err != nil && err != io.EOF {
			return false, err
		}
		if err == io.EOF || n == 0 {
			// Rows read along with io.EOF are still used; their reader is
			// closed at the next refill.
			c.finished, c.rows = c.rows, nil
		}
	}
	r := c.buf[c.pos]
	if len(r) <= colService {
		return false, fmt.Errorf("%w: a row of %d values", ErrNotThisFormat, len(r))
	}
	tid, sid := r[colTraceID].ByteArray(), r[colSpanID].ByteArray()
	if len(tid) != 16 || len(sid) != 8 || len(r[colParent].ByteArray()) != 8 {
		return false, fmt.Errorf("%w: trace or span ID of the wrong size", ErrNotThisFormat)
	}
	c.key = sortKey{
		hi:     binary.BigEndian.Uint64(tid[:8]),
		lo:     binary.BigEndian.Uint64(tid[8:]),
		start:  r[colStart].Int64(),
		spanID: binary.BigEndian.Uint64(sid),
		batch:  uint32(c.input),
	}
	return true, nil
}

func (c *cursor) close() {
	for _, r := range []parquet.Rows{c.rows, c.finished} {
		if r != nil {
			r.Close()
		}
	}
	c.rows, c.finished = nil, nil
}

type cursorHeap struct{ items []*cursor }

func (h *cursorHeap) Len() int { return len(h.items) }
func (h *cursorHeap) Less(i, j int) bool {
	if c := compareKeys(h.items[i].key, h.items[j].key); c != 0 {
		return c < 0
	}
	return h.items[i].input < h.items[j].input // the earlier input's row first
}
func (h *cursorHeap) Swap(i, j int) { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *cursorHeap) Push(x any)    { h.items = append(h.items, x.(*cursor)) }
func (h *cursorHeap) Pop() any {
	x := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return x
}

// ReadRows appends the spans in rows [first, first+n) to td: the ranged
// read behind a lookup whose rows a block index gave.
func (f *File) ReadRows(ctx context.Context, first, n int64, td ptrace.Traces) error {
	if first < 0 || n < 0 || first+n > f.pf.NumRows() {
		return fmt.Errorf("rows [%d, %d) outside the file's %d rows", first, first+n, f.pf.NumRows())
	}
	base := int64(0)
	for gi, rg := range f.pf.RowGroups() {
		if n == 0 {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rows := rg.NumRows()
		if first >= base+rows {
			base += rows
			continue
		}
		from := first - base
		take := min(n, rows-from)
		if p, ok := f.reader.(Prefetcher); ok {
			// One request for the whole row group rather than one per
			// column chunk: on an object store, latency is per request.
			off, size := f.groupRange(gi)
			if err := p.Prefetch(off, size); err != nil {
				return fmt.Errorf("row group %d: %w", gi, err)
			}
		}
		buf := make([]span, take)
		if err := readRows(parquet.NewGenericRowGroupReader[span](rg), from, buf); err != nil {
			return fmt.Errorf("row group %d: read spans: %w", gi, err)
		}
		if err := rowsToTraces(buf, td); err != nil {
			return fmt.Errorf("row group %d: %w", gi, err)
		}
		first += take
		n -= take
		base += rows
	}
	return nil
}

// RowRange is a run of rows, [First, First+N).
type RowRange struct{ First, N int64 }

// ReadRowRanges reads several runs of rows, calling fn with each run's
// index in ranges and its spans. It reads each row group at most once
// however many runs it holds — fetching many traces of a block (a page of
// 1,500 search results) costs a pass over their row groups, not a decode
// of a row group per trace. fn is called in row order.
func (f *File) ReadRowRanges(ctx context.Context, ranges []RowRange, fn func(i int, td ptrace.Traces) error) error {
	order := make([]int, len(ranges))
	for i, r := range ranges {
		if r.First < 0 || r.N < 0 || r.First+r.N > f.pf.NumRows() {
			return fmt.Errorf("rows [%d, %d) outside the file's %d rows", r.First, r.First+r.N, f.pf.NumRows())
		}
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(ranges[a].First, ranges[b].First) })
	// The row groups holding a run's start, in order.
	var needed []int
	base := int64(0)
	for gi, rg := range f.pf.RowGroups() {
		end := base + rg.NumRows()
		for _, i := range order {
			if r := ranges[i]; r.First >= base && r.First < end {
				needed = append(needed, gi)
				break
			}
		}
		base = end
	}
	base = 0
	next := 0    // position in order of the first run not read yet
	fetched := 0 // position in needed of the first group not prefetched
	for gi, rg := range f.pf.RowGroups() {
		if next == len(order) {
			return nil
		}
		rows := rg.NumRows()
		if ranges[order[next]].First >= base+rows {
			base += rows
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if fetched < len(needed) && needed[fetched] <= gi {
			// This and the next needed row groups, up to
			// prefetchBatchBytes and a few groups, in as few requests
			// as their distance allows.
			batch, size := []int{gi}, f.groupBytes(gi, nil)
			for fetched++; fetched < len(needed) && len(batch) < maxPrefetchGroups; fetched++ {
				n := f.groupBytes(needed[fetched], nil)
				if size+n > prefetchBatchBytes {
					break
				}
				batch, size = append(batch, needed[fetched]), size+n
			}
			if err := f.prefetchGroups(batch, nil); err != nil {
				return fmt.Errorf("row group %d: %w", gi, err)
			}
		}
		// Runs starting in this row group, in row order.
		first := next
		for next < len(order) && ranges[order[next]].First < base+rows {
			next++
		}
		if err := f.readGroupRuns(ctx, gi, rg, base, ranges, order[first:next], fn); err != nil {
			return err
		}
		base += rows
	}
	return nil
}

// readGroupRuns reads the runs of ranges listed by idx (in row order, all
// starting in row group gi, whose first row is base). Seeking decodes the
// row group's pages from its start, so a few runs are read by seeking to
// each, and many by one pass from the first to the end of the last.
func (f *File) readGroupRuns(ctx context.Context, gi int, rg parquet.RowGroup, base int64, ranges []RowRange, idx []int, fn func(int, ptrace.Traces) error) error {
	end := base + rg.NumRows()
	var inGroup []int // runs ending in the group
	for _, i := range idx {
		run := ranges[i]
		if run.First+run.N <= end {
			inGroup = append(inGroup, i)
			continue
		}
		// A run into the next row groups (a trace bigger than a group).
		td := ptrace.NewTraces()
		if err := f.ReadRows(ctx, run.First, run.N, td); err != nil {
			return err
		}
		if err := fn(i, td); err != nil {
			return err
		}
	}
	if len(inGroup) == 0 {
		return nil
	}
	const seekRuns = 4 // up to this many runs, a seek each
	emit := func(i int, rows []span) error {
		td := ptrace.NewTraces()
		if err := rowsToTraces(rows, td); err != nil {
			return fmt.Errorf("row group %d: %w", gi, err)
		}
		return fn(i, td)
	}
	if len(inGroup) <= seekRuns {
		for _, i := range inGroup {
			run := ranges[i]
			buf := make([]span, run.N)
			if err := readRows(parquet.NewGenericRowGroupReader[span](rg), run.First-base, buf); err != nil {
				return fmt.Errorf("row group %d: read spans: %w", gi, err)
			}
			if err := emit(i, buf); err != nil {
				return err
			}
		}
		return nil
	}
	from := ranges[inGroup[0]].First
	to := from
	for _, i := range inGroup {
		to = max(to, ranges[i].First+ranges[i].N)
	}
	buf := make([]span, to-from)
	if err := readRows(parquet.NewGenericRowGroupReader[span](rg), from-base, buf); err != nil {
		return fmt.Errorf("row group %d: read spans: %w", gi, err)
	}
	for _, i := range inGroup {
		run := ranges[i]
		if err := emit(i, buf[run.First-from:run.First-from+run.N]); err != nil {
			return err
		}
	}
	return nil
}

// Prefetcher is implemented by readers that can fetch a byte range in one
// request and serve later reads inside it from memory.
type Prefetcher interface {
	Prefetch(off, n int64) error
}

// groupRange is the byte range of row group gi's column chunks.
func (f *File) groupRange(gi int) (off, n int64) {
	first, end := int64(-1), int64(0)
	for _, c := range f.pf.Metadata().RowGroups[gi].Columns {
		start := c.MetaData.DataPageOffset
		if d := c.MetaData.DictionaryPageOffset; d > 0 && d < start {
			start = d
		}
		if first < 0 || start < first {
			first = start
		}
		end = max(end, start+c.MetaData.TotalCompressedSize)
	}
	return first, end - first
}
