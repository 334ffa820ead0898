package engine

import (
	"context"
	"fmt"
	"math"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracelake/tracelake/storage/block/index"
	"github.com/tracelake/tracelake/storage/spanfile"
	"github.com/tracelake/tracelake/storage/tracestore"
)

// maxVerify is how many traces the index leaves undecided in a block that
// are checked by reading their rows; beyond it the block's data file is
// searched whole. Undecided traces are typically those straddling the
// search window's edges.
const maxVerify = 256

// blockSearch evaluates flt's trace-level part (service, operation, time,
// duration) on a block's index. It reports done when it gave the answer,
// added to local: the block holds no candidate, or the filter has no
// attribute conditions and the index knows, for every candidate but a
// few, that it matches and the start of its latest matching span (the
// rank FindTraces orders by) — the few are checked by reading just their
// rows. Otherwise the caller searches the block's data file, whose answer
// is exact.
func (e *Engine) blockSearch(ctx context.Context, m *tracestore.BlockMeta, flt spanfile.Filter, local *topK) (bool, error) {
	x, err := e.blockIndex(ctx, m)
	if err != nil {
		return false, err
	}
	q := index.Query{
		Service: flt.Service, Name: flt.Name,
		StartMin: flt.StartMin, StartMax: flt.StartMax,
		DurationMin: flt.DurationMin, DurationMax: flt.DurationMax,
	}
	attrs := len(flt.Attributes) > 0 || len(flt.Keys) > 0
	// Ranked apart, so that a block the index cannot decide contributes
	// only what the data file says.
	ranked := newTopK(local.k)
	var verify []index.Hit
	decided := true
	x.Search(q, func(h index.Hit) bool {
		switch {
		case attrs || len(verify) == maxVerify:
			decided = false
			return false // the data file must be searched anyway
		case h.LatestExact:
			ranked.add(h.TraceID, h.Latest)
		default:
			verify = append(verify, h)
		}
		return true
	})
	if !decided {
		return false, nil
	}
	if len(verify) > 0 {
		if err := e.verify(ctx, m, flt, verify, ranked); err != nil {
			return false, err
		}
	}
	local.merge(ranked)
	return true, nil
}

// verify reads the rows of hits and ranks those with a span matching flt
// (which has no attribute conditions) by their latest match.
func (e *Engine) verify(ctx context.Context, m *tracestore.BlockMeta, flt spanfile.Filter, hits []index.Hit, ranked *topK) error {
	f, err := e.store.OpenBlock(ctx, m)
	if err != nil {
		return err
	}
	defer f.Close()
	rr, ok := f.File.(rowReader)
	if !ok {
		return fmt.Errorf("block data file cannot read rows")
	}
	for _, h := range hits {
		td := ptrace.NewTraces()
		if err := rr.ReadRows(ctx, h.First, h.Rows, td); err != nil {
			return err
		}
		if latest, ok := latestMatch(td, flt); ok {
			ranked.add(h.TraceID, latest)
		}
	}
	return nil
}

// latestMatch is the latest start of a span of td satisfying flt's
// service, name, time and duration conditions.
func latestMatch(td ptrace.Traces, flt spanfile.Filter) (int64, bool) {
	latest, found := int64(math.MinInt64), false
	for _, rs := range td.ResourceSpans().All() {
		service := ""
		if v, ok := rs.Resource().Attributes().Get("service.name"); ok {
			service = v.AsString()
		}
		if flt.Service != "" && service != flt.Service {
			continue
		}
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				start := int64(s.StartTimestamp())
				dur := int64(s.EndTimestamp()) - start
				switch {
				case flt.Name != "" && s.Name() != flt.Name,
					flt.StartMin != 0 && start < flt.StartMin,
					flt.StartMax != 0 && start >= flt.StartMax,
					flt.DurationMin != 0 && dur < flt.DurationMin,
					flt.DurationMax != 0 && dur > flt.DurationMax:
					continue
				}
				if !found || start > latest {
					latest, found = start, true
				}
			}
		}
	}
	return latest, found
}
