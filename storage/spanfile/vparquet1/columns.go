package vparquet1

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/parquet-go/parquet-go"
)

// Column-at-a-time reading for searches. A row group's column chunk is
// decoded into flat slices — levels, dictionary codes, integers — without
// building a Go value per row: what parquet-go's generic row reader costs
// (reflection, a parquet.Value per leaf value) is most of a search's time
// otherwise. Strings stay dictionary codes, so a predicate compares one
// int32 per value after looking its constant up in the dictionary once.

// leaf is one decoded column chunk. Value i is the i-th value that is
// present (definition level == maxDef); rep and def hold one level per
// slot, and are nil for a required top-level column (slot i is value i,
// row i).
type leaf struct {
	rep, def []byte
	maxDef   byte

	// Byte-array columns: codes[i] indexes dict. Dictionary-encoded pages
	// keep the writer's dictionary; plain pages' values are appended to
	// dict as they come (interned only when intern is set, else one entry
	// per value).
	codes []int32
	dict  [][]byte

	// Integer columns (int32 widened), with any dictionary resolved.
	ints []int64
	// Double columns.
	floats []float64

	// Fixed-length byte arrays (trace IDs): value i is fixed[i*size:(i+1)*size].
	fixed []byte
	size  int

	// partial: only the dictionary was read.
	partial bool
}

// find returns the code of v in a byte-array leaf, or -1.
func (l *leaf) find(v []byte) int32 {
	for i, d := range l.dict {
		if bytes.Equal(d, v) {
			return int32(i)
		}
	}
	return -1
}

// bytesAt returns byte-array value i.
func (l *leaf) bytesAt(i int) []byte { return l.dict[l.codes[i]] }

// nested reports whether the leaf has levels (is nested or optional).
func (l *leaf) nested() bool { return l.def != nil }

// reset empties l for reuse, keeping its buffers.
func (l *leaf) reset(maxDef byte) {
	*l = leaf{
		rep: l.rep[:0], def: l.def[:0], maxDef: maxDef,
		codes: l.codes[:0], dict: l.dict[:0], ints: l.ints[:0], floats: l.floats[:0], fixed: l.fixed[:0],
	}
}

// read decodes column chunk cc into l, reusing l's buffers. stopAfterDict,
// when set, is called with the byte-array dictionary as soon as it is
// known (with the first page); returning true stops reading, leaving only
// the dictionary (and l.partial set) — for predicates the dictionary
// already decides.
func (l *leaf) read(cc parquet.ColumnChunk, maxDef byte, stopAfterDict func(dict [][]byte) bool) error {
	l.reset(maxDef)
	pages := cc.Pages()
	defer pages.Close()
	var intern map[string]int32
	var dictDone bool
	for {
		p, err := pages.ReadPage()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if d := p.Dictionary(); d != nil && !dictDone {
			dictDone = true
			if err := l.setDict(d); err != nil {
				parquet.Release(p)
				return err
			}
			if stopAfterDict != nil && stopAfterDict(l.dict) {
				parquet.Release(p)
				l.partial = true
				return nil
			}
		}
		if err := l.appendPage(p, &intern); err != nil {
			parquet.Release(p)
			return err
		}
		parquet.Release(p)
	}
	if stopAfterDict != nil && !dictDone {
		// A chunk without a dictionary: the predicate needs the values.
		stopAfterDict(l.dict)
	}
	return nil
}

// setDict records a chunk's dictionary: byte arrays as slices of the
// dictionary's own memory (decoded into Go-managed memory by parquet-go,
// so it outlives the page reader), integers resolved per code later.
func (l *leaf) setDict(d parquet.Dictionary) error {
	vals := d.Page().Data()
	switch d.Type().Kind() {
	case parquet.ByteArray:
		data, offs := vals.ByteArray()
		l.dict = slices.Grow(l.dict[:0], len(offs))
		for i := 0; i+1 < len(offs); i++ {
			l.dict = append(l.dict, data[offs[i]:offs[i+1]:offs[i+1]])
		}
	case parquet.Int32, parquet.Int64:
		// resolved in appendPage through d.Page()
	default:
		return fmt.Errorf("column %d: dictionary of %s values", d.Page().Column(), d.Type().Kind())
	}
	return nil
}

func (l *leaf) appendPage(p parquet.Page, intern *map[string]int32) error {
	if l.def != nil || p.DefinitionLevels() != nil || p.RepetitionLevels() != nil {
		l.rep = append(l.rep, p.RepetitionLevels()...)
		l.def = append(l.def, p.DefinitionLevels()...)
	}
	vals := p.Data()
	d := p.Dictionary()
	kind := p.Type().Kind()
	if d != nil {
		kind = d.Type().Kind()
	}
	switch kind {
	case parquet.ByteArray:
		if d != nil {
			l.codes = append(l.codes, vals.Int32()...)
			return nil
		}
		data, offs := vals.ByteArray()
		if *intern == nil {
			*intern = make(map[string]int32)
		}
		for i := 0; i+1 < len(offs); i++ {
			v := data[offs[i]:offs[i+1]]
			code, ok := (*intern)[string(v)]
			if !ok {
				code = int32(len(l.dict))
				l.dict = append(l.dict, bytes.Clone(v))
				(*intern)[string(v)] = code
			}
			l.codes = append(l.codes, code)
		}
	case parquet.Int32:
		if d != nil {
			dvals := d.Page().Data()
			dv := dvals.Int32()
			for _, c := range vals.Int32() {
				if int(c) >= len(dv) || c < 0 {
					return fmt.Errorf("column %d: dictionary code %d of %d", p.Column(), c, len(dv))
				}
				l.ints = append(l.ints, int64(dv[c]))
			}
			return nil
		}
		for _, v := range vals.Int32() {
			l.ints = append(l.ints, int64(v))
		}
	case parquet.Int64:
		if d != nil {
			dvals := d.Page().Data()
			dv := dvals.Int64()
			for _, c := range vals.Int32() {
				if int(c) >= len(dv) || c < 0 {
					return fmt.Errorf("column %d: dictionary code %d of %d", p.Column(), c, len(dv))
				}
				l.ints = append(l.ints, dv[c])
			}
			return nil
		}
		l.ints = append(l.ints, vals.Int64()...)
	case parquet.FixedLenByteArray:
		data, size := vals.FixedLenByteArray()
		l.fixed = append(l.fixed, data...)
		l.size = size
	case parquet.Double:
		l.floats = append(l.floats, vals.Double()...)
	default:
		return fmt.Errorf("column %d: cannot scan %s values", p.Column(), kind)
	}
	return nil
}

// checkCodes verifies a byte-array leaf's codes fall inside its dictionary
// (a corrupt file must give an error, not a panic).
func (l *leaf) checkCodes() error {
	n := int32(len(l.dict))
	for _, c := range l.codes {
		if c < 0 || c >= n {
			return fmt.Errorf("%w: dictionary code %d of %d", errCorrupt, c, n)
		}
	}
	return nil
}

// valueCount is the number of values present.
func (l *leaf) valueCount() int {
	switch {
	case l.codes != nil || l.dict != nil:
		return len(l.codes)
	case l.size > 0:
		return len(l.fixed) / l.size
	case l.floats != nil:
		return len(l.floats)
	}
	return len(l.ints)
}

// checkRows verifies the leaf is consistent with a row group of rows rows:
// as many values as present slots, as many row starts as rows.
func (l *leaf) checkRows(rows int) error {
	if !l.nested() {
		if n := l.valueCount(); n != rows {
			return fmt.Errorf("%w: %d values for %d rows", errCorrupt, n, rows)
		}
		return nil
	}
	if len(l.rep) != 0 && len(l.rep) != len(l.def) {
		return fmt.Errorf("%w: %d repetition and %d definition levels", errCorrupt, len(l.rep), len(l.def))
	}
	// bytes.Count of one byte is vectorised: this check costs little.
	present := bytes.Count(l.def, []byte{l.maxDef})
	starts := len(l.def)
	if len(l.rep) != 0 {
		starts = bytes.Count(l.rep, []byte{0})
	}
	if present != l.valueCount() {
		return fmt.Errorf("%w: %d values for %d present slots", errCorrupt, l.valueCount(), present)
	}
	if starts != rows {
		return fmt.Errorf("%w: %d rows in levels, %d in the row group", errCorrupt, starts, rows)
	}
	return nil
}
