package engine

import (
	"container/heap"
	"slices"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// topK keeps the k traces with the latest matching span start, each
// trace ranked by its latest match. Memory is O(k) however many spans
// match.
//
// It is exact: a trace evicted with best start s can only re-enter with a
// later start (s' > the k-th best ≥ s), and its rank is the max of its
// matches, so keeping the new value alone loses nothing.
type topK struct {
	k     int
	h     traceHeap
	index map[pcommon.TraceID]int // position in h
}

type ranked struct {
	id    pcommon.TraceID
	start int64
}

func newTopK(k int) *topK {
	t := &topK{k: k, index: make(map[pcommon.TraceID]int, k)}
	t.h.index = t.index
	return t
}

// less orders worst first: earliest start, then larger trace ID (so ties
// are broken deterministically in favour of the smaller ID).
func less(a, b ranked) bool {
	if a.start != b.start {
		return a.start < b.start
	}
	return compareIDs(a.id, b.id) > 0
}

func (t *topK) add(id pcommon.TraceID, start int64) {
	if i, ok := t.index[id]; ok {
		if start > t.h.items[i].start {
			t.h.items[i].start = start
			heap.Fix(&t.h, i)
		}
		return
	}
	r := ranked{id, start}
	if len(t.h.items) < t.k {
		heap.Push(&t.h, r)
		return
	}
	if less(t.h.items[0], r) {
		delete(t.index, t.h.items[0].id)
		t.h.items[0] = r
		t.index[id] = 0
		heap.Fix(&t.h, 0)
	}
}

// outranks reports whether t holds k traces all ranked above start: no
// trace whose matches all start at or before it can enter. (A trace
// already kept keeps its rank, the max of its matches.)
func (t *topK) outranks(start int64) bool {
	return len(t.h.items) == t.k && t.h.items[0].start > start
}

func (t *topK) merge(o *topK) {
	for _, r := range o.h.items {
		t.add(r.id, r.start)
	}
}

func (t *topK) ids() []pcommon.TraceID {
	out := make([]pcommon.TraceID, len(t.h.items))
	for i, r := range t.h.items {
		out[i] = r.id
	}
	return out
}

type traceHeap struct {
	items []ranked
	index map[pcommon.TraceID]int
}

func (h traceHeap) Len() int           { return len(h.items) }
func (h traceHeap) Less(i, j int) bool { return less(h.items[i], h.items[j]) }
func (h traceHeap) Swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.index[h.items[i].id] = i
	h.index[h.items[j].id] = j
}
func (h *traceHeap) Push(x any) {
	r := x.(ranked)
	h.index[r.id] = len(h.items)
	h.items = append(h.items, r)
}
func (h *traceHeap) Pop() any {
	r := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	delete(h.index, r.id)
	return r
}

// sorted returns the kept traces best first: latest start, then smaller
// trace ID.
func (t *topK) sorted() []ranked {
	out := slices.Clone(t.h.items)
	slices.SortFunc(out, func(a, b ranked) int {
		switch {
		case less(b, a):
			return -1
		case less(a, b):
			return 1
		}
		return 0
	})
	return out
}
