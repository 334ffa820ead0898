package vparquet1

import (
	"bytes"
	"context"
	"fmt"

	"github.com/parquet-go/parquet-go/bloom"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/tracelake/tracelake/storage/spanfile"
)

// traceIndex is, per row group, the trace_id bounds and the bloom filter's
// bits, copied into memory.
type traceIndex struct {
	groups []groupIndex
	size   int
}

type groupIndex struct {
	min, max []byte
	filter   bloom.SplitBlockFilter // nil: no filter, bounds only
}

// TraceIndex reads every row group's trace ID bounds and bloom filter.
func (f *File) TraceIndex(ctx context.Context) (spanfile.TraceIndex, error) {
	meta := f.pf.Metadata()
	idx := &traceIndex{}
	for gi, rg := range f.pf.RowGroups() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		st := meta.RowGroups[gi].Columns[f.colTraceID].MetaData.Statistics
		g := groupIndex{min: bytes.Clone(st.MinValue), max: bytes.Clone(st.MaxValue)}
		if len(g.min) != 16 || len(g.max) != 16 {
			g.min, g.max = nil, nil // no usable statistics: no bound check
		}
		if bf := rg.ColumnChunks()[f.colTraceID].BloomFilter(); bf != nil {
			buf := make([]byte, bf.Size())
			if _, err := bf.ReadAt(buf, 0); err != nil {
				return nil, fmt.Errorf("row group %d: read bloom filter: %w", gi, err)
			}
			g.filter = bloom.MakeSplitBlockFilter(buf)
			idx.size += len(buf)
		}
		idx.size += len(g.min) + len(g.max) + 64
		idx.groups = append(idx.groups, g)
	}
	return idx, nil
}

func (x *traceIndex) MayContain(id pcommon.TraceID) bool {
	hash := bloom.XXH64{}.Sum64(id[:])
	for _, g := range x.groups {
		if g.min != nil && (bytes.Compare(id[:], g.min) < 0 || bytes.Compare(id[:], g.max) > 0) {
			continue
		}
		if g.filter == nil || g.filter.Check(hash) {
			return true
		}
	}
	return false
}

func (x *traceIndex) MemSize() int { return x.size }
