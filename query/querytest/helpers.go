package querytest

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// Get sends h a GET for target with optional header key/value pairs and
// returns the answer.
func Get(t testing.TB, h http.Handler, target string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Add(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// CompactJSON returns b without insignificant white space, failing t when
// b is not JSON.
func CompactJSON(t testing.TB, b []byte) string {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	return buf.String()
}

// TraceID decodes 32 hex digits, for fixtures; it panics on anything else.
func TraceID(s string) pcommon.TraceID {
	var id pcommon.TraceID
	mustDecode(id[:], s)
	return id
}

// SpanID decodes 16 hex digits, for fixtures; it panics on anything else.
func SpanID(s string) pcommon.SpanID {
	var id pcommon.SpanID
	mustDecode(id[:], s)
	return id
}

func mustDecode(dst []byte, s string) {
	if n, err := hex.Decode(dst, []byte(s)); err != nil || n != len(dst) {
		panic("querytest: " + strconv.Quote(s) + " is not " + strconv.Itoa(2*len(dst)) + " hex digits")
	}
}
