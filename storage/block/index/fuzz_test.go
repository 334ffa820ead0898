package index

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// fuzzSeeds are small valid files and damaged copies of them.
func fuzzSeeds(f *testing.F, valid ...[]byte) {
	for _, v := range valid {
		f.Add(v)
		f.Add(v[:len(v)/2])
		f.Add(v[len(v)/2:])
		flipped := bytes.Clone(v)
		flipped[len(flipped)/3] ^= 0xff
		f.Add(flipped)
	}
	f.Add([]byte{})
	f.Add([]byte("ARROW1\x00\x00ARROW1"))
}

// FuzzReadIndex: whatever the bytes, ReadIndex returns an error or an
// Index every method of which works.
func FuzzReadIndex(f *testing.F) {
	rng := rand.New(rand.NewPCG(41, 42))
	c := realistic
	c.traces = 3
	c.maxSpans = 4
	_, small, _ := build(f, genBlock(rng, c))
	_, empty, _ := build(f, nil)
	fixture, err := os.ReadFile(filepath.Join("testdata", "v1.tlidx"))
	if err != nil {
		f.Fatal(err)
	}
	fuzzSeeds(f, small, empty, fixture)
	f.Fuzz(func(t *testing.T, data []byte) {
		x, err := ReadIndex(data)
		if err != nil {
			return
		}
		for i := range x.Len() {
			s := x.Trace(i)
			if first, rows, ok := x.Lookup(s.TraceID); !ok || first != s.First || rows != s.Rows {
				t.Fatalf("Lookup(%s) = %d, %d, %v; Trace says %d, %d", s.TraceID, first, rows, ok, s.First, s.Rows)
			}
		}
		x.Lookup(pcommon.TraceID{1})
		x.Search(Query{}, func(Hit) bool { return true })
		x.Search(Query{Service: serviceName(1), DurationMin: 5}, func(Hit) bool { return true })
		x.Search(Query{Name: spanName(1), StartMin: 5, StartMax: 1e18}, func(Hit) bool { return true })
		_ = x.MemSize()
	})
}

func FuzzReadBloom(f *testing.F) {
	rng := rand.New(rand.NewPCG(43, 44))
	c := realistic
	c.traces = 3
	_, _, small := build(f, genBlock(rng, c))
	fuzzSeeds(f, small)
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ReadBloom(data)
		if err != nil {
			return
		}
		b.MayContain(pcommon.TraceID{1})
		_ = b.MemSize()
	})
}
