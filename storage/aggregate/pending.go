package aggregate

import "slices"

// AddTrace does not count a span in its cells at once. An aggregate of an
// hour of a busy system holds tens of megabytes of cells and histograms,
// and spans arrive in trace ID order, which is random order for the
// cells: counting each span where it belongs costs two or three cache
// misses, several times the rest of AddTrace. So AddTrace appends a
// 64-bit record per span (and per link) to a buffer, and flush sorts the
// buffer by cell with a radix sort and counts each run of records in its
// cell at once: one cache miss per cell and flush instead of per span.
//
// A RED record packs, from the most significant bit: the operation's ID
// (idBits), its bucket relative to recordBase (bucketBits), the duration's
// bin (binBits), and whether the span failed (1 bit). A link record packs
// the link's ID, the bucket and the error bit. Sorting records sorts them
// by cell, then (RED) by bin.
const (
	idBits     = 20
	bucketBits = 31
	binBits    = 12
	errBit     = 1
	// maxPending is how many records are buffered before they are
	// counted: 4 MiB of records (and as much scratch to sort them), so
	// that a flush counts several spans per cell it touches while AddTrace
	// holds about 12 MiB at most.
	maxPending = 1 << 19
)

// recordBase is the bucket stored as 0 in records: buckets within 2^30
// minutes (2000 years) of the Unix epoch fit; spans outside that are
// counted directly, the slow way.
const recordBase = -(1 << (bucketBits - 1))

var _ = [1]struct{}{}[numBins>>binBits] // bins must fit in binBits

// pending holds the records of spans added but not yet counted.
type pending struct {
	red, links []uint64
	tmp        []uint64 // radix sort scratch
	// opByID and pairByID are the operations and links by number.
	opByID   []opRef
	pairByID []pairRef
}

type opRef struct {
	k     opKey
	cells *opCells
}

type pairRef struct {
	k     pairKey
	cells *pairCells
}

// relBucket returns bucket b relative to recordBase, and whether it fits
// a record.
func relBucket(b int64) (uint64, bool) {
	r := b - recordBase
	return uint64(r), r >= 0 && r < 1<<bucketBits
}

func (a *Aggregate) recordRED(op *opCells, bucket int64, bin uint16, failed bool) {
	rel, ok := relBucket(bucket)
	if !ok || op.id >= 1<<idBits {
		c := op.at(bucket)
		c.calls++
		if failed {
			c.errors++
		}
		c.durations.add(bin)
		return
	}
	r := uint64(op.id)<<(bucketBits+binBits+errBit) | rel<<(binBits+errBit) | uint64(bin)<<errBit
	if failed {
		r |= 1
	}
	a.pend.red = append(a.pend.red, r)
	if len(a.pend.red) >= maxPending {
		a.flushRED()
	}
}

func (a *Aggregate) recordLink(pair *pairCells, bucket int64, failed bool) {
	rel, ok := relBucket(bucket)
	if !ok || pair.id >= 1<<idBits {
		c := pair.at(bucket)
		c.calls++
		if failed {
			c.errors++
		}
		return
	}
	r := uint64(pair.id)<<(bucketBits+errBit) | rel<<errBit
	if failed {
		r |= 1
	}
	a.pend.links = append(a.pend.links, r)
	if len(a.pend.links) >= maxPending {
		a.flushLinks()
	}
}

// Flush counts the spans AddTrace buffered and frees the memory AddTrace
// keeps for speed. The methods that read an aggregate flush it first, so
// single-goroutine use needs no Flush; but flushing writes, so flush an
// aggregate (or read it once) before sharing it between goroutines.
func (a *Aggregate) Flush() {
	if len(a.pend.red) > 0 {
		a.flushRED()
	}
	if len(a.pend.links) > 0 {
		a.flushLinks()
	}
	if a.cache != nil || a.pend.red != nil || a.pend.links != nil {
		a.cache, a.index = nil, traceIndex{}
		a.pend.red, a.pend.links, a.pend.tmp = nil, nil, nil
	}
}

func (a *Aggregate) flushRED() {
	recs := a.sortRecords(a.pend.red)
	const binMask = 1<<binBits - 1
	var h histogram
	for i := 0; i < len(recs); {
		cellKey := recs[i] >> (binBits + errBit)
		var calls, errs uint64
		h = h[:0]
		for ; i < len(recs) && recs[i]>>(binBits+errBit) == cellKey; i++ {
			calls++
			errs += recs[i] & 1
			bin := uint16(recs[i]>>errBit) & binMask
			if n := len(h); n > 0 && h.bin(n-1) == bin {
				h[n-1]++
			} else {
				h = append(h, uint64(bin)<<48|1)
			}
		}
		op := a.pend.opByID[cellKey>>bucketBits].cells
		c := op.at(int64(cellKey&(1<<bucketBits-1)) + recordBase)
		c.calls += calls
		c.errors += errs
		if len(c.durations) == 0 {
			c.durations = slices.Clone(h)
		} else {
			c.durations = c.durations.merged(h)
		}
	}
	a.pend.red = recs[:0]
}

func (a *Aggregate) flushLinks() {
	recs := a.sortRecords(a.pend.links)
	for i := 0; i < len(recs); {
		cellKey := recs[i] >> errBit
		var calls, errs uint64
		for ; i < len(recs) && recs[i]>>errBit == cellKey; i++ {
			calls++
			errs += recs[i] & 1
		}
		pair := a.pend.pairByID[cellKey>>bucketBits].cells
		c := pair.at(int64(cellKey&(1<<bucketBits-1)) + recordBase)
		c.calls += calls
		c.errors += errs
	}
	a.pend.links = recs[:0]
}

// sortRecords sorts recs with an LSD radix sort of 11-bit digits, skipping
// the digits in which all records agree (most of them: the IDs and
// buckets in use are few), and returns the sorted slice, which is recs or
// the scratch buffer.
func (a *Aggregate) sortRecords(recs []uint64) []uint64 {
	const digit = 11
	const buckets = 1 << digit
	if cap(a.pend.tmp) < len(recs) {
		a.pend.tmp = make([]uint64, len(recs), cap(recs))
	}
	tmp := a.pend.tmp[:len(recs)]
	var and, or uint64 = ^uint64(0), 0
	for _, r := range recs {
		and &= r
		or |= r
	}
	varying := and ^ or // bits that differ between some records
	var counts [buckets]int
	for shift := 0; shift < 64; shift += digit {
		if (varying>>shift)&(buckets-1) == 0 {
			continue
		}
		clear(counts[:])
		for _, r := range recs {
			counts[(r>>shift)&(buckets-1)]++
		}
		sum := 0
		for i, c := range counts {
			counts[i] = sum
			sum += c
		}
		for _, r := range recs {
			d := (r >> shift) & (buckets - 1)
			tmp[counts[d]] = r
			counts[d]++
		}
		recs, tmp = tmp, recs
	}
	a.pend.tmp = tmp
	return recs
}
