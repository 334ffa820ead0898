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

	"github.com/tracelake/tracelake/functions/otlp"
	"github.com/tracelake/tracelake/functions/pipeline"
	"github.com/tracelake/tracelake/query/engine"
	"github.com/tracelake/tracelake/query/jaegerapi"
	"github.com/tracelake/tracelake/storage/objstore"
	"github.com/tracelake/tracelake/storage/objstore/client"
	"github.com/tracelake/tracelake/storage/tracestore"
)

type role struct {
	name          string
	ingest, query bool
}

var (
	roleAllInOne = role{name: "all-in-one", ingest: true, query: true}
	roleIngest   = role{name: "ingest", ingest: true}
	roleQuery    = role{name: "query", query: true}
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

// server is one listener and how to serve and stop it.
type server struct {
	name  string // the config key of its address, for messages
	lis   net.Listener
	serve func(net.Listener) error
	stop  func(context.Context) error
}

func httpServer(key string, lis net.Listener, h http.Handler, logger *slog.Logger) *server {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	return &server{name: key, lis: lis, serve: srv.Serve, stop: srv.Shutdown}
}

func grpcServer(key string, lis net.Listener, srv *grpc.Server) *server {
	return &server{name: key, lis: lis, serve: srv.Serve, stop: func(ctx context.Context) error {
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
	}}
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

// serve runs a role until ctx is cancelled (SIGINT/SIGTERM), then shuts
// down in order: stop taking requests, write every pending batch, finish
// in-flight requests, stop the admin server last.
func serve(ctx context.Context, r role, args []string, getenv func(string) string, stderr io.Writer) error {
	fs := pflag.NewFlagSet("tracelake "+r.name, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.SortFlags = true
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

	var servers []*server
	closeAll := func() {
		for _, s := range servers {
			s.lis.Close()
		}
	}
	addServer := func(s *server) { servers = append(servers, s) }

	var batcher *pipeline.Batcher
	var ingestServers []*server
	if r.ingest {
		batcher, err = pipeline.NewBatcher(pipeline.BatcherConfig{
			MaxBytes:             int(cfg.Ingest.Batch.MaxBytes),
			MaxDelay:             cfg.Ingest.Batch.MaxDelay,
			MaxPendingBytes:      int(cfg.Ingest.Batch.MaxPendingBytes),
			MaxConcurrentFlushes: cfg.Ingest.Batch.MaxConcurrentFlushes,
			FlushTimeout:         cfg.Ingest.Batch.FlushTimeout,
		}, store, reg)
		if err != nil {
			return err
		}
		l := cfg.Ingest.Limits
		pipe, err := pipeline.New(batcher, pipeline.Limits{
			MaxSpansPerRequest:      l.MaxSpansPerRequest,
			MaxAttributes:           l.MaxAttributes,
			MaxAttributeValueLength: int(l.MaxAttributeValueLength),
			MaxEventsPerSpan:        l.MaxEventsPerSpan,
			MaxLinksPerSpan:         l.MaxLinksPerSpan,
		}, nil, reg)
		if err != nil {
			return err
		}
		ocfg := otlp.Config{
			MaxRequestBytes: int(cfg.Ingest.MaxRequestBytes),
			TenantHeader:    cfg.Tenant.Header,
			DefaultTenant:   cfg.Tenant.Default,
		}
		if addr := cfg.Ingest.OTLP.GRPCAddr; addr != "" {
			lis, err := listen("ingest.otlp.grpc-addr", addr)
			if err != nil {
				closeAll()
				return err
			}
			svc := otlp.NewGRPCService(ocfg, pipe, logger)
			gs := grpc.NewServer(svc.ServerOptions()...)
			svc.Register(gs)
			ingestServers = append(ingestServers, grpcServer("ingest.otlp.grpc-addr", lis, gs))
		}
		if addr := cfg.Ingest.OTLP.HTTPAddr; addr != "" {
			lis, err := listen("ingest.otlp.http-addr", addr)
			if err != nil {
				closeAll()
				return err
			}
			mux := http.NewServeMux()
			otlp.NewHTTPHandler(ocfg, pipe, logger).Register(mux)
			ingestServers = append(ingestServers, httpServer("ingest.otlp.http-addr", lis, mux, logger))
		}
		for _, s := range ingestServers {
			addServer(s)
		}
	}

	var queryServer *server
	if r.query {
		eng, err := engine.New(store, engine.Config{
			Concurrency:          cfg.Query.Concurrency,
			TraceSlack:           cfg.Query.TraceSlack,
			ServicesLookback:     cfg.Query.ServicesLookback,
			OperationsCacheFiles: engine.DefaultConfig().OperationsCacheFiles,
			TraceIndexCacheBytes: int(cfg.Query.TraceIndexCache),
		}, logger)
		if err != nil {
			closeAll()
			return err
		}
		opts := jaegerapi.Options{
			TenantHeader:  cfg.Tenant.Header,
			DefaultTenant: cfg.Tenant.Default,
			Logger:        logger,
			MaxLimit:      cfg.Query.MaxLimit,
		}
		if err := opts.Validate(); err != nil {
			closeAll()
			return err
		}
		lis, err := listen("query.http-addr", cfg.Query.HTTPAddr)
		if err != nil {
			closeAll()
			return err
		}
		mux := http.NewServeMux()
		jaegerapi.New(eng, opts).Register(mux)
		queryServer = httpServer("query.http-addr", lis, mux, logger)
		addServer(queryServer)
	}

	var ready atomic.Bool
	adminLis, err := listen("admin.addr", cfg.Admin.Addr)
	if err != nil {
		closeAll()
		return err
	}
	admin := httpServer("admin.addr", adminLis, adminMux(reg, bucket, &ready), logger)
	addServer(admin)

	// Serve. A server that stops on its own is fatal.
	errc := make(chan error, len(servers))
	var wg sync.WaitGroup
	for _, s := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.serve(s.lis); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, grpc.ErrServerStopped) {
				errc <- fmt.Errorf("%s: %w", s.name, err)
			}
		}()
	}
	attrs := []any{"storage", bucket.Name()}
	for _, s := range servers {
		attrs = append(attrs, s.name, s.lis.Addr().String())
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
	// Receivers first: they stop accepting and wait for in-flight exports,
	// which complete as their batches are flushed. Flushing at once, rather
	// than after max-delay, lets them finish sooner.
	var stopWG sync.WaitGroup
	for _, s := range ingestServers {
		stopWG.Add(1)
		go func() {
			defer stopWG.Done()
			if err := s.stop(sctx); err != nil {
				addErr(fmt.Errorf("stop %s: %w", s.name, err))
			}
		}()
	}
	if batcher != nil {
		_ = batcher.Flush(sctx)
	}
	stopWG.Wait()
	if batcher != nil {
		if err := batcher.Close(sctx); err != nil {
			addErr(fmt.Errorf("flush pending spans: %w", err))
		}
	}
	if queryServer != nil {
		if err := queryServer.stop(sctx); err != nil {
			addErr(fmt.Errorf("stop %s: %w", queryServer.name, err))
		}
	}
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
