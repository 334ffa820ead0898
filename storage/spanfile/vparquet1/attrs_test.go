package vparquet1

import (
	"context"
	"math/rand/v2"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracelake/tracelake/storage/tracegen"
)

// setSink collects what EachAttribute reports, by row group.
type setSink map[int]map[string]bool

func (s setSink) add(g int, entry string) {
	if s[g] == nil {
		s[g] = map[string]bool{}
	}
	s[g][entry] = true
}

func (s setSink) Pair(g int, key, value []byte) { s.add(g, "pair "+string(key)+"="+string(value)) }
func (s setSink) Key(g int, key []byte)         { s.add(g, "key "+string(key)) }

// EachAttribute reports exactly the attributes of each row group's spans,
// resources and events, with values in the string form AsString gives
// (what Search compares), and event names as keys.
func TestEachAttributeMatchesRows(t *testing.T) {
	ctx := context.Background()
	for seed := uint64(1); seed <= 25; seed++ {
		rng := rand.New(rand.NewPCG(seed, 17))
		cfg := DefaultWriterConfig()
		cfg.RowsPerRowGroup = 1 + int64(rng.IntN(50))
		f := encodeOpen(t, cfg, NewBatch(tracegen.Random(rng, 3, 2, 30)))
		got := setSink{}
		if err := f.EachAttribute(ctx, got); err != nil {
			t.Fatal(err)
		}
		want := setSink{}
		first := int64(0)
		for gi, rg := range f.Parquet().RowGroups() {
			td := ptrace.NewTraces()
			if err := f.ReadRows(ctx, first, rg.NumRows(), td); err != nil {
				t.Fatal(err)
			}
			first += rg.NumRows()
			put := func(m pcommon.Map) {
				for k, v := range m.All() {
					want.Key(gi, []byte(k))
					want.Pair(gi, []byte(k), []byte(v.AsString()))
				}
			}
			for _, rs := range td.ResourceSpans().All() {
				for _, ss := range rs.ScopeSpans().All() {
					for _, s := range ss.Spans().All() {
						put(rs.Resource().Attributes())
						put(s.Attributes())
						for _, ev := range s.Events().All() {
							want.Key(gi, []byte(ev.Name()))
							put(ev.Attributes())
						}
					}
				}
			}
		}
		for gi := range f.Parquet().RowGroups() {
			for e := range want[gi] {
				if !got[gi][e] {
					t.Fatalf("seed %d row group %d: %q not reported", seed, gi, e)
				}
			}
			for e := range got[gi] {
				if !want[gi][e] {
					t.Fatalf("seed %d row group %d: %q reported but not in the rows", seed, gi, e)
				}
			}
		}
	}
}
