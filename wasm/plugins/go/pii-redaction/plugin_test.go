package main

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/tracelake/tracelake/wasm/sdk"
	"github.com/tracelake/tracelake/wasm/sdk/sdktest"
)

func TestRedact(t *testing.T) {
	const R = "[REDACTED]"
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"nothing to see", ""},
		{"bob@example.com", R},
		{"mail Bob.Smith+tag@mail.example.co.uk, now.", "mail " + R + ", now."},
		{"user=bob@example.com&x=1", "user=" + R + "&x=1"},
		{"end of sentence a@b.io.", "end of sentence " + R + "."},
		{"two: a@b.io c@d.io", "two: " + R + " " + R},
		{"not an address: a@b", ""},
		{"not an address: @example.com", ""},
		{"not an address: a@example.c", ""},
		{"not an address: a@ex..com", ""},
		{"not an address: a@example.c0m", ""},
		{"@@@", ""},
		{"card 4111111111111111 ok", "card " + R + " ok"},
		{"card 4111 1111 1111 1111", "card " + R},
		{"card 4111-1111-1111-1111.", "card " + R + "."},
		{"amex 378282246310005", "amex " + R},
		{"luhn fails 4111111111111112", ""},
		{"too short 411111111111", ""},
		{"too long 41111111111111111111111", ""},
		{"starts with 1: 1700000000000000003", ""}, // a timestamp, Luhn-valid
		{"glued x4111111111111111", ""},
		{"glued 4111111111111111x", ""},
		{"double space 4111  1111 1111 1111", ""},
		{"Authorization: Bearer eyJhbGciOi.J9.abc-_~+/==", "Authorization: Bearer " + R},
		{"bearer   abcdefgh1234", "bearer   " + R},
		{"BEARER abcdefgh", "BEARER " + R},
		{"the bearer of bad news", ""},
		{"bearer short", ""},
		{"unbearer abcdefghijkl", ""},
		{"Bearer", ""},
		{"all: a@b.io, 5555555555554444, Bearer 0123456789abcdef", "all: " + R + ", " + R + ", Bearer " + R},
		{"earer then bearer abcdefghij", "earer then bearer " + R},
		{"xbearer abcdefghij, Bearer abcdefghij", "xbearer abcdefghij, Bearer " + R},
		{"a@b@c.io and d@e.io", "a@" + R + " and " + R},
	} {
		out, found := redact([]byte("prefix:"), tc.in, R, detectAll)
		got := ""
		if found {
			if !strings.HasPrefix(string(out), "prefix:") {
				t.Errorf("%q: dst clobbered: %q", tc.in, out)
			}
			got = strings.TrimPrefix(string(out), "prefix:")
		} else if string(out) != "prefix:" {
			t.Errorf("%q: nothing found but dst changed to %q", tc.in, out)
		}
		if got != tc.want {
			t.Errorf("redact(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if _, found := redact(nil, "a@b.io 4111111111111111", "x", detectBearer); found {
		t.Error("disabled detectors ran")
	}
	if out, _ := redact(nil, "a@b.io 4111111111111111", "x", detectCard); string(out) != "a@b.io x" {
		t.Errorf("card only: %q", out)
	}
}

func TestCountDigits(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for range 1000 {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			b[i] = byte(rng.IntN(256))
			if rng.IntN(3) == 0 {
				b[i] = byte('0' + rng.IntN(10))
			}
		}
		want := 0
		for _, c := range b {
			if '0' <= c && c <= '9' {
				want++
			}
		}
		if got := countDigits(string(b)); got != want {
			t.Fatalf("countDigits(%q) = %d, want %d", b, got, want)
		}
	}
}

// slowRedact is redact without the fast paths: every byte a candidate.
func slowRedact(s, repl string) string {
	out, found := redact(nil, s, repl, detectAll|slowPath)
	if !found {
		return ""
	}
	return string(out)
}

func FuzzRedact(f *testing.F) {
	for _, s := range []string{"a@b.io", "4111 1111 1111 1111", "Bearer abcdefghij", "x@y@z.com 5555-5555-5555-4444"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, found := redact(nil, s, "[REDACTED]", detectAll)
		if !found && len(out) != 0 {
			t.Fatalf("nothing found, output %q", out)
		}
		got := ""
		if found {
			got = string(out)
		}
		if want := slowRedact(s, "[REDACTED]"); got != want {
			t.Fatalf("redact(%q) = %q; byte by byte: %q", s, got, want)
		}
		if found && !strings.Contains(string(out), "[REDACTED]") {
			t.Fatalf("found, but %q has no replacement", out)
		}
	})
}

func TestConfig(t *testing.T) {
	for cfg, want := range map[string]string{
		``: "",
		`{"replacement": "***", "detect": ["email"]}`: "",
		`{"detect": ["ssn"]}`:                         `unknown detector "ssn"`,
		`{"keys": {"allow": ["a"], "deny": ["a"]}}`:   `"a" is both allowed and denied`,
		`{"keys": {"block": ["a"]}}`:                  `keys: unknown field "block"`,
		`{"keys": {"allow": "a"}}`:                    `keys.allow: want an array`,
		`{"replacement": 1}`:                          `replacement: want a string`,
	} {
		err := sdktest.Init(cfg)
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("config %s: error %v, want %q", cfg, err, want)
		}
	}
	if f := sdk.Registered().Features(); f != sdk.SpanAttributes {
		t.Errorf("features %b, want span attributes", f)
	}
}

func TestSpans(t *testing.T) {
	if err := sdktest.Init(`{"replacement": "<pii>", "keys": {"allow": ["http.route"], "deny": ["enduser.id"]}}`); err != nil {
		t.Fatal(err)
	}
	str := sdktest.Str
	res, err := sdktest.Run(sdktest.Batch{Spans: []sdktest.Span{
		{Attrs: []sdktest.Attr{
			{Key: "url.full", Value: str("https://x.io/u?email=bob@example.com")},
			{Key: "http.route", Value: str("/u/bob@example.com")}, // allowed
			{Key: "enduser.id", Value: sdktest.Int(42)},           // denied: any type
			{Key: "http.request.header.authorization", Value: str("Basic dXNlcjpwYXNz")},
			{Key: "Proxy-Authorization", Value: str("<pii>")}, // already redacted
			{Key: "db.statement", Value: str("SELECT 1")},
			{Key: "tags", Value: sdktest.Array(str("bob@example.com"))}, // not scanned
		}},
		{},
		{Attrs: []sdktest.Attr{{Key: "payment", Value: str("paid with 4111-1111-1111-1111")}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{0, 1, 2}; !slices.Equal(res.Kept(), want) {
		t.Errorf("kept %v: the plugin keeps everything", res.Kept())
	}
	want := []sdktest.Edit{
		{Span: 0, Op: sdktest.OpSetAttr, Key: "url.full", Value: "https://x.io/u?email=<pii>"},
		{Span: 0, Op: sdktest.OpSetAttr, Key: "enduser.id", Value: "<pii>"},
		{Span: 0, Op: sdktest.OpSetAttr, Key: "http.request.header.authorization", Value: "<pii>"},
		{Span: 2, Op: sdktest.OpSetAttr, Key: "payment", Value: "paid with <pii>"},
	}
	if !slices.Equal(res.Edits, want) {
		t.Errorf("edits\n got %+v\nwant %+v", res.Edits, want)
	}
}

func BenchmarkRedactSpan(b *testing.B) {
	if err := sdktest.Init(``); err != nil {
		b.Fatal(err)
	}
	var batch sdktest.Batch
	for i := range 1024 {
		path := "/api/v1/items/12345?page=2&sort=name"
		if i%50 == 0 {
			path = "/api/v1/users?email=bob@example.com"
		}
		batch.Spans = append(batch.Spans, sdktest.Span{Attrs: []sdktest.Attr{
			{Key: "http.request.method", Value: sdktest.Str("GET")},
			{Key: "http.route", Value: sdktest.Str("/api/v1/items/{id}")},
			{Key: "url.full", Value: sdktest.Str("https://shop.example.com" + path)},
			{Key: "user_agent.original", Value: sdktest.Str("Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0")},
			{Key: "http.response.status_code", Value: sdktest.Int(200)},
		}})
	}
	batch.Contents = sdk.SpanAttributes
	buf := batch.Encode()
	p := sdk.Registered()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := p.Sample(buf); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1024, "ns/span")
}
