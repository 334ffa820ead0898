package main

// End-to-end tests: they build the real tracelake binary, start it as a
// process (all-in-one, or ingest and query separately), send spans with
// the real OpenTelemetry Go SDK exporters, and read them back through the
// Jaeger HTTP API and api_v3 — on the local directory and on a real MinIO.

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracelake/tracelake/storage/objstore/s3/s3test"
	"github.com/tracelake/tracelake/storage/tracegen"
)

var binary string // built once by TestMain

func TestMain(m *testing.M) {
	code := func() int {
		dir, err := os.MkdirTemp("", "tracelake-e2e-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		binary = filepath.Join(dir, "tracelake")
		args := []string{"build", "-o", binary}
		if raceEnabled {
			args = append(args, "-race")
		}
		build := exec.Command("go", append(args, ".")...)
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build tracelake:", err)
			return 1
		}
		defer s3test.Stop()
		return m.Run()
	}()
	os.Exit(code)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func freeUDPAddr(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().String()
}

// proc is a running tracelake process and where it listens.
type proc struct {
	t                                     *testing.T
	cmd                                   *exec.Cmd
	grpcAddr, httpURL, queryURL, adminURL string
	zipkinURL                             string // Zipkin API: ingest and query
	jaegerGRPCAddr, jaegerHTTPURL         string
	agentCompactAddr, agentBinaryAddr     string // UDP
	samplingURL                           string
	logs                                  *bytes.Buffer
	exited                                chan struct{}
	waitErr                               error
}

type storage struct {
	url string
	env []string
}

func localStorage(t *testing.T) storage { return storage{url: t.TempDir()} }

func minioStorage(t *testing.T) storage {
	srv := s3test.Start(t)
	bucket := srv.CreateBucket(t, t.Name())
	return storage{
		url: fmt.Sprintf("s3://%s?endpoint=%s&insecure=true&path-style=true", bucket, srv.Endpoint),
		env: []string{"AWS_ACCESS_KEY_ID=" + srv.AccessKey, "AWS_SECRET_ACCESS_KEY=" + srv.SecretKey},
	}
}

type syncBuffer struct {
	mu sync.Mutex
	bytes.Buffer
}

// start runs tracelake with role on st, on free loopback ports, and waits
// until it is ready. A port found free can be taken by another process
// (a parallel test package, an outgoing connection) before tracelake binds
// it, so start tries again with fresh ports when that is why it failed.
func start(t *testing.T, role string, st storage, extra ...string) *proc {
	t.Helper()
	for attempt := 1; ; attempt++ {
		p, err := startOnce(t, role, st, extra...)
		if err == nil {
			return p
		}
		if attempt < 5 && strings.Contains(p.logs.String(), "address already in use") {
			t.Logf("tracelake %s lost a port race, trying other ports: %v", role, err)
			continue
		}
		t.Fatal(err)
	}
}

func startOnce(t *testing.T, role string, st storage, extra ...string) (*proc, error) {
	t.Helper()
	p := &proc{t: t, exited: make(chan struct{}), logs: &bytes.Buffer{}}
	grpcAddr, httpAddr, queryAddr, adminAddr := freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t)
	zipkinAddr, jgrpcAddr, jhttpAddr, samplingAddr := freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t)
	p.grpcAddr, p.httpURL, p.queryURL, p.adminURL = grpcAddr, "http://"+httpAddr, "http://"+queryAddr, "http://"+adminAddr
	p.zipkinURL, p.jaegerGRPCAddr, p.jaegerHTTPURL, p.samplingURL = "http://"+zipkinAddr, jgrpcAddr, "http://"+jhttpAddr, "http://"+samplingAddr
	p.agentCompactAddr, p.agentBinaryAddr = freeUDPAddr(t), freeUDPAddr(t)
	args := append([]string{role,
		"--storage", st.url,
		"--ingest.otlp.grpc-addr", grpcAddr,
		"--ingest.otlp.http-addr", httpAddr,
		"--ingest.jaeger.grpc-addr", jgrpcAddr,
		"--ingest.jaeger.thrift-http-addr", jhttpAddr,
		"--ingest.jaeger.agent-compact-addr", p.agentCompactAddr,
		"--ingest.jaeger.agent-binary-addr", p.agentBinaryAddr,
		"--ingest.sampling.http-addr", samplingAddr,
		"--zipkin.http-addr", zipkinAddr,
		"--query.http-addr", queryAddr,
		"--admin.addr", adminAddr,
		"--ingest.batch.max-delay", "20ms",
		"--log.level", "debug",
	}, extra...)
	p.cmd = exec.Command(binary, args...)
	p.cmd.Env = append(os.Environ(), st.env...)
	var logs syncBuffer
	p.cmd.Stdout, p.cmd.Stderr = &logs, &logs
	if err := p.cmd.Start(); err != nil {
		return p, err
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		logs.mu.Lock()
		p.logs.Write(logs.Bytes())
		logs.mu.Unlock()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.kill(syscall.SIGKILL)
		if t.Failed() {
			t.Logf("tracelake %s logs:\n%s", role, p.logs.String())
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(p.adminURL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p, nil
			}
		}
		select {
		case <-p.exited:
			return p, fmt.Errorf("tracelake %s exited during start-up (%v):\n%s", role, p.waitErr, p.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			p.kill(syscall.SIGKILL)
			return p, fmt.Errorf("tracelake %s not ready after 60s:\n%s", role, p.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill sends sig and waits for the process to exit.
func (p *proc) kill(sig syscall.Signal) error {
	select {
	case <-p.exited:
		return p.waitErr
	default:
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.exited:
	case <-time.After(60 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
		p.t.Errorf("tracelake did not exit within 60s of %s", sig)
	}
	return p.waitErr
}

// exportSpans sends one trace per call to fn through a real OTel SDK
// exporter and returns the trace IDs once the exporter reported success.
func exportSpans(t *testing.T, exp sdktrace.SpanExporter, service string, traces int) []string {
	t.Helper()
	ctx := context.Background()
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp, sdktrace.WithMaxExportBatchSize(512)),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", service), attribute.String("host.name", "e2e"))),
	)
	defer tp.Shutdown(ctx)
	tracer := tp.Tracer("tracelake-e2e", trace.WithInstrumentationVersion("1.0.0"))
	var ids []string
	for i := 0; i < traces; i++ {
		rctx, root := tracer.Start(ctx, "GET /checkout", trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.Int("http.response.status_code", 200), attribute.String("order.id", fmt.Sprintf("o-%d", i))))
		_, child := tracer.Start(rctx, "SELECT orders", trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(attribute.String("db.system", "postgresql"), attribute.Bool("cache.hit", i%2 == 0)))
		child.AddEvent("rows fetched", trace.WithAttributes(attribute.Int("rows", 3)))
		if i%3 == 0 {
			child.SetStatus(codes.Error, "deadlock detected")
		}
		time.Sleep(time.Millisecond)
		child.End()
		root.End()
		ids = append(ids, root.SpanContext().TraceID().String())
	}
	if err := tp.ForceFlush(ctx); err != nil {
		t.Fatalf("export to tracelake failed: %v", err)
	}
	return ids
}

func grpcExporter(t *testing.T, addr string, headers map[string]string) sdktrace.SpanExporter {
	t.Helper()
	exp, err := otlptracegrpc.New(context.Background(), otlptracegrpc.WithEndpoint(addr), otlptracegrpc.WithInsecure(),
		otlptracegrpc.WithHeaders(headers), otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: false}))
	if err != nil {
		t.Fatal(err)
	}
	return exp
}

func httpExporter(t *testing.T, rawURL string, headers map[string]string) sdktrace.SpanExporter {
	t.Helper()
	u, _ := url.Parse(rawURL)
	exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpoint(u.Host), otlptracehttp.WithInsecure(),
		otlptracehttp.WithHeaders(headers), otlptracehttp.WithCompression(otlptracehttp.GzipCompression),
		otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: false}))
	if err != nil {
		t.Fatal(err)
	}
	return exp
}

func getJSON(t *testing.T, rawURL string, headers map[string]string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, rawURL, nil)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode == 200 {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("GET %s: %v in %s", rawURL, err, body)
		}
	}
	return resp.StatusCode
}

type jaegerTraces struct {
	Data []struct {
		TraceID string `json:"traceID"`
		Spans   []struct {
			OperationName string `json:"operationName"`
			ProcessID     string `json:"processID"`
			Tags          []struct {
				Key   string `json:"key"`
				Value any    `json:"value"`
			} `json:"tags"`
		} `json:"spans"`
		Processes map[string]struct {
			ServiceName string `json:"serviceName"`
		} `json:"processes"`
	} `json:"data"`
}

type v3Result struct {
	Result struct {
		ResourceSpans []struct {
			ScopeSpans []struct {
				Spans []struct {
					TraceID string `json:"traceId"`
					Name    string `json:"name"`
				} `json:"spans"`
			} `json:"scopeSpans"`
		} `json:"resourceSpans"`
	} `json:"result"`
}

func (r v3Result) spans() int {
	n := 0
	for _, rs := range r.Result.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			n += len(ss.Spans)
		}
	}
	return n
}

// checkTrace asserts the Jaeger API and api_v3 both return the whole trace
// at once — no retries: read-after-write must hold the moment the export
// returned.
func checkTrace(t *testing.T, queryURL, id, service string, headers map[string]string) {
	t.Helper()
	var v1 jaegerTraces
	if code := getJSON(t, queryURL+"/api/traces/"+id, headers, &v1); code != 200 {
		t.Fatalf("GET /api/traces/%s = %d right after the export was acknowledged", id, code)
	}
	if len(v1.Data) != 1 || len(v1.Data[0].Spans) != 2 || v1.Data[0].TraceID != id {
		t.Fatalf("trace %s: %+v", id, v1.Data)
	}
	for _, s := range v1.Data[0].Spans {
		if v1.Data[0].Processes[s.ProcessID].ServiceName != service {
			t.Fatalf("span %s has service %q", s.OperationName, v1.Data[0].Processes[s.ProcessID].ServiceName)
		}
	}
	var v3 v3Result
	if code := getJSON(t, queryURL+"/api/v3/traces/"+id, headers, &v3); code != 200 || v3.spans() != 2 {
		t.Fatalf("GET /api/v3/traces/%s = %d with %d spans", id, code, v3.spans())
	}
}

func checkSearch(t *testing.T, queryURL, service string, want []string, headers map[string]string) {
	t.Helper()
	now := time.Now()
	q := url.Values{
		"service": {service},
		"tags":    {`{"http.response.status_code":"200"}`},
		"start":   {fmt.Sprint(now.Add(-time.Hour).UnixMicro())},
		"end":     {fmt.Sprint(now.Add(time.Minute).UnixMicro())},
		"limit":   {"1000"},
	}
	var v1 jaegerTraces
	if code := getJSON(t, queryURL+"/api/traces?"+q.Encode(), headers, &v1); code != 200 {
		t.Fatalf("search = %d", code)
	}
	var got []string
	for _, tr := range v1.Data {
		got = append(got, tr.TraceID)
	}
	slices.Sort(got)
	w := slices.Clone(want)
	slices.Sort(w)
	if !slices.Equal(got, w) {
		t.Fatalf("search by service and tag found %d traces, want %d", len(got), len(w))
	}
	// An operation and a typed attribute on the child span, and errors.
	q = url.Values{"service": {service}, "operation": {"SELECT orders"}, "tags": {`{"error":"true","cache.hit":"true"}`}, "limit": {"1000"}}
	v1 = jaegerTraces{}
	getJSON(t, queryURL+"/api/traces?"+q.Encode(), headers, &v1)
	wantErr := 0
	for i := range want {
		if i%3 == 0 && i%2 == 0 {
			wantErr++
		}
	}
	if len(v1.Data) != wantErr {
		t.Fatalf("search for failed cache hits found %d traces, want %d", len(v1.Data), wantErr)
	}

	v3q := url.Values{
		"query.service_name":   {service},
		"query.start_time_min": {now.Add(-time.Hour).Format(time.RFC3339Nano)},
		"query.start_time_max": {now.Add(time.Minute).Format(time.RFC3339Nano)},
		"query.search_depth":   {"1000"},
	}
	var v3 v3Result
	if code := getJSON(t, queryURL+"/api/v3/traces?"+v3q.Encode(), headers, &v3); code != 200 || v3.spans() != 2*len(want) {
		t.Fatalf("api_v3 search = %d with %d spans, want %d", code, v3.spans(), 2*len(want))
	}

	var services struct{ Data []string }
	getJSON(t, queryURL+"/api/services", headers, &services)
	if !slices.Contains(services.Data, service) {
		t.Fatalf("/api/services = %v, missing %s", services.Data, service)
	}
	var ops struct {
		Data []struct{ Name, SpanKind string }
	}
	getJSON(t, queryURL+"/api/operations?service="+url.QueryEscape(service), headers, &ops)
	if !slices.Contains(ops.Data, struct{ Name, SpanKind string }{"GET /checkout", "server"}) {
		t.Fatalf("/api/operations = %+v", ops.Data)
	}
}

func TestEndToEnd(t *testing.T) {
	for _, tc := range []struct {
		name    string
		storage func(*testing.T) storage
		split   bool // ingest and query as separate processes on one store
	}{
		{name: "local-directory/all-in-one", storage: localStorage},
		{name: "local-directory/ingest+query", storage: localStorage, split: true},
		{name: "minio/all-in-one", storage: minioStorage},
		{name: "minio/ingest+query", storage: minioStorage, split: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := tc.storage(t)
			var ingest, query *proc
			if tc.split {
				ingest = start(t, "ingest", st)
				query = start(t, "query", st)
			} else {
				ingest = start(t, "all-in-one", st)
				query = ingest
			}
			viaGRPC := exportSpans(t, grpcExporter(t, ingest.grpcAddr, nil), "checkout-grpc", 12)
			for _, id := range viaGRPC {
				checkTrace(t, query.queryURL, id, "checkout-grpc", nil)
			}
			viaHTTP := exportSpans(t, httpExporter(t, ingest.httpURL, nil), "checkout-http", 12)
			for _, id := range viaHTTP {
				checkTrace(t, query.queryURL, id, "checkout-http", nil)
			}
			checkSearch(t, query.queryURL, "checkout-grpc", viaGRPC, nil)
			checkSearch(t, query.queryURL, "checkout-http", viaHTTP, nil)

			// Tenants are isolated.
			acme := map[string]string{"X-Scope-OrgID": "acme"}
			acmeIDs := exportSpans(t, httpExporter(t, ingest.httpURL, acme), "billing", 2)
			checkTrace(t, query.queryURL, acmeIDs[0], "billing", acme)
			if code := getJSON(t, query.queryURL+"/api/traces/"+acmeIDs[0], nil, nil); code != 404 {
				t.Fatalf("another tenant's trace answered %d, want 404", code)
			}

			metrics := scrape(t, ingest.adminURL)
			if !strings.Contains(metrics, `tracelake_ingest_spans_accepted_total{protocol="otlp_grpc",tenant="single-tenant"} 24`) ||
				!strings.Contains(metrics, `tracelake_ingest_spans_accepted_total{protocol="otlp_http",tenant="acme"} 4`) {
				t.Fatalf("/metrics does not count the accepted spans:\n%s", grepLines(metrics, "spans_accepted"))
			}
			for _, p := range []*proc{ingest, query} {
				if err := p.kill(syscall.SIGTERM); err != nil {
					t.Fatalf("exit after SIGTERM: %v", err)
				}
			}
		})
	}
}

func scrape(t *testing.T, adminURL string) string {
	t.Helper()
	resp, err := http.Get(adminURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestKillNineKeepsAcknowledgedSpans: every export that was acknowledged
// before the process was killed with SIGKILL is readable after a restart.
func TestKillNineKeepsAcknowledgedSpans(t *testing.T) {
	for _, mk := range []func(*testing.T) storage{localStorage, minioStorage} {
		st := mk(t)
		p := start(t, "all-in-one", st)
		var (
			mu    sync.Mutex
			acked []string
			wg    sync.WaitGroup
		)
		stop := make(chan struct{})
		// Exporters keep sending while the process is killed; only what
		// they saw acknowledged must survive.
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				exp := httpExporter(t, p.httpURL, nil)
				tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp),
					sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "crashy"))))
				tracer := tp.Tracer("e2e")
				for {
					select {
					case <-stop:
						return
					default:
					}
					_, span := tracer.Start(context.Background(), "work")
					span.End()
					// ForceFlush returns the export's error: nil means
					// tracelake acknowledged the span.
					if err := tp.ForceFlush(context.Background()); err != nil {
						return
					}
					mu.Lock()
					acked = append(acked, span.SpanContext().TraceID().String())
					mu.Unlock()
				}
			}()
		}
		time.Sleep(700 * time.Millisecond)
		p.kill(syscall.SIGKILL)
		close(stop)
		wg.Wait()
		mu.Lock()
		ids := slices.Clone(acked)
		mu.Unlock()
		if len(ids) < 10 {
			t.Fatalf("only %d exports were acknowledged before the kill", len(ids))
		}
		p2 := start(t, "query", st)
		missing := 0
		for _, id := range ids {
			if code := getJSON(t, p2.queryURL+"/api/traces/"+id, nil, nil); code != 200 {
				missing++
			}
		}
		if missing > 0 {
			t.Fatalf("%d of %d acknowledged traces lost after kill -9", missing, len(ids))
		}
		t.Logf("%s: all %d acknowledged traces survived kill -9", st.url, len(ids))
	}
}

// TestSIGTERMFlushesPendingBatches: with a long batch delay, a request is
// still waiting for its flush when SIGTERM arrives; shutdown must write it
// and acknowledge it, and the process must exit cleanly.
func TestSIGTERMFlushesPendingBatches(t *testing.T) {
	st := localStorage(t)
	p := start(t, "all-in-one", st, "--ingest.batch.max-delay", "1m")
	exp := grpcExporter(t, p.grpcAddr, nil)
	done := make(chan []string)
	go func() { done <- exportSpans(t, exp, "slow", 3) }()
	// Wait until the request is pending in the batcher.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(scrape(t, p.adminURL), "tracelake_ingest_pending_bytes") ||
		strings.Contains(scrape(t, p.adminURL), "tracelake_ingest_pending_bytes 0\n") {
		if time.Now().After(deadline) {
			t.Fatal("the export never became pending")
		}
		time.Sleep(10 * time.Millisecond)
	}
	t0 := time.Now()
	if err := p.kill(syscall.SIGTERM); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, p.logs.String())
	}
	ids := <-done // exportSpans fails the test if the export was not acknowledged
	if d := time.Since(t0); d > 20*time.Second {
		t.Errorf("shutdown took %s", d)
	}
	q := start(t, "query", st)
	for _, id := range ids {
		checkTrace(t, q.queryURL, id, "slow", nil)
	}
}

func oneSpanRequest(t *testing.T) []byte {
	t.Helper()
	td := tracegen.Telemetrygen(rand.New(rand.NewPCG(1, 1)), 1, 0, time.Now())
	b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestErrorPaths drives the status codes of PROTOCOLS.md through the real
// server.
func TestErrorPaths(t *testing.T) {
	st := localStorage(t)
	p := start(t, "all-in-one", st, "--ingest.max-request-bytes", "64KiB")
	post := func(ctype, encoding string, body []byte) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, p.httpURL+"/v1/traces", bytes.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		if encoding != "" {
			req.Header.Set("Content-Encoding", encoding)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	zw.Write(bytes.Repeat([]byte{0}, 1<<20))
	zw.Close()
	for _, tc := range []struct {
		name     string
		ctype    string
		encoding string
		body     []byte
		want     int
	}{
		{"empty request", "application/x-protobuf", "", nil, 200},
		{"wrong content type", "text/plain", "", []byte("hi"), 415},
		{"bad gzip", "application/x-protobuf", "gzip", []byte("not gzip"), 400},
		{"gzip bomb", "application/x-protobuf", "gzip", zipped.Bytes(), 413},
		{"too large", "application/x-protobuf", "", make([]byte, 65<<10), 413},
		{"not protobuf", "application/x-protobuf", "", []byte{0xff, 0xff}, 400},
		{"not json", "application/json", "", []byte("{"), 400},
	} {
		if resp := post(tc.ctype, tc.encoding, tc.body); resp.StatusCode != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
	}
	resp, err := http.Get(p.httpURL + "/v1/traces")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 {
		t.Errorf("GET /v1/traces = %d, want 405", resp.StatusCode)
	}
	if code := getJSON(t, p.queryURL+"/api/traces/not-hex", nil, nil); code != 400 {
		t.Errorf("malformed trace ID = %d, want 400", code)
	}
	if code := getJSON(t, p.queryURL+"/api/traces/0123456789abcdef0123456789abcdef", nil, nil); code != 404 {
		t.Errorf("unknown trace = %d, want 404", code)
	}
	if code := getJSON(t, p.queryURL+"/api/traces?service=x&limit=banana", nil, nil); code != 400 {
		t.Errorf("bad limit = %d, want 400", code)
	}

	// Storage failing: the tenant's directory becomes a file, so every
	// write fails. Clients must get a retryable 503 with Retry-After, and
	// gRPC clients UNAVAILABLE.
	if err := os.WriteFile(filepath.Join(st.url, "broken"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	exp := httpExporter(t, p.httpURL, map[string]string{"X-Scope-OrgID": "broken"})
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp))
	_, span := tp.Tracer("e2e").Start(context.Background(), "doomed")
	span.End()
	err = tp.ForceFlush(context.Background())
	if err == nil || !strings.Contains(err.Error(), "retry-able") || !strings.Contains(err.Error(), "storage unavailable") {
		t.Fatalf("export onto broken storage = %v, want a retryable storage error", err)
	}
	req, _ := http.NewRequest(http.MethodPost, p.httpURL+"/v1/traces", bytes.NewReader(oneSpanRequest(t)))
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("X-Scope-OrgID", "broken")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("raw export onto broken storage = %d (Retry-After %q), want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	gexp := grpcExporter(t, p.grpcAddr, map[string]string{"X-Scope-OrgID": "broken"})
	gtp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(gexp))
	_, span = gtp.Tracer("e2e").Start(context.Background(), "doomed")
	span.End()
	if err := gtp.ForceFlush(context.Background()); err == nil || !strings.Contains(err.Error(), "Unavailable") {
		t.Fatalf("gRPC export onto broken storage = %v, want Unavailable", err)
	}
	// Other tenants are unaffected.
	ids := exportSpans(t, httpExporter(t, p.httpURL, nil), "healthy", 1)
	checkTrace(t, p.queryURL, ids[0], "healthy", nil)
}

// TestConfigErrors: bad configuration stops start-up with a message naming
// the setting.
func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  []string
		want string
	}{
		{[]string{"--ingest.batch.max-delay", "soon"}, nil, "ingest.batch.max-delay"},
		{[]string{"--log.level", "loud"}, nil, "log.level"},
		{nil, []string{"TRACELAKE_QUERY_CONCURRENCY=0"}, "query.concurrency"},
		{[]string{"--storage", "ftp://x"}, nil, "storage.url"},
		{[]string{"--tenant.default", "a/b"}, nil, "tenant.default"},
		{[]string{"--no-such-flag"}, nil, "no-such-flag"},
		{[]string{"frobnicate"}, nil, "unknown command"},
	} {
		cmd := exec.Command(binary, tc.args...)
		cmd.Env = append(os.Environ(), tc.env...)
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Errorf("tracelake %v started with a bad configuration", tc.args)
			continue
		}
		if !strings.Contains(string(out), tc.want) {
			t.Errorf("tracelake %v %v: error does not name %q:\n%s", tc.env, tc.args, tc.want, out)
		}
	}
}
