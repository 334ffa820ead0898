package vparquet1

import (
	"math/rand/v2"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/tracelake/tracelake/storage/tracegen"
)

// FuzzDecodeMap feeds arbitrary bytes to the kv decoder (a damaged file is
// outside input too): it must return an error or a map, never panic or
// allocate without bound, and what it decodes must re-encode identically.
func FuzzDecodeMap(f *testing.F) {
	rng := rand.New(rand.NewPCG(1, 1))
	td := tracegen.Random(rng, 2, 1, 5)
	for _, rs := range td.ResourceSpans().All() {
		f.Add(appendMap(nil, rs.Resource().Attributes()))
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				f.Add(appendMap(nil, s.Attributes()))
			}
		}
	}
	f.Add([]byte{0x01, 0x01, 'k', tagArray, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, blob []byte) {
		m := pcommon.NewMap()
		if err := decodeMap(blob, m); err != nil {
			return
		}
		if again := appendMap(nil, m); string(again) != string(blob) && len(blob) > 0 {
			// Varints have several encodings; only a canonical blob must
			// survive byte for byte. Decoding the re-encoding must agree.
			m2 := pcommon.NewMap()
			if err := decodeMap(again, m2); err != nil || !m.Equal(m2) {
				t.Fatalf("re-encoding of a decoded map does not decode the same: %v", err)
			}
		}
	})
}
