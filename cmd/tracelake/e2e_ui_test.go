package main

// Browser tests of the web UI: a real all-in-one, seeded with traces
// through the OpenTelemetry Go SDK, driven in headless Chromium (Debian's
// package) by playwright-core from query/ui/web/e2e, then in headless
// Firefox (Debian's firefox-esr) by puppeteer-core over WebDriver BiDi. Go
// starts the server, seeds it and knows what the pages must show; the Node
// scripts walk the pages, save a screenshot of each under
// bin/test-output/ui/ (Chromium) and bin/test-output/ui-firefox/ and fail
// on any console error, uncaught exception or failed request.
//
// Without Chromium, Node or query/ui/web/node_modules the tests are
// skipped, or fail when TRACELAKE_REQUIRE_CHROMIUM=1 (as `make test` sets).
// Without Firefox (or puppeteer-core) the Firefox walk is skipped, or
// fails when TRACELAKE_REQUIRE_FIREFOX=1 (as `make test` sets).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

const (
	// envChromiumBin names the Chromium binary; /usr/bin/chromium or
	// chromium on $PATH otherwise.
	envChromiumBin = "TRACELAKE_CHROMIUM_BIN"
	// envRequireChromium, set to 1, makes a missing browser (or Node, or
	// the UI's node_modules) fail the browser tests instead of skipping them.
	envRequireChromium = "TRACELAKE_REQUIRE_CHROMIUM"
	// envFirefoxBin names the Firefox binary; /usr/bin/firefox-esr, or
	// firefox-esr or firefox on $PATH otherwise.
	envFirefoxBin = "TRACELAKE_FIREFOX_BIN"
	// envRequireFirefox, set to 1, makes a missing Firefox (or
	// puppeteer-core) fail TestWebUI instead of skipping its Firefox walk.
	// The walk runs after the Chromium one, so it needs Chromium too (and
	// is skipped with the whole test without it, unless
	// TRACELAKE_REQUIRE_CHROMIUM=1).
	envRequireFirefox = "TRACELAKE_REQUIRE_FIREFOX"
)

// browserEnv is what running a browser script needs.
type browserEnv struct {
	root     string // module root
	node     string
	chromium string
	webDir   string // query/ui/web
}

// needBrowser finds Chromium, Node and playwright-core, skipping the test
// when one is missing (failing it under TRACELAKE_REQUIRE_CHROMIUM=1).
func needBrowser(t testing.TB) browserEnv {
	t.Helper()
	missing := func(format string, args ...any) {
		t.Helper()
		msg := fmt.Sprintf(format, args...)
		if os.Getenv(envRequireChromium) == "1" {
			t.Fatalf("%s (%s=1)", msg, envRequireChromium)
		}
		t.Skip(msg)
	}
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	env := browserEnv{root: root, webDir: filepath.Join(root, "query", "ui", "web")}
	env.chromium = os.Getenv(envChromiumBin)
	if env.chromium == "" {
		for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
			if p, err := exec.LookPath(name); err == nil {
				env.chromium = p
				break
			}
		}
	}
	if env.chromium == "" {
		missing("no Chromium: install Debian's chromium (make chromium) or set %s", envChromiumBin)
	} else if _, err := os.Stat(env.chromium); err != nil {
		missing("Chromium %s: %v", env.chromium, err)
	}
	if env.node, err = exec.LookPath("node"); err != nil {
		missing("no node on $PATH: the browser tests run playwright-core under Node")
	}
	if _, err := os.Stat(filepath.Join(env.webDir, "node_modules", "playwright-core", "package.json")); err != nil {
		missing("playwright-core is not installed: run `npm ci` in query/ui/web (make ui-check does)")
	}
	return env
}

// findFirefox finds Firefox and puppeteer-core, which drives it; the error
// says what is missing.
func (env browserEnv) findFirefox() (string, error) {
	bin := os.Getenv(envFirefoxBin)
	if bin == "" {
		for _, name := range []string{"/usr/bin/firefox-esr", "firefox-esr", "firefox"} {
			if p, err := exec.LookPath(name); err == nil {
				bin = p
				break
			}
		}
	}
	if bin == "" {
		return "", fmt.Errorf("no Firefox: install Debian's firefox-esr (make firefox) or set %s", envFirefoxBin)
	}
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("Firefox %s: %v", bin, err)
	}
	if _, err := os.Stat(filepath.Join(env.webDir, "node_modules", "puppeteer-core", "package.json")); err != nil {
		return "", errors.New("puppeteer-core is not installed: run `npm ci` in query/ui/web (make ui-check does)")
	}
	return bin, nil
}

// moduleRoot is the directory of tracelake's go.mod above the working directory.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(b, []byte("module github.com/tracelake/tracelake\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("cannot find tracelake's go.mod above the working directory")
		}
		dir = parent
	}
}

// runScript runs a script of query/ui/web/e2e with a JSON fixture as its
// argument, logging its output, and fails the test when it fails.
func (env browserEnv) runScript(t testing.TB, script string, fixture any, timeout time.Duration) string {
	t.Helper()
	b, err := json.MarshalIndent(fixture, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "fixture.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, env.node, filepath.Join(env.webDir, "e2e", script), path)
	cmd.Dir = env.webDir
	cmd.Env = append(os.Environ(), "TRACELAKE_CHROMIUM_BIN="+env.chromium)
	// The script's own time limits end it first; this is the backstop.
	cmd.WaitDelay = 10 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	t.Logf("node e2e/%s:\n%s", script, out.String())
	if ctx.Err() != nil {
		t.Fatalf("e2e/%s did not finish within %s", script, timeout)
	}
	if err != nil {
		t.Fatalf("e2e/%s failed: %v (its output is above)", script, err)
	}
	return out.String()
}

// A link between services the seeded traces make, as /api/dependencies
// must count it.
type uiEdge struct {
	Parent string `json:"parent"`
	Child  string `json:"child"`
	Calls  int    `json:"calls"`
}

// uiFixture is what the browser walk (e2e/ui.mjs) is told about the
// server and the seeded traces.
type uiFixture struct {
	BaseURL  string `json:"baseURL"`
	OutDir   string `json:"outDir"`
	Chromium string `json:"chromium"`
	Firefox  string `json:"firefox,omitempty"` // for e2e/ui-firefox.mjs
	// DeepTrace has nested spans over three services (DeepSpans of them).
	DeepTrace string `json:"deepTrace"`
	DeepSpans int    `json:"deepSpans"`
	// CompareA and CompareB (tag compare=yes) differ: B adds a span, drops
	// one and one of its spans is three times longer.
	CompareA string `json:"compareA"`
	CompareB string `json:"compareB"`
	// CheckoutTraces are the checkout flows (8 spans each); one in four
	// has an error in payment.
	CheckoutTraces []string `json:"checkoutTraces"`
	Services       []string `json:"services"`
	Edges          []uiEdge `json:"edges"`
	// Upload files: a trace as /api/traces/{id} and /api/v3/traces/{id}
	// answer it.
	JaegerFile  string `json:"jaegerFile"`
	JaegerTrace string `json:"jaegerTrace"`
	JaegerSpans int    `json:"jaegerSpans"`
	OTLPFile    string `json:"otlpFile"`
	OTLPTrace   string `json:"otlpTrace"`
	OTLPSpans   int    `json:"otlpSpans"`
	BadFile     string `json:"badFile"`
	// MissingTrace is stored nowhere.
	MissingTrace string `json:"missingTrace"`
}

// uiSeeder sends traces of several services through the OTel SDK, one
// tracer provider (and exporter) per service, as separate processes would.
type uiSeeder struct {
	t         *testing.T
	grpcAddr  string
	providers map[string]*sdktrace.TracerProvider
	edges     map[[2]string]int
	spans     map[string]int // spans per trace
}

func newUISeeder(t *testing.T, grpcAddr string) *uiSeeder {
	return &uiSeeder{t: t, grpcAddr: grpcAddr, providers: map[string]*sdktrace.TracerProvider{}, edges: map[[2]string]int{}, spans: map[string]int{}}
}

func (s *uiSeeder) tracer(service string) trace.Tracer {
	tp, ok := s.providers[service]
	if !ok {
		tp = sdktrace.NewTracerProvider(
			sdktrace.WithBatcher(grpcExporter(s.t, s.grpcAddr, nil),
				sdktrace.WithMaxQueueSize(20_000), sdktrace.WithMaxExportBatchSize(512), sdktrace.WithBatchTimeout(time.Hour)),
			sdktrace.WithResource(resource.NewSchemaless(
				attribute.String("service.name", service), attribute.String("service.version", "1.4.2"), attribute.String("host.name", "ui-e2e"))),
		)
		s.providers[service] = tp
	}
	return tp.Tracer("tracelake-ui-e2e", trace.WithInstrumentationVersion("1.0.0"))
}

// seedSpan is a span to create: its service, name, kind, offset from the
// trace start and duration, children, and what else it carries.
type seedSpan struct {
	service, name string
	kind          trace.SpanKind
	at, dur       time.Duration
	attrs         []attribute.KeyValue
	event         string
	err           string
	children      []seedSpan
}

// emit creates the span tree under ctx (the parent's service is parent)
// starting at t0, and returns the trace ID.
func (s *uiSeeder) emit(ctx context.Context, parent string, t0 time.Time, sp seedSpan) string {
	cctx, span := s.tracer(sp.service).Start(ctx, sp.name, trace.WithSpanKind(sp.kind),
		trace.WithTimestamp(t0.Add(sp.at)), trace.WithAttributes(sp.attrs...))
	id := span.SpanContext().TraceID().String()
	s.spans[id]++
	if parent != "" && parent != sp.service {
		s.edges[[2]string{parent, sp.service}]++
	}
	if sp.event != "" {
		span.AddEvent(sp.event, trace.WithTimestamp(t0.Add(sp.at+sp.dur/2)), trace.WithAttributes(attribute.Int("rows", 3)))
	}
	for _, c := range sp.children {
		s.emit(cctx, sp.service, t0, c)
	}
	if sp.err != "" {
		span.SetStatus(codes.Error, sp.err)
	}
	span.End(trace.WithTimestamp(t0.Add(sp.at + sp.dur)))
	return id
}

// flush exports every span and shuts the providers down.
func (s *uiSeeder) flush() {
	s.t.Helper()
	for name, tp := range s.providers {
		if err := tp.ForceFlush(context.Background()); err != nil {
			s.t.Fatalf("export %s's spans: %v", name, err)
		}
		if err := tp.Shutdown(context.Background()); err != nil {
			s.t.Fatalf("shut down %s's tracer provider: %v", name, err)
		}
	}
}

func (s *uiSeeder) sortedEdges() []uiEdge {
	var out []uiEdge
	for k, n := range s.edges {
		out = append(out, uiEdge{Parent: k[0], Child: k[1], Calls: n})
	}
	slices.SortFunc(out, func(a, b uiEdge) int { return strings.Compare(a.Parent+"\x00"+a.Child, b.Parent+"\x00"+b.Child) })
	return out
}

// checkoutFlow is the trace of one checkout: frontend calls checkout,
// which writes to its database and calls payment; frontend also calls
// catalog. Eight spans.
func checkoutFlow(i int) seedSpan {
	ms := time.Millisecond
	pay := seedSpan{service: "payment", name: "POST /charge", kind: trace.SpanKindServer, at: 22 * ms, dur: time.Duration(30+i) * ms,
		attrs: []attribute.KeyValue{attribute.String("http.request.method", "POST"), attribute.Int("http.response.status_code", 200)}}
	if i%4 == 0 {
		pay.err = "card declined"
		pay.attrs = []attribute.KeyValue{attribute.String("http.request.method", "POST"), attribute.Int("http.response.status_code", 402)}
	}
	return seedSpan{service: "frontend", name: "GET /checkout", kind: trace.SpanKindServer, dur: time.Duration(90+2*i) * ms,
		attrs: []attribute.KeyValue{attribute.String("http.request.method", "GET"), attribute.String("http.route", "/checkout"), attribute.String("user.id", fmt.Sprintf("u-%d", i))},
		children: []seedSpan{
			{service: "frontend", name: "POST /orders", kind: trace.SpanKindClient, at: 2 * ms, dur: time.Duration(60+i) * ms, children: []seedSpan{
				{service: "checkout", name: "POST /orders", kind: trace.SpanKindServer, at: 3 * ms, dur: time.Duration(58+i) * ms, children: []seedSpan{
					{service: "checkout", name: "INSERT orders", kind: trace.SpanKindClient, at: 5 * ms, dur: 10 * ms, event: "rows inserted",
						attrs: []attribute.KeyValue{attribute.String("db.system", "postgresql"), attribute.String("db.statement", "INSERT INTO orders VALUES ($1, $2)")}},
					{service: "checkout", name: "charge", kind: trace.SpanKindClient, at: 20 * ms, dur: time.Duration(34+i) * ms, children: []seedSpan{pay}},
				}},
			}},
			{service: "frontend", name: "GET /products", kind: trace.SpanKindClient, at: time.Duration(65+i) * ms, dur: 20 * ms, children: []seedSpan{
				{service: "catalog", name: "GET /products", kind: trace.SpanKindServer, at: time.Duration(66+i) * ms, dur: 17 * ms,
					attrs: []attribute.KeyValue{attribute.Bool("cache.hit", i%2 == 0)}},
			}},
		}}
}

// deepTree is a tree of depth levels with fanout children per span over
// three services, with a SELECT at every leaf.
func deepTree(level, levels, fanout int, at, dur time.Duration, path string) seedSpan {
	services := []string{"frontend", "checkout", "checkout", "catalog", "catalog"}
	sp := seedSpan{service: services[level%len(services)], name: fmt.Sprintf("step %s", path), kind: trace.SpanKindInternal, at: at, dur: dur,
		attrs: []attribute.KeyValue{attribute.Int("level", level)}}
	if level == 0 {
		sp.name, sp.kind = "GET /deep", trace.SpanKindServer
	} else if level > 0 && services[level%len(services)] != services[(level-1)%len(services)] {
		sp.kind = trace.SpanKindServer
	}
	if level == levels-1 {
		sp.name = "SELECT items " + path
		sp.attrs = append(sp.attrs, attribute.String("db.system", "postgresql"))
		sp.event = "rows fetched"
		return sp
	}
	child := dur / time.Duration(fanout+1)
	for c := 0; c < fanout; c++ {
		sp.children = append(sp.children, deepTree(level+1, levels, fanout, at+child/2+time.Duration(c)*child, child, fmt.Sprintf("%s%d", path, c)))
	}
	return sp
}

// compareTrace is one of two traces to diff: b makes "load cart" three
// times longer, adds "apply coupon" and drops "legacy pricing".
func compareTrace(b bool) seedSpan {
	ms := time.Millisecond
	load := seedSpan{service: "frontend", name: "load cart", kind: trace.SpanKindInternal, at: 1 * ms, dur: 10 * ms, children: []seedSpan{
		{service: "frontend", name: "SELECT cart", kind: trace.SpanKindClient, at: 2 * ms, dur: 5 * ms, attrs: []attribute.KeyValue{attribute.String("db.system", "postgresql")}},
	}}
	root := seedSpan{service: "frontend", name: "GET /compare", kind: trace.SpanKindServer, dur: 50 * ms,
		attrs: []attribute.KeyValue{attribute.String("compare", "yes"), attribute.Bool("variant.b", b)}}
	if b {
		load.dur = 30 * ms
		root.children = []seedSpan{load, {service: "frontend", name: "apply coupon", kind: trace.SpanKindInternal, at: 32 * ms, dur: 4 * ms}}
	} else {
		root.children = []seedSpan{load, {service: "frontend", name: "legacy pricing", kind: trace.SpanKindInternal, at: 12 * ms, dur: 6 * ms}}
	}
	return root
}

// TestWebUI walks every page of the web UI in headless Chromium against a
// real all-in-one: search, a trace with its views, compare, dependencies,
// monitor and JSON upload; then the main flows in headless Firefox against
// the same server (subtest firefox).
func TestWebUI(t *testing.T) {
	env := needBrowser(t)
	firefox, noFirefox := env.findFirefox()
	if noFirefox != nil && os.Getenv(envRequireFirefox) == "1" {
		t.Fatalf("%v (%s=1)", noFirefox, envRequireFirefox)
	}
	st := localStorage(t)

	// Seed with the compactor off, then restart with it on: the first
	// compaction pass then sees every file, so the dependency links between
	// spans that different services' exports put in different files are
	// all counted (before compaction only links within one file are).
	// Compaction windows are hours of writing: seeding across an hour's end
	// would split the traces over two blocks, and links between them would
	// not be counted.
	if d := time.Until(time.Now().Truncate(time.Hour).Add(time.Hour)); d < 15*time.Second {
		time.Sleep(d + time.Second)
	}
	seedProc := start(t, "all-in-one", st, "--compactor.enabled=false")
	seeder := newUISeeder(t, seedProc.grpcAddr)
	now := time.Now()
	// Spans start in whole minutes before the current one: the metrics API
	// counts whole minutes only.
	base := now.Truncate(time.Minute).Add(-10 * time.Minute)
	var fx uiFixture
	for i := range 20 {
		fx.CheckoutTraces = append(fx.CheckoutTraces, seeder.emit(context.Background(), "", base.Add(time.Duration(i)*20*time.Second), checkoutFlow(i)))
	}
	for i := range 10 {
		seeder.emit(context.Background(), "", base.Add(time.Duration(i)*37*time.Second), seedSpan{service: "frontend", name: "GET /", kind: trace.SpanKindServer, dur: time.Duration(3+i) * time.Millisecond})
	}
	fx.DeepTrace = seeder.emit(context.Background(), "", base.Add(7*time.Minute), deepTree(0, 5, 3, 0, 800*time.Millisecond, ""))
	fx.CompareA = seeder.emit(context.Background(), "", base.Add(7*time.Minute+30*time.Second), compareTrace(false))
	fx.CompareB = seeder.emit(context.Background(), "", base.Add(8*time.Minute), compareTrace(true))
	seeder.flush()
	if err := seedProc.kill(syscall.SIGTERM); err != nil {
		t.Fatalf("all-in-one did not stop cleanly: %v\n%s", err, seedProc.logs.String())
	}
	fx.DeepSpans = seeder.spans[fx.DeepTrace]
	fx.Edges = seeder.sortedEdges()
	fx.Services = []string{"catalog", "checkout", "frontend", "payment"}

	p := start(t, "all-in-one", st, "--compactor.settle", "-1h", "--compactor.interval", "1s", "--compactor.grace", "0s")
	waitCompacted(t, p, 1)
	waitDependencies(t, p.queryURL, fx.Edges)

	fx.BaseURL = p.queryURL
	fx.Chromium = env.chromium
	fx.OutDir = filepath.Join(env.root, "bin", "test-output", "ui")
	if err := os.RemoveAll(fx.OutDir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(fx.OutDir, 0o755); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	fx.JaegerTrace, fx.JaegerSpans = fx.CheckoutTraces[0], 8
	fx.JaegerFile = saveAPI(t, p.queryURL+"/api/traces/"+fx.JaegerTrace, filepath.Join(dir, "jaeger-trace.json"))
	fx.OTLPTrace, fx.OTLPSpans = fx.CompareB, seeder.spans[fx.CompareB]
	fx.OTLPFile = saveAPI(t, p.queryURL+"/api/v3/traces/"+fx.OTLPTrace, filepath.Join(dir, "otlp-trace.json"))
	fx.BadFile = filepath.Join(dir, "not-a-trace.json")
	if err := os.WriteFile(fx.BadFile, []byte(`{"hello": "world"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	fx.MissingTrace = "0123456789abcdef0123456789abcdef"

	env.runScript(t, "ui.mjs", fx, 4*time.Minute)

	// Firefox: the main flows, against the same seeded server.
	t.Run("firefox", func(t *testing.T) {
		if noFirefox != nil {
			t.Skip(noFirefox)
		}
		fx.Firefox = firefox
		fx.OutDir = filepath.Join(env.root, "bin", "test-output", "ui-firefox")
		if err := os.RemoveAll(fx.OutDir); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(fx.OutDir, 0o755); err != nil {
			t.Fatal(err)
		}
		env.runScript(t, "ui-firefox.mjs", fx, 2*time.Minute)
	})
}

// waitDependencies waits until /api/dependencies counts exactly the links
// the seeded traces make.
func waitDependencies(t *testing.T, queryURL string, want []uiEdge) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var got struct {
			Data []struct {
				Parent    string `json:"parent"`
				Child     string `json:"child"`
				CallCount int    `json:"callCount"`
			} `json:"data"`
		}
		getJSON(t, queryURL+"/api/dependencies?lookback=7200000", nil, &got)
		var edges []uiEdge
		for _, d := range got.Data {
			edges = append(edges, uiEdge{Parent: d.Parent, Child: d.Child, Calls: d.CallCount})
		}
		if slices.Equal(edges, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/api/dependencies answers %+v, want %+v", edges, want)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// saveAPI writes the body of a GET that must succeed to path.
func saveAPI(t testing.TB, rawURL, path string) string {
	t.Helper()
	resp, err := http.Get(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v %s", rawURL, resp.StatusCode, err, b)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
