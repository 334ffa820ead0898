package main

// End-to-end tests of the Lambda mode: the tracelake binary, built as a
// Lambda package's bootstrap (-tags lambda.norpc), runs as each role's
// function under lambdalocal's emulation of the Runtime API, behind a
// Function URL front end, on a real MinIO. Spans go in with the real
// clients' encodings and come back out through the query function.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	zmodel "github.com/openzipkin/zipkin-go/model"
	"github.com/openzipkin/zipkin-go/proto/zipkin_proto3"
	zipkinreporter "github.com/openzipkin/zipkin-go/reporter"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/tracelake/tracelake/cmd/tracelake/internal/lambdalocal"
	"github.com/tracelake/tracelake/storage/tracegen"
)

var lambdaBuild struct {
	once sync.Once
	path string
	err  error
}

// lambdaBootstrap builds the binary as `make lambda-package` does (with the
// race detector when the tests have it), once per test process, beside the
// binary TestMain built.
func lambdaBootstrap(t *testing.T) string {
	t.Helper()
	lambdaBuild.once.Do(func() {
		dir := filepath.Join(filepath.Dir(binary), "lambda")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			lambdaBuild.err = err
			return
		}
		lambdaBuild.path = filepath.Join(dir, "bootstrap")
		args := []string{"build", "-tags", "lambda.norpc", "-o", lambdaBuild.path}
		if raceEnabled {
			args = append(args, "-race")
		}
		build := exec.Command("go", append(args, ".")...)
		var out bytes.Buffer
		build.Stdout, build.Stderr = &out, &out
		if err := build.Run(); err != nil {
			lambdaBuild.err = fmt.Errorf("build the Lambda bootstrap: %v\n%s", err, out.String())
		}
	})
	if lambdaBuild.err != nil {
		t.Fatal(lambdaBuild.err)
	}
	return lambdaBuild.path
}

// lambdaFn is a function of one role and its Function URL.
type lambdaFn struct {
	f    *lambdalocal.Function
	url  string
	logs *lockedBuffer
}

// startLambda creates a role's function on st; env adds to (or, given
// again, overrides) its environment.
func startLambda(t *testing.T, role string, st storage, env ...string) *lambdaFn {
	t.Helper()
	logs := &lockedBuffer{}
	fenv := []string{"TRACELAKE_ROLE=" + role, "TRACELAKE_LOG_LEVEL=debug"}
	if st.url != "" {
		fenv = append(fenv, "TRACELAKE_STORAGE_URL="+st.url)
	}
	f, err := lambdalocal.New(lambdalocal.Config{
		Name:      "tracelake-" + role,
		Bootstrap: lambdaBootstrap(t),
		Handler:   "bootstrap",
		Env:       append(append(fenv, st.env...), env...),
		MemoryMB:  128,
		Timeout:   60 * time.Second,
		Logs:      logs,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(lambdalocal.NewURL(f, nil))
	t.Cleanup(func() {
		srv.Close()
		f.Close()
		if t.Failed() {
			t.Logf("function %s logs:\n%s", role, logs.String())
		}
	})
	return &lambdaFn{f: f, url: srv.URL, logs: logs}
}

// lockedBuffer collects a function's logs from its sandboxes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// post sends body and returns the status, headers and body of the answer.
func post(t *testing.T, rawURL, ctype, encoding string, body []byte, headers ...string) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, rawURL, bytes.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// zipkinSpans is a two-span trace in zipkin-go's model, for its own
// serializers.
func zipkinSpans(service string, seed uint64) ([]*zmodel.SpanModel, string) {
	r := rand.New(rand.NewPCG(seed, seed))
	tid := zmodel.TraceID{High: r.Uint64(), Low: r.Uint64()}
	root, child := zmodel.ID(r.Uint64()), zmodel.ID(r.Uint64())
	now := time.Now().Add(-time.Second)
	local := &zmodel.Endpoint{ServiceName: service, IPv4: []byte{10, 0, 0, 1}, Port: 8080}
	return []*zmodel.SpanModel{
		{SpanContext: zmodel.SpanContext{TraceID: tid, ID: root}, Name: "get /cart", Kind: zmodel.Server,
			Timestamp: now, Duration: 20 * time.Millisecond, LocalEndpoint: local, Tags: map[string]string{"http.status_code": "200"}},
		{SpanContext: zmodel.SpanContext{TraceID: tid, ID: child, ParentID: &root}, Name: "redis get", Kind: zmodel.Client,
			Timestamp: now.Add(time.Millisecond), Duration: 5 * time.Millisecond, LocalEndpoint: local},
	}, tid.String()
}

// TestLambdaIngestAndQuery: every HTTP ingest encoding through the ingest
// function's URL — OTLP protobuf gzipped from the OTel SDK's exporter,
// OTLP JSON, Zipkin JSON and proto from zipkin-go's serializers — is
// stored in MinIO before the answer, and read back through the query
// function's URL with the Jaeger, api_v3 and Zipkin APIs.
func TestLambdaIngestAndQuery(t *testing.T) {
	st := minioStorage(t)
	ingest := startLambda(t, "ingest", st)
	query := startLambda(t, "query", st)

	// OTLP protobuf, gzip: a binary body the front end base64-encodes.
	sdkIDs := exportSpans(t, httpExporter(t, ingest.url, nil), "lambda-otlp-proto", 5)

	// OTLP JSON: a text body that travels as a JSON string.
	td := tracegen.Telemetrygen(rand.New(rand.NewPCG(7, 7)), 3, 0, time.Now())
	td.ResourceSpans().At(0).Resource().Attributes().PutStr("service.name", "lambda-otlp-json")
	jsonBody, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	code, hdr, body := post(t, ingest.url+"/v1/traces", "application/json", "", jsonBody)
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
		t.Fatalf("OTLP JSON: %d %s %s", code, hdr.Get("Content-Type"), body)
	}
	resp := ptraceotlp.NewExportResponse()
	if err := resp.UnmarshalJSON(body); err != nil || resp.PartialSuccess().RejectedSpans() != 0 {
		t.Fatalf("OTLP JSON response %s: %v", body, err)
	}
	jsonTraceID := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).TraceID().String()

	// Zipkin JSON and proto3 through zipkin-go's own serializers.
	zipkinIDs := map[string]string{}
	for i, tc := range []struct {
		name       string
		serializer zipkinreporter.SpanSerializer
	}{{"json", zipkinreporter.JSONSerializer{}}, {"proto", zipkin_proto3.SpanSerializer{}}} {
		service := "lambda-zipkin-" + tc.name
		spans, traceID := zipkinSpans(service, uint64(i+100))
		payload, err := tc.serializer.Serialize(spans)
		if err != nil {
			t.Fatal(err)
		}
		if code, _, body := post(t, ingest.url+"/api/v2/spans", tc.serializer.ContentType(), "", payload); code != http.StatusAccepted {
			t.Fatalf("Zipkin %s: %d %s", tc.name, code, body)
		}
		zipkinIDs[service] = traceID
	}

	// Everything is readable at once: each acknowledged request was
	// written before its answer.
	for _, id := range sdkIDs {
		checkTrace(t, query.url, id, "lambda-otlp-proto", nil)
	}
	var v1 jaegerTraces
	if code := getJSON(t, query.url+"/api/traces/"+jsonTraceID, nil, &v1); code != 200 || len(v1.Data) != 1 {
		t.Fatalf("OTLP JSON trace %s: %d %+v", jsonTraceID, code, v1.Data)
	}
	for service, id := range zipkinIDs {
		var tr jaegerTraces
		if code := getJSON(t, query.url+"/api/traces/"+id, nil, &tr); code != 200 || len(tr.Data) != 1 || len(tr.Data[0].Spans) != 2 {
			t.Fatalf("Zipkin trace %s of %s: %d %+v", id, service, code, tr.Data)
		}
		var zspans []map[string]any
		if code := getJSON(t, query.url+"/api/v2/trace/"+id, nil, &zspans); code != 200 || len(zspans) != 2 {
			t.Fatalf("Zipkin API trace %s: %d %v", id, code, zspans)
		}
	}
	checkSearch(t, query.url, "lambda-otlp-proto", sdkIDs, nil)
	var services struct{ Data []string }
	getJSON(t, query.url+"/api/services", nil, &services)
	for _, s := range []string{"lambda-otlp-proto", "lambda-otlp-json", "lambda-zipkin-json", "lambda-zipkin-proto"} {
		if !strings.Contains(strings.Join(services.Data, ","), s) {
			t.Errorf("/api/services = %v, missing %s", services.Data, s)
		}
	}

	// A large answer is gzipped for a client that accepts it.
	req, _ := http.NewRequest(http.MethodGet, query.url+"/api/traces?service=lambda-otlp-proto&limit=100&lookback=1h", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	raw, err := http.DefaultTransport.RoundTrip(req) // the transport would decompress for us otherwise
	if err != nil {
		t.Fatal(err)
	}
	raw.Body.Close()
	if raw.StatusCode != 200 || raw.Header.Get("Content-Encoding") != "gzip" {
		t.Errorf("search with Accept-Encoding gzip: %d, Content-Encoding %q", raw.StatusCode, raw.Header.Get("Content-Encoding"))
	}
}

// rpcStatus decodes an OTLP error body (google.rpc.Status) in its content
// type.
func rpcStatus(t *testing.T, hdr http.Header, body []byte) *spb.Status {
	t.Helper()
	st := &spb.Status{}
	var err error
	if strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
		err = protojson.Unmarshal(body, st)
	} else {
		err = proto.Unmarshal(body, st)
	}
	if err != nil {
		t.Fatalf("error body is not a google.rpc.Status (%s): %v: %q", hdr.Get("Content-Type"), err, body)
	}
	return st
}

// TestLambdaErrors: the functions answer bad requests, missing storage and
// missing credentials with the servers' status codes and bodies, and fail
// events and configurations that make no sense with messages that say why.
func TestLambdaErrors(t *testing.T) {
	st := minioStorage(t)
	ingest := startLambda(t, "ingest", st)
	good := oneSpanRequest(t)

	t.Run("bad requests", func(t *testing.T) {
		for _, tc := range []struct {
			name, path, ctype, encoding string
			body                        []byte
			status                      int
			msg                         string
			otlp                        bool
		}{
			{name: "OTLP protobuf garbage", path: "/v1/traces", ctype: "application/x-protobuf", body: []byte{0xff, 0xff, 0xff}, status: 400, msg: "not a valid OTLP", otlp: true},
			{name: "OTLP JSON garbage", path: "/v1/traces", ctype: "application/json", body: []byte(`{"resourceSpans":[{`), status: 400, msg: "not a valid OTLP", otlp: true},
			{name: "gzip that is not", path: "/v1/traces", ctype: "application/x-protobuf", encoding: "gzip", body: []byte("plain"), status: 400, msg: "not valid gzip", otlp: true},
			{name: "unsupported content type", path: "/v1/traces", ctype: "text/plain", body: []byte("x"), status: 415, msg: "unsupported Content-Type", otlp: true},
			{name: "Zipkin JSON garbage", path: "/api/v2/spans", ctype: "application/json", body: []byte(`[{"traceId":`), status: 400},
			{name: "Zipkin proto garbage", path: "/api/v2/spans", ctype: "application/x-protobuf", body: []byte{0xff, 0x01}, status: 400},
		} {
			t.Run(tc.name, func(t *testing.T) {
				code, hdr, body := post(t, ingest.url+tc.path, tc.ctype, tc.encoding, tc.body)
				if code != tc.status {
					t.Fatalf("status %d, want %d: %s", code, tc.status, body)
				}
				if tc.otlp {
					if st := rpcStatus(t, hdr, body); !strings.Contains(st.GetMessage(), tc.msg) {
						t.Fatalf("message %q lacks %q", st.GetMessage(), tc.msg)
					}
				}
			})
		}
		resp, err := http.Get(ingest.url + "/v1/traces")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("GET /v1/traces = %d", resp.StatusCode)
		}
	})

	t.Run("storage down", func(t *testing.T) {
		// A bucket on a port nothing listens on.
		down := storage{url: fmt.Sprintf("s3://down?endpoint=%s&insecure=true&path-style=true", freeAddr(t)), env: st.env}
		fn := startLambda(t, "ingest", down, "TRACELAKE_INGEST_BATCH_FLUSH_TIMEOUT=3s")
		code, hdr, body := post(t, fn.url+"/v1/traces", "application/x-protobuf", "", good)
		if code != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" {
			t.Fatalf("OTLP with storage down: %d, Retry-After %q: %s", code, hdr.Get("Retry-After"), body)
		}
		if st := rpcStatus(t, hdr, body); !strings.Contains(st.GetMessage(), "storage unavailable") {
			t.Fatalf("message %q", st.GetMessage())
		}
		q := startLambda(t, "query", down)
		if code := getJSON(t, q.url+"/api/services", nil, nil); code != http.StatusServiceUnavailable {
			t.Fatalf("query with storage down: %d", code)
		}
	})

	t.Run("token", func(t *testing.T) {
		fn := startLambda(t, "ingest", st, "TRACELAKE_AUTH_TOKEN=let-me-in")
		if code, hdr, _ := post(t, fn.url+"/v1/traces", "application/x-protobuf", "", good); code != http.StatusUnauthorized || hdr.Get("WWW-Authenticate") == "" {
			t.Fatalf("without the token: %d %v", code, hdr)
		}
		if code, _, body := post(t, fn.url+"/v1/traces", "application/x-protobuf", "", good, "Authorization", "Bearer let-me-in"); code != 200 {
			t.Fatalf("with the token: %d %s", code, body)
		}
		// The OTel SDK's exporter with the header, as OTEL_EXPORTER_OTLP_HEADERS sets it.
		exportSpans(t, httpExporter(t, fn.url, map[string]string{"Authorization": "Bearer let-me-in"}), "lambda-token", 1)
	})

	t.Run("events that are not HTTP requests", func(t *testing.T) {
		res, err := ingest.f.Invoke(context.Background(), lambdalocal.ScheduledEvent(time.Now(), "us-east-1", "arn:aws:events:us-east-1:123456789012:rule/x"))
		if err != nil {
			t.Fatal(err)
		}
		if res.Err == nil || !strings.Contains(res.Err.Message, "not an HTTP request") {
			t.Fatalf("a scheduled event to the ingest function: %+v", res.Err)
		}
		compactFn := startLambda(t, "compact", st)
		ev, _ := json.Marshal(events.LambdaFunctionURLRequest{RawPath: "/", RequestContext: events.LambdaFunctionURLRequestContext{HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: "GET"}}})
		if res, err := compactFn.f.Invoke(context.Background(), ev); err != nil || res.Err == nil || !strings.Contains(res.Err.Message, "has no URL") {
			t.Fatalf("an HTTP event to the compact function: %v %+v", err, res.Err)
		}
	})

	t.Run("init errors", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			st   storage
			env  []string
			msg  string
		}{
			{name: "no storage", st: storage{}, msg: "set TRACELAKE_STORAGE_URL"},
			{name: "no role", st: st, env: []string{"TRACELAKE_ROLE="}, msg: "set TRACELAKE_ROLE to ingest, query or compact"},
			{name: "unknown role", st: st, env: []string{"TRACELAKE_ROLE=all-in-one"}, msg: `TRACELAKE_ROLE="all-in-one"`},
			{name: "bad setting", st: st, env: []string{"TRACELAKE_QUERY_MAX_LIMIT=-1"}, msg: "query.max-limit: must be positive"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				fn := startLambda(t, "query", tc.st, tc.env...)
				res, err := fn.f.Invoke(context.Background(), []byte(`{}`))
				if err != nil {
					t.Fatal(err)
				}
				if res.Err == nil || res.Err.Type != "Runtime.InitError" || !strings.Contains(res.Err.Message, tc.msg) {
					t.Fatalf("error %+v, want an init error with %q", res.Err, tc.msg)
				}
				// Behind the URL, a function that cannot start is a 502.
				if code := getJSON(t, fn.url+"/api/services", nil, nil); code != http.StatusBadGateway {
					t.Fatalf("URL of a function that cannot start: %d", code)
				}
			})
		}
	})
}

// TestLambdaCompaction: two compact functions invoked by the same schedule
// at once compact the window once between them (leases in the bucket),
// and the traces read back whole from the block.
func TestLambdaCompaction(t *testing.T) {
	st := minioStorage(t)
	ingest := startLambda(t, "ingest", st)
	query := startLambda(t, "query", st)
	hourBefore := time.Now().UTC().Truncate(time.Hour)
	first := exportSpans(t, httpExporter(t, ingest.url, nil), "lambda-compacted", 10)
	second := exportSpans(t, httpExporter(t, ingest.url, nil), "lambda-compacted", 10)
	windows := 1
	if time.Now().UTC().Truncate(time.Hour) != hourBefore {
		windows = 2 // the ingest files straddle two write hours
	}
	compactEnv := []string{"TRACELAKE_COMPACTOR_SETTLE=-1h", "TRACELAKE_COMPACTOR_GRACE=0s"}
	a := startLambda(t, "compact", st, compactEnv...)
	b := startLambda(t, "compact", st, compactEnv...)
	rule := "arn:aws:events:us-east-1:123456789012:rule/tracelake-compact"
	var (
		wg      sync.WaitGroup
		results [2]compactResult
	)
	for i, fn := range []*lambdaFn{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := fn.f.Invoke(context.Background(), lambdalocal.ScheduledEvent(time.Now(), "us-east-1", rule))
			if err != nil || res.Err != nil {
				t.Errorf("compact %d: %v %+v", i, err, res.Err)
				return
			}
			if err := json.Unmarshal(res.Payload, &results[i]); err != nil {
				t.Errorf("compact %d answered %s: %v", i, res.Payload, err)
			}
		}()
	}
	wg.Wait()
	blocks, spans := results[0].Blocks+results[1].Blocks, results[0].Spans+results[1].Spans
	if blocks != windows || spans != 40 || results[0].FailedBlocks+results[1].FailedBlocks != 0 {
		t.Fatalf("two concurrent passes wrote %d blocks of %d spans (%+v), want %d of 40", blocks, spans, results, windows)
	}
	t.Logf("concurrent compactions: %+v", results)
	// A later pass deletes the compacted inputs (grace 0) and finds
	// nothing else to do; a manual invocation has no event at all.
	res, err := a.f.Invoke(context.Background(), nil)
	if err != nil || res.Err != nil {
		t.Fatalf("third pass: %v %+v", err, res.Err)
	}
	var third compactResult
	if err := json.Unmarshal(res.Payload, &third); err != nil || third.Blocks != 0 {
		t.Fatalf("third pass: %s", res.Payload)
	}
	if deleted := results[0].Deleted + results[1].Deleted + third.Deleted; deleted < 2 {
		t.Fatalf("%d compacted ingest files deleted, want at least 2 (%+v, %+v)", deleted, results, third)
	}
	for _, id := range append(first, second...) {
		checkTrace(t, query.url, id, "lambda-compacted", nil)
	}
}
