package aggregate

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/tracelake/tracelake/storage/spanfile"
)

// sample returns a varied aggregate: random traces over 30 minutes, a
// shared span, spans without service, non-ASCII names, and a span far in
// the past.
func sample(seed uint64, traces int) *Aggregate {
	rng := rand.New(rand.NewPCG(seed, seed))
	w := newWorld(6, 3)
	a := New()
	for _, tr := range w.traces(rng, traces, 10, t0, 30*time.Minute) {
		a.AddTrace(tr)
	}
	a.AddTrace([]spanfile.SpanInfo{
		span(1, 0, "gateway", client),
		span(1, 0, "個人情報", server),
		at(span(2, 0, "", internal), -1),
	})
	return a
}

func TestEncodeRoundTrip(t *testing.T) {
	for name, a := range map[string]*Aggregate{
		"empty":  New(),
		"small":  sample(1, 3),
		"larger": sample(2, 2000),
	} {
		t.Run(name, func(t *testing.T) {
			data, err := a.Encode()
			if err != nil {
				t.Fatal(err)
			}
			b, err := Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			if !b.equal(a) {
				t.Error("decoded aggregate differs")
			}
			again, _ := b.Encode()
			if !bytes.Equal(again, data) {
				t.Error("encoding is not deterministic")
			}
			if !a.Empty() {
				var ops, links int
				for _, op := range a.ops {
					ops += op.len()
				}
				for _, pair := range a.pairs {
					links += pair.len()
				}
				t.Logf("%d bytes for %d operation-minutes and %d link-minutes", len(data), ops, links)
			}
		})
	}
}

// payload returns the decompressed body of an encoding.
func payload(t testing.TB, data []byte) []byte {
	d, _ := zstd.NewReader(nil)
	defer d.Close()
	p, err := d.DecodeAll(data[5:], nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// wrap compresses a payload behind the header.
func wrap(p []byte) []byte {
	return encoder().EncodeAll(p, []byte(magic+"\x01"))
}

func TestDecodeRejects(t *testing.T) {
	good, _ := sample(3, 5).Encode()
	p := payload(t, good)
	uv := func(vs ...uint64) []byte {
		var b []byte
		for _, v := range vs {
			b = binary.AppendUvarint(b, v)
		}
		return b
	}
	// A minimal payload with one operation of one cell: width, strings
	// "a" "b", operation (a, b, kind 2) with one cell.
	op := func(cell ...byte) []byte {
		b := append(uv(60, 2, 1), 'a')
		b = append(append(b, uv(1)...), 'b')
		b = append(b, uv(1, 0, 1)...)
		b = append(b, 2) // kind
		b = append(b, uv(1)...)
		b = append(b, cell...)
		return b
	}
	cell := func(calls, errs uint64, bins ...uint64) []byte {
		b := binary.AppendVarint(nil, 100)
		b = append(b, uv(calls, errs, uint64(len(bins)/2))...)
		return append(b, uv(bins...)...)
	}
	valid := append(op(cell(3, 1, 5, 2, 1, 1)...), uv(0)...)
	if _, err := Decode(wrap(valid)); err != nil {
		t.Fatalf("the test's valid payload: %v", err)
	}
	tests := []struct {
		name, want string
		data       []byte
	}{
		{"empty", "bad magic", nil},
		{"other magic", "bad magic", []byte("PAR1\x01")},
		{"future version", "version 2", append([]byte(magic), 2)},
		{"not zstd", "decompress", append([]byte(magic+"\x01"), "hello"...)},
		{"truncated zstd", "decompress", good[:len(good)-3]},
		{"truncated payload", "truncated", wrap(p[:len(p)-1])},
		{"trailing bytes", "after the end", wrap(append(bytes.Clone(p), 0))},
		{"other bucket width", "bucket width 1 s", wrap(uv(1, 0, 0, 0))},
		{"string count too big", "cannot fit", wrap(uv(60, 1000))},
		{"unsorted strings", "sorted and unique", wrap(append(append(uv(60, 2, 1), 'b'), append(uv(1), 'a')...))},
		{"string index out of range", "out of range", wrap(append(append(uv(60, 1, 1), 'a'), uv(1, 5)...))},
		{"unknown kind", "span kind 9", wrap(append(append(uv(60, 1, 1), 'a'), append(uv(1, 0, 0), 9)...))},
		{"no calls", "a cell has calls", wrap(op(cell(0, 0, 5, 1)...))},
		{"more errors than calls", "no more errors than calls", wrap(op(cell(1, 2, 5, 1)...))},
		{"no bins", "1 to 3712", wrap(op(cell(1, 0)...))},
		{"bins not increasing", "bins must increase", wrap(op(cell(2, 0, 5, 1, 0, 1)...))},
		{"bin out of range", "out of range", wrap(op(cell(1, 0, 5000, 1)...))},
		{"zero bin count", "not in [1", wrap(op(cell(1, 0, 5, 0)...))},
		{"bins count more than calls", "more durations", wrap(op(cell(1, 0, 5, 2)...))},
		{"varint overflow", "overflows", wrap(append(uv(60), bytes.Repeat([]byte{0xff}, 11)...))},
		{"link to itself", "to itself", wrap(append(append(uv(60, 1, 1), 'a'), uv(0, 1, 0, 0)...))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(tt.data)
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want ErrFormat mentioning %q", err, tt.want)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	for _, a := range []*Aggregate{New(), sample(4, 1), sample(5, 20)} {
		data, _ := a.Encode()
		f.Add(data)
	}
	f.Add([]byte(magic + "\x01"))
	f.Add(wrap(nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := Decode(data)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error %v does not wrap ErrFormat", err)
			}
			return
		}
		// What decodes is canonical: it encodes and decodes to itself.
		again, err := a.Encode()
		if err != nil {
			t.Fatal(err)
		}
		b, err := Decode(again)
		if err != nil {
			t.Fatalf("re-encoding does not decode: %v", err)
		}
		if !b.equal(a) {
			t.Fatal("re-encoding changed the counts")
		}
		_ = a.Links(0, 1<<62)
	})
}

// TestFormatExample checks the example of FORMAT.md byte for byte.
func TestFormatExample(t *testing.T) {
	a := New()
	s := span(1, 0, "api", server)
	s.Name = "GET /"
	s.Start = t0 + int64(30*time.Second)
	s.Duration = int64(time.Millisecond)
	a.AddTrace([]spanfile.SpanInfo{s})
	data, err := a.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if string(data[:5]) != "TLAG\x01" {
		t.Errorf("header %q", data[:5])
	}
	want := "3c 02 05 47 45 54 20 2f 03 61 70 69 01 01 00 02 01 e0 f1 95 1c 01 00 01 ba 07 01 00"
	if got := fmt.Sprintf("% x", payload(t, data)); got != want {
		t.Errorf("payload\n got %s\nwant %s (FORMAT.md)", got, want)
	}
}
