package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"github.com/tracelake/tracelake/cmd/tracelake/internal/lambdalocal"
	"github.com/tracelake/tracelake/storage/objstore/s3/s3test"
)

// backend is where the functions store traces.
type backend struct {
	url  string
	env  []string
	stop func()
}

// openBackend uses the given storage URL (credentials from the
// environment, as on Lambda), or starts a MinIO server with a fresh bucket.
func openBackend(ctx context.Context, storageURL, minioBin, bucket string, stderr io.Writer) (*backend, error) {
	if storageURL != "" {
		var env []string
		for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"} {
			if v := os.Getenv(k); v != "" {
				env = append(env, k+"="+v)
			}
		}
		return &backend{url: storageURL, env: env, stop: func() {}}, nil
	}
	if _, err := os.Stat(minioBin); err != nil {
		return nil, fmt.Errorf("MinIO server %s: %w (run `make tools`, pass --minio, or give --storage)", minioBin, err)
	}
	dir, err := os.MkdirTemp("", "lambda-local-minio-")
	if err != nil {
		return nil, err
	}
	srv, err := s3test.Launch(minioBin, dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start MinIO: %w", err)
	}
	if err := srv.MakeBucket(ctx, bucket); err != nil {
		srv.Stop()
		return nil, fmt.Errorf("create bucket %s: %w", bucket, err)
	}
	fmt.Fprintf(stderr, "MinIO on %s (access key %s, secret %s), bucket %s; its data goes when lambda-local stops\n", srv.Endpoint, srv.AccessKey, srv.SecretKey, bucket)
	return &backend{
		url: fmt.Sprintf("s3://%s?endpoint=%s&insecure=true&path-style=true", bucket, srv.Endpoint),
		// What Lambda puts in a function's environment from its role.
		env:  []string{"AWS_ACCESS_KEY_ID=" + srv.AccessKey, "AWS_SECRET_ACCESS_KEY=" + srv.SecretKey},
		stop: func() { srv.Stop() },
	}, nil
}

// functionConfig is a role's function on b.
func functionConfig(role, bootstrap string, b *backend, memoryMB int, extra []string, logs io.Writer) lambdalocal.Config {
	env := append([]string{"TRACELAKE_ROLE=" + role, "TRACELAKE_STORAGE_URL=" + b.url}, b.env...)
	timeout := 30 * time.Second
	if role == "compact" {
		timeout = 15 * time.Minute
	}
	return lambdalocal.Config{
		Name:      "tracelake-" + role,
		Bootstrap: bootstrap,
		Handler:   "bootstrap",
		Env:       append(env, extra...),
		MemoryMB:  memoryMB,
		Timeout:   timeout,
		Logs:      logs,
	}
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("lambda-local serve", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	bootstrap := fs.String("bootstrap", "bin/lambda/local/bootstrap", "the Lambda bootstrap (tracelake built with -tags lambda.norpc)")
	storageURL := fs.String("storage", "", "storage URL for the functions (credentials from AWS_* variables); empty starts a MinIO server")
	minioBin := fs.String("minio", ".tools/bin/minio", "MinIO server binary, when --storage is empty")
	bucket := fs.String("bucket", "traces", "bucket to create in the MinIO server")
	ingestAddr := fs.String("ingest-addr", "127.0.0.1:4318", "the ingest function's URL: OTLP/HTTP /v1/traces, Zipkin /api/v2/spans")
	queryAddr := fs.String("query-addr", "127.0.0.1:16686", "the query function's URL: Jaeger API, api_v3, Zipkin API, UI")
	every := fs.Duration("compact-every", time.Minute, "how often the schedule invokes the compact function")
	token := fs.String("token", "", "TRACELAKE_AUTH_TOKEN for the ingest and query functions (as with AuthType NONE)")
	memory := fs.Int("memory", 128, "memory size of the ingest and query functions, MB")
	compactMemory := fs.Int("compact-memory", 1024, "memory size of the compact function, MB (the template's default)")
	sandboxes := fs.Int("sandboxes", 4, "concurrent invocations per function (each a sandbox process)")
	extra := fs.StringArray("env", nil, "extra KEY=VALUE for every function's environment (repeatable), e.g. TRACELAKE_COMPACTOR_SETTLE=-1h")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if _, err := os.Stat(*bootstrap); err != nil {
		return fmt.Errorf("--bootstrap: %w (build it with `make lambda-local`)", err)
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	b, err := openBackend(ctx, *storageURL, *minioBin, *bucket, stderr)
	if err != nil {
		return err
	}
	defer b.stop()

	env := append([]string{}, *extra...)
	if *token != "" {
		env = append(env, "TRACELAKE_AUTH_TOKEN="+*token)
	}
	var (
		fns     []*lambdalocal.Function
		servers []*http.Server
		wg      sync.WaitGroup
		errc    = make(chan error, 2)
	)
	defer func() {
		for _, f := range fns {
			f.Close()
		}
	}()
	newFn := func(role string) (*lambdalocal.Function, error) {
		mem := *memory
		if role == "compact" {
			mem = *compactMemory
		}
		cfg := functionConfig(role, *bootstrap, b, mem, env, &prefixWriter{prefix: "[" + role + "] ", w: stderr})
		cfg.MaxSandboxes = *sandboxes
		f, err := lambdalocal.New(cfg)
		if err == nil {
			fns = append(fns, f)
		}
		return f, err
	}
	for _, fe := range []struct{ role, addr string }{{"ingest", *ingestAddr}, {"query", *queryAddr}} {
		f, err := newFn(fe.role)
		if err != nil {
			return err
		}
		lis, err := net.Listen("tcp", fe.addr)
		if err != nil {
			return fmt.Errorf("%s URL: %w", fe.role, err)
		}
		srv := &http.Server{Handler: lambdalocal.NewURL(f, logger), ReadHeaderTimeout: 10 * time.Second}
		servers = append(servers, srv)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Serve(lis); !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
		fmt.Fprintf(stdout, "%s function URL: http://%s/\n", fe.role, lis.Addr())
	}
	compactFn, err := newFn("compact")
	if err != nil {
		return err
	}
	schedCtx, stopSchedule := context.WithCancel(ctx)
	wg.Add(1)
	go func() {
		defer wg.Done()
		lambdalocal.Schedule(schedCtx, compactFn, "tracelake-compact", *every, logger)
	}()
	fmt.Fprintf(stdout, "compact function: every %s\n", *every)
	fmt.Fprintf(stdout, "try: OTEL_EXPORTER_OTLP_ENDPOINT=http://%s OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf, then curl http://%s/api/services\n", *ingestAddr, *queryAddr)

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	stopSchedule()
	for _, srv := range servers {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = srv.Shutdown(sctx)
		cancel()
	}
	wg.Wait()
	return runErr
}

// prefixWriter prefixes each line a function logs with its role.
type prefixWriter struct {
	mu     sync.Mutex
	prefix string
	w      io.Writer
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			break
		}
		if _, err := io.WriteString(p.w, p.prefix+strings.TrimRight(string(p.buf[:i]), "\r")+"\n"); err != nil {
			return 0, err
		}
		p.buf = p.buf[i+1:]
	}
	return len(b), nil
}
