package aggregate

import (
	"encoding/binary"
	"unsafe"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

// lookups is a direct-mapped cache in front of the ops and pairs maps for
// AddTrace. Hashing two strings and probing a Go map for every span and
// link cost about as much as everything else AddTrace does; a slot chosen
// from the lengths and the first and last bytes of the names, confirmed by
// comparing them, takes a fraction of that, and the map answers the rare
// miss. A slot holds 1 + the number of an operation or link (0: empty),
// whose key is in pending's opByID or pairByID; a key may be in either
// slot of its pair (two-way associative: thousands of operations would
// otherwise evict each other). It lives only while spans are added (Flush
// drops it).
type lookups struct {
	ops, pairs [lookupSlots]int32
}

const lookupBits = 13

const lookupSlots = 1 << lookupBits

// op returns the cells of the operation, creating it.
func (a *Aggregate) op(service, name string, kind ptrace.SpanKind) *opCells {
	h := quickHash(service, name, uint64(kind))
	for _, id := range [2]int32{a.cache.ops[h] - 1, a.cache.ops[h^1] - 1} {
		if id >= 0 {
			if r := &a.pend.opByID[id]; r.k.kind == kind && r.k.service == service && r.k.name == name {
				return r.cells
			}
		}
	}
	k := opKey{service: service, name: name, kind: kind}
	op := a.ops[k]
	if op == nil {
		op = a.newOp(k)
	}
	a.cache.ops[h^1], a.cache.ops[h] = a.cache.ops[h], int32(op.id)+1
	return op
}

// pair returns the cells of the link, creating it.
func (a *Aggregate) pair(parent, child string) *pairCells {
	h := quickHash(parent, child, 1<<32)
	for _, id := range [2]int32{a.cache.pairs[h] - 1, a.cache.pairs[h^1] - 1} {
		if id >= 0 {
			if r := &a.pend.pairByID[id]; r.k.parent == parent && r.k.child == child {
				return r.cells
			}
		}
	}
	k := pairKey{parent: parent, child: child}
	pair := a.pairs[k]
	if pair == nil {
		pair = a.newPair(k)
	}
	a.cache.pairs[h^1], a.cache.pairs[h] = a.cache.pairs[h], int32(pair.id)+1
	return pair
}

// quickHash picks a slot from the lengths of x and y and their first and
// last eight bytes, and z.
func quickHash(x, y string, z uint64) int {
	h := uint64(len(x))<<40 ^ uint64(len(y))<<20 ^ z
	h ^= ends(x) * 0x9e3779b97f4a7c15
	h = (h ^ h>>29) * 0xbf58476d1ce4e5b9
	h ^= ends(y) * 0xc2b2ae3d27d4eb4f
	h = (h ^ h>>32) * 0x94d049bb133111eb
	return int(h >> (64 - lookupBits))
}

// ends mixes the first and last eight bytes of s (all of it when shorter).
func ends(s string) uint64 {
	if len(s) >= 8 {
		p := unsafe.StringData(s)
		head := binary.LittleEndian.Uint64(unsafe.Slice(p, 8))
		tail := binary.LittleEndian.Uint64(unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(p), len(s)-8)), 8))
		return head ^ tail*31
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		v = v<<8 | uint64(s[i])
	}
	return v
}
