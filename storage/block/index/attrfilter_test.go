package index

import (
	"bytes"
	"fmt"
	"testing"
)

// What was added is always found; what was not is mostly not; the file
// round-trips, and damaged files give errors, never panics.
func TestAttrFilter(t *testing.T) {
	b := NewAttrFilterBuilder(3)
	for i := range 2000 {
		b.Pair(i%2, []byte("user.id"), []byte(fmt.Sprintf("user-%d", i)))
	}
	b.Key(0, []byte("user.id"))
	b.Key(2, []byte("exception"))
	b.Pair(2, []byte("a"), nil)
	var buf bytes.Buffer
	if err := b.Write(&buf); err != nil {
		t.Fatal(err)
	}
	f, err := ReadAttrFilter(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if f.Groups() != 3 {
		t.Fatalf("%d groups", f.Groups())
	}
	falsePositives := 0
	for i := range 2000 {
		v := fmt.Sprintf("user-%d", i)
		if !f.MayHavePair(i%2, "user.id", v) {
			t.Fatalf("group %d lost user.id=%s", i%2, v)
		}
		if f.MayHavePair(1-i%2, "user.id", v) {
			falsePositives++
		}
		if f.MayHavePair(2, "user.id", v) {
			t.Fatalf("group 2 (an empty-ish filter) claims user.id=%s", v)
		}
	}
	if falsePositives > 60 { // ~1 % expected of 2000
		t.Errorf("%d false positives of 2000", falsePositives)
	}
	if !f.MayHaveKey(0, "user.id") || !f.MayHaveKey(2, "exception") || !f.MayHavePair(2, "a", "") {
		t.Error("a key or an empty value was lost")
	}
	if f.MayHaveKey(2, "user.id") && f.MayHaveKey(2, "user.name") && f.MayHaveKey(2, "x") {
		t.Error("group 2 claims every key")
	}
	data := buf.Bytes()
	for n := 0; n < len(data); n += 7 {
		if _, err := ReadAttrFilter(data[:n]); err == nil {
			t.Fatalf("a filter cut to %d of %d bytes was read", n, len(data))
		}
	}
	bad := bytes.Clone(data)
	bad[8] = 0xff // claims many more row groups
	if _, err := ReadAttrFilter(bad); err == nil {
		t.Fatal("a filter claiming more groups than it holds was read")
	}
	bad = bytes.Clone(data)
	bad[4] = 2
	if _, err := ReadAttrFilter(bad); err == nil {
		t.Fatal("version 2 was read")
	}
}

func FuzzReadAttrFilter(f *testing.F) {
	b := NewAttrFilterBuilder(2)
	b.Pair(0, []byte("k"), []byte("v"))
	var buf bytes.Buffer
	if err := b.Write(&buf); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		af, err := ReadAttrFilter(data)
		if err != nil {
			return
		}
		for g := range af.Groups() {
			af.MayHavePair(g, "k", "v")
			af.MayHaveKey(g, "k")
		}
	})
}
