package aggregate

import (
	"cmp"
	"iter"
	"slices"
	"unsafe"
)

// cell is what a bucket holds: the RED metrics of an operation
// (redCell) or the calls of a service link (linkCell).
type cell[C any] interface {
	*C
	// used reports whether the cell counts anything.
	used() bool
	// add adds o's counts to the cell; o is only read.
	add(o *C)
}

type redCell struct {
	calls, errors uint64
	durations     histogram
}

func (c *redCell) used() bool { return c.calls > 0 }

func (c *redCell) add(o *redCell) {
	c.calls += o.calls
	c.errors += o.errors
	if len(c.durations) == 0 {
		c.durations = slices.Clone(o.durations)
	} else {
		c.durations = c.durations.merged(o.durations)
	}
}

type linkCell struct {
	calls, errors uint64
}

func (c *linkCell) used() bool { return c.calls > 0 }

func (c *linkCell) add(o *linkCell) {
	c.calls += o.calls
	c.errors += o.errors
}

// Density limits of cells: a dense run of buckets may be at most
// maxDense long, and longer than minDense only while at least a quarter of
// its buckets are in use.
const (
	minDense = 64
	maxDense = 1 << 16
)

// cells holds one cell per bucket of one operation or link. Spans of an
// operation start in a run of consecutive minutes, so most cells are in
// dense, a slice indexed by bucket-base: finding a span's cell is an index
// rather than a lookup in a map as large as the aggregate, which is what
// keeps AddTrace fast (the map's cache misses cost several times more
// than everything else). The rare buckets far from the run (a span with a
// wrong clock) go to sparse, so that one of them cannot make dense huge.
type cells[C any, P cell[C]] struct {
	id     uint32 // the operation's or link's number in records (pending.go)
	base   int64
	dense  []C
	inUse  int // cells of dense in use
	sparse map[int64]*C
}

// at returns the cell of bucket b, creating it; the caller must count
// something in it (at counts the cell as in use).
func (s *cells[C, P]) at(b int64) *C {
	if i := b - s.base; i >= 0 && i < int64(len(s.dense)) {
		c := &s.dense[i]
		if !P(c).used() {
			s.inUse++
		}
		return c
	}
	if c, ok := s.sparse[b]; ok {
		return c
	}
	if s.grow(b) {
		s.inUse++
		return &s.dense[b-s.base]
	}
	if s.sparse == nil {
		s.sparse = map[int64]*C{}
	}
	c := new(C)
	s.sparse[b] = c
	return c
}

// grow extends dense to hold bucket b, with room to spare in the direction
// it grows, unless that would make it too long or too sparse.
func (s *cells[C, P]) grow(b int64) bool {
	n := int64(len(s.dense))
	if n == 0 {
		s.base, s.dense = b, make([]C, 8)
		return true
	}
	end := s.base + n
	dense := func(lo, hi int64) bool {
		l := hi - lo
		return l <= maxDense && (l <= minDense || l <= 4*int64(s.inUse+1))
	}
	lo, hi := s.base, end
	if b >= end {
		hi = max(b+1, end+max(n/2, 8))
		if !dense(lo, hi) {
			hi = b + 1
		}
	} else {
		lo = min(b, s.base-max(n/2, 8))
		if !dense(lo, hi) {
			lo = b
		}
	}
	if !dense(lo, hi) {
		return false
	}
	grown := make([]C, hi-lo)
	copy(grown[s.base-lo:], s.dense)
	s.base, s.dense = lo, grown
	return true
}

// all yields the cells in use, in no particular order.
func (s *cells[C, P]) all() iter.Seq2[int64, *C] {
	return func(yield func(int64, *C) bool) {
		for i := range s.dense {
			if c := &s.dense[i]; P(c).used() && !yield(s.base+int64(i), c) {
				return
			}
		}
		for b, c := range s.sparse {
			if !yield(b, c) {
				return
			}
		}
	}
}

// between yields the cells in use of buckets in [lo, hi), in no
// particular order.
func (s *cells[C, P]) between(lo, hi int64) iter.Seq2[int64, *C] {
	return func(yield func(int64, *C) bool) {
		from := max(lo-s.base, 0)
		to := min(hi-s.base, int64(len(s.dense)))
		for i := from; i < to; i++ {
			if c := &s.dense[i]; P(c).used() && !yield(s.base+i, c) {
				return
			}
		}
		for b, c := range s.sparse {
			if b >= lo && b < hi && !yield(b, c) {
				return
			}
		}
	}
}

// sorted returns the buckets in use and their cells, by bucket.
func (s *cells[C, P]) sorted() ([]int64, []*C) {
	type entry struct {
		b int64
		c *C
	}
	var entries []entry
	for b, c := range s.all() {
		entries = append(entries, entry{b, c})
	}
	if len(s.sparse) > 0 {
		slices.SortFunc(entries, func(x, y entry) int { return cmp.Compare(x.b, y.b) })
	}
	bs, cs := make([]int64, len(entries)), make([]*C, len(entries))
	for i, e := range entries {
		bs[i], cs[i] = e.b, e.c
	}
	return bs, cs
}

// len returns the number of cells in use.
func (s *cells[C, P]) len() int { return s.inUse + len(s.sparse) }

// memSize estimates the memory s holds, cells' own allocations aside.
func (s *cells[C, P]) memSize() int {
	var zero C
	size := int(unsafe.Sizeof(*s)) + cap(s.dense)*int(unsafe.Sizeof(zero))
	return size + len(s.sparse)*(8+8+16+int(unsafe.Sizeof(zero)))
}
