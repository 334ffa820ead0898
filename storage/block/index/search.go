package index

import (
	"math"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// Query selects traces with at least one span that satisfies every set
// field at once, as Jaeger's search does.
type Query struct {
	Service, Name            string // exact; "" matches any
	StartMin, StartMax       int64  // span start in [StartMin, StartMax), Unix ns; 0 = unbounded side
	DurationMin, DurationMax int64  // span duration in [DurationMin, DurationMax] ns, inclusive; 0 = unbounded side
}

// Hit is a trace that has, or may have, a span satisfying a Query.
type Hit struct {
	TraceID     pcommon.TraceID
	Start       int64 // the trace's earliest span start in this block, Unix ns
	First, Rows int64 // row range in data.parquet
	// Exact is true when some span certainly satisfies the query, false
	// when one may: the caller verifies by reading the rows.
	Exact bool
	// Latest is the latest start of a span satisfying the query, when
	// LatestExact: every group that may hold a match holds only matches
	// (so the latest of them is the latest match). Searches that rank
	// traces by their latest match use it to answer from the index alone.
	Latest      int64
	LatestExact bool
}

// cond is a Query resolved against an index: dictionary IDs instead of
// strings (-1 for any) and inclusive bounds with no "unset" case.
type cond struct {
	service, name      int32
	startMin, startMax int64 // inclusive
	durMin, durMax     int64
	unbounded          bool // no time or duration condition
}

func (x *Index) resolve(q Query) (c cond, ok bool) {
	c = cond{
		service: -1, name: -1,
		startMin: math.MinInt64, startMax: math.MaxInt64,
		durMin: math.MinInt64, durMax: math.MaxInt64,
	}
	if q.Service != "" {
		if c.service, ok = lookupString(x.services, q.Service); !ok {
			return c, false
		}
	}
	if q.Name != "" {
		if c.name, ok = lookupString(x.names, q.Name); !ok {
			return c, false
		}
	}
	if q.StartMin != 0 {
		c.startMin = q.StartMin
	}
	if q.StartMax != 0 {
		if q.StartMax == math.MinInt64 {
			return c, false // [x, MinInt64) is empty
		}
		c.startMax = q.StartMax - 1
	}
	if q.DurationMin != 0 {
		c.durMin = q.DurationMin
	}
	if q.DurationMax != 0 {
		c.durMax = q.DurationMax
	}
	c.unbounded = q.StartMin == 0 && q.StartMax == 0 && q.DurationMin == 0 && q.DurationMax == 0
	return c, c.startMin <= c.startMax && c.durMin <= c.durMax
}

// Search calls fn for every trace that has or may have a span satisfying q,
// in index order, until fn returns false. It does not allocate.
//
// A trace's groups of matching service and name are judged by their
// ranges: a group is excluded when no span in it can satisfy the time and
// duration bounds; it certainly matches when one of its extreme spans must
// satisfy them all (see FORMAT.md). A trace with a group not excluded is a
// Hit, Exact when some group certainly matches.
func (x *Index) Search(q Query, fn func(Hit) bool) {
	c, ok := x.resolve(q)
	if !ok {
		return
	}
	switch {
	case c.service >= 0:
		x.scanGroups(&c, x.groups.service, c.service, fn)
	case c.name >= 0:
		x.scanGroups(&c, x.groups.name, c.name, fn)
	default:
		x.scanTraces(&c, fn)
	}
}

// scanGroups finds the groups whose key column equals want with a tight
// loop over that one column, and only then works out which trace each
// belongs to: most groups do not match, so most of the index is read as
// one contiguous []int32.
func (x *Index) scanGroups(c *cond, keys []int32, want int32, fn func(Hit) bool) {
	off := x.traces.groupOff
	t := 0
	for g := 0; g < len(keys); g++ {
		if keys[g] != want {
			continue
		}
		for int(off[t+1]) <= g {
			t++
		}
		// The trace's groups are sorted by service then name, so groups of
		// one service are adjacent; a name may recur under other services.
		end := int(off[t+1])
		hit, exact := false, false
		for ; g < end; g++ {
			if keys[g] != want || c.name >= 0 && x.groups.name[g] != c.name {
				continue
			}
			h, e := x.judge(c, g)
			hit = hit || h
			if e {
				exact = true
				break
			}
		}
		g = end - 1
		if hit && !fn(x.hit(c, t, exact)) {
			return
		}
	}
}

// scanTraces is Search without service or name.
func (x *Index) scanTraces(c *cond, fn func(Hit) bool) {
	off := x.traces.groupOff
	start := x.traces.start
	for t := range start {
		if start[t] > c.startMax {
			continue // every span starts too late
		}
		hit, exact := false, false
		for g := int(off[t]); g < int(off[t+1]); g++ {
			h, e := x.judge(c, g)
			hit = hit || h
			if e {
				exact = true
				break
			}
		}
		if hit && !fn(x.hit(c, t, exact)) {
			return
		}
	}
}

// judge says whether group g may hold a span within c's bounds, and
// whether it certainly does.
func (x *Index) judge(c *cond, g int) (may, certain bool) {
	if c.unbounded {
		return true, true
	}
	gr := &x.groups
	minStart, maxStart := gr.minStart[g], gr.maxStart[g]
	minDur, maxDur := gr.minDur[g], gr.maxDur[g]
	if maxStart < c.startMin || minStart > c.startMax || maxDur < c.durMin || minDur > c.durMax {
		return false, false
	}
	if gr.spans[g] == 1 {
		return true, true // its one span is the minimum and maximum of both
	}
	startIn := func(v int64) bool { return c.startMin <= v && v <= c.startMax }
	durIn := func(v int64) bool { return c.durMin <= v && v <= c.durMax }
	// Every span starts in the window, and the shortest or the longest
	// span's duration is in range; or the reverse.
	return true, startIn(minStart) && startIn(maxStart) && (durIn(minDur) || durIn(maxDur)) ||
		durIn(minDur) && durIn(maxDur) && (startIn(minStart) || startIn(maxStart))
}

func (x *Index) hit(c *cond, t int, exact bool) Hit {
	tr := &x.traces
	h := Hit{
		TraceID: tr.ids[t].traceID(),
		Start:   tr.start[t],
		First:   tr.first[t], Rows: int64(tr.spans[t]),
		Exact: exact,
	}
	if exact {
		h.Latest, h.LatestExact = x.latest(c, t)
	}
	return h
}

// latest is the latest start of a span of trace t satisfying c, when the
// index can tell: every group of matching service and name that may hold
// a match holds only matches.
func (x *Index) latest(c *cond, t int) (int64, bool) {
	gr := &x.groups
	off := x.traces.groupOff
	latest, found := int64(math.MinInt64), false
	for g := int(off[t]); g < int(off[t+1]); g++ {
		if c.service >= 0 && gr.service[g] != c.service || c.name >= 0 && gr.name[g] != c.name {
			continue
		}
		if may, _ := x.judge(c, g); !may {
			continue
		}
		all := c.unbounded || gr.spans[g] == 1 ||
			c.startMin <= gr.minStart[g] && gr.maxStart[g] <= c.startMax && c.durMin <= gr.minDur[g] && gr.maxDur[g] <= c.durMax
		if !all {
			return 0, false
		}
		latest, found = max(latest, gr.maxStart[g]), true
	}
	return latest, found
}
