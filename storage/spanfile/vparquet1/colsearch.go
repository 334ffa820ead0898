package vparquet1

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"

	"github.com/parquet-go/parquet-go"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracelake/tracelake/storage/spanfile"
)

// groupSearch evaluates a Filter on one row group a column at a time:
// each condition narrows a candidate set of rows, and a column is read
// only while candidates remain. Attribute conditions look their key and
// value up in the chunk's dictionaries first, so a row group where the
// key or value never occurs costs one dictionary page.
type groupSearch struct {
	f      *File
	m      *matcher
	chunks []parquet.ColumnChunk
	rows   int
	leaves map[string]*leaf // read in this row group

	cand []bool // rows still matching every condition so far
	left int    // how many
	hit  []bool // rows an attribute condition holds on

	// Reused from row group to row group of one search.
	buffers map[string]*leaf
	slots   []int32
	values  []int32
}

// newGroupSearch returns a search over f's row groups, one at a time.
func newGroupSearch(f *File, m *matcher) *groupSearch {
	return &groupSearch{f: f, m: m, leaves: map[string]*leaf{}, buffers: map[string]*leaf{}}
}

// start moves on to row group rg, with every row a candidate.
func (g *groupSearch) start(rg parquet.RowGroup) {
	g.chunks = rg.ColumnChunks()
	g.rows = int(rg.NumRows())
	clear(g.leaves)
	g.cand = slices.Grow(g.cand[:0], g.rows)[:g.rows]
	for i := range g.cand {
		g.cand[i] = true
	}
	g.left = g.rows
}

// buffer returns path's reusable leaf.
func (g *groupSearch) buffer(path string) *leaf {
	l := g.buffers[path]
	if l == nil {
		l = &leaf{}
		g.buffers[path] = l
	}
	return l
}

// Leaf paths of the columns searches read.
const (
	pathTraceID       = "trace_id"
	pathName          = "name"
	pathKind          = "kind"
	pathStart         = "start_unix_nano"
	pathDuration      = "duration_nano"
	pathStatusCode    = "status_code"
	pathStatusMessage = "status_message"
	pathService       = "service_name"
	pathResource      = "resource"
	pathScope         = "scope"
	pathAttrKey       = "attrs.key"
	pathAttrType      = "attrs.type"
	pathAttrStr       = "attrs.str"
	pathAttrInt       = "attrs.int"
	pathAttrDouble    = "attrs.double"
	pathAttrBytes     = "attrs.bytes"
	pathEventName     = "events.name"
	pathEventAttrs    = "events.attrs"
)

// leaf reads (once) the column at path.
func (g *groupSearch) leaf(path string) (*leaf, error) {
	if l, ok := g.leaves[path]; ok {
		return l, nil
	}
	c, ok := g.f.cols[path]
	if !ok {
		return nil, fmt.Errorf("%w: no column %s", ErrNotThisFormat, path)
	}
	l := g.buffer(path)
	if err := l.read(g.chunks[c.index], c.maxDef, nil); err != nil {
		return nil, fmt.Errorf("column %s: %w", path, err)
	}
	if err := l.checkRows(g.rows); err != nil {
		return nil, fmt.Errorf("column %s: %w", path, err)
	}
	if err := l.checkCodes(); err != nil {
		return nil, fmt.Errorf("column %s: %w", path, err)
	}
	g.leaves[path] = l
	return l, nil
}

// leafUnless reads (once) the byte-array column at path unless stop,
// called with the chunk's dictionary as soon as it is known, returns
// true: then only the dictionary was read, and the leaf is not kept.
func (g *groupSearch) leafUnless(path string, stop func(dict [][]byte) bool) (*leaf, bool, error) {
	if l, ok := g.leaves[path]; ok {
		return l, stop(l.dict), nil
	}
	c, ok := g.f.cols[path]
	if !ok {
		return nil, false, fmt.Errorf("%w: no column %s", ErrNotThisFormat, path)
	}
	l := g.buffer(path)
	if err := l.read(g.chunks[c.index], c.maxDef, stop); err != nil {
		return nil, false, fmt.Errorf("column %s: %w", path, err)
	}
	if l.partial {
		return l, true, nil
	}
	if err := l.checkRows(g.rows); err != nil {
		return nil, false, fmt.Errorf("column %s: %w", path, err)
	}
	if err := l.checkCodes(); err != nil {
		return nil, false, fmt.Errorf("column %s: %w", path, err)
	}
	g.leaves[path] = l
	return l, false, nil
}

// dictHas reports whether the byte-array column at path can hold v,
// reading only its dictionary when the chunk has one and lacks v.
func (g *groupSearch) dictHas(path string, v []byte) (bool, error) {
	var has bool
	_, _, err := g.leafUnless(path, func(dict [][]byte) bool {
		has = slices.ContainsFunc(dict, func(d []byte) bool { return bytes.Equal(d, v) })
		return !has
	})
	return has, err
}

// keep narrows the candidates to rows where ok holds.
func (g *groupSearch) keep(ok func(row int) bool) {
	for r, c := range g.cand {
		if c && !ok(r) {
			g.cand[r] = false
			g.left--
		}
	}
}

// none drops every candidate.
func (g *groupSearch) none() {
	clear(g.cand)
	g.left = 0
}

// basic applies the span-field conditions: service, name, start, duration.
func (g *groupSearch) basic(flt *spanfile.Filter) error {
	for _, c := range []struct{ path, want string }{{pathService, flt.Service}, {pathName, flt.Name}} {
		if c.want == "" || g.left == 0 {
			continue
		}
		l, err := g.leaf(c.path)
		if err != nil {
			return err
		}
		code := l.find([]byte(c.want))
		if code < 0 {
			g.none()
			return nil
		}
		g.keep(func(r int) bool { return l.codes[r] == code })
	}
	if g.left > 0 && (flt.StartMin != 0 || flt.StartMax != 0) {
		l, err := g.leaf(pathStart)
		if err != nil {
			return err
		}
		g.keep(func(r int) bool {
			s := l.ints[r]
			return (flt.StartMin == 0 || s >= flt.StartMin) && (flt.StartMax == 0 || s < flt.StartMax)
		})
	}
	if g.left > 0 && (flt.DurationMin != 0 || flt.DurationMax != 0) {
		l, err := g.leaf(pathDuration)
		if err != nil {
			return err
		}
		g.keep(func(r int) bool {
			d := l.ints[r]
			return (flt.DurationMin == 0 || d >= flt.DurationMin) && (flt.DurationMax == 0 || d <= flt.DurationMax)
		})
	}
	return nil
}

// condition is one attribute condition: key = value, or key present when
// any is set.
type condition struct {
	key   string
	value string
	any   bool
}

// attribute narrows the candidates to rows where c holds on the span's
// derived tags, its attributes, its resource or one of its events.
func (g *groupSearch) attribute(c condition) error {
	g.hit = slices.Grow(g.hit[:0], g.rows)[:g.rows]
	hit := g.hit
	clear(hit)
	// open reports whether a candidate row is still undecided.
	open := func(r int) bool { return g.cand[r] && !hit[r] }
	for _, src := range []func(condition, []bool, func(int) bool) error{g.derived, g.resource, g.spanAttrs, g.events} {
		if err := src(c, hit, open); err != nil {
			return err
		}
		if g.m.err != nil {
			return g.m.err
		}
	}
	g.keep(func(r int) bool { return hit[r] })
	return nil
}

// derived matches the tags Jaeger's translation derives from span fields
// (see matcher.derived, the same rules over a row).
func (g *groupSearch) derived(c condition, hit []bool, open func(int) bool) error {
	intCol := func(path string, ok func(int64) bool) error {
		l, err := g.leaf(path)
		if err != nil {
			return err
		}
		for r := range hit {
			if open(r) && ok(l.ints[r]) {
				hit[r] = true
			}
		}
		return nil
	}
	codeOf := func(v int64) ptrace.StatusCode { return ptrace.StatusCode(v) }
	switch c.key {
	case "error":
		if c.any || c.value == "true" {
			return intCol(pathStatusCode, func(v int64) bool { return codeOf(v) == ptrace.StatusCodeError })
		}
	case "span.kind":
		return intCol(pathKind, func(v int64) bool {
			kind := ptrace.SpanKind(v)
			if c.any {
				return kind != ptrace.SpanKindUnspecified
			}
			return c.value != "" && c.value == spanfile.KindName(kind)
		})
	case "otel.status_code":
		return intCol(pathStatusCode, func(v int64) bool {
			code := codeOf(v)
			if c.any {
				return code != ptrace.StatusCodeUnset
			}
			return (c.value == "ERROR" && code == ptrace.StatusCodeError) || (c.value == "OK" && code == ptrace.StatusCodeOk)
		})
	case "otel.status_description":
		return g.dictCol(pathStatusMessage, hit, open, func(msg []byte) bool {
			return len(msg) > 0 && (c.any || string(msg) == c.value)
		})
	case "otel.scope.name", "otel.scope.version":
		return g.dictCol(pathScope, hit, open, func(blob []byte) bool {
			sc := g.m.scope(blob)
			v := sc.Name()
			if c.key == "otel.scope.version" {
				v = sc.Version()
			}
			return v != "" && (c.any || v == c.value)
		})
	}
	return nil
}

// dictCol marks the open rows of a required byte-array column whose value
// satisfies ok, evaluating ok once per distinct value: first over the
// chunk's dictionary, so a chunk where no value satisfies it is decided
// without reading its rows.
func (g *groupSearch) dictCol(path string, hit []bool, open func(int) bool, ok func([]byte) bool) error {
	var verdict []bool
	l, none, err := g.leafUnless(path, func(dict [][]byte) bool {
		verdict = slices.Grow(verdict[:0], len(dict))[:len(dict)]
		any := false
		for i, d := range dict {
			verdict[i] = ok(d)
			any = any || verdict[i]
		}
		return !any
	})
	if err != nil || none {
		return err
	}
	for r := range hit {
		if open(r) && verdict[l.codes[r]] {
			hit[r] = true
		}
	}
	return nil
}

// resource matches c against the resource attributes, decoding each
// distinct resource of the chunk once.
func (g *groupSearch) resource(c condition, hit []bool, open func(int) bool) error {
	return g.dictCol(pathResource, hit, open, func(blob []byte) bool {
		v, ok := g.m.resource(blob).Get(c.key)
		return ok && (c.any || valueString(v) == c.value)
	})
}

// spanAttrs matches c against the span's own attributes: the key by its
// dictionary code, then the value by type — strings by dictionary code,
// integers and booleans by number, anything else by its string form.
func (g *groupSearch) spanAttrs(c condition, hit []bool, open func(int) bool) error {
	if !c.any && onlyString(c.value) {
		// Only a string attribute can have this string form: a row group
		// whose string dictionary lacks it has no match, whatever the keys.
		if ok, err := g.dictHas(pathAttrStr, []byte(c.value)); err != nil || !ok {
			return err
		}
	}
	if ok, err := g.dictHas(pathAttrKey, []byte(c.key)); err != nil || !ok {
		return err
	}
	keys, err := g.leaf(pathAttrKey)
	if err != nil {
		return err
	}
	kcode := keys.find([]byte(c.key))
	// The slots (and value indexes in keys) of open rows' attributes
	// with the key.
	slots, values := g.slots[:0], g.values[:0]
	defer func() { g.slots, g.values = slots, values }()
	row, vi := -1, 0
	for s, d := range keys.def {
		if keys.rep[s] == 0 {
			row++
		}
		if d != keys.maxDef {
			continue
		}
		if keys.codes[vi] == kcode && open(row) {
			if c.any {
				hit[row] = true
			} else {
				slots = append(slots, int32(s))
				values = append(values, int32(vi))
			}
		}
		vi++
	}
	if len(slots) == 0 {
		return nil
	}
	types, err := g.leaf(pathAttrType)
	if err != nil {
		return err
	}
	if len(types.ints) != len(keys.codes) {
		return fmt.Errorf("%w: %d attribute types for %d keys", errCorrupt, len(types.ints), len(keys.codes))
	}
	rows := slotRows(keys, slots)
	var str, num, dbl, raw []int32 // value index per slot in those leaves, -1 when null
	valueAt := func(path string, cache *[]int32) (*leaf, []int32, error) {
		l, err := g.leaf(path)
		if err != nil {
			return nil, nil, err
		}
		if *cache == nil {
			*cache = valueIndexes(l, slots)
		}
		return l, *cache, nil
	}
	strCode := int32(-2) // not looked up yet
	for i := range slots {
		r := rows[i]
		if hit[r] {
			continue
		}
		typ := types.ints[values[i]]
		switch typ {
		case tagString:
			l, idx, err := valueAt(pathAttrStr, &str)
			if err != nil {
				return err
			}
			if strCode == -2 {
				strCode = l.find([]byte(c.value))
			}
			// A null is the empty string: parquet-go writes an optional
			// field's zero value as null.
			if idx[i] < 0 {
				hit[r] = c.value == ""
			} else {
				hit[r] = strCode >= 0 && l.codes[idx[i]] == strCode
			}
		case tagInt, tagBool:
			l, idx, err := valueAt(pathAttrInt, &num)
			if err != nil {
				return err
			}
			var v int64 // null: zero, as for strings
			if idx[i] >= 0 {
				v = l.ints[idx[i]]
			}
			if typ == tagBool {
				hit[r] = strconv.FormatBool(v != 0) == c.value
			} else {
				hit[r] = strconv.FormatInt(v, 10) == c.value
			}
		default:
			// Doubles, bytes, arrays, maps and empties: rare in searches;
			// their string form is computed as for a whole row.
			a := attr{Key: c.key, Type: int32(typ)}
			switch typ {
			case tagDouble:
				l, idx, err := valueAt(pathAttrDouble, &dbl)
				if err != nil {
					return err
				}
				if idx[i] >= 0 {
					a.Double = l.floats[idx[i]]
				}
			case tagBytes, tagArray, tagMap:
				l, idx, err := valueAt(pathAttrBytes, &raw)
				if err != nil {
					return err
				}
				if idx[i] >= 0 {
					a.Bytes = l.bytesAt(int(idx[i]))
				}
			}
			hit[r] = g.m.attrString(&a) == c.value
		}
	}
	return nil
}

// onlyString reports whether v can only be the string form of a string
// attribute: it is not what a bool, int, double, bytes (base64), array or
// map (JSON) or empty value prints as. Such values — user IDs, URLs,
// names — are looked up in the string dictionary first.
func onlyString(v string) bool {
	if v == "" || v == "true" || v == "false" || v[0] == '[' || v[0] == '{' {
		return false
	}
	if _, err := strconv.ParseFloat(v, 64); err == nil {
		return false // also every integer
	}
	if _, err := base64.StdEncoding.DecodeString(v); err == nil {
		return false
	}
	return true
}

// slotRows returns the row of each of the sorted slots of a nested leaf.
func slotRows(l *leaf, slots []int32) []int {
	rows := make([]int, len(slots))
	row, j := -1, 0
	for s := 0; s < len(l.def) && j < len(slots); s++ {
		if l.rep[s] == 0 {
			row++
		}
		for j < len(slots) && int(slots[j]) == s {
			rows[j] = row
			j++
		}
	}
	return rows
}

// valueIndexes maps each of the sorted slots to the index of the value
// it holds in l, or -1 where l is null there.
func valueIndexes(l *leaf, slots []int32) []int32 {
	out := make([]int32, len(slots))
	vi, j := int32(0), 0
	for s := 0; s < len(l.def) && j < len(slots); s++ {
		present := l.def[s] == l.maxDef
		for j < len(slots) && int(slots[j]) == s {
			out[j] = -1
			if present {
				out[j] = vi
			}
			j++
		}
		if present {
			vi++
		}
	}
	return out
}

// events matches c against the span's events: their attributes (a
// kv-encoded map, decoded only when its bytes contain the key) and, for a
// key condition, their names (Zipkin annotations).
func (g *groupSearch) events(c condition, hit []bool, open func(int) bool) error {
	key := []byte(c.key)
	if c.any {
		names, err := g.leaf(pathEventName)
		if err != nil {
			return err
		}
		if code := names.find(key); code >= 0 {
			row, vi := -1, 0
			for s, d := range names.def {
				if names.rep[s] == 0 {
					row++
				}
				if d != names.maxDef {
					continue
				}
				if names.codes[vi] == code && open(row) {
					hit[row] = true
				}
				vi++
			}
		}
	}
	attrs, err := g.leaf(pathEventAttrs)
	if err != nil {
		return err
	}
	if len(attrs.codes) == 0 {
		return nil
	}
	row, vi := -1, 0
	for s, d := range attrs.def {
		if attrs.rep[s] == 0 {
			row++
		}
		if d != attrs.maxDef {
			continue
		}
		blob := attrs.bytesAt(vi)
		vi++
		if !open(row) || !bytes.Contains(blob, key) {
			continue
		}
		m := pcommon.NewMap()
		if err := decodeMap(blob, m); err != nil {
			return fmt.Errorf("event attributes: %w", err)
		}
		if v, ok := m.Get(c.key); ok && (c.any || valueString(v) == c.value) {
			hit[row] = true
		}
	}
	return nil
}

// search evaluates flt on row group rg and calls fn for each
// matching span, in row order; it reports whether fn wanted more.
func (g *groupSearch) search(rg parquet.RowGroup, flt *spanfile.Filter, fn func(spanfile.Match) bool) (bool, error) {
	g.start(rg)
	if err := g.basic(flt); err != nil {
		return false, err
	}
	for _, a := range flt.Attributes {
		if g.left == 0 {
			break
		}
		if err := g.attribute(condition{key: a.Key, value: a.Value}); err != nil {
			return false, err
		}
	}
	for _, k := range flt.Keys {
		if g.left == 0 {
			break
		}
		if err := g.attribute(condition{key: k, any: true}); err != nil {
			return false, err
		}
	}
	if g.left == 0 {
		return true, nil
	}
	ids, err := g.leaf(pathTraceID)
	if err != nil {
		return false, err
	}
	if ids.size != 16 {
		return false, fmt.Errorf("%w: trace IDs of %d bytes", errCorrupt, ids.size)
	}
	start, err := g.leaf(pathStart)
	if err != nil {
		return false, err
	}
	for r, ok := range g.cand {
		if !ok {
			continue
		}
		var mt spanfile.Match
		copy(mt.TraceID[:], ids.fixed[r*16:])
		mt.Start = start.ints[r]
		if !fn(mt) {
			return false, nil
		}
	}
	return true, nil
}
