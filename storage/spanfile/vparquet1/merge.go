package vparquet1

import (
	"container/heap"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"strconv"

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
// holds one batch of rows per input, not the inputs. Exact duplicates —
// the same span sent twice, as client retries do — are written once: two
// rows are duplicates when trace ID, span ID, parent span ID, start,
// duration, name, kind and service are equal (the query engine removes
// duplicates by the same rule, so a trace reads the same before and after
// a merge), and the row of the earlier input is kept. onTrace, when not
// nil, is called once per trace of the output, in order.
func (w *Writer) Merge(ctx context.Context, out io.Writer, tenant string, inputs []*File, onTrace TraceFunc) (MergeInfo, error) {
	var info MergeInfo
	h := &cursorHeap{}
	for i, f := range inputs {
		c := &cursor{input: i, groups: f.pf.RowGroups()}
		ok, err := c.next()
		if err != nil {
			return info, fmt.Errorf("input %d: %w", i, err)
		}
		if ok {
			h.items = append(h.items, c)
		}
	}
	heap.Init(h)

	pw := w.pool.Get().(*parquet.GenericWriter[span])
	defer w.pool.Put(pw)
	pw.Reset(out)

	var (
		chunk  = make([]span, 0, 256)
		row    int64    // rows written so far
		run    []runKey // the rows written with the current (trace, start, span ID)
		trace  []spanfile.SpanInfo
		first  int64 // row of trace[0]
		cur    pcommon.TraceID
		inRun  sortKey
		events int
	)
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
	flushChunk := func() error {
		if len(chunk) == 0 {
			return nil
		}
		if _, err := pw.Write(chunk); err != nil {
			return fmt.Errorf("write rows: %w", err)
		}
		clear(chunk)
		chunk = chunk[:0]
		return nil
	}
	for len(h.items) > 0 {
		if events++; events%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return info, err
			}
		}
		c := h.items[0]
		r := &c.buf[c.pos]
		k := c.key
		if k.hi != inRun.hi || k.lo != inRun.lo || k.start != inRun.start || k.spanID != inRun.spanID || len(run) == 0 {
			run, inRun = run[:0], k
		}
		rk := runKey{parent: r.ParentSpanID, duration: r.DurationNano, name: r.Name, kind: r.Kind, service: r.ServiceName}
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
			if r.TraceID != cur || len(trace) == 0 {
				if err := flushTrace(); err != nil {
					return info, err
				}
				cur, first = r.TraceID, row
			}
			trace = append(trace, spanfile.SpanInfo{
				TraceID: r.TraceID, SpanID: r.SpanID, ParentSpanID: r.ParentSpanID,
				Service: r.ServiceName, Name: r.Name, Kind: ptrace.SpanKind(r.Kind),
				Start: r.StartUnixNano, Duration: r.DurationNano, StatusCode: ptrace.StatusCode(r.StatusCode),
			})
			end := r.StartUnixNano + r.DurationNano
			if info.Spans == 0 || r.StartUnixNano < info.StartMin {
				info.StartMin = r.StartUnixNano
			}
			if info.Spans == 0 || end > info.EndMax {
				info.EndMax = end
			}
			info.Spans++
			chunk = append(chunk, *r)
			row++
			if len(chunk) == cap(chunk) {
				if err := flushChunk(); err != nil {
					return info, err
				}
			}
		}
		// Rows handed to chunk keep their memory: the cursor clears its
		// buffer before reading more, so the reader allocates anew.
		ok, err := c.next()
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
	input  int
	groups []parquet.RowGroup
	gi     int
	rd     *parquet.GenericReader[span]
	buf    []span
	pos, n int
	key    sortKey
}

// next advances to the next row; false at the end of the input.
func (c *cursor) next() (bool, error) {
	c.pos++
	for c.pos >= c.n {
		if c.rd == nil {
			if c.gi >= len(c.groups) {
				return false, nil
			}
			rg := c.groups[c.gi]
			c.gi++
			c.rd = parquet.NewGenericRowGroupReader[span](rg)
			if c.buf == nil {
				c.buf = make([]span, 256)
			}
		}
		clear(c.buf) // rows already handed out keep their memory
		n, err := c.rd.Read(c.buf)
		c.pos, c.n = 0, n
		if err == io.EOF || (err == nil && n == 0) {
			c.rd.Close()
			c.rd = nil
			continue
		}
		if err != nil {
			return false, err
		}
	}
	r := &c.buf[c.pos]
	c.key = sortKey{
		hi:     binary.BigEndian.Uint64(r.TraceID[:8]),
		lo:     binary.BigEndian.Uint64(r.TraceID[8:]),
		start:  r.StartUnixNano,
		spanID: binary.BigEndian.Uint64(r.SpanID[:]),
		batch:  uint32(c.input),
	}
	return true, nil
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
