package index

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go/bloom"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/tracelake/tracelake/storage/spanfile"
)

func randomIDs(rng *rand.Rand, n int) []pcommon.TraceID {
	ids := make([]pcommon.TraceID, n)
	for i := range ids {
		binary.LittleEndian.PutUint64(ids[i][:8], rng.Uint64())
		binary.LittleEndian.PutUint64(ids[i][8:], rng.Uint64())
	}
	return ids
}

func TestBloom(t *testing.T) {
	const n = 100_000
	rng := rand.New(rand.NewPCG(31, 32))
	ids := randomIDs(rng, n)
	slices.SortFunc(ids, func(a, b pcommon.TraceID) int { return bytes.Compare(a[:], b[:]) })
	ids = slices.Compact(ids)
	b := NewBuilder()
	for i, id := range ids {
		if err := b.Add([]spanfile.SpanInfo{{TraceID: id}}, int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := b.WriteBloom(&buf); err != nil {
		t.Fatal(err)
	}
	bl, err := ReadBloom(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if !bl.MayContain(id) {
			t.Fatalf("false negative for %s", id)
		}
	}
	fp := 0
	for _, id := range randomIDs(rng, n) {
		if _, found := slices.BinarySearchFunc(ids, id, func(a, b pcommon.TraceID) int { return bytes.Compare(a[:], b[:]) }); !found && bl.MayContain(id) {
			fp++
		}
	}
	rate := float64(fp) / n
	bitsPerTrace := float64(8*(buf.Len()-bloomHeaderSize)) / float64(len(ids))
	t.Logf("false positives %.3f%% at %.1f bits per trace; MemSize %d", 100*rate, bitsPerTrace, bl.MemSize())
	if rate > 0.02 {
		t.Errorf("false-positive rate %.3f%%, want ≤ 2%%", 100*rate)
	}
	if bl.MemSize() < buf.Len()-bloomHeaderSize {
		t.Errorf("MemSize %d < filter size %d", bl.MemSize(), buf.Len()-bloomHeaderSize)
	}
}

// TestBloomIsParquets: the filter is Parquet's split-block filter over
// XXH64 of the ID's bytes, so any Parquet SBBF implementation can probe it.
func TestBloomIsParquets(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	ids := randomIDs(rng, 1000)
	slices.SortFunc(ids, func(a, b pcommon.TraceID) int { return bytes.Compare(a[:], b[:]) })
	b := NewBuilder()
	for i, id := range ids {
		if err := b.Add([]spanfile.SpanInfo{{TraceID: id}}, int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := b.WriteBloom(&buf); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	if got := binary.LittleEndian.Uint64(data[8:]); got != uint64(len(ids)) {
		t.Errorf("header count %d, want %d", got, len(ids))
	}
	filter := data[bloomHeaderSize:]
	for _, id := range ids {
		h := bloom.XXH64{}.Sum64(id[:])
		if h != (bloom.XXH64{}).Sum64Uint128(id) {
			t.Fatal("XXH64 of 16 bytes differs from Sum64Uint128")
		}
		ok, err := bloom.CheckSplitBlock(bytes.NewReader(filter), int64(len(filter)), h)
		if err != nil || !ok {
			t.Fatalf("Parquet's CheckSplitBlock misses %s: %v", id, err)
		}
	}
}

func TestReadBloomRejects(t *testing.T) {
	header := func(magic string, version uint32, body int) []byte {
		b := append([]byte(magic), make([]byte, 12+body)...)
		binary.LittleEndian.PutUint32(b[4:], version)
		return b
	}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"nil", nil, "not a trace bloom filter"},
		{"short", []byte("TLBF"), "not a trace bloom filter"},
		{"magic", header("PAR1", 1, 32), "not a trace bloom filter"},
		{"version 2", header("TLBF", 2, 32), "version 2 is not supported"},
		{"no blocks", header("TLBF", 1, 0), "not a whole number"},
		{"partial block", header("TLBF", 1, 33), "not a whole number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadBloom(tt.data)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "read trace bloom filter: ") {
				t.Fatalf("ReadBloom = %v, want an error containing %q", err, tt.want)
			}
		})
	}
	if _, err := ReadBloom(header("TLBF", 1, 64)); err != nil {
		t.Fatalf("ReadBloom of an all-zero filter: %v", err)
	}
}
