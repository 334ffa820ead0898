package loadgen

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/jaegertracing/jaeger-idl/thrift-gen/jaeger"
	zipkinmodel "github.com/openzipkin/zipkin-go/model"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// fake is a stand-in tracelake: receivers of OTLP (HTTP and gRPC), Zipkin
// v2 JSON and Jaeger Thrift over HTTP that remember every trace, a /metrics whose counters follow what it stored,
// and a Jaeger /api/traces/{id} answering from the same store.
type fake struct {
	// failEvery answers every n-th export with 503 / UNAVAILABLE;
	// rejectEvery rejects all spans of every n-th in a partial success
	// (OTLP only).
	failEvery, rejectEvery int
	// dropSpan answers lookups of every other trace with one span short.
	dropSpan bool
	// metrics lists the metrics served; nil serves them all.
	metrics []string

	mu       sync.Mutex
	exports  int
	ok       int
	failed   int
	rejected int64
	spans    int64
	traces   map[[16]byte]int
	tenants  map[string]int
	scrapes  int
	peakRSS  float64
	lookedUp int
}

// Figures the fake's metrics are built to give.
const (
	fakeBytesPerSpan = 40
	fakeSpansPerCPU  = 1e6
)

// export stores spans, given as the trace ID of each, unless the fake is
// set to refuse or reject this request, and says which.
func (f *fake) export(spans [][16]byte, tenant string) (refused bool, rejected int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.exports++
	f.tenants[tenant]++
	if f.failEvery > 0 && f.exports%f.failEvery == 0 {
		f.failed++
		return true, 0
	}
	f.ok++
	if f.rejectEvery > 0 && f.exports%f.rejectEvery == 0 {
		f.rejected += int64(len(spans))
		return false, int64(len(spans))
	}
	for _, id := range spans {
		f.traces[id]++
		f.spans++
	}
	return false, 0
}

func otlpTraceIDs(td ptrace.Traces) [][16]byte {
	var ids [][16]byte
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		sss := rss.At(i).ScopeSpans()
		for j := range sss.Len() {
			spans := sss.At(j).Spans()
			for k := range spans.Len() {
				ids = append(ids, [16]byte(spans.At(k).TraceID()))
			}
		}
	}
	return ids
}

// readBody reads r's body, gunzipping it as its Content-Encoding says,
// and checks its Content-Type.
func readBody(w http.ResponseWriter, r *http.Request, contentType string) ([]byte, bool) {
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return nil, false
		}
		body = zr
	}
	data, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return nil, false
	}
	if got := r.Header.Get("Content-Type"); got != contentType {
		http.Error(w, "Content-Type "+got, http.StatusUnsupportedMediaType)
		return nil, false
	}
	return data, true
}

// refuse answers as a busy server does.
func refuse(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "1")
	http.Error(w, "busy", http.StatusServiceUnavailable)
}

func (f *fake) serveOTLP(w http.ResponseWriter, r *http.Request) {
	data, ok := readBody(w, r, "application/x-protobuf")
	if !ok {
		return
	}
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalProto(data); err != nil {
		http.Error(w, fmt.Sprint("bad request: ", err), http.StatusBadRequest)
		return
	}
	refused, rejected := f.export(otlpTraceIDs(req.Traces()), r.Header.Get("X-Scope-OrgID"))
	if refused {
		refuse(w)
		return
	}
	resp := ptraceotlp.NewExportResponse()
	if rejected > 0 {
		resp.PartialSuccess().SetRejectedSpans(rejected)
		resp.PartialSuccess().SetErrorMessage("not today")
	}
	out, _ := resp.MarshalProto()
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Write(out)
}

type fakeGRPC struct {
	ptraceotlp.UnimplementedGRPCServer
	f *fake
}

func (g *fakeGRPC) Export(ctx context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	tenant := strings.Join(md.Get("x-scope-orgid"), ",")
	refused, rejected := g.f.export(otlpTraceIDs(req.Traces()), tenant)
	resp := ptraceotlp.NewExportResponse()
	if refused {
		return resp, status.Error(codes.Unavailable, "busy")
	}
	if rejected > 0 {
		resp.PartialSuccess().SetRejectedSpans(rejected)
	}
	return resp, nil
}

// serveZipkin is Zipkin's v2 JSON receiver, decoding with zipkin-go.
func (f *fake) serveZipkin(w http.ResponseWriter, r *http.Request) {
	data, ok := readBody(w, r, "application/json")
	if !ok {
		return
	}
	var spans []zipkinmodel.SpanModel
	if err := json.Unmarshal(data, &spans); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ids := make([][16]byte, len(spans))
	for i, s := range spans {
		binary.BigEndian.PutUint64(ids[i][:8], s.TraceID.High)
		binary.BigEndian.PutUint64(ids[i][8:], s.TraceID.Low)
	}
	if refused, _ := f.export(ids, r.Header.Get("X-Scope-OrgID")); refused {
		refuse(w)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// serveJaeger is Jaeger's Thrift-over-HTTP receiver.
func (f *fake) serveJaeger(w http.ResponseWriter, r *http.Request) {
	data, ok := readBody(w, r, "application/x-thrift")
	if !ok {
		return
	}
	batch := jaeger.NewBatch()
	in := &thrift.TMemoryBuffer{Buffer: bytes.NewBuffer(data)}
	if err := batch.Read(r.Context(), thrift.NewTBinaryProtocolConf(in, &thrift.TConfiguration{})); err != nil || in.Len() > 0 {
		http.Error(w, fmt.Sprintf("bad batch (%d bytes left): %v", in.Len(), err), http.StatusBadRequest)
		return
	}
	ids := make([][16]byte, len(batch.Spans))
	for i, s := range batch.Spans {
		binary.BigEndian.PutUint64(ids[i][:8], uint64(s.TraceIdHigh))
		binary.BigEndian.PutUint64(ids[i][8:], uint64(s.TraceIdLow))
	}
	if refused, _ := f.export(ids, r.Header.Get("X-Scope-OrgID")); refused {
		refuse(w)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

func (f *fake) serveMetrics(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.scrapes++
	rss := 100<<20 + float64(f.spans) // grows with the load
	f.peakRSS = max(f.peakRSS, rss)
	values := map[string]float64{
		metricCPU:      0.25 + float64(f.spans)/fakeSpansPerCPU,
		metricRSS:      rss,
		metricWritten:  1000 + float64(f.spans)*fakeBytesPerSpan,
		metricAccepted: float64(f.spans),
		metricPending:  0,
	}
	f.mu.Unlock()
	names := f.metrics
	if names == nil {
		names = scrapedMetrics
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	for _, name := range names {
		fmt.Fprintf(w, "# TYPE %s gauge\n%s %v\n", name, name, values[name])
	}
}

func (f *fake) serveTrace(w http.ResponseWriter, r *http.Request) {
	raw, err := hex.DecodeString(r.PathValue("id"))
	if err != nil || len(raw) != 16 {
		http.Error(w, "bad trace ID", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.lookedUp++
	n := f.traces[[16]byte(raw)]
	if f.dropSpan && f.lookedUp%2 == 0 {
		n--
	}
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if n == 0 {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":404,"msg":"trace not found"}]}`)
		return
	}
	spans := make([]map[string]string, n)
	for i := range spans {
		spans[i] = map[string]string{"traceID": hex.EncodeToString(raw)}
	}
	json.NewEncoder(w).Encode(map[string]any{
		"data":  []any{map[string]any{"traceID": hex.EncodeToString(raw), "spans": spans}},
		"total": 1,
	})
}

type fakeAddrs struct {
	http, grpc string // OTLP endpoints
	query      string
	metrics    string
}

func startFake(t *testing.T, f *fake) fakeAddrs {
	t.Helper()
	f.traces = map[[16]byte]int{}
	f.tenants = map[string]int{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/traces", f.serveOTLP)
	mux.HandleFunc("POST /api/v2/spans", f.serveZipkin)
	mux.HandleFunc("POST /api/traces", f.serveJaeger)
	mux.HandleFunc("GET /metrics", f.serveMetrics)
	mux.HandleFunc("GET /api/traces/{id}", f.serveTrace)
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	ptraceotlp.RegisterGRPCServer(gs, &fakeGRPC{f: f})
	go gs.Serve(lis)
	t.Cleanup(gs.Stop)
	return fakeAddrs{http: hs.URL, grpc: lis.Addr().String(), query: hs.URL, metrics: hs.URL + "/metrics"}
}

func testTiming() timing {
	return timing{
		tick:        100 * time.Millisecond,
		settleMax:   time.Second,
		settleBlind: 50 * time.Millisecond,
		settlePoll:  10 * time.Millisecond,
		backoffMin:  time.Millisecond,
		backoffMax:  20 * time.Millisecond,
	}
}

func testConfig(protocol string, a fakeAddrs) Config {
	cfg := Config{
		Protocol:   protocol,
		Endpoint:   a.http,
		QueryURL:   a.query,
		MetricsURL: a.metrics,
		Workers:    4,
		Duration:   300 * time.Millisecond,
		Lookups:    50,
		Seed:       1,
	}
	if protocol == "grpc" {
		cfg.Endpoint = a.grpc
	}
	return cfg
}

func runFake(t *testing.T, cfg Config) (Report, string) {
	t.Helper()
	var progress bytes.Buffer
	rep, err := run(context.Background(), cfg, &progress, testTiming())
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	t.Logf("progress:\n%s\nreport:\n%s", progress.String(), text.String())
	if _, err := json.Marshal(rep); err != nil {
		t.Fatalf("report does not marshal: %v", err)
	}
	return rep, text.String()
}

func TestRun(t *testing.T) {
	tests := []struct {
		name     string
		protocol string
		gzip     bool
		tenant   string
		spans    int
	}{
		{name: "http", protocol: "http"},
		{name: "http gzip tenant", protocol: "http", gzip: true, tenant: "acme", spans: 20},
		{name: "grpc", protocol: "grpc"},
		{name: "grpc gzip tenant", protocol: "grpc", gzip: true, tenant: "acme", spans: 20},
		{name: "zipkin", protocol: "zipkin"},
		{name: "jaeger-thrift gzip tenant", protocol: "jaeger-thrift", gzip: true, tenant: "acme", spans: 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fake{}
			cfg := testConfig(tt.protocol, startFake(t, f))
			cfg.Gzip, cfg.Tenant, cfg.SpansPerRequest = tt.gzip, tt.tenant, tt.spans
			rep, text := runFake(t, cfg)

			f.mu.Lock()
			defer f.mu.Unlock()
			if len(rep.Errors) > 0 || len(rep.Warnings) > 0 || rep.Err() != nil {
				t.Errorf("errors %q, warnings %q", rep.Errors, rep.Warnings)
			}
			if rep.SpansAcked == 0 || rep.SpansAcked != f.spans {
				t.Errorf("acked %d spans, the server stored %d", rep.SpansAcked, f.spans)
			}
			if rep.RequestsOK != int64(f.ok) || rep.RequestsFailed != 0 {
				t.Errorf("requests ok %d failed %d, the server took %d", rep.RequestsOK, rep.RequestsFailed, f.ok)
			}
			if want := int(rep.SpansAcked) / spansPerTrace; len(f.traces) != want {
				t.Errorf("server holds %d traces, want %d: IDs repeated", len(f.traces), want)
			}
			for id, n := range f.traces {
				if n != spansPerTrace {
					t.Fatalf("trace %x has %d spans", id, n)
				}
			}
			if f.tenants[tt.tenant] != f.exports {
				t.Errorf("tenants seen %v, want all %d as %q", f.tenants, f.exports, tt.tenant)
			}
			if want := cmp.Or(tt.spans, DefaultSpansPerRequest); rep.SpansPerRequest != want || rep.SpansAcked%int64(want) != 0 {
				t.Errorf("%d spans per request, %d acked; want %d per request", rep.SpansPerRequest, rep.SpansAcked, want)
			}
			if rep.ExportLatency.Count != uint64(rep.RequestsOK) || rep.ExportLatency.P50Millis <= 0 ||
				rep.ExportLatency.P50Millis > rep.ExportLatency.P99Millis || rep.ExportLatency.P99Millis > rep.ExportLatency.MaxMillis {
				t.Errorf("export latency %+v", rep.ExportLatency)
			}
			if runtime.GOOS == "linux" && (rep.ClientCPUSeconds == nil || *rep.ClientCPUSeconds <= 0) {
				t.Errorf("client cpu %v", rep.ClientCPUSeconds)
			}
			if rep.ClientSpansPerSecond <= 0 || rep.DurationSeconds < cfg.Duration.Seconds() {
				t.Errorf("%v spans/s over %v s", rep.ClientSpansPerSecond, rep.DurationSeconds)
			}

			s := rep.Server
			switch {
			case s.BytesPerSpan == nil || *s.BytesPerSpan != fakeBytesPerSpan:
				t.Errorf("bytes per span %v, want %d", s.BytesPerSpan, fakeBytesPerSpan)
			case s.StoredBytes == nil || *s.StoredBytes != float64(f.spans*fakeBytesPerSpan):
				t.Errorf("stored bytes %v, want %d", s.StoredBytes, f.spans*fakeBytesPerSpan)
			case s.SpansPerSecondPerCore == nil || !near(*s.SpansPerSecondPerCore, fakeSpansPerCPU):
				t.Errorf("spans per core %v, want %v", s.SpansPerSecondPerCore, fakeSpansPerCPU)
			case s.CPUSeconds == nil || !near(*s.CPUSeconds, float64(f.spans)/fakeSpansPerCPU):
				t.Errorf("cpu seconds %v", s.CPUSeconds)
			case s.Cores == nil || s.WallSeconds <= 0 || !near(*s.Cores, *s.CPUSeconds/s.WallSeconds):
				t.Errorf("cores %v over %v s", s.Cores, s.WallSeconds)
			case s.PeakRSSBytes == nil || *s.PeakRSSBytes != f.peakRSS:
				t.Errorf("peak RSS %v, want %v", s.PeakRSSBytes, f.peakRSS)
			case s.SpansAccepted == nil || *s.SpansAccepted != float64(f.spans):
				t.Errorf("accepted %v, want %d", s.SpansAccepted, f.spans)
			}
			if f.scrapes < 3 { // before, at least one while sending, after
				t.Errorf("%d scrapes", f.scrapes)
			}

			l := rep.Lookup
			if l == nil || l.Lookups != cfg.Lookups || l.OK != cfg.Lookups || l.Wrong != 0 || l.Latency.Count != uint64(cfg.Lookups) {
				t.Errorf("lookups %+v", l)
			}
			if rep.Protocol != tt.protocol || rep.Encoding != wireFor(tt.protocol).name() {
				t.Errorf("report names %s (%s)", rep.Protocol, rep.Encoding)
			}
			for _, want := range []string{"spans acked", "bytes/span", "per core", "peak RSS", "trace by ID", tt.protocol, rep.Encoding} {
				if !strings.Contains(text, want) {
					t.Errorf("report text lacks %q", want)
				}
			}
		})
	}
}

func near(got, want float64) bool {
	return got >= want*(1-1e-9) && got <= want*(1+1e-9)
}

// Failed and partly rejected requests are counted by answer, and only
// what the server kept counts as acknowledged.
func TestRunCountsFailures(t *testing.T) {
	for _, protocol := range []string{"http", "grpc", "zipkin", "jaeger-thrift"} {
		t.Run(protocol, func(t *testing.T) {
			f := &fake{failEvery: 3}
			if protocol == "http" || protocol == "grpc" { // Zipkin and Jaeger have no partial success
				f.rejectEvery = 5
			}
			cfg := testConfig(protocol, startFake(t, f))
			rep, _ := runFake(t, cfg)
			f.mu.Lock()
			defer f.mu.Unlock()
			code := "http 503"
			if protocol == "grpc" {
				code = "grpc Unavailable"
			}
			if f.failed == 0 || rep.RequestsFailed != int64(f.failed) || rep.Failures[code] != int64(f.failed) || len(rep.Failures) != 1 {
				t.Errorf("failures %v (%d), the server refused %d", rep.Failures, rep.RequestsFailed, f.failed)
			}
			if rep.FirstError == "" {
				t.Error("no first error")
			}
			if rep.RequestsOK != int64(f.ok) {
				t.Errorf("%d requests ok, the server took %d", rep.RequestsOK, f.ok)
			}
			if (f.rejectEvery > 0) != (f.rejected > 0) || rep.SpansRejected != f.rejected || rep.SpansAcked != f.spans {
				t.Errorf("acked %d rejected %d; server stored %d rejected %d", rep.SpansAcked, rep.SpansRejected, f.spans, f.rejected)
			}
			if rep.Lookup == nil || rep.Lookup.Wrong != 0 {
				t.Errorf("lookups %+v: looked up a rejected trace?", rep.Lookup)
			}
			if len(rep.Errors) > 0 {
				t.Errorf("errors %q", rep.Errors)
			}
		})
	}
}

// Zipkin and Jaeger acknowledge with 202 alone; every other answer fails
// the request, by its status, overload ones with the wait asked for.
func TestHTTPSenderAnswers(t *testing.T) {
	tests := []struct {
		protocol   string
		status     int
		retryAfter string
		want       outcome
	}{
		{protocol: "zipkin", status: 202, want: outcome{ok: true}},
		{protocol: "jaeger-thrift", status: 202, want: outcome{ok: true}},
		{protocol: "http", status: 200, want: outcome{ok: true}},
		{protocol: "zipkin", status: 200, want: outcome{code: "http 200"}},
		{protocol: "jaeger-thrift", status: 204, want: outcome{code: "http 204"}},
		{protocol: "zipkin", status: 429, retryAfter: "3", want: outcome{code: "http 429", retryable: true, retryAfter: 3 * time.Second}},
		{protocol: "jaeger-thrift", status: 503, retryAfter: "7", want: outcome{code: "http 503", retryable: true, retryAfter: 7 * time.Second}},
		{protocol: "jaeger-thrift", status: 503, want: outcome{code: "http 503", retryable: true}},
		{protocol: "zipkin", status: 400, want: outcome{code: "http 400"}},
		{protocol: "jaeger-thrift", status: 413, retryAfter: "3", want: outcome{code: "http 413"}},
	}
	paths := map[string]string{"http": "/v1/traces", "zipkin": "/api/v2/spans", "jaeger-thrift": "/api/traces"}
	types := map[string]string{"http": "application/x-protobuf", "zipkin": "application/json", "jaeger-thrift": "application/x-thrift"}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %d", tt.protocol, tt.status), func(t *testing.T) {
			var gotPath, gotType, gotTenant string
			hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				gotPath, gotType, gotTenant = r.URL.Path, r.Header.Get("Content-Type"), r.Header.Get("X-Scope-OrgID")
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				w.WriteHeader(tt.status)
			}))
			defer hs.Close()
			snd, err := newSender(Config{Protocol: tt.protocol, Endpoint: hs.URL, Workers: 1, Tenant: "acme"})
			if err != nil {
				t.Fatal(err)
			}
			defer snd.close()
			out := snd.send(context.Background(), &conn{}, []byte("request"))
			if gotPath != paths[tt.protocol] || gotType != types[tt.protocol] || gotTenant != "acme" {
				t.Errorf("server got %s %s tenant %q", gotPath, gotType, gotTenant)
			}
			if out.ok != tt.want.ok || out.code != tt.want.code || out.retryable != tt.want.retryable || out.retryAfter != tt.want.retryAfter {
				t.Errorf("outcome %+v, want %+v", out, tt.want)
			}
			if !out.ok && out.err == nil {
				t.Error("failure without an error")
			}
		})
	}
}

func TestRunReportsWrongLookups(t *testing.T) {
	f := &fake{dropSpan: true}
	cfg := testConfig("http", startFake(t, f))
	rep, text := runFake(t, cfg)
	l := rep.Lookup
	if l == nil || l.Wrong != cfg.Lookups/2 || l.Failures["wrong span count"] != cfg.Lookups/2 || l.OK != cfg.Lookups/2 {
		t.Fatalf("lookups %+v", l)
	}
	if rep.Err() == nil || !strings.Contains(text, "ERRORS") {
		t.Fatalf("wrong lookups not reported as errors: %q", rep.Errors)
	}
}

func TestRunMissingMetrics(t *testing.T) {
	t.Run("some", func(t *testing.T) {
		f := &fake{metrics: []string{metricCPU}}
		cfg := testConfig("http", startFake(t, f))
		cfg.QueryURL = ""
		rep, text := runFake(t, cfg)
		s := rep.Server
		if s.CPUSeconds == nil || s.SpansPerSecondPerCore == nil {
			t.Errorf("cpu figures missing: %+v", s)
		}
		if s.BytesPerSpan != nil || s.StoredBytes != nil || s.PeakRSSBytes != nil || s.SpansAccepted != nil {
			t.Errorf("figures from metrics not served: %+v", s)
		}
		if !strings.Contains(text, "unknown") || len(rep.Warnings) == 0 {
			t.Errorf("missing figures not reported unknown; warnings %q", rep.Warnings)
		}
		if rep.Lookup != nil {
			t.Errorf("looked up without a query URL")
		}
	})
	t.Run("no URL", func(t *testing.T) {
		f := &fake{}
		cfg := testConfig("grpc", startFake(t, f))
		cfg.MetricsURL, cfg.QueryURL = "", ""
		rep, _ := runFake(t, cfg)
		if rep.Server != (Server{}) || len(rep.Warnings) > 0 {
			t.Errorf("server %+v, warnings %q", rep.Server, rep.Warnings)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		f := &fake{}
		cfg := testConfig("grpc", startFake(t, f))
		cfg.MetricsURL = "http://" + closedAddr(t) + "/metrics"
		rep, _ := runFake(t, cfg)
		if rep.Server.CPUSeconds != nil || len(rep.Warnings) == 0 {
			t.Errorf("server %+v, warnings %q", rep.Server, rep.Warnings)
		}
	})
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	return addr
}

// A server that is down gets failures, backed off, not a spinning client.
func TestRunServerDown(t *testing.T) {
	for _, protocol := range []string{"http", "grpc"} {
		t.Run(protocol, func(t *testing.T) {
			addr := closedAddr(t)
			cfg := Config{Protocol: protocol, Endpoint: addr, Workers: 2, Duration: 300 * time.Millisecond}
			if protocol == "http" {
				cfg.Endpoint = "http://" + addr
			}
			rep, _ := runFake(t, cfg)
			if rep.RequestsOK != 0 || rep.RequestsFailed == 0 || rep.Err() == nil {
				t.Fatalf("ok %d failed %d errors %q", rep.RequestsOK, rep.RequestsFailed, rep.Errors)
			}
			// 300ms at 1, 2, 4, …, 20ms pauses: a few dozen at most per worker.
			if rep.RequestsFailed > 100 {
				t.Errorf("%d failed requests in 300ms: not backing off", rep.RequestsFailed)
			}
		})
	}
}

func TestRunRate(t *testing.T) {
	f := &fake{}
	cfg := testConfig("http", startFake(t, f))
	cfg.Rate, cfg.Duration, cfg.QueryURL = 2000, 500*time.Millisecond, ""
	rep, _ := runFake(t, cfg)
	// One request of 100 spans every 50ms: 11 at most in 500ms.
	if rep.SpansAcked > 11*100 || rep.SpansAcked < 3*100 {
		t.Errorf("acked %d spans in %.2fs at 2000 spans/s", rep.SpansAcked, rep.DurationSeconds)
	}
}

func TestRunInterrupted(t *testing.T) {
	f := &fake{}
	cfg := testConfig("grpc", startFake(t, f))
	cfg.Duration = time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	rep, err := run(ctx, cfg, io.Discard, testTiming())
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Interrupted || rep.Lookup != nil || time.Since(start) > 10*time.Second {
		t.Errorf("interrupted %v, lookup %+v, after %s", rep.Interrupted, rep.Lookup, time.Since(start))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if rep.SpansAcked != f.spans || rep.Server.BytesPerSpan == nil {
		t.Errorf("acked %d, stored %d; server %+v", rep.SpansAcked, f.spans, rep.Server)
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	if _, err := Run(context.Background(), Config{Protocol: "grpc"}, nil); err == nil {
		t.Fatal("ran without an endpoint or duration")
	}
}
