package jaeger

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	tjaeger "github.com/jaegertracing/jaeger-idl/thrift-gen/jaeger"

	"github.com/tracelake/tracelake/functions/pipeline"
)

// TestHTTPFixtureArrivesIntact posts the fixture over a real HTTP
// connection as jaeger-client-go's HTTP transport did.
func TestHTTPFixtureArrivesIntact(t *testing.T) {
	fc := &fakeConsumer{}
	mux := http.NewServeMux()
	NewHTTPHandler(testConfig, fc, discardLogger()).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	req, err := http.NewRequest(http.MethodPost, srv.URL+"/api/traces", bytes.NewReader(thriftBody(t, thriftBatch())))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-thrift")
	req.Header.Set("X-Scope-OrgID", "acme")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	srv.Client().CloseIdleConnections()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d, want 202", resp.StatusCode)
	}
	calls := fc.seen()
	if len(calls) != 1 || calls[0].protocol != ProtocolThriftHTTP || calls[0].tenant != "acme" {
		t.Fatalf("calls %+v", calls)
	}
	checkFixture(t, calls[0].td)
}

// hugeList is a binary-protocol Batch whose spans list declares n
// elements and holds none: Thrift's DoS shape, a few bytes that ask for
// a huge allocation.
func hugeList(n int32) []byte {
	var b bytes.Buffer
	b.Write([]byte{12, 0, 1})                   // field 1 process: struct
	b.Write([]byte{11, 0, 1, 0, 0, 0, 3})       // field 1 serviceName: string of 3
	b.WriteString("svc")                        //
	b.WriteByte(0)                              // end of process
	b.Write([]byte{15, 0, 2, 12})               // field 2 spans: list of structs
	binary.Write(&b, binary.BigEndian, n)       // declared length
	b.Write([]byte{10, 0, 1, 0, 0, 0, 0, 0, 0}) // the start of one span
	return b.Bytes()
}

// hugeTags is a valid span list of one span whose tags declare n elements.
func hugeTags(n int32) []byte {
	var b bytes.Buffer
	b.Write([]byte{12, 0, 1, 11, 0, 1, 0, 0, 0, 3})
	b.WriteString("svc")
	b.WriteByte(0)
	b.Write([]byte{15, 0, 2, 12, 0, 0, 0, 1}) // one span
	b.Write([]byte{15, 0, 10, 12})            // its field 10 tags: list of structs
	binary.Write(&b, binary.BigEndian, n)
	return b.Bytes()
}

func TestHTTP(t *testing.T) {
	body := thriftBody(t, thriftBatch())
	bomb := gz(bytes.Repeat([]byte{0}, 10<<20))
	tests := []struct {
		name        string
		method      string
		ctype       string
		encoding    string
		tenant      string
		body        []byte
		consumerErr error
		result      pipeline.Result
		wantStatus  int
		wantMsg     string
		wantRetry   bool
		wantCalls   int
	}{
		{name: "x-thrift", body: body, wantStatus: 202, wantCalls: 1},
		{name: "vnd.apache.thrift.binary", ctype: "application/vnd.apache.thrift.binary", body: body, wantStatus: 202, wantCalls: 1},
		{name: "media type parameters", ctype: "application/x-thrift; charset=binary", body: body, wantStatus: 202, wantCalls: 1},
		{name: "gzip", encoding: "gzip", body: gz(body), wantStatus: 202, wantCalls: 1},
		{name: "batch without spans", body: thriftBody(t, &tjaeger.Batch{Process: &tjaeger.Process{ServiceName: "svc"}, Spans: []*tjaeger.Span{}}), wantStatus: 202, wantCalls: 1},
		{name: "rejected spans", body: body, result: pipeline.Result{Accepted: 3, Rejected: 1, RejectMessage: `1 span rejected: span "publish" (resource_spans[0].scope_spans[0].spans[2]): trace_id is empty or all zeros`},
			wantStatus: 400, wantMsg: `span "publish"`, wantCalls: 1},
		{name: "wrong method", method: http.MethodGet, wantStatus: 405, wantMsg: "use POST"},
		{name: "wrong content type", ctype: "application/json", body: body, wantStatus: 415, wantMsg: "application/x-thrift"},
		{name: "no content type", ctype: "-", body: body, wantStatus: 415, wantMsg: "Content-Type"},
		{name: "unknown encoding", encoding: "br", body: body, wantStatus: 415, wantMsg: "Content-Encoding"},
		{name: "bad gzip", encoding: "gzip", body: []byte("not gzip"), wantStatus: 400, wantMsg: "gzip"},
		{name: "empty body", body: nil, wantStatus: 400, wantMsg: "not a Thrift binary-protocol jaeger.Batch"},
		{name: "truncated thrift", body: body[:len(body)/2], wantStatus: 400, wantMsg: "not a Thrift binary-protocol jaeger.Batch"},
		{name: "compact instead of binary", body: emitBatchDatagram(t, Compact, thriftBatch()), wantStatus: 400, wantMsg: "jaeger.Batch"},
		{name: "missing required fields", body: thriftBody(t, &tjaeger.Batch{}), wantStatus: 400, wantMsg: "jaeger.Batch"},
		{name: "huge list length", body: hugeList(100_000_000), wantStatus: 400, wantMsg: "size exceeded"},
		{name: "maximal list length", body: hugeList(1<<31 - 1), wantStatus: 400, wantMsg: "size exceeded"},
		{name: "huge nested list length", body: hugeTags(50_000_000), wantStatus: 400, wantMsg: "size exceeded"},
		{name: "too large", body: make([]byte, 65<<10), wantStatus: 413, wantMsg: "limit"},
		{name: "gzip bomb", encoding: "gzip", body: bomb, wantStatus: 413, wantMsg: "decompressed"},
		{name: "bad tenant", tenant: "../etc", body: body, wantStatus: 400, wantMsg: "X-Scope-OrgID"},
		{name: "overloaded", body: body, consumerErr: pipeline.ErrOverloaded, wantStatus: 429, wantRetry: true, wantCalls: 1},
		{name: "storage down", body: body, consumerErr: errors.Join(pipeline.ErrUnavailable, errors.New("s3 said 500")), wantStatus: 503, wantRetry: true, wantCalls: 1},
		{name: "too many spans", body: body, consumerErr: &pipeline.LimitError{What: "spans in the request", Value: 4, Limit: 3}, wantStatus: 413, wantMsg: "limit", wantCalls: 1},
		{name: "pipeline bug", body: body, consumerErr: errors.New("bug"), wantStatus: 500, wantMsg: "internal error", wantCalls: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fc := &fakeConsumer{err: tc.consumerErr, result: tc.result}
			h := NewHTTPHandler(testConfig, fc, discardLogger())
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			r := httptest.NewRequest(method, "/api/traces", bytes.NewReader(tc.body))
			switch tc.ctype {
			case "":
				r.Header.Set("Content-Type", contentTypeThrift)
			case "-":
			default:
				r.Header.Set("Content-Type", tc.ctype)
			}
			if tc.encoding != "" {
				r.Header.Set("Content-Encoding", tc.encoding)
			}
			if tc.tenant != "" {
				r.Header.Set("X-Scope-OrgID", tc.tenant)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.wantStatus {
				t.Fatalf("status %d, want %d; body %q", w.Code, tc.wantStatus, w.Body.String())
			}
			if !strings.Contains(w.Body.String(), tc.wantMsg) {
				t.Errorf("body %q does not mention %q", w.Body.String(), tc.wantMsg)
			}
			if tc.wantRetry != (w.Header().Get("Retry-After") != "") {
				t.Errorf("Retry-After = %q", w.Header().Get("Retry-After"))
			}
			if tc.wantStatus == 405 && w.Header().Get("Allow") != http.MethodPost {
				t.Errorf("Allow = %q", w.Header().Get("Allow"))
			}
			if got := len(fc.seen()); got != tc.wantCalls {
				t.Errorf("%d Consume calls, want %d", got, tc.wantCalls)
			}
		})
	}
}

// TestHTTPHugeListsDoNotAllocate: declared lengths are checked against
// the body's length before Thrift allocates for them. With Thrift's
// default limit (100 MiB) the first body would allocate 800 MB.
func TestHTTPHugeListsDoNotAllocate(t *testing.T) {
	h := NewHTTPHandler(testConfig, &fakeConsumer{}, discardLogger())
	for _, body := range [][]byte{hugeList(100_000_000), hugeList(1<<31 - 1), hugeTags(12_000_000)} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		r := httptest.NewRequest(http.MethodPost, "/api/traces", bytes.NewReader(body))
		r.Header.Set("Content-Type", contentTypeThrift)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		runtime.ReadMemStats(&after)
		if w.Code != 400 {
			t.Errorf("status %d, want 400", w.Code)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
			t.Errorf("a %d-byte body allocated %d bytes", len(body), alloc)
		}
	}
}

func TestHTTPTenantHeader(t *testing.T) {
	fc := &fakeConsumer{}
	h := NewHTTPHandler(testConfig, fc, discardLogger())
	body := thriftBody(t, minimalThriftBatch())
	for _, tenant := range []string{"", "acme"} {
		r := httptest.NewRequest(http.MethodPost, "/api/traces", bytes.NewReader(body))
		r.Header.Set("Content-Type", contentTypeThrift)
		if tenant != "" {
			r.Header.Set("X-Scope-OrgID", tenant)
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	var got []string
	for _, c := range fc.seen() {
		got = append(got, c.protocol+"/"+c.tenant)
	}
	if strings.Join(got, ",") != "jaeger_thrift_http/single-tenant,jaeger_thrift_http/acme" {
		t.Fatalf("tenants seen: %v", got)
	}
}
