package main

// How a pod behaves at the edges of its life: it is ready only while its
// storage answers, and SIGTERM under load loses no acknowledged span and
// ends within the grace period.

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/tracelake/tracelake/storage/objstore/s3/s3test"
)

// TestSIGTERMUnderLoad: exporters over OTLP/HTTP and gRPC keep sending
// while the ingest process gets SIGTERM. It must stop taking requests,
// write the group commits in flight and answer them, and exit cleanly
// within shutdown-timeout; every export that was acknowledged — before or
// during the drain — must then be readable.
func TestSIGTERMUnderLoad(t *testing.T) {
	st := minioStorage(t)
	const grace = 15 * time.Second
	// A long batch delay keeps exports waiting in group commits at any
	// moment, so SIGTERM always finds some in flight.
	p := start(t, "ingest", st, "--ingest.batch.max-delay", "200ms", "--shutdown-timeout", grace.String())
	var (
		mu          sync.Mutex
		acked       []string
		ackedDuring int // acknowledged after SIGTERM was sent
		sigtermAt   time.Time
		wg          sync.WaitGroup
	)
	stop := make(chan struct{})
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var exp sdktrace.SpanExporter
			if w%2 == 0 {
				exp = httpExporter(t, p.httpURL, nil)
			} else {
				exp = grpcExporter(t, p.grpcAddr, nil)
			}
			tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp),
				sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "draining"))))
			defer tp.Shutdown(context.Background())
			tracer := tp.Tracer("e2e")
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, span := tracer.Start(context.Background(), "work")
				span.End()
				// nil: tracelake acknowledged the span.
				if err := tp.ForceFlush(context.Background()); err != nil {
					return
				}
				at := time.Now()
				mu.Lock()
				acked = append(acked, span.SpanContext().TraceID().String())
				if !sigtermAt.IsZero() && at.After(sigtermAt) {
					ackedDuring++
				}
				mu.Unlock()
			}
		}()
	}
	time.Sleep(1500 * time.Millisecond)
	mu.Lock()
	sigtermAt = time.Now()
	before := len(acked)
	mu.Unlock()
	if err := p.kill(syscall.SIGTERM); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, p.logs.String())
	}
	took := time.Since(sigtermAt)
	close(stop)
	wg.Wait()
	if took > grace {
		t.Errorf("shutdown took %s, longer than shutdown-timeout %s", took, grace)
	}
	mu.Lock()
	ids := slices.Clone(acked)
	during := ackedDuring
	mu.Unlock()
	if before < 10 {
		t.Fatalf("only %d exports were acknowledged before SIGTERM", before)
	}
	if during == 0 {
		t.Fatalf("no export in flight at SIGTERM was answered: the drain was not exercised")
	}
	q := start(t, "query", st)
	missing := 0
	for _, id := range ids {
		if code := getJSON(t, q.queryURL+"/api/traces/"+id, nil, nil); code != 200 {
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged traces lost across SIGTERM", missing, len(ids))
	}
	t.Logf("SIGTERM under load: %d acknowledged exports (%d answered during the drain) all stored; exit after %s", len(ids), during, took.Round(time.Millisecond))
}

// minioBinary finds the MinIO server as s3test does, for a server of the
// test's own that it can stop.
func minioBinary(t *testing.T) string {
	t.Helper()
	s3test.Start(t) // skips, or fails under TRACELAKE_REQUIRE_MINIO=1, without a binary
	if bin := os.Getenv(s3test.EnvBinary); bin != "" {
		return bin
	}
	if wd, err := os.Getwd(); err == nil {
		if bin := filepath.Join(wd, "..", "..", ".tools", "bin", "minio"); fileExists(bin) {
			return bin
		}
	}
	bin, err := exec.LookPath("minio")
	if err != nil {
		t.Fatal("MinIO binary not found although s3test found one")
	}
	return bin
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// TestReadinessFollowsStorage: /readyz answers 200 only while the store
// answers; with MinIO stopped it turns 503 naming the storage, /healthz
// stays 200 (the process is alive: restarting it would not help), and
// exports get the retryable 503.
func TestReadinessFollowsStorage(t *testing.T) {
	dir, err := os.MkdirTemp("", "tracelake-readiness-minio-")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := s3test.Launch(minioBinary(t), dir)
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			srv.Stop()
		}
	})
	if err := srv.MakeBucket(context.Background(), "readiness"); err != nil {
		t.Fatal(err)
	}
	st := storage{
		url: "s3://readiness?endpoint=" + srv.Endpoint + "&insecure=true&path-style=true",
		env: []string{"AWS_ACCESS_KEY_ID=" + srv.AccessKey, "AWS_SECRET_ACCESS_KEY=" + srv.SecretKey},
	}
	p := start(t, "ingest", st, "--ingest.batch.flush-timeout", "3s") // start waits for /readyz 200
	readyz := func() (int, string) {
		resp, err := http.Get(p.adminURL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := readyz(); code != 200 {
		t.Fatalf("ready with MinIO up: %d %s", code, body)
	}

	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	stopped = true
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, body := readyz()
		if code == http.StatusServiceUnavailable && strings.Contains(body, "storage") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz still %d %q 15s after MinIO stopped", code, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if code := getJSON(t, p.adminURL+"/healthz", nil, nil); code != 200 {
		t.Errorf("/healthz = %d while storage is down; the process is alive", code)
	}
	code, hdr, body := post(t, p.httpURL+"/v1/traces", "application/x-protobuf", "", oneSpanRequest(t))
	if code != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" {
		t.Fatalf("export with storage down: %d, Retry-After %q: %s", code, hdr.Get("Retry-After"), body)
	}
}
