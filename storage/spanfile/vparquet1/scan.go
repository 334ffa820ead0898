package vparquet1

import (
	"context"
	"fmt"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracelake/tracelake/storage/spanfile"
)

// infoColumns are the top-level columns infoRow reads.
var infoColumns = []string{"trace_id", "span_id", "parent_span_id", "name", "kind", "start_unix_nano", "duration_nano", "status_code", "service_name"}

// infoRow projects the columns of spanfile.SpanInfo.
type infoRow struct {
	TraceID      [16]byte `parquet:"trace_id"`
	SpanID       [8]byte  `parquet:"span_id"`
	ParentSpanID [8]byte  `parquet:"parent_span_id"`
	Name         string   `parquet:"name,dict"`
	Kind         int32    `parquet:"kind,dict"`
	Start        int64    `parquet:"start_unix_nano,delta,timestamp(nanosecond)"`
	Duration     int64    `parquet:"duration_nano,delta"`
	StatusCode   int32    `parquet:"status_code,dict"`
	ServiceName  string   `parquet:"service_name,dict"`
}

func (r *infoRow) info(si *spanfile.SpanInfo) {
	*si = spanfile.SpanInfo{
		TraceID: r.TraceID, SpanID: r.SpanID, ParentSpanID: r.ParentSpanID,
		Service: r.ServiceName, Name: r.Name, Kind: ptrace.SpanKind(r.Kind),
		Start: r.Start, Duration: r.Duration, StatusCode: ptrace.StatusCode(r.StatusCode),
	}
}

// Scan calls fn with every span's SpanInfo in file order.
func (f *File) Scan(ctx context.Context, fn func(*spanfile.SpanInfo) error) error {
	var si spanfile.SpanInfo
	var ferr error
	for gi, rg := range f.pf.RowGroups() {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := f.prefetchColumns(gi, infoColumns); err != nil {
			return fmt.Errorf("row group %d: %w", gi, err)
		}
		_, err := searchGroup(rg, func(r *infoRow) bool {
			r.info(&si)
			ferr = fn(&si)
			return ferr == nil
		})
		if ferr != nil {
			return ferr
		}
		if err != nil {
			return fmt.Errorf("row group %d: %w", gi, err)
		}
	}
	return nil
}
