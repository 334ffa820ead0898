package vparquet1

import (
	"context"
	"fmt"
	"strconv"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// AttributeSink receives a row group's attributes from EachAttribute:
// Pair for every attribute (key and the string form searches compare),
// Key for every attribute key and event name. The slices are valid only
// during the call. Calls repeat: a sink deduplicates if it needs to.
type AttributeSink interface {
	Pair(group int, key, value []byte)
	Key(group int, key []byte)
}

// EachAttribute reports, row group by row group, every attribute a span
// can be matched by in a search: its own attributes, its resource's and
// its events', each with its value in the string form Search compares
// (so a filter built from it never rules out a group Search would match
// in), and its events' names as keys. It reads the attribute, resource
// and event columns a column at a time.
func (f *File) EachAttribute(ctx context.Context, sink AttributeSink) error {
	m := newMatcher()
	g := newGroupSearch(f, m)
	var num []byte
	for gi, rg := range f.pf.RowGroups() {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := f.prefetchColumns(gi, []string{"attrs", "resource", "events"}); err != nil {
			return fmt.Errorf("row group %d: %w", gi, err)
		}
		g.start(rg)

		// Span attributes.
		keys, err := g.leaf(pathAttrKey)
		if err != nil {
			return fmt.Errorf("row group %d: %w", gi, err)
		}
		types, err := g.leaf(pathAttrType)
		if err != nil {
			return fmt.Errorf("row group %d: %w", gi, err)
		}
		if len(types.ints) != len(keys.codes) {
			return fmt.Errorf("row group %d: %w: %d attribute types for %d keys", gi, errCorrupt, len(types.ints), len(keys.codes))
		}
		var vals [4]*leaf // string, int, double, bytes
		for i, p := range []string{pathAttrStr, pathAttrInt, pathAttrDouble, pathAttrBytes} {
			if vals[i], err = g.leaf(p); err != nil {
				return fmt.Errorf("row group %d: %w", gi, err)
			}
			if len(vals[i].def) != len(keys.def) {
				return fmt.Errorf("row group %d: %w: %s has %d slots, attrs.key %d", gi, errCorrupt, p, len(vals[i].def), len(keys.def))
			}
		}
		var next [4]int // value index of each value column at the current slot
		keySeen := make([]bool, len(keys.dict))
		vi := 0
		for slot, d := range keys.def {
			// Every value column has a slot for every key slot: take the
			// value index each holds here (-1 for null), keeping them in step.
			var at [4]int
			for i, l := range vals {
				at[i] = -1
				if l.def[slot] == l.maxDef {
					at[i] = next[i]
					next[i]++
				}
			}
			str, in, dbl, raw := at[0], at[1], at[2], at[3]
			if d != keys.maxDef {
				continue
			}
			key := keys.dict[keys.codes[vi]]
			if !keySeen[keys.codes[vi]] {
				keySeen[keys.codes[vi]] = true
				sink.Key(gi, key)
			}
			typ := types.ints[vi]
			vi++
			switch typ {
			case tagString:
				var v []byte
				if str >= 0 {
					v = vals[0].bytesAt(str)
				}
				sink.Pair(gi, key, v)
			case tagInt, tagBool:
				var n int64
				if in >= 0 {
					n = vals[1].ints[in]
				}
				if typ == tagBool {
					num = strconv.AppendBool(num[:0], n != 0)
				} else {
					num = strconv.AppendInt(num[:0], n, 10)
				}
				sink.Pair(gi, key, num)
			default:
				a := attr{Key: string(key), Type: int32(typ)}
				if dbl >= 0 {
					a.Double = vals[2].floats[dbl]
				}
				if raw >= 0 {
					a.Bytes = vals[3].bytesAt(raw)
				}
				sink.Pair(gi, key, []byte(m.attrString(&a)))
			}
		}
		if m.err != nil {
			return fmt.Errorf("row group %d: %w", gi, m.err)
		}

		// Resource attributes: every distinct resource of the group.
		res, err := g.leaf(pathResource)
		if err != nil {
			return fmt.Errorf("row group %d: %w", gi, err)
		}
		used := make([]bool, len(res.dict))
		for _, c := range res.codes {
			used[c] = true
		}
		for c, ok := range used {
			if ok {
				eachPair(gi, m.resource(res.dict[c]), sink)
			}
		}
		if m.err != nil {
			return fmt.Errorf("row group %d: %w", gi, m.err)
		}

		// Events: names as keys, attributes as pairs.
		names, err := g.leaf(pathEventName)
		if err != nil {
			return fmt.Errorf("row group %d: %w", gi, err)
		}
		for _, c := range names.codes {
			sink.Key(gi, names.dict[c])
		}
		evAttrs, err := g.leaf(pathEventAttrs)
		if err != nil {
			return fmt.Errorf("row group %d: %w", gi, err)
		}
		for i := range evAttrs.codes {
			blob := evAttrs.bytesAt(i)
			if len(blob) == 0 {
				continue
			}
			attrs := pcommon.NewMap()
			if err := decodeMap(blob, attrs); err != nil {
				return fmt.Errorf("row group %d: event attributes: %w", gi, err)
			}
			eachPair(gi, attrs, sink)
		}
	}
	return nil
}

// eachPair reports a map's attributes.
func eachPair(g int, attrs pcommon.Map, sink AttributeSink) {
	for k, v := range attrs.All() {
		sink.Key(g, []byte(k))
		sink.Pair(g, []byte(k), []byte(valueString(v)))
	}
}
