package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/pflag"
	"google.golang.org/grpc"

	"github.com/tracelake/tracelake/functions/jaeger"
	"github.com/tracelake/tracelake/functions/otlp"
	"github.com/tracelake/tracelake/functions/pipeline"
	"github.com/tracelake/tracelake/functions/plugins"
	"github.com/tracelake/tracelake/functions/sampling"
	"github.com/tracelake/tracelake/functions/zipkin"
	"github.com/tracelake/tracelake/query/engine"
	"github.com/tracelake/tracelake/query/jaegerapi"
	"github.com/tracelake/tracelake/query/ui"
	"github.com/tracelake/tracelake/query/zipkinapi"
	"github.com/tracelake/tracelake/storage/compact"
	"github.com/tracelake/tracelake/storage/objstore"
	"github.com/tracelake/tracelake/storage/objstore/client"
	"github.com/tracelake/tracelake/storage/tracestore"
	"github.com/tracelake/tracelake/wasm/host"
)

type role struct {
	name          string
	ingest, query bool
	// compact runs the compactor: always in the compact role, in the
	// all-in-one unless compactor.enabled is false.
	compact bool
}

var (
	roleAllInOne = role{name: "all-in-one", ingest: true, query: true, compact: true}
	roleIngest   = role{name: "ingest", ingest: true}
	roleQuery    = role{name: "query", query: true}
	roleCompact  = role{name: "compact", compact: true}
)

func newLogger(cfg LogConfig, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Level)) // validated already
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// server is one listener (TCP or UDP) and how to serve and stop it.
type server struct {
	name   string // the config key of its address, for messages
	addr   string // the address it is bound to
	ingest bool   // receives spans: stopped first, before pending batches are written
	serve  func() error
	stop   func(context.Context) error
	close  func() // releases the listener if start-up fails before serve
}

// errServerClosed is what serve functions return after a clean stop.
func serverClosed(err error) bool {
	return err == nil || errors.Is(err, http.ErrServerClosed) || errors.Is(err, grpc.ErrServerStopped) ||
		errors.Is(err, jaeger.ErrServerClosed)
}

func httpServer(key string, lis net.Listener, h http.Handler, logger *slog.Logger, ingest bool) *server {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	return &server{name: key, addr: lis.Addr().String(), ingest: ingest,
		serve: func() error { return srv.Serve(lis) }, stop: srv.Shutdown, close: func() { lis.Close() }}
}

func grpcServer(key string, lis net.Listener, srv *grpc.Server, ingest bool) *server {
	return &server{name: key, addr: lis.Addr().String(), ingest: ingest,
		serve: func() error { return srv.Serve(lis) },
		stop: func(ctx context.Context) error {
			done := make(chan struct{})
			go func() {
				srv.GracefulStop()
				close(done)
			}()
			select {
			case <-done:
				return nil
			case <-ctx.Done():
				srv.Stop()
				return ctx.Err()
			}
		},
		close: func() { lis.Close() }}
}

// listen binds addr, naming the setting in the error so a port conflict
// says which setting to change.
func listen(key, addr string) (net.Listener, error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: listen on %s: %w", key, addr, err)
	}
	return lis, nil
}

// assembly collects the servers of a process as they are built, so a
// failure half-way releases every listener already bound.
type assembly struct {
	servers []*server
}

func (a *assembly) add(s *server) { a.servers = append(a.servers, s) }

func (a *assembly) release() {
	for _, s := range a.servers {
		s.close()
	}
}

// serve runs a role until ctx is cancelled (SIGINT/SIGTERM), then shuts
// down in order: stop taking spans, write every pending batch, finish
// in-flight requests, stop the query and admin servers.
func serve(ctx context.Context, r role, args []string, getenv func(string) string, stderr io.Writer) (err error) {
	fs := pflag.NewFlagSet("tracelake "+r.name, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, err := loadConfig(fs, args, getenv)
	if err != nil {
		return err
	}
	logger := newLogger(cfg.Log, stderr).With("role", r.name)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "tracelake_build_info", Help: "Always 1; labels say what is running."}, []string{"version", "role"})
	buildInfo.WithLabelValues(version, r.name).Set(1)
	reg.MustRegister(buildInfo)

	raw, err := client.Open(ctx, cfg.Storage.URL, getenv)
	if err != nil {
		return fmt.Errorf("storage.url: %w", err)
	}
	defer raw.Close()
	bucket := objstore.Instrument(raw, reg)
	store := tracestore.New(bucket, tracestore.Config{})

	a := &assembly{}
	defer func() {
		if err != nil {
			a.release()
		}
	}()
	// Background work (strategy reloads) lives until shutdown begins.
	bgCtx, stopBackground := context.WithCancel(context.Background())
	defer stopBackground()
	var background sync.WaitGroup

	var ingest *ingestParts
	if r.ingest {
		if ingest, err = buildIngest(bgCtx, cfg, store, reg, logger, getenv, a, &background); err != nil {
			return err
		}
	}
	if r.compact && (r == roleCompact || cfg.Compactor.Enabled) {
		c, err := newCompactor(cfg, store, logger, reg)
		if err != nil {
			return err
		}
		background.Add(1)
		go func() {
			defer background.Done()
			_ = c.Run(bgCtx)
		}()
	}
	var querier *engine.Engine
	if r.query {
		if querier, err = buildQuery(cfg, store, logger, a); err != nil {
			return err
		}
	}
	// Zipkin's port carries whatever the role does: the collector API
	// where it ingests, the query API where it queries.
	if cfg.Zipkin.HTTPAddr != "" && (ingest != nil || querier != nil) {
		mux := http.NewServeMux()
		if ingest != nil {
			zipkin.NewHandler(zipkin.Config{
				MaxRequestBytes: int(cfg.Ingest.MaxRequestBytes),
				TenantHeader:    cfg.Tenant.Header,
				DefaultTenant:   cfg.Tenant.Default,
			}, ingest.pipe, logger).Register(mux)
		}
		if querier != nil {
			if err = registerZipkinQuery(mux, cfg, querier, logger); err != nil {
				return err
			}
		}
		lis, lerr := listen("zipkin.http-addr", cfg.Zipkin.HTTPAddr)
		if lerr != nil {
			return lerr
		}
		a.add(httpServer("zipkin.http-addr", lis, mux, logger, r.ingest))
	}

	var ready atomic.Bool
	adminLis, err := listen("admin.addr", cfg.Admin.Addr)
	if err != nil {
		return err
	}
	admin := httpServer("admin.addr", adminLis, adminMux(reg, bucket, &ready), logger, false)
	a.add(admin)

	// Serve. A server that stops on its own is fatal.
	errc := make(chan error, len(a.servers))
	var wg sync.WaitGroup
	for _, s := range a.servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.serve(); !serverClosed(err) {
				errc <- fmt.Errorf("%s: %w", s.name, err)
			}
		}()
	}
	attrs := []any{"storage", bucket.Name()}
	for _, s := range a.servers {
		attrs = append(attrs, s.name, s.addr)
	}
	ready.Store(true)
	logger.Info("tracelake is ready", attrs...)

	var runErr error
	select {
	case <-ctx.Done():
		logger.Info("shutting down: flushing pending spans and finishing requests")
	case runErr = <-errc:
		logger.Error("server failed; shutting down", "err", runErr)
	}
	ready.Store(false)

	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	var (
		errMu        sync.Mutex
		shutdownErrs []error
	)
	addErr := func(err error) {
		errMu.Lock()
		defer errMu.Unlock()
		shutdownErrs = append(shutdownErrs, err)
	}
	stopAll := func(ingestSide bool) {
		var stopWG sync.WaitGroup
		for _, s := range a.servers {
			if s.ingest != ingestSide || s == admin {
				continue
			}
			stopWG.Add(1)
			go func() {
				defer stopWG.Done()
				if err := s.stop(sctx); err != nil {
					addErr(fmt.Errorf("stop %s: %w", s.name, err))
				}
			}()
		}
		if ingestSide && ingest != nil {
			// Write pending batches at once rather than after max-delay,
			// so the exports waiting on them finish sooner.
			_ = ingest.batcher.Flush(sctx)
		}
		stopWG.Wait()
	}
	// Receivers first: they stop accepting and wait for in-flight exports,
	// which complete as their batches are written.
	stopAll(true)
	if ingest != nil {
		if err := ingest.batcher.Close(sctx); err != nil {
			addErr(fmt.Errorf("flush pending spans: %w", err))
		}
	}
	stopBackground()
	background.Wait()
	if ingest != nil {
		if err := ingest.close(sctx); err != nil {
			addErr(fmt.Errorf("close sampling plugins: %w", err))
		}
	}
	stopAll(false)
	if err := admin.stop(sctx); err != nil {
		addErr(fmt.Errorf("stop %s: %w", admin.name, err))
	}
	wg.Wait()
	if err := errors.Join(append([]error{runErr}, shutdownErrs...)...); err != nil {
		return err
	}
	logger.Info("stopped cleanly")
	return nil
}

// ingestParts is what the ingest side shares with the Zipkin port and
// what shutdown must close.
type ingestParts struct {
	batcher *pipeline.Batcher
	pipe    *pipeline.Pipeline
	plugins *plugins.Manager // nil when there is no configuration file
	loader  *host.Loader
}

// close stops the sampling plugins once no request can reach them.
func (p *ingestParts) close(ctx context.Context) error {
	if p.plugins == nil {
		return nil
	}
	err := p.plugins.Close(ctx)
	return errors.Join(err, p.loader.Close(ctx))
}

// buildIngest binds every receiver the configuration enables.
func buildIngest(bgCtx context.Context, cfg Config, store *tracestore.Store, reg *prometheus.Registry, logger *slog.Logger, getenv func(string) string, a *assembly, background *sync.WaitGroup) (*ingestParts, error) {
	parts, err := newIngest(bgCtx, cfg, store, reg, logger, getenv, background)
	if err != nil {
		return nil, err
	}
	pipe := parts.pipe
	maxBytes := int(cfg.Ingest.MaxRequestBytes)

	// OTLP.
	ocfg := otlp.Config{MaxRequestBytes: maxBytes, TenantHeader: cfg.Tenant.Header, DefaultTenant: cfg.Tenant.Default}
	if addr := cfg.Ingest.OTLP.GRPCAddr; addr != "" {
		lis, err := listen("ingest.otlp.grpc-addr", addr)
		if err != nil {
			return nil, err
		}
		svc := otlp.NewGRPCService(ocfg, pipe, logger)
		gs := grpc.NewServer(svc.ServerOptions()...)
		svc.Register(gs)
		a.add(grpcServer("ingest.otlp.grpc-addr", lis, gs, true))
	}
	if addr := cfg.Ingest.OTLP.HTTPAddr; addr != "" {
		lis, err := listen("ingest.otlp.http-addr", addr)
		if err != nil {
			return nil, err
		}
		mux := http.NewServeMux()
		otlp.NewHTTPHandler(ocfg, pipe, logger).Register(mux)
		a.add(httpServer("ingest.otlp.http-addr", lis, mux, logger, true))
	}

	// Jaeger: the collector's gRPC port also answers remote sampling, as
	// Jaeger's does.
	jcfg := jaeger.Config{MaxRequestBytes: maxBytes, TenantHeader: cfg.Tenant.Header, DefaultTenant: cfg.Tenant.Default}
	strategies, err := sampling.NewProvider(cfg.Ingest.Sampling.StrategiesFile, logger, reg)
	if err != nil {
		return nil, fmt.Errorf("ingest.sampling.strategies-file: %w", err)
	}
	background.Add(1)
	go func() {
		defer background.Done()
		if err := strategies.Run(bgCtx); err != nil {
			logger.Error("sampling strategies watcher stopped", "err", err)
		}
	}()
	if addr := cfg.Ingest.Jaeger.GRPCAddr; addr != "" {
		lis, err := listen("ingest.jaeger.grpc-addr", addr)
		if err != nil {
			return nil, err
		}
		svc := jaeger.NewGRPCService(jcfg, pipe, logger)
		gs := grpc.NewServer(svc.ServerOptions()...)
		svc.Register(gs)
		strategies.RegisterGRPC(gs)
		a.add(grpcServer("ingest.jaeger.grpc-addr", lis, gs, true))
	}
	if addr := cfg.Ingest.Jaeger.ThriftHTTPAddr; addr != "" {
		lis, err := listen("ingest.jaeger.thrift-http-addr", addr)
		if err != nil {
			return nil, err
		}
		mux := http.NewServeMux()
		jaeger.NewHTTPHandler(jcfg, pipe, logger).Register(mux)
		a.add(httpServer("ingest.jaeger.thrift-http-addr", lis, mux, logger, true))
	}
	for _, udp := range []struct {
		key, addr string
		enc       jaeger.Encoding
	}{
		{"ingest.jaeger.agent-compact-addr", cfg.Ingest.Jaeger.AgentCompactAddr, jaeger.Compact},
		{"ingest.jaeger.agent-binary-addr", cfg.Ingest.Jaeger.AgentBinaryAddr, jaeger.Binary},
	} {
		if udp.addr == "" {
			continue
		}
		conn, err := net.ListenPacket("udp", udp.addr)
		if err != nil {
			return nil, fmt.Errorf("%s: listen on %s: %w", udp.key, udp.addr, err)
		}
		srv, err := jaeger.NewUDPServer(jaeger.UDPConfig{DefaultTenant: cfg.Tenant.Default}, udp.enc, pipe, reg, logger)
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("%s: %w", udp.key, err)
		}
		a.add(&server{name: udp.key, addr: conn.LocalAddr().String(), ingest: true,
			serve: func() error { return srv.Serve(conn) }, stop: srv.Shutdown, close: func() { conn.Close() }})
	}
	if addr := cfg.Ingest.Sampling.HTTPAddr; addr != "" {
		lis, err := listen("ingest.sampling.http-addr", addr)
		if err != nil {
			return nil, err
		}
		// Not an ingest server: SDKs may keep asking while spans drain.
		a.add(httpServer("ingest.sampling.http-addr", lis, sampling.NewHTTPHandler(strategies, logger), logger, false))
	}
	return parts, nil
}

// newCompactor builds the compactor of the compact role, the all-in-one
// and the compact Lambda function.
func newCompactor(cfg Config, store *tracestore.Store, logger *slog.Logger, reg prometheus.Registerer) (*compact.Compactor, error) {
	c, err := compact.New(store, compact.Config{
		Settle:          cfg.Compactor.Settle,
		Grace:           cfg.Compactor.Grace,
		LeaseTTL:        cfg.Compactor.LeaseTTL,
		MaxBlockBytes:   int64(cfg.Compactor.MaxBlockBytes),
		MaxBlockFiles:   compact.DefaultConfig().MaxBlockFiles,
		Interval:        cfg.Compactor.Interval,
		RowsPerRowGroup: compact.DefaultConfig().RowsPerRowGroup,
		TempDir:         cfg.Compactor.TempDir,
	}, logger, reg)
	if err != nil {
		return nil, fmt.Errorf("compactor: %w", err)
	}
	return c, nil
}

// newIngest builds what every way of receiving spans shares: the group
// commit batcher, the sampling plugins and the pipeline. It binds nothing,
// so the Lambda handler uses it as the servers do.
func newIngest(bgCtx context.Context, cfg Config, store *tracestore.Store, reg *prometheus.Registry, logger *slog.Logger, getenv func(string) string, background *sync.WaitGroup) (*ingestParts, error) {
	batcher, err := pipeline.NewBatcher(pipeline.BatcherConfig{
		MaxBytes:             int(cfg.Ingest.Batch.MaxBytes),
		MaxDelay:             cfg.Ingest.Batch.MaxDelay,
		MaxPendingBytes:      int(cfg.Ingest.Batch.MaxPendingBytes),
		MaxConcurrentFlushes: cfg.Ingest.Batch.MaxConcurrentFlushes,
		FlushTimeout:         cfg.Ingest.Batch.FlushTimeout,
	}, store, reg)
	if err != nil {
		return nil, err
	}
	// Sampling plugins: the tenant's chain runs on every request. Without a
	// configuration file there are none and nothing can reload them, so
	// the stage is left out altogether.
	var stages []pipeline.Stage
	parts := &ingestParts{batcher: batcher}
	if cfg.configFile != "" {
		chains, err := readPluginChains(cfg.configFile)
		if err != nil {
			return nil, err
		}
		loader, err := host.NewLoader(host.LoaderConfig{CacheDir: pluginCacheDir(cfg.Plugins.CacheDir), Logger: logger, Registerer: reg})
		if err != nil {
			return nil, fmt.Errorf("plugins.cache-dir: %w", err)
		}
		mgr := plugins.NewManager(loader, plugins.Options{Logger: logger, Registerer: reg, Getenv: getenv, PollInterval: cfg.Plugins.PollInterval})
		if err := mgr.Apply(bgCtx, chains); err != nil {
			_ = loader.Close(bgCtx)
			return nil, fmt.Errorf("plugins: %w", err)
		}
		parts.plugins, parts.loader = mgr, loader
		stages = append(stages, mgr)
		background.Add(1)
		go func() {
			defer background.Done()
			if err := mgr.Run(bgCtx, func(context.Context) (plugins.Chains, error) { return readPluginChains(cfg.configFile) }); err != nil {
				logger.Error("sampling plugin reloads stopped", "err", err)
			}
		}()
	}
	l := cfg.Ingest.Limits
	pipe, err := pipeline.New(batcher, pipeline.Limits{
		MaxSpansPerRequest:      l.MaxSpansPerRequest,
		MaxAttributes:           l.MaxAttributes,
		MaxAttributeValueLength: int(l.MaxAttributeValueLength),
		MaxEventsPerSpan:        l.MaxEventsPerSpan,
		MaxLinksPerSpan:         l.MaxLinksPerSpan,
	}, stages, reg)
	if err != nil {
		return nil, err
	}
	parts.pipe = pipe
	return parts, nil
}

// buildQuery binds the Jaeger query API and returns the engine the Zipkin
// query API shares.
func buildQuery(cfg Config, store *tracestore.Store, logger *slog.Logger, a *assembly) (*engine.Engine, error) {
	eng, mux, err := newQuery(cfg, store, logger)
	if err != nil {
		return nil, err
	}
	lis, err := listen("query.http-addr", cfg.Query.HTTPAddr)
	if err != nil {
		return nil, err
	}
	a.add(httpServer("query.http-addr", lis, mux, logger, false))
	return eng, nil
}

// newQuery builds the query engine and the mux of the query port (Jaeger's
// HTTP API and api_v3, and the web UI), binding nothing: the Lambda handler serves the same
// mux.
func newQuery(cfg Config, store *tracestore.Store, logger *slog.Logger) (*engine.Engine, *http.ServeMux, error) {
	eng, err := engine.New(store, engine.Config{
		Concurrency:          cfg.Query.Concurrency,
		TraceSlack:           cfg.Query.TraceSlack,
		ServicesLookback:     cfg.Query.ServicesLookback,
		OperationsCacheFiles: engine.DefaultConfig().OperationsCacheFiles,
		TraceIndexCacheBytes: int(cfg.Query.TraceIndexCache),
		BlockIndexCacheBytes: int(cfg.Query.BlockIndexCache),
		AggregateCacheBytes:  engine.DefaultConfig().AggregateCacheBytes,
	}, logger)
	if err != nil {
		return nil, nil, err
	}
	opts := jaegerapi.Options{
		TenantHeader:  cfg.Tenant.Header,
		DefaultTenant: cfg.Tenant.Default,
		Logger:        logger,
		MaxLimit:      cfg.Query.MaxLimit,
	}
	if err := opts.Validate(); err != nil {
		return nil, nil, err
	}
	mux := http.NewServeMux()
	jaegerapi.New(eng, opts).Register(mux)
	mux.Handle("GET /", ui.Handler()) // the web UI, on every path the APIs do not claim
	return eng, mux, nil
}

// registerZipkinQuery adds Zipkin's query API, answered by querier, to mux.
func registerZipkinQuery(mux *http.ServeMux, cfg Config, querier *engine.Engine, logger *slog.Logger) error {
	opts := zipkinapi.Options{
		TenantHeader:     cfg.Tenant.Header,
		DefaultTenant:    cfg.Tenant.Default,
		Logger:           logger,
		AutocompleteKeys: cfg.Zipkin.AutocompleteKeys,
		MaxLimit:         cfg.Query.MaxLimit,
	}
	if err := opts.Validate(); err != nil {
		return fmt.Errorf("zipkin: %w", err)
	}
	zipkinapi.New(querier, opts).Register(mux)
	return nil
}

// adminMux serves /metrics, /healthz (the process is alive), /readyz (it
// is serving and its storage answers) and /debug/pprof.
func adminMux(reg *prometheus.Registry, bucket objstore.Bucket, ready *atomic.Bool) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	probe := &storageProbe{bucket: bucket}
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if !ready.Load() {
			http.Error(w, "not ready: starting or shutting down", http.StatusServiceUnavailable)
			return
		}
		if err := probe.check(r.Context()); err != nil {
			http.Error(w, "not ready: storage: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// storageProbe checks the store answers, at most once per interval, so
// frequent probes do not turn into a request per probe.
type storageProbe struct {
	bucket objstore.Bucket
	mu     sync.Mutex
	last   time.Time
	err    error
}

const probeInterval = 2 * time.Second

func (p *storageProbe) check(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if time.Since(p.last) < probeInterval {
		return p.err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := p.bucket.Attributes(ctx, "tracelake~readiness-probe") // "~" is never in a tenant ID, so no real key collides
	if errors.Is(err, objstore.ErrNotFound) {
		err = nil // the store answered
	}
	p.last, p.err = time.Now(), err
	return err
}
