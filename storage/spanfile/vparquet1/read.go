package vparquet1

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"

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
	pf     *parquet.File
	reader io.ReaderAt
	info   spanfile.Info
	// leaf column indexes used for pruning
	colTraceID, colStart, colService int
	// every leaf column by dotted path, for column-at-a-time searches
	cols map[string]column
	// the top-level field of each leaf column, by column index, from the
	// schema: what prefetches choose columns by. (The footer's
	// path_in_schema is not used: some writers leave it empty.)
	colTop []string
}

// column locates a leaf column in the schema.
type column struct {
	index  int
	maxDef byte
}

var _ spanfile.File = (*File)(nil)

// Open reads the footer of a vparquet1 file of the given size, and the
// page indexes and bloom filters FindTrace and TraceIndex use.
func Open(r io.ReaderAt, size int64) (*File, error) {
	return open(r, size, parquet.SkipBloomFilters(false), parquet.ReadBufferSize(64<<10))
}

// OpenRows reads only the footer: for files whose rows are found through
// an index of their own (compacted blocks), where FindTrace's page indexes
// and bloom filters would cost a read per column and row group at open.
// FindTrace still works, scanning the trace ID pages of every row group.
func OpenRows(r io.ReaderAt, size int64) (*File, error) {
	return open(r, size, parquet.SkipBloomFilters(true), parquet.SkipPageIndex(true), parquet.ReadBufferSize(256<<10))
}

func open(r io.ReaderAt, size int64, opts ...parquet.FileOption) (*File, error) {
	pf, err := parquet.OpenFile(r, size, opts...)
	if err != nil {
		return nil, fmt.Errorf("open parquet: %w", err)
	}
	format, _ := pf.Lookup(MetaFormat)
	version, _ := pf.Lookup(MetaVersion)
	if format != FormatName || version != FormatVersion {
		return nil, fmt.Errorf("%w: format %q version %q", ErrNotThisFormat, format, version)
	}
	f := &File{pf: pf, reader: r}
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
	f.cols = make(map[string]column)
	paths := pf.Schema().Columns()
	f.colTop = make([]string, len(paths))
	for _, path := range paths {
		leaf, _ := pf.Schema().Lookup(path...)
		f.cols[strings.Join(path, ".")] = column{index: leaf.ColumnIndex, maxDef: byte(leaf.MaxDefinitionLevel)}
		f.colTop[leaf.ColumnIndex] = strings.Clone(path[0])
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

// FindTrace appends the trace's spans to td. Per row group it consults the
// bloom filter, then the page index to find the trace_id pages that can
// hold the ID, binary-searches those pages' raw bytes (the column is
// sorted) for the exact rows, and only then reads those rows whole.
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
		first, n, err := findRows(chunk, rg.NumRows(), id)
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

// findRows returns the first row of the chunk holding id and how many rows
// do. Only pages whose page-index bounds include id are read.
func findRows(chunk parquet.ColumnChunk, numRows int64, id pcommon.TraceID) (first int64, n int, err error) {
	firstPage, lastPage, pageStart := 0, -1, func(int) int64 { return 0 }
	ci, cerr := chunk.ColumnIndex()
	oi, oerr := chunk.OffsetIndex()
	if cerr == nil && oerr == nil {
		for p := 0; p < ci.NumPages(); p++ {
			if bytes.Compare(id[:], ci.MinValue(p).ByteArray()) < 0 || bytes.Compare(id[:], ci.MaxValue(p).ByteArray()) > 0 {
				continue
			}
			if lastPage < 0 {
				firstPage = p
			}
			lastPage = p
		}
		if lastPage < 0 {
			return 0, 0, nil
		}
		pageStart = oi.FirstRowIndex
	} else {
		lastPage = math.MaxInt // no page index: scan every page
	}

	pages := chunk.Pages()
	defer pages.Close()
	row := pageStart(firstPage)
	if err := pages.SeekToRow(row); err != nil {
		return 0, 0, fmt.Errorf("seek trace_id to row %d: %w", row, err)
	}
	first = -1
	for p := firstPage; p <= lastPage; p++ {
		page, err := pages.ReadPage()
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, 0, fmt.Errorf("read trace_id page: %w", err)
		}
		values := page.Data()
		data, size := values.FixedLenByteArray()
		if size != len(id) {
			parquet.Release(page)
			return 0, 0, fmt.Errorf("%w: trace_id values are %d bytes", ErrNotThisFormat, size)
		}
		count := len(data) / size
		at := func(i int) []byte { return data[i*size : (i+1)*size] }
		lo := sort.Search(count, func(i int) bool { return bytes.Compare(at(i), id[:]) >= 0 })
		hi := lo + sort.Search(count-lo, func(i int) bool { return bytes.Compare(at(lo+i), id[:]) > 0 })
		parquet.Release(page)
		if hi > lo {
			if first < 0 {
				first = row + int64(lo)
			}
			n += hi - lo
		} else if first >= 0 || lo < count {
			break // sorted: the run ended, or the ID would have been before the end of this page
		}
		row += int64(count)
	}
	if first < 0 {
		return 0, 0, nil
	}
	return first, n, nil
}

// readRows fills rows from row index first.
func readRows[T any](r *parquet.GenericReader[T], first int64, rows []T) error {
	defer r.Close()
	if err := r.SeekToRow(first); err != nil {
		return err
	}
	return readFull(r, rows)
}

// readFull fills rows from r's position.
func readFull[T any](r *parquet.GenericReader[T], rows []T) error {
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

// ColumnPath is the dotted schema path of leaf column i.
func (f *File) ColumnPath(i int) string {
	for p, c := range f.cols {
		if c.index == i {
			return p
		}
	}
	return ""
}

// NumRowGroups is the number of row groups in the file.
func (f *File) NumRowGroups() int { return len(f.pf.RowGroups()) }

// Parquet is the underlying Parquet file, for tools that show its layout.
func (f *File) Parquet() *parquet.File { return f.pf }
