package engine

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"slices"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/tracelake/tracelake/query"
	"github.com/tracelake/tracelake/storage/spanfile"
)

// cursor is where a page of a search ended: the rank and trace ID of its
// last trace, how many traces the pages so far returned, the search's time
// window (pinned by the first page) and a fingerprint of the rest of the
// search. It travels as opaque base64url text.
type cursor struct {
	rank               int64
	id                 pcommon.TraceID
	returned           uint32
	startMin, startMax int64
	fingerprint        uint64
}

const cursorVersion = 1

// cursorLen is the encoded size: version, rank, ID, returned, window,
// fingerprint.
const cursorLen = 1 + 8 + 16 + 4 + 8 + 8 + 8

func (c cursor) encode() string {
	b := make([]byte, 0, cursorLen)
	b = append(b, cursorVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(c.rank))
	b = append(b, c.id[:]...)
	b = binary.BigEndian.AppendUint32(b, c.returned)
	b = binary.BigEndian.AppendUint64(b, uint64(c.startMin))
	b = binary.BigEndian.AppendUint64(b, uint64(c.startMax))
	b = binary.BigEndian.AppendUint64(b, c.fingerprint)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (cursor, error) {
	var c cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != cursorLen || b[0] != cursorVersion {
		return c, fmt.Errorf("%w: %q is not a cursor this service returned", query.ErrBadCursor, clip(s))
	}
	b = b[1:]
	c.rank = int64(binary.BigEndian.Uint64(b))
	copy(c.id[:], b[8:24])
	c.returned = binary.BigEndian.Uint32(b[24:])
	c.startMin = int64(binary.BigEndian.Uint64(b[28:]))
	c.startMax = int64(binary.BigEndian.Uint64(b[36:]))
	c.fingerprint = binary.BigEndian.Uint64(b[44:])
	return c, nil
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// before reports whether r comes after the cursor in the search's order
// (later matches first, then smaller trace IDs).
func (c *cursor) before(r ranked) bool {
	if r.start != c.rank {
		return r.start < c.rank
	}
	return compareIDs(r.id, c.id) > 0
}

// fingerprint identifies a search but for its time window and limit, so a
// cursor is not used with another search.
func fingerprint(f spanfile.Filter) uint64 {
	h := fnv.New64a()
	put := func(s string) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	put(f.Service)
	put(f.Name)
	for _, a := range f.Attributes {
		put(a.Key)
		put(a.Value)
	}
	put("")
	keys := slices.Clone(f.Keys)
	slices.Sort(keys)
	for _, k := range keys {
		put(k)
	}
	var d [16]byte
	binary.BigEndian.PutUint64(d[:], uint64(f.DurationMin))
	binary.BigEndian.PutUint64(d[8:], uint64(f.DurationMax))
	h.Write(d[:])
	return h.Sum64()
}
