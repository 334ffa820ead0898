package engine

import (
	"context"

	"github.com/tracelake/tracelake/storage/block/index"
	"github.com/tracelake/tracelake/storage/spanfile"
	"github.com/tracelake/tracelake/storage/tracestore"
)

// blockSearch evaluates flt's trace-level part (service, operation, time,
// duration) on a block's index. It reports done when the index alone gave
// the answer, added to local: the block holds no candidate, or the filter
// has no attribute conditions and the index knows, for every candidate,
// that it matches and the start of its latest matching span (the rank
// FindTraces orders by). Otherwise the caller searches the block's data
// file, whose answer is exact.
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
	decided := true
	x.Search(q, func(h index.Hit) bool {
		if attrs || !h.LatestExact {
			decided = false
			return false // the data file must be read anyway
		}
		ranked.add(h.TraceID, h.Latest)
		return true
	})
	if !decided {
		return false, nil
	}
	local.merge(ranked)
	return true, nil
}
