package index

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"slices"
	"unsafe"

	"github.com/cespare/xxhash/v2"
	"github.com/parquet-go/parquet-go/bloom"
)

// The attribute filter file (FORMAT.md, "Attribute filter file"): per row
// group of a block's data file, a split-block bloom filter over the
// attribute (key, value) pairs and keys its spans carry, on themselves,
// their resources and their events. A search for a value a row group
// lacks skips the group unread: what makes a needle (one user's ID) over
// a day cheap.
const (
	attrMagic        = "TLAF"
	attrVersion      = 1
	attrHeaderSize   = 16
	attrBitsPerValue = 10 // about 1% false positives
)

// AttrFilterBuilder collects the hashes of a block's attributes, by row
// group. Not safe for concurrent use.
type AttrFilterBuilder struct {
	groups [][]uint64
	buf    []byte
}

// NewAttrFilterBuilder returns a builder for a data file of groups row groups.
func NewAttrFilterBuilder(groups int) *AttrFilterBuilder {
	return &AttrFilterBuilder{groups: make([][]uint64, groups)}
}

// Pair records that a span of row group g has attribute key with the
// string form value (as searches compare it).
func (b *AttrFilterBuilder) Pair(g int, key, value []byte) {
	b.buf = appendPair(b.buf[:0], key, value)
	b.groups[g] = append(b.groups[g], xxhash.Sum64(b.buf))
}

// Key records that a span of row group g has attribute key (or an event
// of that name).
func (b *AttrFilterBuilder) Key(g int, key []byte) {
	b.buf = appendKey(b.buf[:0], key)
	b.groups[g] = append(b.groups[g], xxhash.Sum64(b.buf))
}

// A pair hashes as XXH64 of key, 0x00, value; a key as XXH64 of 0x01, key.
func appendPair(dst, key, value []byte) []byte {
	dst = append(dst, key...)
	dst = append(dst, 0)
	return append(dst, value...)
}

func appendKey(dst, key []byte) []byte {
	dst = append(dst, 1)
	return append(dst, key...)
}

// Write encodes the filter.
func (b *AttrFilterBuilder) Write(w io.Writer) error {
	out := make([]byte, attrHeaderSize)
	copy(out, attrMagic)
	binary.LittleEndian.PutUint32(out[4:], attrVersion)
	binary.LittleEndian.PutUint32(out[8:], uint32(len(b.groups)))
	for _, hashes := range b.groups {
		slices.Sort(hashes)
		hashes = slices.Compact(hashes)
		blocks := max(1, bloom.NumSplitBlocksOf(int64(len(hashes)), attrBitsPerValue))
		f := make(bloom.SplitBlockFilter, blocks)
		for _, h := range hashes {
			f.Insert(h)
		}
		out = binary.LittleEndian.AppendUint32(out, uint32(blocks))
		out = appendFilter(out, f)
	}
	if _, err := w.Write(out); err != nil {
		return fmt.Errorf("write attribute filter: %w", err)
	}
	return nil
}

// AttrFilter is a block's attribute filter, immutable and safe for
// concurrent use.
type AttrFilter struct {
	groups []bloom.SplitBlockFilter
}

// ReadAttrFilter reads an attribute filter file. It keeps no reference to
// data.
func ReadAttrFilter(data []byte) (*AttrFilter, error) {
	if len(data) < attrHeaderSize || string(data[:4]) != attrMagic {
		return nil, fmt.Errorf("read attribute filter: not an attribute filter (no %q header)", attrMagic)
	}
	if v := binary.LittleEndian.Uint32(data[4:]); v != attrVersion {
		return nil, fmt.Errorf("read attribute filter: version %d is not supported (this reader knows version %d)", v, attrVersion)
	}
	n := binary.LittleEndian.Uint32(data[8:])
	body := data[attrHeaderSize:]
	// Every group takes at least 4 + 32 bytes: refuse a count the file
	// cannot hold before allocating for it.
	if uint64(n)*(4+bloom.BlockSize) > uint64(len(body)) {
		return nil, fmt.Errorf("read attribute filter: %d row groups cannot fit in %d bytes", n, len(body))
	}
	f := &AttrFilter{groups: make([]bloom.SplitBlockFilter, n)}
	for g := range f.groups {
		if len(body) < 4 {
			return nil, fmt.Errorf("read attribute filter: row group %d: truncated", g)
		}
		blocks := binary.LittleEndian.Uint32(body)
		body = body[4:]
		if blocks == 0 || blocks > math.MaxInt32/bloom.BlockSize || int(blocks)*bloom.BlockSize > len(body) {
			return nil, fmt.Errorf("read attribute filter: row group %d: %d blocks do not fit in the %d bytes left", g, blocks, len(body))
		}
		f.groups[g] = decodeFilter(body[:int(blocks)*bloom.BlockSize])
		body = body[int(blocks)*bloom.BlockSize:]
	}
	if len(body) != 0 {
		return nil, fmt.Errorf("read attribute filter: %d bytes after the last row group", len(body))
	}
	return f, nil
}

// Groups is the number of row groups the filter describes.
func (f *AttrFilter) Groups() int { return len(f.groups) }

// MayHavePair is false only when no span of row group g has attribute key
// with the string form value, on itself, its resource or an event.
func (f *AttrFilter) MayHavePair(g int, key, value string) bool {
	var buf [128]byte
	return f.groups[g].Check(xxhash.Sum64(appendPair(buf[:0], []byte(key), []byte(value))))
}

// MayHaveKey is false only when no span of row group g has attribute key
// on itself, its resource or an event, nor an event named key.
func (f *AttrFilter) MayHaveKey(g int, key string) bool {
	var buf [128]byte
	return f.groups[g].Check(xxhash.Sum64(appendKey(buf[:0], []byte(key))))
}

// MemSize is the memory the filter holds, in bytes.
func (f *AttrFilter) MemSize() int {
	n := int(unsafe.Sizeof(*f)) + len(f.groups)*int(unsafe.Sizeof(bloom.SplitBlockFilter{}))
	for _, g := range f.groups {
		n += len(g) * bloom.BlockSize
	}
	return n
}
