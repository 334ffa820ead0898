package zipkinapi

import (
	"maps"
	"net/url"
	"slices"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.uber.org/goleak"

	"github.com/tracelake/tracelake/query/querytest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestParseAnnotationQuery(t *testing.T) {
	tests := []struct {
		in    string
		attrs map[string]string
		keys  []string
	}{
		{in: ""},
		{in: "error", keys: []string{"error"}},
		{in: "http.method=GET", attrs: map[string]string{"http.method": "GET"}},
		{
			in:    "http.method=GET and error and http.path=/x",
			attrs: map[string]string{"http.method": "GET", "http.path": "/x"},
			keys:  []string{"error"},
		},
		// Keys and values are trimmed, also around "=".
		{in: "  http.method = GET  and  error ", attrs: map[string]string{"http.method": "GET"}, keys: []string{"error"}},
		// Only " and " separates: no other case, no other spacing.
		{in: "a AND b", keys: []string{"a AND b"}},
		{in: "a\tand\tb", keys: []string{"a\tand\tb"}},
		{in: "a=x andb", attrs: map[string]string{"a": "x andb"}},
		// The value keeps every "=" after the first.
		{in: "q=a=b==c", attrs: map[string]string{"q": "a=b==c"}},
		{in: "url=http://x/?a=1&b=2 and k", attrs: map[string]string{"url": "http://x/?a=1&b=2"}, keys: []string{"k"}},
		// A later tag wins; a bare term does not replace a tag.
		{in: "a=1 and a=2", attrs: map[string]string{"a": "2"}},
		{in: "a=1 and a", attrs: map[string]string{"a": "1"}},
		{in: "a and a=1", attrs: map[string]string{"a": "1"}},
		{in: "a and b and a", keys: []string{"a", "b"}},
		// An empty value is a bare term, as in Zipkin's map.
		{in: "a= and b", keys: []string{"a", "b"}},
		// Empty keys are skipped.
		{in: "=x and  and error and ", keys: []string{"error"}},
		{in: " and "},
		// Non-ASCII.
		{in: "用户=张三 and 错误", attrs: map[string]string{"用户": "张三"}, keys: []string{"错误"}},
	}
	for _, tt := range tests {
		attrs, keys := parseAnnotationQuery(tt.in)
		if !maps.Equal(attrs, tt.attrs) || (attrs == nil) != (tt.attrs == nil) {
			t.Errorf("%q: attributes %v, want %v", tt.in, attrs, tt.attrs)
		}
		if !slices.Equal(keys, tt.keys) || (keys == nil) != (tt.keys == nil) {
			t.Errorf("%q: keys %q, want %q", tt.in, keys, tt.keys)
		}
	}
}

func TestParseAnnotationQueryTermLimit(t *testing.T) {
	// As Java's split(" and ", 100): the 100th term keeps the rest.
	in := ""
	for i := range 101 {
		if i > 0 {
			in += " and "
		}
		in += "k" + string(rune('A'+i%26)) + string(rune('a'+i/26))
	}
	_, keys := parseAnnotationQuery(in)
	if len(keys) != 100 || keys[99] != "kVd and kWd" {
		t.Errorf("%d keys, last %q", len(keys), keys[len(keys)-1])
	}
}

func TestParseTraceID(t *testing.T) {
	tests := []struct {
		in   string
		want string // 32 hex characters, or "" for an error
		zip  string // how Zipkin renders it
	}{
		{"463ac35c9f6413ad", "0000000000000000463ac35c9f6413ad", "463ac35c9f6413ad"},
		{"0000000000000000463ac35c9f6413ad", "0000000000000000463ac35c9f6413ad", "463ac35c9f6413ad"},
		{"4bf92f3577b34da6a3ce929d0e0e4736", "4bf92f3577b34da6a3ce929d0e0e4736", "4bf92f3577b34da6a3ce929d0e0e4736"},
		{"4BF92F3577B34DA6A3CE929D0E0E4736", "4bf92f3577b34da6a3ce929d0e0e4736", "4bf92f3577b34da6a3ce929d0e0e4736"},
		{"1", "00000000000000000000000000000001", "0000000000000001"},
		{"abcd", "0000000000000000000000000000abcd", "000000000000abcd"},
		// 17 to 31 characters pad to 128 bits.
		{"1463ac35c9f6413ad", "0000000000000001463ac35c9f6413ad", "0000000000000001463ac35c9f6413ad"},
		{" 463ac35c9f6413ad ", "0000000000000000463ac35c9f6413ad", "463ac35c9f6413ad"},
		{"", "", ""},
		{"   ", "", ""},
		{"0", "", ""},
		{"00000000000000000000000000000000", "", ""},
		{"4bf92f3577b34da6a3ce929d0e0e47360", "", ""},
		{"0x463ac35c9f6413ad", "", ""},
		{"0e8b46e1-81b", "", ""},
		{"ab cd", "", ""},
		{"日本", "", ""},
	}
	for _, tt := range tests {
		id, err := parseTraceID("traceId", tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("%q: accepted as %v", tt.in, id)
			}
			continue
		}
		if err != nil || id != querytest.TraceID(tt.want) {
			t.Errorf("%q: %v %v, want %s", tt.in, id, err, tt.want)
			continue
		}
		if got := zipkinTraceID(id); got != tt.zip {
			t.Errorf("%q: rendered %q, want %q", tt.in, got, tt.zip)
		}
	}
}

func TestParseTraceIDs(t *testing.T) {
	a := New(&querytest.Fake{}, Options{MaxLimit: 3})
	v := url.Values{"traceIds": {"463ac35c9f6413ad,ABCD,4bf92f3577b34da6a3ce929d0e0e4736"}}
	ids, err := a.parseTraceIDs(v)
	want := []pcommon.TraceID{zipkinID, querytest.TraceID("0000000000000000000000000000abcd"), otlpID}
	if err != nil || !slices.Equal(ids, want) {
		t.Errorf("got %v %v, want %v in the order given", ids, err, want)
	}
}

func TestParseTracesQueryBounds(t *testing.T) {
	a := New(&querytest.Fake{}, Options{Now: func() time.Time { return fixedNow }})
	// The latest endTs storage can represent, and the longest durations.
	req, err := a.parseTracesQuery(url.Values{
		"endTs":       {"9223372036853"},
		"lookback":    {"9223372036854775807"},
		"minDuration": {"9223372036854775"},
		"maxDuration": {"9223372036854775"},
	})
	if err != nil {
		t.Fatal(err)
	}
	q := req.query
	if !q.StartMin.Equal(time.Unix(0, 0)) || q.StartMax.UnixNano() != 9223372036853001000 {
		t.Errorf("window [%v, %v)", q.StartMin, q.StartMax)
	}
	if q.DurationMin != 9223372036854775*time.Microsecond || q.DurationMax != q.DurationMin {
		t.Errorf("durations %v %v", q.DurationMin, q.DurationMax)
	}
	// Empty values are absent values.
	req, err = a.parseTracesQuery(url.Values{"endTs": {""}, "limit": {""}, "lookback": {""}, "spanName": {""}, "annotationQuery": {""}})
	if err != nil || req.query.Limit != DefaultLimit || !req.query.StartMax.Equal(fixedNow.Add(time.Microsecond)) || req.query.Attributes != nil || req.query.AttributeKeys != nil {
		t.Errorf("empty parameters: %+v %v", req.query, err)
	}
}
