package index

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Index is a read index, immutable and safe for concurrent use.
//
// It holds the file's columns as plain Go slices, one per column (the
// groups list flattened, with offsets), so that Search runs over
// contiguous integers; dictionary-encoded strings stay integer IDs into
// the sorted dictionaries.
type Index struct {
	traces   traceCols
	groups   groupCols
	services []string // the groups' service dictionary: sorted, unique
	names    []string // the groups' name dictionary: sorted, unique
}

// TraceSummary summarises one trace's spans in a block.
type TraceSummary struct {
	TraceID     pcommon.TraceID
	First, Rows int64 // the trace's rows in data.parquet: [First, First+Rows)
	// Start is the earliest span start and End the latest span end
	// (start+duration, as sent), Unix ns.
	Start, End int64
	// RootService and RootName are of the root span (zero parent ID): of
	// the earliest one if there are several, of the earliest span if there
	// is none.
	RootService, RootName string
	Spans, Errors         int // span count; spans with status code Error
	// Groups holds one entry per distinct (service, name, kind), sorted by
	// service, name, kind.
	Groups []Group
}

// Group summarises a trace's spans of one service, name and kind.
type Group struct {
	Service, Name            string
	Kind                     ptrace.SpanKind
	Spans, Errors            int
	MinDuration, MaxDuration int64 // ns
	MinStart, MaxStart       int64 // Unix ns
}

// ReadIndex reads an index file written by Builder.WriteIndex (or by any
// writer following FORMAT.md). It refuses files of another format or
// version, and files that break the format's invariants, with an error; it
// keeps no reference to data.
func ReadIndex(data []byte) (x *Index, err error) {
	// arrow-go's IPC decoder panics on some malformed input instead of
	// returning an error, and data comes from object storage. preflight
	// rules out the inputs that would crash the process outright (huge
	// allocations, unbounded recursion); the rest surface here.
	defer func() {
		if r := recover(); r != nil {
			x, err = nil, fmt.Errorf("read trace index: malformed Arrow IPC file: %v", r)
		}
	}()
	x, err = readIndex(data)
	if err != nil {
		return nil, fmt.Errorf("read trace index: %w", err)
	}
	return x, nil
}

func readIndex(data []byte) (*Index, error) {
	if err := preflight(data); err != nil {
		return nil, err
	}
	limit := int64(len(data))
	r, err := ipc.NewFileReader(bytes.NewReader(data),
		ipc.WithAllocator(newBudgetAllocator(len(data))),
		ipc.WithMetadataSizeLimit(limit), ipc.WithBodySizeLimit(limit))
	if err != nil {
		return nil, err
	}
	defer r.Close()
	schema := r.Schema()
	if err := checkFormat(schema); err != nil {
		return nil, err
	}
	cols, err := locateColumns(schema)
	if err != nil {
		return nil, err
	}
	if n := r.NumRecords(); n != 1 {
		return nil, fmt.Errorf("file holds %d record batches, want 1", n)
	}
	rec, err := r.RecordBatch(0)
	if err != nil {
		return nil, err
	}
	x, err := decode(rec, cols)
	if err != nil {
		return nil, err
	}
	if err := x.validate(); err != nil {
		return nil, err
	}
	return x, nil
}

// columns are the positions of the columns an Index reads.
type columns struct {
	traceID, firstRow, spans, errors, start, end, rootGroup, groups int
	// positions within the groups struct
	service, name, kind, gSpans, gErrors, minDur, maxDur, minStart, maxStart int
}

func locateColumns(s *arrow.Schema) (columns, error) {
	var c columns
	top := []struct {
		dst  *int
		name string
		typ  arrow.DataType
	}{
		{&c.traceID, colTraceID, traceIDType},
		{&c.firstRow, colFirstRow, arrow.PrimitiveTypes.Int64},
		{&c.spans, colSpans, arrow.PrimitiveTypes.Int32},
		{&c.errors, colErrors, arrow.PrimitiveTypes.Int32},
		{&c.start, colStart, timestampType},
		{&c.end, colEnd, timestampType},
		{&c.rootGroup, colRootGroup, arrow.PrimitiveTypes.Int32},
		{&c.groups, colGroups, groupListType},
	}
	for _, f := range top {
		i, err := fieldType(s.Fields(), f.name, f.typ)
		if err != nil {
			return c, err
		}
		*f.dst = i
	}
	st := s.Field(c.groups).Type.(*arrow.ListType).Elem().(*arrow.StructType)
	for _, f := range []struct {
		dst  *int
		name string
	}{
		{&c.service, grpService}, {&c.name, grpName}, {&c.kind, grpKind},
		{&c.gSpans, grpSpans}, {&c.gErrors, grpErrors},
		{&c.minDur, grpMinDuration}, {&c.maxDur, grpMaxDuration},
		{&c.minStart, grpMinStart}, {&c.maxStart, grpMaxStart},
	} {
		i, err := fieldType(st.Fields(), f.name, groupType.Field(mustIdx(groupType, f.name)).Type)
		if err != nil {
			return c, fmt.Errorf("%s: %w", colGroups, err)
		}
		*f.dst = i
	}
	return c, nil
}

func mustIdx(st *arrow.StructType, name string) int {
	i, ok := st.FieldIdx(name)
	if !ok {
		panic("index: no field " + name)
	}
	return i
}

// decode copies a record batch's columns into an Index. It checks that
// every buffer holds the values its array claims, but not the format's
// invariants: validate does.
func decode(rec arrow.RecordBatch, c columns) (*Index, error) {
	n := int(rec.NumRows())
	col := func(i int) arrow.ArrayData { return rec.Column(i).Data() }
	x := &Index{}
	t := &x.traces
	var err error
	ids, err := fixedBytes(col(c.traceID), colTraceID, 16, 0, n)
	if err != nil {
		return nil, err
	}
	t.ids = make([]idKey, n)
	for i := range t.ids {
		t.ids[i] = idKey{binary.BigEndian.Uint64(ids[16*i:]), binary.BigEndian.Uint64(ids[16*i+8:])}
	}
	if t.first, err = int64s(col(c.firstRow), colFirstRow, 0, n); err != nil {
		return nil, err
	}
	if t.spans, err = int32s(col(c.spans), colSpans, 0, n); err != nil {
		return nil, err
	}
	if t.errors, err = int32s(col(c.errors), colErrors, 0, n); err != nil {
		return nil, err
	}
	if t.start, err = int64s(col(c.start), colStart, 0, n); err != nil {
		return nil, err
	}
	if t.end, err = int64s(col(c.end), colEnd, 0, n); err != nil {
		return nil, err
	}
	if t.rootGroup, err = int32s(col(c.rootGroup), colRootGroup, 0, n); err != nil {
		return nil, err
	}

	if n == 0 {
		// Writers may leave an empty list's buffers empty, offsets and all.
		t.groupOff = []int32{0}
		return x, nil
	}
	// The groups list: offsets, then the struct's fields over the range
	// the offsets cover, rebased so that groupOff[0] == 0.
	list := col(c.groups)
	if err := noNulls(list, colGroups); err != nil {
		return nil, err
	}
	if list.Offset() < 0 || list.Len() < n || len(list.Buffers()) < 2 || len(list.Children()) != 1 {
		return nil, fmt.Errorf("column %q: malformed list array", colGroups)
	}
	raw, err := bufferValues(list.Buffers()[1], colGroups, 4, list.Offset(), n+1)
	if err != nil {
		return nil, err
	}
	t.groupOff = make([]int32, n+1)
	base := int32(binary.NativeEndian.Uint32(raw))
	if base < 0 {
		return nil, fmt.Errorf("column %q: negative list offset", colGroups)
	}
	for i := range t.groupOff {
		o := int32(binary.NativeEndian.Uint32(raw[4*i:]))
		if o < base || i > 0 && o < t.groupOff[i-1]+base {
			return nil, fmt.Errorf("column %q: list offsets decrease at row %d", colGroups, i)
		}
		t.groupOff[i] = o - base
	}
	st := list.Children()[0]
	if err := noNulls(st, colGroups); err != nil {
		return nil, err
	}
	ng := int(t.groupOff[n])
	from := int(base)
	if st.Offset() < 0 || st.Len() < from || st.Len()-from < ng || len(st.Children()) != len(st.DataType().(*arrow.StructType).Fields()) {
		return nil, fmt.Errorf("column %q: list offsets exceed the %d groups", colGroups, st.Len())
	}
	from += st.Offset()
	field := func(i int) arrow.ArrayData { return st.Children()[i] }
	g := &x.groups
	if g.service, x.services, err = dictColumn(field(c.service), colGroups+"."+grpService, from, ng); err != nil {
		return nil, err
	}
	if g.name, x.names, err = dictColumn(field(c.name), colGroups+"."+grpName, from, ng); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		dst  *[]int32
		i    int
		name string
	}{{&g.kind, c.kind, grpKind}, {&g.spans, c.gSpans, grpSpans}, {&g.errors, c.gErrors, grpErrors}} {
		if *f.dst, err = int32s(field(f.i), colGroups+"."+f.name, from, ng); err != nil {
			return nil, err
		}
	}
	for _, f := range []struct {
		dst  *[]int64
		i    int
		name string
	}{
		{&g.minDur, c.minDur, grpMinDuration}, {&g.maxDur, c.maxDur, grpMaxDuration},
		{&g.minStart, c.minStart, grpMinStart}, {&g.maxStart, c.maxStart, grpMaxStart},
	} {
		if *f.dst, err = int64s(field(f.i), colGroups+"."+f.name, from, ng); err != nil {
			return nil, err
		}
	}
	return x, nil
}

func noNulls(d arrow.ArrayData, name string) error {
	if d.NullN() != 0 {
		return fmt.Errorf("column %q holds nulls", name)
	}
	return nil
}

// fixedBytes returns the bytes of values [from, from+n) of d, an array of
// width-byte values without nulls.
func fixedBytes(d arrow.ArrayData, name string, width, from, n int) ([]byte, error) {
	if err := noNulls(d, name); err != nil {
		return nil, err
	}
	if d.Offset() < 0 || from < 0 || n < 0 || d.Len() < from || d.Len()-from < n || len(d.Buffers()) < 2 {
		return nil, fmt.Errorf("column %q: malformed array", name)
	}
	if d.Offset() > math.MaxInt32 || from > math.MaxInt32 {
		return nil, fmt.Errorf("column %q: offset out of range", name)
	}
	return bufferValues(d.Buffers()[1], name, width, d.Offset()+from, n)
}

// bufferValues returns the bytes of width-byte values [from, from+n) of buf.
func bufferValues(buf *memory.Buffer, name string, width, from, n int) ([]byte, error) {
	if n == 0 {
		return nil, nil
	}
	var b []byte
	if buf != nil {
		b = buf.Bytes()
	}
	if limit := len(b) / width; from < 0 || n < 0 || from > limit || n > limit-from {
		return nil, fmt.Errorf("column %q: buffer of %d bytes is too short for %d values", name, len(b), from+n)
	}
	return b[from*width : (from+n)*width], nil
}

// Arrow's readers leave buffers in native byte order.

func int64s(d arrow.ArrayData, name string, from, n int) ([]int64, error) {
	b, err := fixedBytes(d, name, 8, from, n)
	if err != nil {
		return nil, err
	}
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(binary.NativeEndian.Uint64(b[8*i:]))
	}
	return out, nil
}

func int32s(d arrow.ArrayData, name string, from, n int) ([]int32, error) {
	b, err := fixedBytes(d, name, 4, from, n)
	if err != nil {
		return nil, err
	}
	out := make([]int32, n)
	for i := range out {
		out[i] = int32(binary.NativeEndian.Uint32(b[4*i:]))
	}
	return out, nil
}

// dictColumn returns a dictionary column's indices [from, from+n) and its
// dictionary, which must be sorted and unique and hold every index.
func dictColumn(d arrow.ArrayData, name string, from, n int) ([]int32, []string, error) {
	idx, err := int32s(d, name, from, n)
	if err != nil {
		return nil, nil, err
	}
	dd := d.Dictionary()
	if dd == nil {
		return nil, nil, fmt.Errorf("column %q has no dictionary", name)
	}
	if err := noNulls(dd, name+" dictionary"); err != nil {
		return nil, nil, err
	}
	dn := dd.Len()
	if dd.Offset() < 0 || dn < 0 || len(dd.Buffers()) < 3 || dd.Offset() > math.MaxInt32 {
		return nil, nil, fmt.Errorf("column %q: malformed dictionary", name)
	}
	var dict []string
	if dn > 0 {
		raw, err := bufferValues(dd.Buffers()[1], name+" dictionary", 4, dd.Offset(), dn+1)
		if err != nil {
			return nil, nil, err
		}
		var data []byte
		if b := dd.Buffers()[2]; b != nil {
			data = b.Bytes()
		}
		lo := int(int32(binary.NativeEndian.Uint32(raw)))
		hi := int(int32(binary.NativeEndian.Uint32(raw[4*dn:])))
		if lo < 0 || hi < lo || hi > len(data) {
			return nil, nil, fmt.Errorf("column %q: dictionary offsets out of range", name)
		}
		// One allocation for all the strings; each is a substring of it.
		blob := string(data[lo:hi])
		dict = make([]string, dn)
		prev := lo
		for i := range dict {
			end := int(int32(binary.NativeEndian.Uint32(raw[4*(i+1):])))
			if end < prev || end > hi {
				return nil, nil, fmt.Errorf("column %q: dictionary offsets out of range", name)
			}
			dict[i] = blob[prev-lo : end-lo]
			if i > 0 && dict[i-1] >= dict[i] {
				return nil, nil, fmt.Errorf("column %q: dictionary is not sorted and unique at entry %d", name, i)
			}
			prev = end
		}
	}
	for i, v := range idx {
		if v < 0 || int(v) >= dn {
			return nil, nil, fmt.Errorf("column %q: row %d refers to entry %d of a %d-entry dictionary", name, i, v, dn)
		}
	}
	return idx, dict, nil
}

var errInvalid = errors.New("invalid trace index")

// validate checks the invariants Lookup and Search rely on (FORMAT.md):
// a corrupt index must give an error, never wrong answers from a binary
// search or a "certain" match that is not.
func (x *Index) validate() error {
	t, g := &x.traces, &x.groups
	fail := func(i int, format string, args ...any) error {
		return fmt.Errorf("%w: trace %d (%s): %s", errInvalid, i, t.ids[i].traceID(), fmt.Sprintf(format, args...))
	}
	for i := range t.ids {
		if i > 0 && !t.ids[i-1].less(t.ids[i]) {
			return fail(i, "trace IDs are not strictly ascending")
		}
		spans, errs := t.spans[i], t.errors[i]
		if spans < 1 || errs < 0 || errs > spans {
			return fail(i, "%d spans, %d errors", spans, errs)
		}
		if t.first[i] < 0 || t.first[i] > math.MaxInt64-int64(spans) {
			return fail(i, "first row %d out of range", t.first[i])
		}
		if i > 0 && t.first[i]-t.first[i-1] < int64(t.spans[i-1]) {
			return fail(i, "rows overlap the previous trace's")
		}
		lo, hi := int(t.groupOff[i]), int(t.groupOff[i+1])
		if hi == lo {
			return fail(i, "no groups")
		}
		if r := t.rootGroup[i]; r < 0 || int(r) >= hi-lo {
			return fail(i, "root group %d of %d", r, hi-lo)
		}
		var sumSpans, sumErrs int64
		minStart := int64(math.MaxInt64)
		for j := lo; j < hi; j++ {
			if j > lo && x.compareGroups(j-1, j) >= 0 {
				return fail(i, "groups are not sorted and distinct by service, name, kind")
			}
			s, e := g.spans[j], g.errors[j]
			if s < 1 || e < 0 || e > s || g.minDur[j] > g.maxDur[j] || g.minStart[j] > g.maxStart[j] ||
				s == 1 && (g.minDur[j] != g.maxDur[j] || g.minStart[j] != g.maxStart[j]) {
				return fail(i, "group %d is inconsistent", j-lo)
			}
			sumSpans += int64(s)
			sumErrs += int64(e)
			minStart = min(minStart, g.minStart[j])
		}
		if sumSpans != int64(spans) || sumErrs != int64(errs) || minStart != t.start[i] {
			return fail(i, "groups do not add up to the trace")
		}
	}
	return nil
}

// compareGroups orders groups i and j by service, name, kind. The
// dictionaries are sorted, so IDs compare as their strings do.
func (x *Index) compareGroups(i, j int) int {
	g := &x.groups
	if c := cmp.Compare(g.service[i], g.service[j]); c != 0 {
		return c
	}
	if c := cmp.Compare(g.name[i], g.name[j]); c != 0 {
		return c
	}
	return cmp.Compare(g.kind[i], g.kind[j])
}

// Len is the number of traces.
func (x *Index) Len() int { return len(x.traces.ids) }

// MemSize is the memory the index holds, in bytes, for an LRU cache.
func (x *Index) MemSize() int {
	t, g := &x.traces, &x.groups
	n := int(unsafe.Sizeof(*x))
	n += cap(t.ids) * int(unsafe.Sizeof(idKey{}))
	n += 8 * (cap(t.first) + cap(t.start) + cap(t.end))
	n += 4 * (cap(t.spans) + cap(t.errors) + cap(t.rootGroup) + cap(t.groupOff))
	n += 4 * (cap(g.service) + cap(g.name) + cap(g.kind) + cap(g.spans) + cap(g.errors))
	n += 8 * (cap(g.minDur) + cap(g.maxDur) + cap(g.minStart) + cap(g.maxStart))
	for _, dict := range [][]string{x.services, x.names} {
		n += cap(dict) * int(unsafe.Sizeof(""))
		for _, s := range dict {
			n += len(s)
		}
	}
	return n
}

// Lookup finds a trace: the rows [first, first+rows) of data.parquet hold
// all its spans in this block.
func (x *Index) Lookup(id pcommon.TraceID) (first, rows int64, ok bool) {
	t := LookupTable{ids: x.traces.ids, first: x.traces.first, spans: x.traces.spans}
	return t.Lookup(id)
}

// Trace returns the summary of the i-th trace, 0 ≤ i < Len, in trace-ID
// order. It allocates; it is for tools, not for the query path.
func (x *Index) Trace(i int) TraceSummary {
	t, g := &x.traces, &x.groups
	lo, hi := int(t.groupOff[i]), int(t.groupOff[i+1])
	s := TraceSummary{
		TraceID: t.ids[i].traceID(),
		First:   t.first[i], Rows: int64(t.spans[i]),
		Start: t.start[i], End: t.end[i],
		Spans: int(t.spans[i]), Errors: int(t.errors[i]),
		Groups: make([]Group, hi-lo),
	}
	for j := lo; j < hi; j++ {
		s.Groups[j-lo] = Group{
			Service: x.services[g.service[j]], Name: x.names[g.name[j]],
			Kind:  ptrace.SpanKind(g.kind[j]),
			Spans: int(g.spans[j]), Errors: int(g.errors[j]),
			MinDuration: g.minDur[j], MaxDuration: g.maxDur[j],
			MinStart: g.minStart[j], MaxStart: g.maxStart[j],
		}
	}
	root := s.Groups[t.rootGroup[i]]
	s.RootService, s.RootName = root.Service, root.Name
	return s
}

// lookupString finds s in a sorted dictionary.
func lookupString(dict []string, s string) (int32, bool) {
	i, j := 0, len(dict)
	for i < j {
		h := int(uint(i+j) >> 1)
		if strings.Compare(dict[h], s) < 0 {
			i = h + 1
		} else {
			j = h
		}
	}
	if i < len(dict) && dict[i] == s {
		return int32(i), true
	}
	return 0, false
}

// LookupTable is the part of an index that lookups by trace ID use — IDs
// and row ranges, 28 bytes per trace — so that a query service can keep
// every block's table in memory while whole indexes come and go.
type LookupTable struct {
	ids   []idKey
	first []int64
	spans []int32
}

// LookupTable returns x's IDs and row ranges. It shares x's slices: it
// keeps them alive but no more of x.
func (x *Index) LookupTable() *LookupTable {
	return &LookupTable{ids: x.traces.ids, first: x.traces.first, spans: x.traces.spans}
}

// Lookup is Index.Lookup.
func (t *LookupTable) Lookup(id pcommon.TraceID) (first, rows int64, ok bool) {
	k := keyOf(id)
	i, j := 0, len(t.ids)
	for i < j {
		h := int(uint(i+j) >> 1)
		if t.ids[h].less(k) {
			i = h + 1
		} else {
			j = h
		}
	}
	if i < len(t.ids) && t.ids[i] == k {
		return t.first[i], int64(t.spans[i]), true
	}
	return 0, 0, false
}

// MemSize is the memory the table holds, in bytes.
func (t *LookupTable) MemSize() int {
	return int(unsafe.Sizeof(*t)) + cap(t.ids)*int(unsafe.Sizeof(idKey{})) + 8*cap(t.first) + 4*cap(t.spans)
}
