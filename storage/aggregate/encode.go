package aggregate

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sync"

	"github.com/klauspost/compress/zstd"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// The encoded form is described byte by byte in FORMAT.md.
const (
	magic = "TLAG"
	// Version is the format version Encode writes and Decode reads.
	Version = 1
	// maxDecoded bounds the decompressed size Encode writes and Decode
	// accepts, so that a small corrupt or hostile object cannot make
	// Decode allocate gigabytes. An hour of a busy tenant (10,000
	// operations, every minute, 30 duration bins each) is about 60 MiB.
	maxDecoded = 256 << 20
	// window is the zstd window Encode compresses with, and maxWindow the
	// largest one Decode accepts (zstd's recommended minimum support).
	zstdWindow = 1 << 20
	maxWindow  = 8 << 20
)

// ErrFormat is wrapped by every error Decode returns for data that is not
// a valid encoded Aggregate.
var ErrFormat = errors.New("invalid aggregate encoding")

var (
	encoder = sync.OnceValue(func() *zstd.Encoder {
		e, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1),
			zstd.WithWindowSize(zstdWindow), zstd.WithSingleSegment(false))
		if err != nil {
			panic(err) // only for invalid options
		}
		return e
	})
	// decoders are streaming decoders, used instead of DecodeAll because
	// DecodeAll allocates what a frame header claims its content size is
	// up front: 40 corrupt bytes would cost a quarter of a gigabyte. A
	// synchronous stream's memory is its window (at most maxWindow) and
	// what it actually decodes.
	decoders = sync.Pool{New: func() any {
		d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxMemory(maxDecoded), zstd.WithDecoderMaxWindow(maxWindow))
		if err != nil {
			panic(err) // only for invalid options
		}
		return d
	}}
)

// decompress returns the zstd-compressed src decompressed, refusing more
// than maxDecoded bytes.
func decompress(src []byte) ([]byte, error) {
	d := decoders.Get().(*zstd.Decoder)
	defer func() {
		_ = d.Reset(nil) // drop src
		decoders.Put(d)
	}()
	if err := d.Reset(bytes.NewReader(src)); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(io.LimitReader(d, maxDecoded+1)); err != nil {
		return nil, err
	}
	if buf.Len() > maxDecoded {
		return nil, fmt.Errorf("more than %d bytes", maxDecoded)
	}
	return buf.Bytes(), nil
}

// Encode returns a's compact, versioned binary form (FORMAT.md). The same
// counts always encode to the same bytes.
func (a *Aggregate) Encode() ([]byte, error) {
	a.Flush()
	// The string table: every name, sorted, each written once.
	set := map[string]struct{}{}
	for k := range a.ops {
		set[k.service], set[k.name] = struct{}{}, struct{}{}
	}
	for k := range a.pairs {
		set[k.parent], set[k.child] = struct{}{}, struct{}{}
	}
	strs := make([]string, 0, len(set))
	for s := range set {
		strs = append(strs, s)
	}
	slices.Sort(strs)
	index := make(map[string]uint64, len(strs))
	for i, s := range strs {
		index[s] = uint64(i)
	}

	var p []byte
	p = binary.AppendUvarint(p, uint64(bucketNanos/1e9))
	p = binary.AppendUvarint(p, uint64(len(strs)))
	for _, s := range strs {
		p = binary.AppendUvarint(p, uint64(len(s)))
		p = append(p, s...)
	}

	ops := make([]opKey, 0, len(a.ops))
	for k, op := range a.ops {
		if op.len() > 0 {
			ops = append(ops, k)
		}
	}
	slices.SortFunc(ops, func(x, y opKey) int {
		return cmp.Or(cmp.Compare(x.service, y.service), cmp.Compare(x.name, y.name), cmp.Compare(x.kind, y.kind))
	})
	p = binary.AppendUvarint(p, uint64(len(ops)))
	for _, k := range ops {
		p = binary.AppendUvarint(p, index[k.service])
		p = binary.AppendUvarint(p, index[k.name])
		p = append(p, byte(k.kind))
		buckets, cells := a.ops[k].sorted()
		p = binary.AppendUvarint(p, uint64(len(buckets)))
		for n, c := range cells {
			p = appendBucket(p, n, buckets)
			p = binary.AppendUvarint(p, c.calls)
			p = binary.AppendUvarint(p, c.errors)
			p = binary.AppendUvarint(p, uint64(len(c.durations)))
			prev := uint16(0)
			for b := range c.durations {
				p = binary.AppendUvarint(p, uint64(c.durations.bin(b)-prev))
				p = binary.AppendUvarint(p, c.durations.count(b))
				prev = c.durations.bin(b)
			}
		}
	}

	pairs := make([]pairKey, 0, len(a.pairs))
	for k, pair := range a.pairs {
		if pair.len() > 0 {
			pairs = append(pairs, k)
		}
	}
	slices.SortFunc(pairs, func(x, y pairKey) int {
		return cmp.Or(cmp.Compare(x.parent, y.parent), cmp.Compare(x.child, y.child))
	})
	p = binary.AppendUvarint(p, uint64(len(pairs)))
	for _, k := range pairs {
		p = binary.AppendUvarint(p, index[k.parent])
		p = binary.AppendUvarint(p, index[k.child])
		buckets, cells := a.pairs[k].sorted()
		p = binary.AppendUvarint(p, uint64(len(buckets)))
		for n, c := range cells {
			p = appendBucket(p, n, buckets)
			p = binary.AppendUvarint(p, c.calls)
			p = binary.AppendUvarint(p, c.errors)
		}
	}

	if len(p) > maxDecoded {
		return nil, fmt.Errorf("aggregate of %d bytes (uncompressed) is larger than the format allows, %d", len(p), maxDecoded)
	}
	out := append(make([]byte, 0, len(magic)+1+len(p)/4), magic...)
	out = append(out, Version)
	return encoder().EncodeAll(p, out), nil
}

// appendBucket writes the n-th bucket of a run: the first as a zigzag
// varint, the others as the (positive) difference from the one before.
func appendBucket(p []byte, n int, buckets []int64) []byte {
	if n == 0 {
		return binary.AppendVarint(p, buckets[0])
	}
	return binary.AppendUvarint(p, uint64(buckets[n]-buckets[n-1]))
}

// Decode parses what Encode wrote. It refuses, with an error wrapping
// ErrFormat, anything else: another magic or version, corrupt compressed
// data, truncated or trailing bytes, indexes out of range, counts that
// contradict each other, and entries out of their canonical order.
func Decode(data []byte) (*Aggregate, error) {
	if len(data) < len(magic)+1 || string(data[:len(magic)]) != magic {
		return nil, fmt.Errorf("%w: not an aggregate (bad magic)", ErrFormat)
	}
	if v := data[len(magic)]; v != Version {
		return nil, fmt.Errorf("%w: version %d, this build reads version %d", ErrFormat, v, Version)
	}
	p, err := decompress(data[len(magic)+1:])
	if err != nil {
		return nil, fmt.Errorf("%w: decompress: %w", ErrFormat, err)
	}
	d := &reader{buf: p}
	a, err := d.aggregate()
	if err != nil {
		return nil, fmt.Errorf("%w: at byte %d of %d decompressed: %w", ErrFormat, d.off, len(p), err)
	}
	return a, nil
}

// reader reads the decompressed payload, remembering the first error.
type reader struct {
	buf []byte
	off int
}

var errTruncated = errors.New("truncated")

func (r *reader) uvarint() (uint64, error) {
	v, n := binary.Uvarint(r.buf[r.off:])
	if n <= 0 {
		if n == 0 {
			return 0, errTruncated
		}
		return 0, errors.New("varint overflows 64 bits")
	}
	r.off += n
	return v, nil
}

func (r *reader) varint() (int64, error) {
	v, n := binary.Varint(r.buf[r.off:])
	if n <= 0 {
		if n == 0 {
			return 0, errTruncated
		}
		return 0, errors.New("varint overflows 64 bits")
	}
	r.off += n
	return v, nil
}

// count reads a number of elements that each take at least one more byte,
// so that a corrupt count cannot make the reader allocate more than the
// input could describe.
func (r *reader) count(what string) (int, error) {
	n, err := r.uvarint()
	if err != nil {
		return 0, err
	}
	if n > uint64(len(r.buf)-r.off) {
		return 0, fmt.Errorf("%d %s cannot fit in the %d bytes left", n, what, len(r.buf)-r.off)
	}
	return int(n), nil
}

// index reads an index into the string table.
func (r *reader) index(strs []string) (string, uint64, error) {
	i, err := r.uvarint()
	if err != nil {
		return "", 0, err
	}
	if i >= uint64(len(strs)) {
		return "", 0, fmt.Errorf("string index %d out of range (%d strings)", i, len(strs))
	}
	return strs[i], i, nil
}

// The buckets of Unix ns times that fit an int64.
var (
	minBucket = bucketOf(math.MinInt64)
	maxBucket = bucketOf(math.MaxInt64)
)

// bucket reads the n-th bucket of a run (see appendBucket).
func (r *reader) bucket(n int, prev int64) (int64, error) {
	if n == 0 {
		b, err := r.varint()
		if err == nil && (b < minBucket || b > maxBucket) {
			err = fmt.Errorf("bucket %d out of range", b)
		}
		return b, err
	}
	delta, err := r.uvarint()
	if err != nil {
		return 0, err
	}
	if delta == 0 || delta > uint64(maxBucket-prev) {
		return 0, fmt.Errorf("bucket delta %d after bucket %d: buckets must increase and stay in range", delta, prev)
	}
	return prev + int64(delta), nil
}

// callCounts reads a cell's calls and errors.
func (r *reader) callCounts() (calls, errs uint64, err error) {
	if calls, err = r.uvarint(); err != nil {
		return 0, 0, err
	}
	if errs, err = r.uvarint(); err != nil {
		return 0, 0, err
	}
	if calls == 0 || errs > calls {
		return 0, 0, fmt.Errorf("%d calls with %d errors: a cell has calls, and no more errors than calls", calls, errs)
	}
	return calls, errs, nil
}

func (r *reader) aggregate() (*Aggregate, error) {
	width, err := r.uvarint()
	if err != nil {
		return nil, err
	}
	if width != uint64(bucketNanos/1e9) {
		return nil, fmt.Errorf("bucket width %d s, this build counts by %d s", width, bucketNanos/1e9)
	}

	nstr, err := r.count("strings")
	if err != nil {
		return nil, err
	}
	strs := make([]string, nstr)
	for i := range strs {
		n, err := r.uvarint()
		if err != nil {
			return nil, err
		}
		if n > uint64(len(r.buf)-r.off) {
			return nil, fmt.Errorf("string of %d bytes: %w", n, errTruncated)
		}
		strs[i] = string(r.buf[r.off : r.off+int(n)])
		r.off += int(n)
		if i > 0 && strs[i-1] >= strs[i] {
			return nil, fmt.Errorf("string %d is not after string %d: the table must be sorted and unique", i, i-1)
		}
	}

	a := New()
	for _, s := range strs {
		a.strs[s] = s
	}

	nops, err := r.count("operations")
	if err != nil {
		return nil, err
	}
	var prevOp [3]uint64
	for op := range nops {
		service, si, err := r.index(strs)
		if err != nil {
			return nil, err
		}
		name, ni, err := r.index(strs)
		if err != nil {
			return nil, err
		}
		if r.off >= len(r.buf) {
			return nil, errTruncated
		}
		kind := uint64(r.buf[r.off])
		r.off++
		if kind > uint64(ptrace.SpanKindConsumer) {
			return nil, fmt.Errorf("span kind %d unknown", kind)
		}
		cur := [3]uint64{si, ni, kind}
		if op > 0 && slices.Compare(prevOp[:], cur[:]) >= 0 {
			return nil, fmt.Errorf("operation %d is not after the one before: operations must be sorted and unique", op)
		}
		prevOp = cur
		ncells, err := r.count("cells")
		if err != nil {
			return nil, err
		}
		if ncells == 0 {
			return nil, fmt.Errorf("operation %d has no cells", op)
		}
		cells := a.newOp(opKey{service: service, name: name, kind: ptrace.SpanKind(kind)})
		var bucket int64
		for n := range ncells {
			if bucket, err = r.bucket(n, bucket); err != nil {
				return nil, err
			}
			calls, errs, err := r.callCounts()
			if err != nil {
				return nil, err
			}
			h, err := r.histogram(calls)
			if err != nil {
				return nil, err
			}
			*cells.at(bucket) = redCell{calls: calls, errors: errs, durations: h}
		}
	}

	npairs, err := r.count("links")
	if err != nil {
		return nil, err
	}
	var prevPair [2]uint64
	for pair := range npairs {
		parent, pi, err := r.index(strs)
		if err != nil {
			return nil, err
		}
		child, ci, err := r.index(strs)
		if err != nil {
			return nil, err
		}
		if pi == ci {
			return nil, fmt.Errorf("link from %q to itself", parent)
		}
		cur := [2]uint64{pi, ci}
		if pair > 0 && slices.Compare(prevPair[:], cur[:]) >= 0 {
			return nil, fmt.Errorf("link %d is not after the one before: links must be sorted and unique", pair)
		}
		prevPair = cur
		ncells, err := r.count("cells")
		if err != nil {
			return nil, err
		}
		if ncells == 0 {
			return nil, fmt.Errorf("link %d has no cells", pair)
		}
		cells := a.newPair(pairKey{parent: parent, child: child})
		var bucket int64
		for n := range ncells {
			if bucket, err = r.bucket(n, bucket); err != nil {
				return nil, err
			}
			calls, errs, err := r.callCounts()
			if err != nil {
				return nil, err
			}
			*cells.at(bucket) = linkCell{calls: calls, errors: errs}
		}
	}
	if r.off != len(r.buf) {
		return nil, fmt.Errorf("%d bytes after the end", len(r.buf)-r.off)
	}
	return a, nil
}

// histogram reads a cell's bins, whose counts add up to at most calls.
func (r *reader) histogram(calls uint64) (histogram, error) {
	nbins, err := r.count("bins")
	if err != nil {
		return nil, err
	}
	if nbins == 0 || nbins > numBins {
		return nil, fmt.Errorf("%d bins: a cell has 1 to %d", nbins, numBins)
	}
	h := make(histogram, nbins)
	var bin, sum uint64
	for i := range h {
		delta, err := r.uvarint()
		if err != nil {
			return nil, err
		}
		if i > 0 && delta == 0 {
			return nil, errors.New("bins must increase")
		}
		bin += delta
		if delta >= numBins || bin >= numBins {
			return nil, fmt.Errorf("bin %d out of range (%d bins)", bin, numBins)
		}
		n, err := r.uvarint()
		if err != nil {
			return nil, err
		}
		if n == 0 || n > maxCount {
			return nil, fmt.Errorf("bin count %d not in [1, %d]", n, uint64(maxCount))
		}
		if sum += n; sum > calls {
			return nil, fmt.Errorf("bins count more durations than the cell's %d calls", calls)
		}
		h[i] = bin<<48 | n
	}
	return h, nil
}
