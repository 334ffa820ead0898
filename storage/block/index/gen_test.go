package index

import (
	"bytes"
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracelake/tracelake/storage/spanfile"
)

// genConfig shapes a generated block.
type genConfig struct {
	traces             int
	services, names    int   // distinct service and span names
	maxServicesInTrace int   // services one trace touches, at most
	maxSpans           int   // spans per trace, at most
	startRange         int64 // trace starts fall in [base, base+startRange)
	traceLen           int64 // span starts fall within this of their trace's start
	maxDuration        int64
	// randomKinds gives each span a random kind; otherwise an operation
	// (service, name) always has the same kind, as in real traces.
	randomKinds bool
	// opsPerService bounds the distinct names one service uses in a trace.
	opsPerService int
}

// realistic is a block like production's: a few dozen services, a few
// hundred operations, traces of a handful of services and tens of spans.
var realistic = genConfig{
	traces: 100_000, services: 30, names: 15, maxServicesInTrace: 6, maxSpans: 40,
	startRange: 3600e9, traceLen: 5e9, maxDuration: 2e9, opsPerService: 3,
}

const genBase = int64(1_700_000_000e9)

func serviceName(i int) string { return fmt.Sprintf("svc-%02d", i) }
func spanName(i int) string    { return fmt.Sprintf("op-%02d", i) }

// genBlock returns traces sorted by trace ID, each a trace's spans in row
// order (by start), as compaction would see them.
func genBlock(rng *rand.Rand, c genConfig) [][]spanfile.SpanInfo {
	ids := make(map[pcommon.TraceID]bool, c.traces)
	out := make([][]spanfile.SpanInfo, 0, c.traces)
	kinds := []ptrace.SpanKind{ptrace.SpanKindServer, ptrace.SpanKindClient, ptrace.SpanKindInternal,
		ptrace.SpanKindProducer, ptrace.SpanKindConsumer, ptrace.SpanKindUnspecified}
	for len(out) < c.traces {
		var id pcommon.TraceID
		for i := range id {
			id[i] = byte(rng.UintN(256))
		}
		if ids[id] {
			continue
		}
		ids[id] = true
		start := genBase + rng.Int64N(c.startRange)
		n := 1 + rng.IntN(c.maxSpans)
		// The trace's operations: a few services, a few names each.
		type op struct{ svc, name int }
		var ops []op
		for range 1 + rng.IntN(c.maxServicesInTrace) {
			svc := rng.IntN(c.services)
			per := c.names
			if c.opsPerService > 0 {
				per = 1 + rng.IntN(c.opsPerService)
			}
			for range per {
				ops = append(ops, op{svc, rng.IntN(c.names)})
			}
		}
		spans := make([]spanfile.SpanInfo, n)
		for i := range spans {
			s := &spans[i]
			s.TraceID = id
			s.SpanID = pcommon.SpanID{byte(i >> 8), byte(i), 1}
			if i > 0 {
				s.ParentSpanID = spans[rng.IntN(i)].SpanID
			}
			o := ops[rng.IntN(len(ops))]
			s.Service, s.Name = serviceName(o.svc), spanName(o.name)
			s.Kind = kinds[(7*o.svc+o.name)%len(kinds)]
			if c.randomKinds {
				s.Kind = kinds[rng.IntN(len(kinds))]
			}
			s.Start = start + rng.Int64N(c.traceLen)
			s.Duration = rng.Int64N(c.maxDuration)
			if rng.IntN(20) == 0 {
				s.StatusCode = ptrace.StatusCodeError
			}
		}
		slices.SortStableFunc(spans, func(a, b spanfile.SpanInfo) int { return cmp.Compare(a.Start, b.Start) })
		out = append(out, spans)
	}
	slices.SortFunc(out, func(a, b []spanfile.SpanInfo) int { return bytes.Compare(a[0].TraceID[:], b[0].TraceID[:]) })
	return out
}

// build adds traces with consecutive rows from 0 and returns the index and
// bloom files.
func build(tb testing.TB, traces [][]spanfile.SpanInfo) (b *Builder, index, bloomFile []byte) {
	tb.Helper()
	b = NewBuilder()
	row := int64(0)
	for _, spans := range traces {
		if err := b.Add(spans, row); err != nil {
			tb.Fatal(err)
		}
		row += int64(len(spans))
	}
	var ib, bb bytes.Buffer
	if err := b.WriteIndex(&ib); err != nil {
		tb.Fatal(err)
	}
	if err := b.WriteBloom(&bb); err != nil {
		tb.Fatal(err)
	}
	return b, ib.Bytes(), bb.Bytes()
}

func mustRead(tb testing.TB, data []byte) *Index {
	tb.Helper()
	x, err := ReadIndex(data)
	if err != nil {
		tb.Fatal(err)
	}
	return x
}

// summarize is the reference for what Builder.Add records, written
// independently of it.
func summarize(spans []spanfile.SpanInfo, first int64) TraceSummary {
	s := TraceSummary{TraceID: spans[0].TraceID, First: first, Rows: int64(len(spans)), Spans: len(spans)}
	type key struct {
		svc, name string
		kind      ptrace.SpanKind
	}
	groups := map[key]*Group{}
	root := -1
	for i, sp := range spans {
		if i == 0 || sp.Start < s.Start {
			s.Start = sp.Start
		}
		if i == 0 || sp.Start+sp.Duration > s.End {
			s.End = sp.Start + sp.Duration
		}
		if sp.StatusCode == ptrace.StatusCodeError {
			s.Errors++
		}
		if sp.ParentSpanID.IsEmpty() && (root < 0 || sp.Start < spans[root].Start) {
			root = i
		}
		k := key{sp.Service, sp.Name, sp.Kind}
		g := groups[k]
		if g == nil {
			g = &Group{Service: sp.Service, Name: sp.Name, Kind: sp.Kind,
				MinDuration: sp.Duration, MaxDuration: sp.Duration, MinStart: sp.Start, MaxStart: sp.Start}
			groups[k] = g
		}
		g.Spans++
		if sp.StatusCode == ptrace.StatusCodeError {
			g.Errors++
		}
		g.MinDuration, g.MaxDuration = min(g.MinDuration, sp.Duration), max(g.MaxDuration, sp.Duration)
		g.MinStart, g.MaxStart = min(g.MinStart, sp.Start), max(g.MaxStart, sp.Start)
	}
	if root < 0 {
		root = 0
		for i, sp := range spans {
			if sp.Start < spans[root].Start {
				root = i
			}
		}
	}
	s.RootService, s.RootName = spans[root].Service, spans[root].Name
	for _, g := range groups {
		s.Groups = append(s.Groups, *g)
	}
	slices.SortFunc(s.Groups, func(a, b Group) int {
		return cmp.Or(cmp.Compare(a.Service, b.Service), cmp.Compare(a.Name, b.Name), cmp.Compare(a.Kind, b.Kind))
	})
	return s
}
