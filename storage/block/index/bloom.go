package index

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"unsafe"

	"github.com/parquet-go/parquet-go/bloom"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// The bloom file: a 16-byte header, then a Parquet split-block bloom
// filter (FORMAT.md).
const (
	bloomMagic        = "TLBF"
	bloomVersion      = 1
	bloomHeaderSize   = 16
	bloomBitsPerTrace = 10 // about 1% false positives
)

// Bloom is a trace-ID bloom filter, immutable and safe for concurrent use.
type Bloom struct {
	filter bloom.SplitBlockFilter
}

// WriteBloom writes a bloom filter over the trace IDs added so far.
func (b *Builder) WriteBloom(w io.Writer) error {
	n := len(b.traces.ids)
	blocks := max(1, bloom.NumSplitBlocksOf(int64(n), bloomBitsPerTrace))
	f := make(bloom.SplitBlockFilter, blocks)
	for _, k := range b.traces.ids {
		f.Insert(hashTraceID(k.traceID()))
	}
	out := make([]byte, bloomHeaderSize, bloomHeaderSize+blocks*bloom.BlockSize)
	copy(out, bloomMagic)
	binary.LittleEndian.PutUint32(out[4:], bloomVersion)
	binary.LittleEndian.PutUint64(out[8:], uint64(n))
	out = appendFilter(out, f)
	if _, err := w.Write(out); err != nil {
		return fmt.Errorf("write trace bloom filter: %w", err)
	}
	return nil
}

// appendFilter appends a split-block filter's words, little-endian.
func appendFilter(out []byte, f bloom.SplitBlockFilter) []byte {
	for i := range f {
		for _, word := range f[i] {
			out = binary.LittleEndian.AppendUint32(out, uint32(word))
		}
	}
	return out
}

// decodeFilter reads a split-block filter of len(body)/32 blocks.
func decodeFilter(body []byte) bloom.SplitBlockFilter {
	f := make(bloom.SplitBlockFilter, len(body)/bloom.BlockSize)
	for i := range f {
		for j := range f[i] {
			f[i][j] = bloom.Word(binary.LittleEndian.Uint32(body[bloom.BlockSize*i+4*j:]))
		}
	}
	return f
}

// hashTraceID is Parquet's bloom filter hash of a FIXED_LEN_BYTE_ARRAY
// value: XXH64, seed 0, of its 16 bytes.
func hashTraceID(id pcommon.TraceID) uint64 {
	return bloom.XXH64{}.Sum64(id[:])
}

// ReadBloom reads a bloom file written by Builder.WriteBloom. It keeps no
// reference to data.
func ReadBloom(data []byte) (*Bloom, error) {
	if len(data) < bloomHeaderSize || string(data[:4]) != bloomMagic {
		return nil, fmt.Errorf("read trace bloom filter: not a trace bloom filter (no %q header)", bloomMagic)
	}
	if v := binary.LittleEndian.Uint32(data[4:]); v != bloomVersion {
		return nil, fmt.Errorf("read trace bloom filter: version %d is not supported (this reader knows version %d)", v, bloomVersion)
	}
	// The trace count at data[8:16] is informative: the filter's size
	// alone decides how it is probed.
	body := data[bloomHeaderSize:]
	if len(body) == 0 || len(body)%bloom.BlockSize != 0 || len(body)/bloom.BlockSize > math.MaxInt32 {
		return nil, fmt.Errorf("read trace bloom filter: filter of %d bytes is not a whole number of %d-byte blocks", len(body), bloom.BlockSize)
	}
	return &Bloom{filter: decodeFilter(body)}, nil
}

// MayContain is false only when the block certainly holds no span of id.
func (b *Bloom) MayContain(id pcommon.TraceID) bool {
	return b.filter.Check(hashTraceID(id))
}

// MemSize is the memory the filter holds, in bytes.
func (b *Bloom) MemSize() int {
	return int(unsafe.Sizeof(*b)) + len(b.filter)*bloom.BlockSize
}
