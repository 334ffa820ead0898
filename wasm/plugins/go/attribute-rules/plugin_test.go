package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/tracelake/tracelake/wasm/sdk"
	"github.com/tracelake/tracelake/wasm/sdk/sdktest"
)

const rulesConfig = `{
	"drop": [
		{"attribute": "http.route", "equals": "/health"},
		{"attribute": "url.path", "prefix": "/ready"},
		{"attribute": "http.route", "prefix": "/internal/"},
		{"attribute": "http.response.status_code", "equals": "404"},
		{"attribute": "synthetic", "equals": "true"}
	],
	"keep_if_error": true
}`

func TestConfig(t *testing.T) {
	for cfg, want := range map[string]string{
		``:                               "no drop rules",
		`{"drop": []}`:                   "no drop rules",
		`{"drop": [{"equals": "x"}]}`:    "drop[0]: attribute is required",
		`{"drop": [{"attribute": "a"}]}`: "drop[0]: want exactly one of equals and prefix",
		`{"drop": [{"attribute": "a", "equals": "x", "prefix": "y"}]}`: "want exactly one",
		`{"drop": [{"attribute": "a", "equals": 1}]}`:                  `drop[0].equals: want a string, got number`,
		`{"drop": [{"attribute": "a", "matches": "x"}]}`:               `drop[0]: unknown field "matches"`,
		`{"drop": {"attribute": "a"}}`:                                 `drop: want an array, got object`,
		`{"keep_if_error": "yes"}`:                                     `keep_if_error: want a bool`,
		rulesConfig:                                                    "",
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

func TestDecisions(t *testing.T) {
	if err := sdktest.Init(rulesConfig); err != nil {
		t.Fatal(err)
	}
	attrs := func(kv ...string) []sdktest.Attr {
		var as []sdktest.Attr
		for i := 0; i < len(kv); i += 2 {
			as = append(as, sdktest.Attr{Key: kv[i], Value: sdktest.Str(kv[i+1])})
		}
		return as
	}
	spans := []sdktest.Span{
		{Name: "0 health", Attrs: attrs("http.route", "/health")},
		{Name: "1 health and error", Attrs: attrs("http.route", "/health"), Status: sdk.StatusError},
		{Name: "2 not quite health", Attrs: attrs("http.route", "/healthz")},
		{Name: "3 ready prefix", Attrs: attrs("http.method", "GET", "url.path", "/ready/db")},
		{Name: "4 internal prefix", Attrs: attrs("http.route", "/internal/metrics")},
		{Name: "5 nothing matches", Attrs: attrs("http.route", "/cart", "url.path", "/cart?id=1")},
		{Name: "6 no attributes"},
		{Name: "7 int 404", Attrs: []sdktest.Attr{{Key: "http.response.status_code", Value: sdktest.Int(404)}}},
		{Name: "8 int 200", Attrs: []sdktest.Attr{{Key: "http.response.status_code", Value: sdktest.Int(200)}}},
		{Name: "9 bool", Attrs: []sdktest.Attr{{Key: "synthetic", Value: sdktest.Bool(true)}}},
		{Name: "10 first of duplicates counts", Attrs: attrs("http.route", "/cart", "http.route", "/health")},
	}
	res, err := sdktest.Run(sdktest.Batch{Spans: spans})
	if err != nil {
		t.Fatal(err)
	}
	var dropped []int
	for i, d := range res.Decisions {
		if d == sdk.Drop {
			dropped = append(dropped, i)
		}
	}
	if want := []int{0, 3, 4, 7, 9}; !slices.Equal(dropped, want) {
		t.Errorf("dropped %v, want %v", dropped, want)
	}
	if len(res.Edits) != 0 {
		t.Errorf("edits %v", res.Edits)
	}

	if err := sdktest.Init(`{"drop": [{"attribute": "http.route", "equals": "/health"}]}`); err != nil {
		t.Fatal(err)
	}
	res, err = sdktest.Run(sdktest.Batch{Spans: spans[:2]})
	if err != nil {
		t.Fatal(err)
	}
	if res.Decisions[1] != sdk.Drop {
		t.Error("without keep_if_error, a failed health check is dropped too")
	}
}

func BenchmarkDecide(b *testing.B) {
	if err := sdktest.Init(rulesConfig); err != nil {
		b.Fatal(err)
	}
	var batch sdktest.Batch
	for i := range 1024 {
		route := "/api/v1/items"
		if i%10 == 0 {
			route = "/health"
		}
		batch.Spans = append(batch.Spans, sdktest.Span{Attrs: []sdktest.Attr{
			{Key: "http.method", Value: sdktest.Str("GET")},
			{Key: "http.route", Value: sdktest.Str(route)},
			{Key: "url.path", Value: sdktest.Str(route + "?q=1")},
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
