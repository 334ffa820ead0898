package otlp

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.uber.org/goleak"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/tracelake/tracelake/functions/pipeline"
	"github.com/tracelake/tracelake/storage/tracegen"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeConsumer records what reaches the pipeline and answers as told.
type fakeConsumer struct {
	mu      sync.Mutex
	tenants []string
	spans   int
	result  pipeline.Result
	err     error
}

func (f *fakeConsumer) Consume(_ context.Context, protocol, tenant string, td ptrace.Traces) (pipeline.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tenants = append(f.tenants, protocol+"/"+tenant)
	f.spans += td.SpanCount()
	if f.err != nil {
		return pipeline.Result{}, f.err
	}
	r := f.result
	if r.Accepted == 0 && r.Rejected == 0 {
		r.Accepted = td.SpanCount()
	}
	return r, nil
}

var testConfig = Config{MaxRequestBytes: 64 << 10, TenantHeader: "X-Scope-OrgID", DefaultTenant: "single-tenant"}

func logger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func sampleRequest(t *testing.T, spans int) ptraceotlp.ExportRequest {
	t.Helper()
	return ptraceotlp.NewExportRequestFromTraces(tracegen.Telemetrygen(rand.New(rand.NewPCG(1, 1)), spans/2, 1, time.Now()))
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func zst(b []byte) []byte {
	e, _ := zstd.NewWriter(nil)
	defer e.Close()
	return e.EncodeAll(b, nil)
}

func TestHTTP(t *testing.T) {
	req := sampleRequest(t, 10)
	pb, _ := req.MarshalProto()
	js, _ := req.MarshalJSON()
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
		wantType    string
		wantMsg     string // in the Status message
		wantRetry   bool
		wantPartial int64
	}{
		{name: "protobuf", body: pb, wantStatus: 200, wantType: contentTypeProto},
		{name: "json", ctype: "application/json", body: js, wantStatus: 200, wantType: contentTypeJSON},
		{name: "json with charset", ctype: "application/json; charset=utf-8", body: js, wantStatus: 200, wantType: contentTypeJSON},
		{name: "gzip", encoding: "gzip", body: gz(pb), wantStatus: 200},
		{name: "zstd", encoding: "zstd", body: zst(pb), wantStatus: 200},
		{name: "empty request is a success", body: nil, wantStatus: 200},
		{name: "partial success", body: pb, result: pipeline.Result{Accepted: 8, Rejected: 2, RejectMessage: "2 spans rejected"}, wantStatus: 200, wantPartial: 2},
		{name: "wrong method", method: http.MethodGet, wantStatus: 405, wantMsg: "use POST"},
		{name: "wrong content type", ctype: "text/plain", body: pb, wantStatus: 415, wantMsg: "Content-Type"},
		{name: "unknown encoding", encoding: "br", body: pb, wantStatus: 415, wantMsg: "Content-Encoding"},
		{name: "bad gzip", encoding: "gzip", body: []byte("not gzip"), wantStatus: 400, wantMsg: "gzip"},
		{name: "truncated gzip", encoding: "gzip", body: gz(pb)[:20], wantStatus: 400, wantMsg: "gzip"},
		{name: "bad protobuf", body: []byte{0xff, 0xff, 0xff}, wantStatus: 400, wantMsg: "not a valid OTLP"},
		{name: "bad json", ctype: "application/json", body: []byte(`{"resourceSpans": 7}`), wantStatus: 400, wantType: contentTypeJSON, wantMsg: "not a valid OTLP"},
		{name: "too large", body: make([]byte, 65<<10), wantStatus: 413, wantMsg: "limit"},
		{name: "gzip bomb", encoding: "gzip", body: bomb, wantStatus: 413, wantMsg: "decompressed"},
		{name: "bad tenant", tenant: "../etc", body: pb, wantStatus: 400, wantMsg: "X-Scope-OrgID"},
		{name: "overloaded", body: pb, consumerErr: pipeline.ErrOverloaded, wantStatus: 429, wantRetry: true},
		{name: "storage down", body: pb, consumerErr: errors.Join(pipeline.ErrUnavailable, errors.New("s3 said 500")), wantStatus: 503, wantRetry: true},
		{name: "storage down, json", ctype: "application/json", body: js, consumerErr: pipeline.ErrUnavailable, wantStatus: 503, wantType: contentTypeJSON, wantRetry: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fc := &fakeConsumer{err: tc.consumerErr, result: tc.result}
			h := NewHTTPHandler(testConfig, fc, logger())
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			r := httptest.NewRequest(method, "/v1/traces", bytes.NewReader(tc.body))
			ctype := tc.ctype
			if ctype == "" {
				ctype = contentTypeProto
			}
			r.Header.Set("Content-Type", ctype)
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
			gotType := w.Header().Get("Content-Type")
			if tc.wantType != "" && gotType != tc.wantType {
				t.Errorf("Content-Type %q, want %q", gotType, tc.wantType)
			}
			if tc.wantRetry != (w.Header().Get("Retry-After") != "") {
				t.Errorf("Retry-After = %q", w.Header().Get("Retry-After"))
			}
			if w.Code != 200 {
				st := &spb.Status{}
				var err error
				if gotType == contentTypeJSON {
					err = protojson.Unmarshal(w.Body.Bytes(), st)
				} else {
					err = proto.Unmarshal(w.Body.Bytes(), st)
				}
				if err != nil {
					t.Fatalf("error body is not a google.rpc.Status in %s: %v", gotType, err)
				}
				if !strings.Contains(st.Message, tc.wantMsg) {
					t.Errorf("Status message %q does not mention %q", st.Message, tc.wantMsg)
				}
				return
			}
			resp := ptraceotlp.NewExportResponse()
			var err error
			if gotType == contentTypeJSON {
				err = resp.UnmarshalJSON(w.Body.Bytes())
			} else {
				err = resp.UnmarshalProto(w.Body.Bytes())
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := resp.PartialSuccess().RejectedSpans(); got != tc.wantPartial {
				t.Errorf("rejected_spans = %d, want %d", got, tc.wantPartial)
			}
			if tc.wantPartial == 0 && resp.PartialSuccess().ErrorMessage() != "" {
				t.Errorf("full success carries an error message %q", resp.PartialSuccess().ErrorMessage())
			}
			if tc.wantPartial > 0 && resp.PartialSuccess().ErrorMessage() == "" {
				t.Error("partial success without an error message")
			}
		})
	}
}

func TestHTTPTenantHeader(t *testing.T) {
	fc := &fakeConsumer{}
	h := NewHTTPHandler(testConfig, fc, logger())
	pb, _ := sampleRequest(t, 2).MarshalProto()
	for _, tenant := range []string{"", "acme"} {
		r := httptest.NewRequest(http.MethodPost, "/v1/traces", bytes.NewReader(pb))
		r.Header.Set("Content-Type", contentTypeProto)
		if tenant != "" {
			r.Header.Set("X-Scope-OrgID", tenant)
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	if strings.Join(fc.tenants, ",") != "otlp_http/single-tenant,otlp_http/acme" {
		t.Fatalf("tenants seen: %v", fc.tenants)
	}
}

func startGRPC(t *testing.T, fc pipeline.Consumer) ptraceotlp.GRPCClient {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	svc := NewGRPCService(testConfig, fc, logger())
	srv := grpc.NewServer(svc.ServerOptions()...)
	svc.Register(srv)
	go srv.Serve(lis)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		srv.Stop()
	})
	return ptraceotlp.NewGRPCClient(conn)
}

func TestGRPC(t *testing.T) {
	req := sampleRequest(t, 10)
	tests := []struct {
		name        string
		tenant      string
		req         ptraceotlp.ExportRequest
		err         error
		result      pipeline.Result
		wantCode    codes.Code
		wantRetry   bool
		wantPartial int64
	}{
		{name: "ok", req: req, wantCode: codes.OK},
		{name: "empty", req: ptraceotlp.NewExportRequest(), wantCode: codes.OK},
		{name: "partial", req: req, result: pipeline.Result{Accepted: 9, Rejected: 1, RejectMessage: "1 span rejected"}, wantCode: codes.OK, wantPartial: 1},
		{name: "bad tenant", tenant: "a/b", req: req, wantCode: codes.InvalidArgument},
		{name: "overloaded", req: req, err: pipeline.ErrOverloaded, wantCode: codes.ResourceExhausted, wantRetry: true},
		{name: "storage down", req: req, err: pipeline.ErrUnavailable, wantCode: codes.Unavailable, wantRetry: true},
		{name: "too large", req: sampleRequest(t, 2000), wantCode: codes.ResourceExhausted},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fc := &fakeConsumer{err: tc.err, result: tc.result}
			client := startGRPC(t, fc)
			ctx := context.Background()
			if tc.tenant != "" {
				ctx = metadata.AppendToOutgoingContext(ctx, "x-scope-orgid", tc.tenant)
			}
			resp, err := client.Export(ctx, tc.req)
			st := status.Convert(err)
			if st.Code() != tc.wantCode {
				t.Fatalf("code %s (%s), want %s", st.Code(), st.Message(), tc.wantCode)
			}
			hasRetry := false
			for _, d := range st.Details() {
				if _, ok := d.(*errdetails.RetryInfo); ok {
					hasRetry = true
				}
			}
			if hasRetry != tc.wantRetry {
				t.Errorf("RetryInfo present = %v, want %v", hasRetry, tc.wantRetry)
			}
			if err == nil && resp.PartialSuccess().RejectedSpans() != tc.wantPartial {
				t.Errorf("rejected_spans = %d, want %d", resp.PartialSuccess().RejectedSpans(), tc.wantPartial)
			}
		})
	}
}

// FuzzHTTPBody: any body must get 200, 400 or 413, never a panic or a 5xx.
func FuzzHTTPBody(f *testing.F) {
	req := ptraceotlp.NewExportRequestFromTraces(tracegen.Random(rand.New(rand.NewPCG(1, 1)), 1, 1, 3))
	pb, _ := req.MarshalProto()
	js, _ := req.MarshalJSON()
	f.Add(pb, false, false)
	f.Add(js, true, false)
	f.Add(gz(pb), false, true)
	f.Fuzz(func(t *testing.T, body []byte, isJSON, isGzip bool) {
		h := NewHTTPHandler(testConfig, &fakeConsumer{}, logger())
		r := httptest.NewRequest(http.MethodPost, "/v1/traces", bytes.NewReader(body))
		if isJSON {
			r.Header.Set("Content-Type", contentTypeJSON)
		} else {
			r.Header.Set("Content-Type", contentTypeProto)
		}
		if isGzip {
			r.Header.Set("Content-Encoding", "gzip")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 200 && w.Code != 400 && w.Code != 413 {
			t.Fatalf("status %d for body %q", w.Code, body)
		}
	})
}
