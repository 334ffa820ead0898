package vparquet1

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
)

// WriterConfig tunes how files are laid out. The zero value is not valid;
// start from DefaultWriterConfig.
type WriterConfig struct {
	// RowsPerRowGroup bounds row groups, so a trace lookup reads one small
	// group rather than the whole file.
	RowsPerRowGroup int64
	// PageBufferSize is the target size of a page before compression.
	PageBufferSize int
	// BloomBitsPerValue sizes the trace ID bloom filter of each row group
	// (10 bits gives about a 1% false positive rate).
	BloomBitsPerValue uint
	// CreatedBy is recorded in the file footer.
	CreatedBy string
}

// DefaultWriterConfig returns the settings ingest uses.
func DefaultWriterConfig() WriterConfig {
	return WriterConfig{
		RowsPerRowGroup:   16384,
		PageBufferSize:    64 << 10,
		BloomBitsPerValue: 10,
		CreatedBy:         "tracelake",
	}
}

// FileInfo summarises a written file.
type FileInfo struct {
	Spans    int
	StartMin int64 // earliest span start, Unix ns
	EndMax   int64 // latest span end, Unix ns
}

// Writer encodes batches into Parquet files. It is safe for concurrent use.
//
// Every file gets a parquet writer of its own, never a reset one:
// parquet-go v0.32's writer Reset clears the column paths of the Go type's
// cached schema (format.ColumnMetaData.Reset clears PathInSchema, which
// aliases them), and every file written afterwards had empty
// path_in_schema entries, which other Parquet readers rely on.
type Writer struct {
	cfg WriterConfig
}

// NewWriter returns a Writer with cfg.
func NewWriter(cfg WriterConfig) *Writer {
	return &Writer{cfg: cfg}
}

var zstdCodec = &zstd.Codec{Level: zstd.SpeedFastest}

func (w *Writer) newParquetWriter(out io.Writer) *parquet.GenericWriter[span] {
	opts := []parquet.WriterOption{
		parquet.Compression(zstdCodec),
		parquet.PageBufferSize(w.cfg.PageBufferSize),
		parquet.MaxRowsPerRowGroup(w.cfg.RowsPerRowGroup),
		parquet.BloomFilters(parquet.SplitBlockFilter(w.cfg.BloomBitsPerValue, "trace_id")),
		parquet.SortingWriterConfig(parquet.SortingColumns(
			parquet.Ascending("trace_id"),
			parquet.Ascending("start_unix_nano"),
		)),
		parquet.CreatedBy(w.cfg.CreatedBy, "", ""),
	}
	for _, path := range unboundedColumns {
		opts = append(opts, parquet.SkipPageBounds(path...))
	}
	return parquet.NewGenericWriter[span](out, opts...)
}

// unboundedColumns get no min/max statistics, in the footer or the page
// index: nothing prunes on them, and their bounds (whole resource blobs,
// attribute strings) were most of a footer that every open decodes. The
// columns pruned on — trace_id (lookups), start_unix_nano and
// service_name (searches) — keep theirs.
var unboundedColumns = [][]string{
	{"span_id"}, {"parent_span_id"}, {"trace_state"}, {"flags"}, {"name"}, {"kind"},
	{"duration_nano"}, {"status_code"}, {"status_message"}, {"resource"}, {"scope"},
	{"attrs", "key"}, {"attrs", "type"}, {"attrs", "str"}, {"attrs", "int"}, {"attrs", "double"}, {"attrs", "bytes"},
	{"dropped_attributes_count"},
	{"events", "time_unix_nano"}, {"events", "name"}, {"events", "attrs"}, {"events", "dropped_attributes_count"},
	{"dropped_events_count"},
	{"links", "trace_id"}, {"links", "span_id"}, {"links", "trace_state"}, {"links", "flags"}, {"links", "attrs"},
	{"links", "dropped_attributes_count"},
	{"dropped_links_count"},
}

// sortKey orders rows by trace ID, then start time, then span ID, so a
// trace's spans are contiguous and row-group statistics on trace_id prune.
type sortKey struct {
	hi, lo uint64
	start  int64
	spanID uint64
	batch  uint32
	row    uint32
}

func compareKeys(a, b sortKey) int {
	if c := cmp.Compare(a.hi, b.hi); c != 0 {
		return c
	}
	if c := cmp.Compare(a.lo, b.lo); c != 0 {
		return c
	}
	if c := cmp.Compare(a.start, b.start); c != 0 {
		return c
	}
	return cmp.Compare(a.spanID, b.spanID)
}

// Write encodes the spans of batches, sorted, as one Parquet file on out.
func (w *Writer) Write(out io.Writer, tenant string, batches ...*Batch) (FileInfo, error) {
	var info FileInfo
	n := 0
	for _, b := range batches {
		n += len(b.rows)
	}
	keys := make([]sortKey, 0, n)
	for bi, b := range batches {
		if len(b.rows) == 0 {
			continue
		}
		if info.Spans == 0 || b.minStart < info.StartMin {
			info.StartMin = b.minStart
		}
		if info.Spans == 0 || b.maxEnd > info.EndMax {
			info.EndMax = b.maxEnd
		}
		info.Spans += len(b.rows)
		for ri := range b.rows {
			r := &b.rows[ri]
			keys = append(keys, sortKey{
				hi:     binary.BigEndian.Uint64(r.TraceID[:8]),
				lo:     binary.BigEndian.Uint64(r.TraceID[8:]),
				start:  r.StartUnixNano,
				spanID: binary.BigEndian.Uint64(r.SpanID[:]),
				batch:  uint32(bi),
				row:    uint32(ri),
			})
		}
	}
	slices.SortFunc(keys, compareKeys)

	pw := w.newParquetWriter(out)
	pw.SetKeyValueMetadata(MetaFormat, FormatName)
	pw.SetKeyValueMetadata(MetaVersion, FormatVersion)
	pw.SetKeyValueMetadata(MetaTenant, tenant)
	pw.SetKeyValueMetadata(MetaSpans, strconv.Itoa(info.Spans))
	pw.SetKeyValueMetadata(MetaStartMin, strconv.FormatInt(info.StartMin, 10))
	pw.SetKeyValueMetadata(MetaEndMax, strconv.FormatInt(info.EndMax, 10))

	// Rows are gathered in sorted order into a small reused buffer: moving
	// the row structs themselves around while sorting would cost more.
	var chunk [256]span
	for len(keys) > 0 {
		m := min(len(keys), len(chunk))
		for i, k := range keys[:m] {
			chunk[i] = batches[k.batch].rows[k.row]
		}
		if _, err := pw.Write(chunk[:m]); err != nil {
			return FileInfo{}, fmt.Errorf("write rows: %w", err)
		}
		keys = keys[m:]
	}
	clear(chunk[:])
	if err := pw.Close(); err != nil {
		return FileInfo{}, fmt.Errorf("close parquet writer: %w", err)
	}
	return info, nil
}

// Encode is Write into a new byte slice.
func (w *Writer) Encode(tenant string, batches ...*Batch) ([]byte, FileInfo, error) {
	var buf bytes.Buffer
	info, err := w.Write(&buf, tenant, batches...)
	if err != nil {
		return nil, FileInfo{}, err
	}
	return buf.Bytes(), info, nil
}
