package aggregate

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracelake/tracelake/storage/spanfile"
)

// t0 is a minute boundary; fixtures start spans relative to it.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).UnixNano()

// span builds a SpanInfo of trace 1 for table tests. IDs are small
// numbers; parent 0 is a root span.
func span(id, parent uint64, service string, kind ptrace.SpanKind) spanfile.SpanInfo {
	s := spanfile.SpanInfo{
		TraceID:  pcommon.TraceID{15: 1},
		Service:  service,
		Name:     "op-" + service,
		Kind:     kind,
		Start:    t0 + int64(id)*int64(time.Millisecond),
		Duration: int64(time.Millisecond),
	}
	binary.BigEndian.PutUint64(s.SpanID[:], id)
	if parent != 0 {
		binary.BigEndian.PutUint64(s.ParentSpanID[:], parent)
	}
	return s
}

func failed(s spanfile.SpanInfo) spanfile.SpanInfo {
	s.StatusCode = ptrace.StatusCodeError
	return s
}

func at(s spanfile.SpanInfo, start int64) spanfile.SpanInfo {
	s.Start = start
	return s
}

const (
	server   = ptrace.SpanKindServer
	client   = ptrace.SpanKindClient
	producer = ptrace.SpanKindProducer
	consumer = ptrace.SpanKindConsumer
	internal = ptrace.SpanKindInternal
)

// equal reports whether a and b count the same.
func (a *Aggregate) equal(b *Aggregate) bool {
	a.Flush()
	b.Flush()
	return cellsEqual(a.ops, b.ops, func(x, y *redCell) bool {
		return x.calls == y.calls && x.errors == y.errors && slices.Equal(x.durations, y.durations)
	}) && cellsEqual(a.pairs, b.pairs, func(x, y *linkCell) bool { return *x == *y })
}

func cellsEqual[K comparable, C any, P cell[C]](a, b map[K]*cells[C, P], eq func(x, y *C) bool) bool {
	count := func(m map[K]*cells[C, P]) int {
		n := 0
		for _, cs := range m {
			n += cs.len()
		}
		return n
	}
	if count(a) != count(b) {
		return false
	}
	for k, cs := range a {
		other := b[k]
		if other == nil {
			return false
		}
		ob, oc := other.sorted()
		bs, cells := cs.sorted()
		if !slices.Equal(bs, ob) {
			return false
		}
		for i := range cells {
			if !eq(cells[i], oc[i]) {
				return false
			}
		}
	}
	return true
}

// world is a synthetic system of services calling each other, for
// randomized tests and benchmarks: each service has a few operations; a
// trace enters at a gateway and fans out through client/server pairs, with
// the odd message sent to a consumer, internal spans, and errors.
type world struct {
	services []string
	ops      [][]string // by service
}

func newWorld(services, opsPerService int) *world {
	w := &world{}
	for i := range services {
		name := fmt.Sprintf("svc-%02d", i)
		w.services = append(w.services, name)
		var ops []string
		for j := range opsPerService {
			ops = append(ops, fmt.Sprintf("%s /op/%d", name, j))
		}
		w.ops = append(w.ops, ops)
	}
	return w
}

// trace appends one random trace of about size spans starting within
// spread of start to dst.
func (w *world) trace(rng *rand.Rand, dst []spanfile.SpanInfo, size int, start int64, spread time.Duration) []spanfile.SpanInfo {
	var tid pcommon.TraceID
	binary.BigEndian.PutUint64(tid[:8], rng.Uint64())
	binary.BigEndian.PutUint64(tid[8:], rng.Uint64())
	base := start + rng.Int64N(int64(spread))
	newSpan := func(svc int, kind ptrace.SpanKind, parent pcommon.SpanID, offset int64) spanfile.SpanInfo {
		s := spanfile.SpanInfo{
			TraceID:      tid,
			ParentSpanID: parent,
			Service:      w.services[svc],
			Name:         w.ops[svc][rng.IntN(len(w.ops[svc]))],
			Kind:         kind,
			Start:        base + offset,
			// Log-normal around 5 ms.
			Duration: int64(5e6 * math.Exp(rng.NormFloat64())),
		}
		binary.BigEndian.PutUint64(s.SpanID[:], rng.Uint64()|1)
		if rng.IntN(50) == 0 {
			s.StatusCode = ptrace.StatusCodeError
		}
		return s
	}
	root := newSpan(0, server, pcommon.SpanID{}, 0)
	dst = append(dst, root)
	first := len(dst) - 1
	for len(dst)-first < size {
		p := dst[first+rng.IntN(len(dst)-first)]
		if p.Kind == client || p.Kind == producer {
			continue // calls come from servers and internal spans
		}
		svc := slices.Index(w.services, p.Service)
		callee := rng.IntN(len(w.services))
		offset := p.Start - base + rng.Int64N(1e6)
		switch rng.IntN(8) {
		case 0: // internal work
			dst = append(dst, newSpan(svc, internal, p.SpanID, offset))
		case 1: // a message
			prod := newSpan(svc, producer, p.SpanID, offset)
			dst = append(dst, prod, newSpan(callee, consumer, prod.SpanID, offset+1e5))
		default: // an RPC
			c := newSpan(svc, client, p.SpanID, offset)
			dst = append(dst, c, newSpan(callee, server, c.SpanID, offset+1e4))
		}
	}
	return dst
}

// traces returns n random traces from w.
func (w *world) traces(rng *rand.Rand, n, size int, start int64, spread time.Duration) [][]spanfile.SpanInfo {
	out := make([][]spanfile.SpanInfo, n)
	for i := range out {
		out[i] = w.trace(rng, nil, size, start, spread)
	}
	return out
}
