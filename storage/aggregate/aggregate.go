package aggregate

import (
	"encoding/binary"
	"slices"
	"strings"
	"time"
	"unsafe"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracelake/tracelake/storage/spanfile"
)

// BucketWidth is the time resolution of an aggregate: spans are counted
// by the minute they started in (Unix time, UTC minutes). It is the finest
// step a query of dependency links or RED metrics can ask for, and it is
// part of the encoded format.
const BucketWidth = time.Minute

const bucketNanos = int64(BucketWidth)

// bucketOf returns the bucket of a Unix ns time: floor(t / BucketWidth).
func bucketOf(t int64) int64 {
	b := t / bucketNanos
	if t%bucketNanos < 0 {
		b--
	}
	return b
}

// Aggregate summarises the spans of one tenant: dependency links between
// services and RED metrics (rate, errors, duration) per operation, both
// by minute of span start. Build one with AddTrace, combine them with
// Merge, persist them with Encode and Decode.
//
// An Aggregate is not safe for concurrent use, with one exception: once
// it is flushed (Flush, or any method that reads it), the methods that
// only read it (Links, Series, Encode, MemSize, Empty, and being the
// argument of another Aggregate's Merge) may run concurrently with each
// other, so a cached Aggregate can serve many queries at once.
type Aggregate struct {
	ops   map[opKey]*opCells
	pairs map[pairKey]*pairCells
	// strs interns the service and span names the maps hold, so that a
	// name is stored once however many keys it appears in, and never
	// aliases a caller's buffer.
	strs map[string]string
	// index and cache are AddTrace's scratch space.
	index traceIndex
	cache *lookups
	// pend holds what AddTrace added but did not count yet.
	pend pending
}

// opKey identifies an operation: RED metrics are kept per operation and
// minute.
type opKey struct {
	service, name string
	kind          ptrace.SpanKind
}

// pairKey identifies a link from one service to another: calls are kept
// per link and minute (of the child span's start).
type pairKey struct {
	parent, child string
}

type (
	opCells   = cells[redCell, *redCell]
	pairCells = cells[linkCell, *linkCell]
)

// New returns an empty Aggregate.
func New() *Aggregate {
	return &Aggregate{ops: map[opKey]*opCells{}, pairs: map[pairKey]*pairCells{}, strs: map[string]string{}}
}

// intern returns the Aggregate's own copy of s.
func (a *Aggregate) intern(s string) string {
	if v, ok := a.strs[s]; ok {
		return v
	}
	v := strings.Clone(s)
	a.strs[v] = v
	return v
}

// AddTrace counts the spans of one trace. spans must be every span of the
// trace that the caller has (traces arrive whole); the caller may reuse
// the slice once AddTrace returns.
//
// Every span counts towards the RED metrics of its (service, name, kind)
// in the minute it started. Dependency links, counted in the minute the
// child span started, follow Jaeger's and Zipkin's rules:
//
//   - a span whose parent is in the trace and belongs to another service
//     is one call from the parent's service to the span's (RPCs, and
//     messaging producer → consumer alike);
//   - a client span and a server span sharing a span ID (a Zipkin shared
//     span) are one call from the client's service to the server's, and
//     the server half's parent relation (which names the client's parent)
//     is not counted again; a span whose parent ID is shared has the
//     server half as its parent;
//   - a span whose parent is not in the trace, a root span, and spans of
//     the same service count no link; nor do spans without a service name.
//
// A link's error count is the number of its calls whose child span (or
// either half of a shared span) has status Error. Exact duplicates of a
// span within the trace (the same write retried) are counted once.
//
// AddTrace buffers what it counts; see Flush.
func (a *Aggregate) AddTrace(spans []spanfile.SpanInfo) {
	if len(spans) == 0 {
		return
	}
	if a.cache == nil {
		a.cache = new(lookups) // dropped by Flush
	}
	x := &a.index
	x.build(spans)
	for i := range spans {
		if x.dup[i] {
			continue
		}
		s := &spans[i]
		a.addRED(s)
		if s.Service == "" {
			continue
		}
		if s.Kind == ptrace.SpanKindServer {
			if c := x.find(spans, x.ids[i], ptrace.SpanKindClient, false); c != nil {
				if c.Service != "" && c.Service != s.Service {
					a.addLink(c.Service, s.Service, s.Start, s.StatusCode == ptrace.StatusCodeError || c.StatusCode == ptrace.StatusCodeError)
				}
				continue
			}
		}
		pid := binary.BigEndian.Uint64(s.ParentSpanID[:])
		if pid == 0 {
			continue
		}
		p := x.find(spans, pid, ptrace.SpanKindServer, true)
		if p != nil && p.Service != "" && p.Service != s.Service {
			a.addLink(p.Service, s.Service, s.Start, s.StatusCode == ptrace.StatusCodeError)
		}
	}
}

// traceIndex finds the spans of the trace being added by span ID: an
// open-addressing hash table, rebuilt for every trace in memory reused
// from the last one (sorting the spans instead cost more than the rest of
// AddTrace).
type traceIndex struct {
	ids   []uint64 // span IDs, by index in the trace
	dup   []bool   // exact duplicates of an earlier span, by index
	slots []int32  // 1 + index of a span; 0 is an empty slot
	shift uint     // 64 - log2(len(slots))
}

// slot returns the first slot to probe for id (Fibonacci hashing: span
// IDs are random in practice, but some tracers number spans 1, 2, 3…).
func (x *traceIndex) slot(id uint64) int {
	return int((id * 0x9e3779b97f4a7c15) >> x.shift)
}

func (x *traceIndex) build(spans []spanfile.SpanInfo) {
	n := len(spans)
	size, bits := 16, uint(4)
	for size < 2*n {
		size, bits = size*2, bits+1
	}
	x.shift = 64 - bits
	x.slots = slices.Grow(x.slots[:0], size)[:size]
	clear(x.slots)
	x.ids = slices.Grow(x.ids[:0], n)[:n]
	x.dup = slices.Grow(x.dup[:0], n)[:n]
	mask := size - 1
	for i := range spans {
		id := binary.BigEndian.Uint64(spans[i].SpanID[:])
		x.ids[i], x.dup[i] = id, false
		j := x.slot(id)
		for ; x.slots[j] != 0; j = (j + 1) & mask {
			k := x.slots[j] - 1
			if !x.dup[i] && x.ids[k] == id && spans[k] == spans[i] {
				x.dup[i] = true
			}
		}
		x.slots[j] = int32(i) + 1
	}
}

// find returns the span with ID id of kind want, else, when any is set,
// the first span with ID id, else nil. Duplicates are never returned.
func (x *traceIndex) find(spans []spanfile.SpanInfo, id uint64, want ptrace.SpanKind, any bool) *spanfile.SpanInfo {
	first := int32(-1)
	mask := len(x.slots) - 1
	for j := x.slot(id); x.slots[j] != 0; j = (j + 1) & mask {
		k := x.slots[j] - 1
		if x.ids[k] != id || x.dup[k] {
			continue
		}
		if spans[k].Kind == want {
			return &spans[k]
		}
		if first < 0 || k < first {
			first = k
		}
	}
	if !any || first < 0 {
		return nil
	}
	return &spans[first]
}

func (a *Aggregate) addRED(s *spanfile.SpanInfo) {
	a.recordRED(a.op(s.Service, s.Name, s.Kind), bucketOf(s.Start), binOf(s.Duration), s.StatusCode == ptrace.StatusCodeError)
}

func (a *Aggregate) newOp(k opKey) *opCells {
	k.service, k.name = a.intern(k.service), a.intern(k.name)
	op := &opCells{id: uint32(len(a.pend.opByID))}
	a.ops[k] = op
	a.pend.opByID = append(a.pend.opByID, opRef{k, op})
	return op
}

func (a *Aggregate) addLink(parent, child string, start int64, isError bool) {
	a.recordLink(a.pair(parent, child), bucketOf(start), isError)
}

func (a *Aggregate) newPair(k pairKey) *pairCells {
	k.parent, k.child = a.intern(k.parent), a.intern(k.child)
	pair := &pairCells{id: uint32(len(a.pend.pairByID))}
	a.pairs[k] = pair
	a.pend.pairByID = append(a.pend.pairByID, pairRef{k, pair})
	return pair
}

// Merge adds other's counts to a. other is only read, so it may be shared
// (a cached Aggregate) and merged into several others at once; it must
// not be a itself. Merging is exact: merging the same aggregates in any
// order or grouping gives the same result.
func (a *Aggregate) Merge(other *Aggregate) {
	a.Flush()
	other.Flush()
	for k, o := range other.ops {
		op := a.ops[k]
		if op == nil {
			op = a.newOp(k)
		}
		for b, c := range o.all() {
			op.at(b).add(c)
		}
	}
	for k, o := range other.pairs {
		pair := a.pairs[k]
		if pair == nil {
			pair = a.newPair(k)
		}
		for b, c := range o.all() {
			pair.at(b).add(c)
		}
	}
}

// Empty reports whether a counts nothing.
func (a *Aggregate) Empty() bool {
	a.Flush()
	return len(a.ops) == 0 && len(a.pairs) == 0
}

// MemSize estimates the memory a holds, in bytes, for cache accounting.
func (a *Aggregate) MemSize() int {
	a.Flush()
	const mapEntry = 16 // per-entry overhead of a Go map, roughly
	size := int(unsafe.Sizeof(*a))
	for _, op := range a.ops {
		size += int(unsafe.Sizeof(opKey{})) + mapEntry + op.memSize()
		for _, c := range op.all() {
			size += 8 * cap(c.durations)
		}
	}
	for _, pair := range a.pairs {
		size += int(unsafe.Sizeof(pairKey{})) + mapEntry + pair.memSize()
	}
	for s := range a.strs {
		size += 2*16 + mapEntry + len(s)
	}
	size += 8*cap(a.index.ids) + cap(a.index.dup) + 4*cap(a.index.slots) + 8*(cap(a.pend.red)+cap(a.pend.links)+cap(a.pend.tmp))
	return size + int(unsafe.Sizeof(opRef{}))*cap(a.pend.opByID) + int(unsafe.Sizeof(pairRef{}))*cap(a.pend.pairByID)
}
