package index

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracelake/tracelake/storage/spanfile"
)

// Builder collects one summary per trace, in trace-ID order. It keeps
// every summary in memory, about the size of the index it will write
// uncompressed, until it is dropped. It is not safe for concurrent use.
type Builder struct {
	traces traceCols
	groups groupCols
	// Strings are interned in arrival order; WriteIndex sorts them into
	// the dictionaries the format requires and renumbers.
	services, names strTable
	nextRow         int64 // first row not claimed by an added trace

	// Scratch for Add, reused so that compaction does not allocate per trace.
	scratch []scratchGroup
	byKey   map[groupKey]int
}

// traceCols and groupCols are a summary's columns; Index uses them too,
// with dictionary IDs in place of Builder's interned-string IDs.
type traceCols struct {
	ids       []idKey
	first     []int64
	spans     []int32
	errors    []int32
	start     []int64
	end       []int64
	rootGroup []int32 // index of the root span's group among the trace's groups
	groupOff  []int32 // trace i's groups are [groupOff[i], groupOff[i+1]); groupOff[0] == 0
}

type groupCols struct {
	service  []int32
	name     []int32
	kind     []int32
	spans    []int32
	errors   []int32
	minDur   []int64
	maxDur   []int64
	minStart []int64
	maxStart []int64
}

// idKey is a trace ID as two big-endian halves, so that comparing keys
// compares IDs byte-wise in two integer comparisons.
type idKey struct{ hi, lo uint64 }

func keyOf(id pcommon.TraceID) idKey {
	return idKey{
		hi: uint64(id[0])<<56 | uint64(id[1])<<48 | uint64(id[2])<<40 | uint64(id[3])<<32 |
			uint64(id[4])<<24 | uint64(id[5])<<16 | uint64(id[6])<<8 | uint64(id[7]),
		lo: uint64(id[8])<<56 | uint64(id[9])<<48 | uint64(id[10])<<40 | uint64(id[11])<<32 |
			uint64(id[12])<<24 | uint64(id[13])<<16 | uint64(id[14])<<8 | uint64(id[15]),
	}
}

func (k idKey) traceID() pcommon.TraceID {
	var id pcommon.TraceID
	for i := range 8 {
		id[i] = byte(k.hi >> (56 - 8*i))
		id[8+i] = byte(k.lo >> (56 - 8*i))
	}
	return id
}

func (k idKey) less(o idKey) bool { return k.hi < o.hi || k.hi == o.hi && k.lo < o.lo }

type groupKey struct {
	service, name int32
	kind          ptrace.SpanKind
}

type scratchGroup struct {
	groupKey
	spans, errors      int32
	minDur, maxDur     int64
	minStart, maxStart int64
}

// strTable interns strings; IDs are positions in strs.
type strTable struct {
	ids  map[string]int32
	strs []string
}

func (t *strTable) intern(s string) int32 {
	if id, ok := t.ids[s]; ok {
		return id
	}
	if t.ids == nil {
		t.ids = make(map[string]int32)
	}
	// Clone: a caller's strings may share a buffer it reuses (Add lets it
	// reuse spans), and one short name must not pin a whole page.
	s = strings.Clone(s)
	id := int32(len(t.strs))
	t.ids[s] = id
	t.strs = append(t.strs, s)
	return id
}

// sorted returns the strings in byte-wise order and, for each old ID, its
// position in that order.
func (t *strTable) sorted() (strs []string, newID []int32) {
	order := make([]int32, len(t.strs))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return strings.Compare(t.strs[a], t.strs[b]) })
	strs = make([]string, len(order))
	newID = make([]int32, len(order))
	for pos, old := range order {
		strs[pos] = t.strs[old]
		newID[old] = int32(pos)
	}
	return strs, newID
}

// NewBuilder returns an empty Builder.
func NewBuilder() *Builder {
	return &Builder{traces: traceCols{groupOff: []int32{0}}}
}

// Len is the number of traces added.
func (b *Builder) Len() int { return len(b.traces.ids) }

// linearGroups is how many groups a trace may have before Add finds
// groups with a map rather than by looking through them all.
const linearGroups = 16

// Add summarises the spans of one trace: spans are all the spans of one
// trace in the block, in row order (they share spans[0].TraceID), and
// firstRow is the row of spans[0] in data.parquet (rows are consecutive).
// Traces must be added in ascending trace-ID order; Add returns an error
// otherwise, and also when spans is empty, a span belongs to another trace,
// or the rows overlap the previous trace's. An Add that fails changes
// nothing. spans may be reused by the caller after Add returns.
func (b *Builder) Add(spans []spanfile.SpanInfo, firstRow int64) error {
	if len(spans) == 0 {
		return errors.New("add trace: no spans")
	}
	id := spans[0].TraceID
	if n := len(b.traces.ids); n > 0 {
		if prev := b.traces.ids[n-1]; !prev.less(keyOf(id)) {
			return fmt.Errorf("add trace %s: traces must be added in ascending trace-ID order, and it follows %s", id, prev.traceID())
		}
	}
	if firstRow < b.nextRow {
		return fmt.Errorf("add trace %s: first row %d overlaps the previous trace's rows, which end at %d", id, firstRow, b.nextRow)
	}
	if len(spans) > math.MaxInt32 || firstRow > math.MaxInt64-int64(len(spans)) {
		return fmt.Errorf("add trace %s: %d spans from row %d is too many", id, len(spans), firstRow)
	}
	if len(b.groups.service)+len(spans) > math.MaxInt32 {
		// The format's list offsets are int32; a block this large must be split.
		return fmt.Errorf("add trace %s: the index already holds %d span groups, the most one index can", id, len(b.groups.service))
	}
	root := -1 // the earliest root span, else the earliest span
	rootIsRoot := false
	for i := range spans {
		s := &spans[i]
		if s.TraceID != id {
			return fmt.Errorf("add trace %s: span %d has trace ID %s", id, i, s.TraceID)
		}
		isRoot := s.ParentSpanID.IsEmpty()
		switch {
		case root < 0,
			isRoot && !rootIsRoot,
			isRoot == rootIsRoot && s.Start < spans[root].Start:
			root, rootIsRoot = i, isRoot
		}
	}

	// Group the spans by (service, name, kind).
	b.scratch = b.scratch[:0]
	useMap := false
	start, end := int64(math.MaxInt64), int64(math.MinInt64)
	var errs int32
	var rootKey groupKey
	for i := range spans {
		s := &spans[i]
		key := groupKey{service: b.services.intern(s.Service), name: b.names.intern(s.Name), kind: s.Kind}
		if i == root {
			rootKey = key
		}
		gi := -1
		if useMap {
			if j, ok := b.byKey[key]; ok {
				gi = j
			}
		} else {
			for j := range b.scratch {
				if b.scratch[j].groupKey == key {
					gi = j
					break
				}
			}
		}
		if gi < 0 {
			gi = len(b.scratch)
			b.scratch = append(b.scratch, scratchGroup{
				groupKey: key,
				minDur:   math.MaxInt64, maxDur: math.MinInt64,
				minStart: math.MaxInt64, maxStart: math.MinInt64,
			})
			if useMap {
				b.byKey[key] = gi
			} else if len(b.scratch) > linearGroups {
				useMap = true
				if b.byKey == nil || len(b.byKey) > 4096 {
					b.byKey = make(map[groupKey]int) // do not keep clearing a map one huge trace grew
				} else {
					clear(b.byKey)
				}
				for j := range b.scratch {
					b.byKey[b.scratch[j].groupKey] = j
				}
			}
		}
		g := &b.scratch[gi]
		g.spans++
		if s.StatusCode == ptrace.StatusCodeError {
			g.errors++
			errs++
		}
		g.minDur = min(g.minDur, s.Duration)
		g.maxDur = max(g.maxDur, s.Duration)
		g.minStart = min(g.minStart, s.Start)
		g.maxStart = max(g.maxStart, s.Start)
		start = min(start, s.Start)
		end = max(end, s.Start+s.Duration) // as sent, like the Parquet file's end time
	}
	slices.SortFunc(b.scratch, func(x, y scratchGroup) int {
		if c := strings.Compare(b.services.strs[x.service], b.services.strs[y.service]); c != 0 {
			return c
		}
		if c := strings.Compare(b.names.strs[x.name], b.names.strs[y.name]); c != 0 {
			return c
		}
		return cmp.Compare(x.kind, y.kind)
	})

	t := &b.traces
	if len(t.groupOff) == 0 { // a zero Builder
		t.groupOff = append(t.groupOff, 0)
	}
	t.ids = append(t.ids, keyOf(id))
	t.first = append(t.first, firstRow)
	t.spans = append(t.spans, int32(len(spans)))
	t.errors = append(t.errors, errs)
	t.start = append(t.start, start)
	t.end = append(t.end, end)
	g := &b.groups
	for j := range b.scratch {
		sg := &b.scratch[j]
		if sg.groupKey == rootKey {
			t.rootGroup = append(t.rootGroup, int32(j))
		}
		g.service = append(g.service, sg.service)
		g.name = append(g.name, sg.name)
		g.kind = append(g.kind, int32(sg.kind))
		g.spans = append(g.spans, sg.spans)
		g.errors = append(g.errors, sg.errors)
		g.minDur = append(g.minDur, sg.minDur)
		g.maxDur = append(g.maxDur, sg.maxDur)
		g.minStart = append(g.minStart, sg.minStart)
		g.maxStart = append(g.maxStart, sg.maxStart)
	}
	t.groupOff = append(t.groupOff, int32(len(g.service)))
	b.nextRow = firstRow + int64(len(spans))
	return nil
}

// WriteIndex writes the index of the traces added so far as an Arrow IPC
// file (FORMAT.md). It may be called more than once.
func (b *Builder) WriteIndex(w io.Writer) error {
	if err := writeArrow(w, b); err != nil {
		return fmt.Errorf("write trace index: %w", err)
	}
	return nil
}

// idBytes returns the trace IDs as the format stores them: 16 bytes each.
func (t *traceCols) idBytes() []byte {
	var buf bytes.Buffer
	buf.Grow(16 * len(t.ids))
	for _, k := range t.ids {
		id := k.traceID()
		buf.Write(id[:])
	}
	return buf.Bytes()
}
