package main

// The binary as an AWS Lambda function: as the `bootstrap` of a
// provided.al2023 function it finds AWS_LAMBDA_RUNTIME_API set, serves the
// role its environment names through aws-lambda-go's runtime loop, and
// reuses the handlers the servers use: the ingest receivers' HTTP handlers,
// the query mux, the compactor.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"

	"github.com/tracelake/tracelake/functions/jaeger"
	"github.com/tracelake/tracelake/functions/lambdaurl"
	"github.com/tracelake/tracelake/functions/otlp"
	"github.com/tracelake/tracelake/functions/zipkin"
	"github.com/tracelake/tracelake/storage/compact"
	"github.com/tracelake/tracelake/storage/objstore"
	"github.com/tracelake/tracelake/storage/objstore/client"
	"github.com/tracelake/tracelake/storage/tracestore"
)

// Environment variables only the Lambda mode reads.
const (
	// envRuntimeAPI is set by Lambda (and by its emulators) to the Runtime
	// API's host:port; its presence is how the binary knows it is a function.
	envRuntimeAPI = "AWS_LAMBDA_RUNTIME_API"
	// envRole names the role: ingest, query or compact. Without it the
	// function's handler setting (_HANDLER) is used when it names a role.
	envRole = "TRACELAKE_ROLE"
	// envAuthToken, when set, makes the function require the token (see
	// lambdaurl.RequireToken): for Function URLs whose AuthType is NONE.
	envAuthToken = "TRACELAKE_AUTH_TOKEN"
)

// inLambda reports whether the process is a Lambda function's runtime.
func inLambda(getenv func(string) string) bool { return getenv(envRuntimeAPI) != "" }

// lambdaRole picks the role from TRACELAKE_ROLE or _HANDLER.
func lambdaRole(getenv func(string) string) (role, error) {
	roles := map[string]role{"ingest": roleIngest, "query": roleQuery, "compact": roleCompact}
	name, source := getenv(envRole), envRole
	if name == "" {
		name, source = getenv("_HANDLER"), "_HANDLER (the function's handler setting)"
		if _, ok := roles[name]; !ok {
			return role{}, fmt.Errorf("%s is not set and %s is %q: set %s to ingest, query or compact", envRole, source, name, envRole)
		}
	}
	r, ok := roles[name]
	if !ok {
		return role{}, fmt.Errorf("%s=%q: a Lambda function serves ingest, query or compact", source, name)
	}
	return r, nil
}

// runLambda serves invocations until Lambda ends the process. A start-up
// failure is reported to the Runtime API as an init error, so it shows in
// the function's logs and invocations fail with its message instead of a
// bare timeout.
func runLambda(ctx context.Context, getenv func(string) string, stderr io.Writer) error {
	h, err := newLambdaHandler(ctx, getenv, stderr)
	if err != nil {
		if rerr := reportInitError(getenv(envRuntimeAPI), err); rerr != nil {
			fmt.Fprintln(stderr, "tracelake: report the init error to the Runtime API:", rerr)
		}
		return err
	}
	// Returns only on a broken Runtime API; aws-lambda-go then exits.
	lambda.StartWithOptions(h, lambda.WithContext(ctx))
	return errors.New("the Lambda runtime loop ended")
}

// reportInitError posts err to the Runtime API's /init/error, as AWS's
// documentation asks of a runtime that cannot start.
func reportInitError(api string, err error) error {
	body, _ := json.Marshal(map[string]any{"errorMessage": err.Error(), "errorType": "Runtime.InitError"})
	req, rerr := http.NewRequest(http.MethodPost, "http://"+api+"/2018-06-01/runtime/init/error", bytes.NewReader(body))
	if rerr != nil {
		return rerr
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Lambda-Runtime-Function-Error-Type", "Runtime.InitError")
	resp, rerr := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if rerr != nil {
		return rerr
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("the Runtime API answered %s", resp.Status)
	}
	return nil
}

// lambdaConfig is the configuration (TRACELAKE_* variables, or the file
// TRACELAKE_CONFIG names, as for the servers) with what a function needs
// instead of a server's defaults.
func lambdaConfig(r role, getenv func(string) string) (Config, error) {
	fs := pflag.NewFlagSet("tracelake lambda "+r.name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg, err := loadConfig(fs, nil, getenv)
	if err != nil {
		return Config{}, err
	}
	if cfg.Storage.URL == DefaultConfig().Storage.URL {
		return Config{}, errors.New("storage.url: set TRACELAKE_STORAGE_URL (s3://bucket[/prefix]): a function's only writable directory, /tmp, is not shared and not kept")
	}
	// Lambda freezes the sandbox once the response is sent, so a batch
	// may not wait for company: every request is written before it is
	// answered. (There is one request at a time anyway.)
	cfg.Ingest.Batch.MaxDelay = 0
	if cfg.Plugins.CacheDir == "" {
		// The package is read-only; /tmp keeps compiled plugins while the
		// sandbox lives.
		cfg.Plugins.CacheDir = filepath.Join(os.TempDir(), "tracelake-plugins")
	}
	// Sizes follow the function's memory unless set: the servers' defaults
	// (a 1 GiB block index cache, 16 MiB requests) assume a machine.
	if mb, _ := strconv.Atoi(getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")); mb > 0 {
		mem := ByteSize(mb) << 20
		scale := func(key string, v *ByteSize, size ByteSize) {
			if getenv(envName(key)) == "" && cfg.configFile == "" {
				*v = size
			}
		}
		scale("query.trace-index-cache", &cfg.Query.TraceIndexCache, mem/16)
		scale("query.block-index-cache", &cfg.Query.BlockIndexCache, mem/4)
		scale("ingest.max-request-bytes", &cfg.Ingest.MaxRequestBytes, min(cfg.Ingest.MaxRequestBytes, max(mem/16, 6<<20)))
	}
	return cfg, cfg.Validate()
}

// setMemoryLimit makes the garbage collector keep the heap well under the
// function's memory (Lambda ends a function that exceeds it), unless
// GOMEMLIMIT says otherwise: half of it in small functions, all but 256 MiB
// in large ones. The rest is for what is not heap — the binary's pages,
// stacks, fragmentation — which is ~40 MiB.
func setMemoryLimit(getenv func(string) string) {
	if getenv("GOMEMLIMIT") != "" {
		return
	}
	if mb, _ := strconv.Atoi(getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")); mb > 0 {
		mem := int64(mb) << 20
		debug.SetMemoryLimit(max(mem/2, mem-256<<20))
	}
}

// newLambdaHandler builds the role's handler. Nothing here reaches the
// network: the object store is opened by the first request that needs it.
func newLambdaHandler(ctx context.Context, getenv func(string) string, stderr io.Writer) (lambda.Handler, error) {
	r, err := lambdaRole(getenv)
	if err != nil {
		return nil, err
	}
	cfg, err := lambdaConfig(r, getenv)
	if err != nil {
		return nil, err
	}
	setMemoryLimit(getenv)
	logCfg := cfg.Log
	if strings.EqualFold(getenv("AWS_LAMBDA_LOG_FORMAT"), "json") {
		logCfg.Format = "json" // the function's log format setting
	}
	logger := newLogger(logCfg, stderr).With("role", r.name)

	raw, err := openLambdaStore(ctx, cfg.Storage.URL, getenv)
	if err != nil {
		return nil, fmt.Errorf("storage.url: %w", err)
	}
	// Metrics are kept for the summaries below; nothing scrapes a function.
	reg := prometheus.NewRegistry()
	bucket := objstore.Instrument(raw, reg)
	store := tracestore.New(bucket, tracestore.Config{})

	switch r {
	case roleIngest:
		h, err := lambdaIngestMux(ctx, cfg, store, reg, logger, getenv)
		if err != nil {
			return nil, err
		}
		return lambdaurl.New(withToken(h, getenv), lambdaurl.Options{Logger: logger}), nil
	case roleQuery:
		eng, mux, err := newQuery(cfg, store, logger)
		if err != nil {
			return nil, err
		}
		if err := registerZipkinQuery(mux, cfg, eng, logger); err != nil {
			return nil, err
		}
		return lambdaurl.New(withToken(mux, getenv), lambdaurl.Options{Logger: logger}), nil
	default:
		c, err := newCompactor(cfg, store, logger, reg)
		if err != nil {
			return nil, err
		}
		return &compactHandler{c: c, reg: reg, logger: logger}, nil
	}
}

func withToken(h http.Handler, getenv func(string) string) http.Handler {
	if token := getenv(envAuthToken); token != "" {
		return lambdaurl.RequireToken(h, token)
	}
	return h
}

// lambdaIngestMux serves every HTTP ingest protocol on one mux, as one
// Function URL: OTLP/HTTP (/v1/traces), Zipkin (/api/v2/spans,
// /api/v1/spans) and Jaeger Thrift over HTTP (/api/traces). gRPC cannot
// reach a function; it needs the ingest pods.
func lambdaIngestMux(ctx context.Context, cfg Config, store *tracestore.Store, reg *prometheus.Registry, logger *slog.Logger, getenv func(string) string) (http.Handler, error) {
	// The plugins' reload loop runs while the sandbox is thawed; nothing
	// waits for it, as the process only ever ends by being killed.
	var background sync.WaitGroup
	parts, err := newIngest(ctx, cfg, store, reg, logger, getenv, &background)
	if err != nil {
		return nil, err
	}
	maxBytes := int(cfg.Ingest.MaxRequestBytes)
	mux := http.NewServeMux()
	otlp.NewHTTPHandler(otlp.Config{MaxRequestBytes: maxBytes, TenantHeader: cfg.Tenant.Header, DefaultTenant: cfg.Tenant.Default}, parts.pipe, logger).Register(mux)
	zipkin.NewHandler(zipkin.Config{MaxRequestBytes: maxBytes, TenantHeader: cfg.Tenant.Header, DefaultTenant: cfg.Tenant.Default}, parts.pipe, logger).Register(mux)
	jaeger.NewHTTPHandler(jaeger.Config{MaxRequestBytes: maxBytes, TenantHeader: cfg.Tenant.Header, DefaultTenant: cfg.Tenant.Default}, parts.pipe, logger).Register(mux)
	return mux, nil
}

// compactHandler runs one compaction pass per invocation: what the
// compactor role does every compactor.interval, on EventBridge's schedule.
// Compactors coordinate through leases in the bucket, so overlapping
// invocations (a slow pass, a retry) are safe.
type compactHandler struct {
	c      *compact.Compactor
	reg    *prometheus.Registry
	logger *slog.Logger
}

// compactResult is what an invocation answers (and logs).
type compactResult struct {
	Blocks       int    `json:"blocks"`
	FailedBlocks int    `json:"failedBlocks"`
	Spans        int    `json:"spans"`
	Deleted      int    `json:"deletedObjects"`
	DurationMs   int64  `json:"durationMs"`
	Unfinished   string `json:"unfinished,omitempty"`
}

// compactMargin is left of the invocation's time to end a pass cleanly
// (releasing its lease) rather than be killed in the middle of it.
const compactMargin = 10 * time.Second

func (h *compactHandler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var ev struct {
		Source         string          `json:"source"`
		RequestContext json.RawMessage `json:"requestContext"`
	}
	if p := bytes.TrimSpace(payload); len(p) > 0 && !bytes.Equal(p, []byte("null")) {
		if err := json.Unmarshal(p, &ev); err != nil {
			return nil, fmt.Errorf("the compact function takes an EventBridge scheduled event (or {}): %v", err)
		}
	}
	if len(ev.RequestContext) > 0 {
		return nil, errors.New("the compact function takes an EventBridge scheduled event, not an HTTP request: it has no URL")
	}
	runCtx := ctx
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) > 2*compactMargin {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithDeadline(ctx, deadline.Add(-compactMargin))
		defer cancel()
	}
	before := h.counters()
	start := time.Now()
	err := h.c.RunOnce(runCtx)
	after := h.counters()
	res := compactResult{
		Blocks:       after.blocks - before.blocks,
		FailedBlocks: after.failed - before.failed,
		Spans:        after.spans - before.spans,
		Deleted:      after.deleted - before.deleted,
		DurationMs:   time.Since(start).Milliseconds(),
	}
	if err != nil {
		if runCtx.Err() == nil || ctx.Err() != nil {
			return nil, fmt.Errorf("compaction pass: %w", err)
		}
		// Out of time, not broken: leases let the next run continue.
		res.Unfinished = "the invocation's time ran out; the next scheduled run continues"
	}
	h.logger.InfoContext(ctx, "compaction pass", "blocks", res.Blocks, "failed_blocks", res.FailedBlocks, "spans", res.Spans, "deleted", res.Deleted, "duration_ms", res.DurationMs, "unfinished", res.Unfinished != "")
	return json.Marshal(res)
}

type compactCounters struct{ blocks, failed, spans, deleted int }

// counters reads the compactor's own metrics, so the summary counts what
// it counts.
func (h *compactHandler) counters() compactCounters {
	var c compactCounters
	families, err := h.reg.Gather()
	if err != nil {
		return c
	}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			v := int(m.GetCounter().GetValue())
			switch f.GetName() {
			case "tracelake_compactor_blocks_total":
				for _, l := range m.GetLabel() {
					if l.GetName() == "result" && l.GetValue() == "ok" {
						c.blocks += v
					} else if l.GetName() == "result" {
						c.failed += v
					}
				}
			case "tracelake_compactor_spans_total":
				c.spans += v
			case "tracelake_compactor_deleted_total":
				c.deleted += v
			}
		}
	}
	return c
}

// openLambdaStore opens a local directory at once, and an S3 bucket on
// first use: opening checks the bucket with a request, which would make
// an unreachable store a failed start (every invocation a bare 502)
// instead of the retryable 503 the servers answer while storage is down,
// and would add a round trip to the init phase of functions whose first
// request may not need storage at all.
func openLambdaStore(ctx context.Context, rawURL string, getenv func(string) string) (objstore.Bucket, error) {
	u, err := url.Parse(rawURL)
	if err != nil || !strings.EqualFold(u.Scheme, "s3") {
		return client.Open(ctx, rawURL, getenv)
	}
	return &lazyBucket{name: "s3://" + u.Host + u.Path, open: func(ctx context.Context) (objstore.Bucket, error) {
		return client.Open(ctx, rawURL, getenv)
	}}, nil
}

// lazyBucket opens its bucket on the first operation, and again after a
// failed attempt.
type lazyBucket struct {
	name string
	open func(context.Context) (objstore.Bucket, error)
	mu   sync.Mutex
	b    objstore.Bucket
}

func (l *lazyBucket) get(ctx context.Context) (objstore.Bucket, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b == nil {
		b, err := l.open(ctx)
		if err != nil {
			return nil, err
		}
		l.b = b
	}
	return l.b, nil
}

func (l *lazyBucket) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	b, err := l.get(ctx)
	if err != nil {
		return nil, err
	}
	return b.Get(ctx, key)
}

func (l *lazyBucket) GetRange(ctx context.Context, key string, off, length int64) (io.ReadCloser, error) {
	b, err := l.get(ctx)
	if err != nil {
		return nil, err
	}
	return b.GetRange(ctx, key, off, length)
}

func (l *lazyBucket) Attributes(ctx context.Context, key string) (objstore.Attrs, error) {
	b, err := l.get(ctx)
	if err != nil {
		return objstore.Attrs{}, err
	}
	return b.Attributes(ctx, key)
}

func (l *lazyBucket) List(ctx context.Context, prefix string, opts objstore.ListOptions) iter.Seq2[objstore.Attrs, error] {
	return func(yield func(objstore.Attrs, error) bool) {
		b, err := l.get(ctx)
		if err != nil {
			yield(objstore.Attrs{}, err)
			return
		}
		for a, err := range b.List(ctx, prefix, opts) {
			if !yield(a, err) {
				return
			}
		}
	}
}

func (l *lazyBucket) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	b, err := l.get(ctx)
	if err != nil {
		return err
	}
	return b.Put(ctx, key, r, size)
}

func (l *lazyBucket) PutIfAbsent(ctx context.Context, key string, r io.Reader, size int64) error {
	b, err := l.get(ctx)
	if err != nil {
		return err
	}
	return b.PutIfAbsent(ctx, key, r, size)
}

func (l *lazyBucket) Delete(ctx context.Context, key string) error {
	b, err := l.get(ctx)
	if err != nil {
		return err
	}
	return b.Delete(ctx, key)
}

func (l *lazyBucket) Name() string { return l.name }

func (l *lazyBucket) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b == nil {
		return nil
	}
	return l.b.Close()
}
