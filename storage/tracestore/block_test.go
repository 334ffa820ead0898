package tracestore

import (
	"bytes"
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/tracelake/tracelake/storage/objstore/objstoretest"
	"github.com/tracelake/tracelake/storage/tracegen"
)

func TestResolve(t *testing.T) {
	f := func(k string) FileRef { return FileRef{Key: k} }
	b := func(id uint64, inputs ...string) *BlockMeta {
		return &BlockMeta{ID: ulid.ULID{0, 0, 0, 0, 0, byte(id)}, Inputs: inputs}
	}
	files := []FileRef{f("a"), f("b"), f("c"), f("d")}
	older, newer, other := b(1, "a", "b"), b(2, "b", "c"), b(3, "d")
	used, raw, rejected := Resolve([]*BlockMeta{newer, other, older}, files)
	if !slices.Equal(used, []*BlockMeta{older, other}) || !slices.Equal(rejected, []*BlockMeta{newer}) {
		t.Fatalf("used %v rejected %v", used, rejected)
	}
	if !slices.Equal(raw, []FileRef{f("c")}) {
		t.Fatalf("raw %v: c is only an input of the rejected block, so it is read raw", raw)
	}
	// Deleted inputs are simply absent from the listing.
	if _, raw, _ := Resolve([]*BlockMeta{older}, []FileRef{f("b")}); len(raw) != 0 {
		t.Fatalf("raw %v", raw)
	}
}

func TestTenantsAndWindowFiles(t *testing.T) {
	ctx := context.Background()
	bucket := objstoretest.NewMemory()
	now := time.Date(2026, 11, 21, 8, 30, 0, 0, time.UTC)
	s := New(bucket, Config{Now: func() time.Time { return now }})
	for _, k := range []string{"a/x", "a!/x", "a0/y", "ab/z", "b/ingest/q", "not a tenant/x"} {
		if err := bucket.Put(ctx, k, bytes.NewReader(nil), 0); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Tenants(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a", "a!", "a0", "ab", "b"}; !slices.Equal(slices.Sorted(slices.Values(got)), want) {
		t.Fatalf("tenants %v, want %v", got, want)
	}
	for _, h := range []time.Duration{0, 0, time.Hour, 3 * time.Hour} {
		now = now.Add(h)
		if _, err := s.Write(ctx, "t", testBatch(now)); err != nil {
			t.Fatal(err)
		}
	}
	files, err := s.WindowFiles(ctx, "t", "2026-11-21T08")
	if err != nil || len(files) != 2 {
		t.Fatalf("window files %v, %v", files, err)
	}
}

func TestBlockMetaRoundTrip(t *testing.T) {
	m := &BlockMeta{ID: ulid.Make(), Tenant: "t", Window: "2026-11-21T08", Spans: 3, Inputs: []string{"t/ingest/x"}, Sizes: map[string]int64{BlockData: 10}}
	data, err := EncodeBlockMeta(m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeBlockMeta(data)
	if err != nil || got.ID != m.ID || got.Spans != 3 || got.Sizes[BlockData] != 10 {
		t.Fatalf("%+v, %v", got, err)
	}
	for _, bad := range []string{`{"format":"tracelake.block","version":2,"window":"2026-11-21T08"}`, `{"format":"x","version":1}`, `{`} {
		if _, err := DecodeBlockMeta([]byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

func testBatch(now time.Time) Batch {
	return NewBatch(tracegen.Telemetrygen(rand.New(rand.NewPCG(1, uint64(now.Unix()))), 1, 1, now))
}
