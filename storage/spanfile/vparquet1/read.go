package vparquet1

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/parquet-go/parquet-go"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracelake/tracelake/storage/spanfile"
)

// ErrNotThisFormat is returned by Open for Parquet files that are not
// vparquet1 span files.
var ErrNotThisFormat = errors.New("not a vparquet1 span file")

// File is an open vparquet1 file. It is safe for concurrent use.
type File struct {
	pf   *parquet.File
	info spanfile.Info
	// leaf column indexes used for pruning
	colTraceID, colStart, colService int
}

var _ spanfile.File = (*File)(nil)

// Open reads the footer of a vparquet1 file of the given size.
func Open(r io.ReaderAt, size int64) (*File, error) {
	pf, err := parquet.OpenFile(r, size, parquet.SkipBloomFilters(false), parquet.ReadBufferSize(64<<10))
	if err != nil {
		return nil, fmt.Errorf("open parquet: %w", err)
	}
	format, _ := pf.Lookup(MetaFormat)
	version, _ := pf.Lookup(MetaVersion)
	if format != FormatName || version != FormatVersion {
		return nil, fmt.Errorf("%w: format %q version %q", ErrNotThisFormat, format, version)
	}
	f := &File{pf: pf}
	f.info.Format = FormatName
	f.info.Tenant, _ = pf.Lookup(MetaTenant)
	for key, dst := range map[string]*int64{MetaStartMin: &f.info.StartMin, MetaEndMax: &f.info.EndMax} {
		s, _ := pf.Lookup(key)
		if *dst, err = strconv.ParseInt(s, 10, 64); err != nil {
			return nil, fmt.Errorf("footer metadata %s=%q: %w", key, s, err)
		}
	}
	s, _ := pf.Lookup(MetaSpans)
	if f.info.Spans, err = strconv.Atoi(s); err != nil {
		return nil, fmt.Errorf("footer metadata %s=%q: %w", MetaSpans, s, err)
	}
	for name, dst := range map[string]*int{"trace_id": &f.colTraceID, "start_unix_nano": &f.colStart, "service_name": &f.colService} {
		leaf, ok := pf.Schema().Lookup(name)
		if !ok {
			return nil, fmt.Errorf("%w: no column %s", ErrNotThisFormat, name)
		}
		*dst = leaf.ColumnIndex
	}
	return f, nil
}

// Info describes the file, from its footer.
func (f *File) Info() spanfile.Info { return f.info }

// traceIDRow projects the trace ID column alone.
type traceIDRow struct {
	TraceID [16]byte `parquet:"trace_id"`
}

// FindTrace appends the trace's spans to td. Per row group it consults the
// bloom filter, then the page index to find the pages that can hold the
// ID, then reads the trace_id column of those pages to find the exact
// rows, and only then reads those rows whole.
func (f *File) FindTrace(ctx context.Context, id pcommon.TraceID, td ptrace.Traces) (int, error) {
	key := parquet.FixedLenByteArrayValue(id[:])
	found := 0
	for gi, rg := range f.pf.RowGroups() {
		if err := ctx.Err(); err != nil {
			return found, err
		}
		chunk := rg.ColumnChunks()[f.colTraceID]
		if bf := chunk.BloomFilter(); bf != nil {
			ok, err := bf.Check(key)
			if err != nil {
				return found, fmt.Errorf("row group %d: bloom filter: %w", gi, err)
			}
			if !ok {
				continue
			}
		}
		from, to, err := pageRowsFor(chunk, rg.NumRows(), id[:])
		if err != nil {
			return found, fmt.Errorf("row group %d: %w", gi, err)
		}
		if from >= to {
			continue
		}
		first, n, err := exactRows(rg, from, to, id)
		if err != nil {
			return found, fmt.Errorf("row group %d: %w", gi, err)
		}
		if n == 0 {
			continue
		}
		rows := make([]span, n)
		if err := readRows(parquet.NewGenericRowGroupReader[span](rg), first, rows); err != nil {
			return found, fmt.Errorf("row group %d: read spans: %w", gi, err)
		}
		if err := rowsToTraces(rows, td); err != nil {
			return found, fmt.Errorf("row group %d: %w", gi, err)
		}
		found += n
	}
	return found, nil
}

// pageRowsFor returns the rows [from, to) of the pages whose trace_id
// bounds include id. Rows are sorted by trace ID, so they are contiguous.
func pageRowsFor(chunk parquet.ColumnChunk, numRows int64, id []byte) (from, to int64, err error) {
	ci, err := chunk.ColumnIndex()
	if err != nil {
		return 0, numRows, nil // no page index: the whole group is a candidate
	}
	oi, err := chunk.OffsetIndex()
	if err != nil {
		return 0, numRows, nil
	}
	from, to = -1, -1
	for p := 0; p < ci.NumPages(); p++ {
		if bytes.Compare(id, ci.MinValue(p).ByteArray()) < 0 || bytes.Compare(id, ci.MaxValue(p).ByteArray()) > 0 {
			continue
		}
		if from < 0 {
			from = oi.FirstRowIndex(p)
		}
		to = numRows
		if p+1 < oi.NumPages() {
			to = oi.FirstRowIndex(p + 1)
		}
	}
	if from < 0 {
		return 0, 0, nil
	}
	return from, to, nil
}

// exactRows reads the trace_id column over [from, to) and returns the
// first row holding id and the count of such rows.
func exactRows(rg parquet.RowGroup, from, to int64, id pcommon.TraceID) (first int64, n int, err error) {
	r := parquet.NewGenericRowGroupReader[traceIDRow](rg)
	defer r.Close()
	if err := r.SeekToRow(from); err != nil {
		return 0, 0, err
	}
	buf := make([]traceIDRow, min(to-from, 1024))
	first = -1
	for pos := from; pos < to; {
		k, err := r.Read(buf[:min(int64(len(buf)), to-pos)])
		for i := 0; i < k; i++ {
			if buf[i].TraceID == id {
				if first < 0 {
					first = pos + int64(i)
				}
				n++
			} else if first >= 0 {
				return first, n, nil // sorted: the run has ended
			}
		}
		pos += int64(k)
		if err == io.EOF || k == 0 {
			break
		}
		if err != nil {
			return 0, 0, err
		}
	}
	return first, n, nil
}

// readRows fills rows from row index first.
func readRows[T any](r *parquet.GenericReader[T], first int64, rows []T) error {
	defer r.Close()
	if err := r.SeekToRow(first); err != nil {
		return err
	}
	for got := 0; got < len(rows); {
		k, err := r.Read(rows[got:])
		got += k
		if got == len(rows) {
			return nil
		}
		if err != nil {
			if err == io.EOF {
				return fmt.Errorf("%w: file ended after %d of %d rows", io.ErrUnexpectedEOF, got, len(rows))
			}
			return err
		}
	}
	return nil
}
