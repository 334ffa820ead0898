package s3test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/tracelake/tracelake/storage/objstore/s3"
)

// Environment variables that control the harness.
const (
	// EnvBinary names the MinIO server binary to run.
	EnvBinary = "TRACELAKE_MINIO_BIN"
	// EnvRequire, set to 1, makes a missing binary fail tests instead of
	// skipping them, so CI cannot pass by testing nothing.
	EnvRequire = "TRACELAKE_REQUIRE_MINIO"
)

// Server is a MinIO server running for the test process.
type Server struct {
	// Endpoint is the server's host:port on 127.0.0.1 (plain HTTP).
	Endpoint string
	// AccessKey and SecretKey are the root credentials.
	AccessKey, SecretKey string

	dir       string // temporary directory holding data and logs
	cmd       *exec.Cmd
	exited    chan struct{} // closed when the process has exited
	admin     *minio.Client
	transport *http.Transport
	buckets   atomic.Int64
}

// The server of this test process, started on first use. It is package
// state because it outlives any one test: starting MinIO takes a second or
// more, too long to pay per test.
var shared struct {
	once sync.Once
	srv  *Server
	err  error
}

// errNoBinary says the MinIO binary is not installed.
var errNoBinary = errors.New("MinIO server binary not found")

// Start returns the test process's MinIO server, starting it on first use.
// Without a MinIO binary it skips the test, or fails it if
// TRACELAKE_REQUIRE_MINIO=1. Call Stop from TestMain to end the server
// before the process does.
func Start(tb testing.TB) *Server {
	tb.Helper()
	shared.once.Do(func() { shared.srv, shared.err = start() })
	if errors.Is(shared.err, errNoBinary) {
		if os.Getenv(EnvRequire) == "1" {
			tb.Fatalf("%v (%s=1)", shared.err, EnvRequire)
		}
		tb.Skip(shared.err)
	}
	if shared.err != nil {
		tb.Fatalf("start MinIO: %v", shared.err)
	}
	return shared.srv
}

// Stop stops the server if Start started one, and removes its data. On
// Linux the server dies with the test process anyway; Stop ends it early
// enough for leak checks and removes the temporary directory.
func Stop() error {
	if shared.srv == nil {
		return nil
	}
	err := shared.srv.stop()
	shared.srv = nil
	shared.err = errors.New("MinIO server already stopped")
	return err
}

// Config returns the configuration of an s3.Bucket for bucket on the server.
// Its part size is S3's minimum, 5 MiB, so that tests exercise multipart
// uploads without large objects.
func (s *Server) Config(bucket string) s3.Config {
	return s3.Config{
		Bucket:      bucket,
		Endpoint:    s.Endpoint,
		Region:      "us-east-1",
		Insecure:    true,
		Addressing:  s3.AddressingPath,
		Credentials: credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""),
		PartSize:    5 << 20,
	}
}

// CreateBucket creates an empty bucket for the test and returns its name,
// made from name and a counter so that every call gets a new bucket.
func (s *Server) CreateBucket(tb testing.TB, name string) string {
	tb.Helper()
	bucket := bucketName(name, s.buckets.Add(1))
	if err := s.admin.MakeBucket(tb.Context(), bucket, minio.MakeBucketOptions{}); err != nil {
		tb.Fatalf("create bucket %s: %v", bucket, err)
	}
	return bucket
}

// NewBucket creates an empty bucket (see CreateBucket) and opens it with
// Config; it is closed when the test ends.
func (s *Server) NewBucket(tb testing.TB, name string) *s3.Bucket {
	tb.Helper()
	b, err := s3.New(tb.Context(), s.Config(s.CreateBucket(tb, name)))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { b.Close() })
	return b
}

// bucketName turns a test name into a valid bucket name: 3 to 63
// characters from a-z, 0-9 and "-", starting and ending with a letter or
// digit.
func bucketName(name string, n int64) string {
	var sb strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			sb.WriteRune(r)
		case sb.Len() > 0 && !strings.HasSuffix(sb.String(), "-"):
			sb.WriteByte('-')
		}
	}
	suffix := fmt.Sprintf("-%d", n)
	base := strings.Trim(sb.String(), "-")
	if base == "" {
		base = "test"
	}
	if len(base) > 63-len(suffix) {
		base = strings.TrimRight(base[:63-len(suffix)], "-")
	}
	return base + suffix
}

func start() (*Server, error) {
	bin, err := findBinary()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "tracelake-minio-")
	if err != nil {
		return nil, err
	}
	// A free port can be taken by someone else before MinIO binds it; try
	// again with other ports.
	var errs []error
	for attempt := range 3 {
		s, err := launch(bin, dir, attempt)
		if err == nil {
			return s, nil
		}
		errs = append(errs, err)
	}
	os.RemoveAll(dir)
	return nil, errors.Join(errs...)
}

func findBinary() (string, error) {
	if bin := os.Getenv(EnvBinary); bin != "" {
		if _, err := os.Stat(bin); err != nil {
			// Set but wrong: a mistake to report, not a reason to skip.
			return "", fmt.Errorf("%s=%s: %w", EnvBinary, bin, err)
		}
		return bin, nil
	}
	var tools string
	if root, err := moduleRoot(); err == nil {
		tools = filepath.Join(root, ".tools", "bin", "minio")
		if _, err := os.Stat(tools); err == nil {
			return tools, nil
		}
	}
	if bin, err := exec.LookPath("minio"); err == nil {
		return bin, nil
	}
	return "", fmt.Errorf("%w (looked at $%s, %s and $PATH): run `make tools` to install it into .tools/bin, or set %s to its path",
		errNoBinary, EnvBinary, tools, EnvBinary)
}

// moduleRoot finds the directory holding go.mod above the working
// directory, which for a test is its package's directory.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found")
		}
		dir = parent
	}
}

// Launch starts a MinIO server from bin, with its data under dir (which
// must exist; the server owns it and Stop removes it), the way Start does
// for tests: for tools outside tests, such as the scale benchmark.
func Launch(bin, dir string) (*Server, error) { return launch(bin, dir, 0) }

// Stop ends a server started by Launch and removes its data.
func (s *Server) Stop() error { return s.stop() }

// MakeBucket creates a bucket on the server.
func (s *Server) MakeBucket(ctx context.Context, name string) error {
	return s.admin.MakeBucket(ctx, name, minio.MakeBucketOptions{})
}

func launch(bin, dir string, attempt int) (*Server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	// The console listens too; its default port 9001 may be taken.
	consoleAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	secret := make([]byte, 16)
	rand.Read(secret)
	s := &Server{
		Endpoint:  addr,
		AccessKey: "tracelake-test",
		SecretKey: hex.EncodeToString(secret),
		dir:       dir,
		exited:    make(chan struct{}),
	}

	logPath := filepath.Join(dir, "minio.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o666)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child has its own copy
	s.cmd = exec.Command(bin, "server",
		"--address", addr,
		"--console-address", consoleAddr,
		"--certs-dir", filepath.Join(dir, "certs"),
		filepath.Join(dir, fmt.Sprintf("data-%d", attempt)))
	// Only what MinIO needs, so the developer's own MinIO settings and
	// certificates ($HOME/.minio) cannot change the server under test.
	s.cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir,
		"TMPDIR=" + dir,
		"MINIO_ROOT_USER=" + s.AccessKey,
		"MINIO_ROOT_PASSWORD=" + s.SecretKey,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
		// Allows a data directory on the root drive.
		"MINIO_CI_CD=on",
	}
	// A file, not a pipe: no goroutines copying output, and the log is
	// there to read when the server fails.
	s.cmd.Stdout = logFile
	s.cmd.Stderr = logFile
	s.cmd.SysProcAttr = sysProcAttr()
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("run %s: %w", bin, err)
	}
	go func() {
		s.cmd.Wait()
		close(s.exited)
	}()

	if err := s.waitReady(60 * time.Second); err != nil {
		s.kill()
		return nil, fmt.Errorf("MinIO on %s: %w\n%s", addr, err, logTail(logPath))
	}

	s.transport = &http.Transport{}
	s.admin, err = minio.New(s.Endpoint, &minio.Options{
		Creds:     credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""),
		Transport: s.transport,
		Region:    "us-east-1",
	})
	if err != nil {
		s.kill()
		return nil, err
	}
	return s, nil
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// waitReady polls MinIO's readiness probe until it answers 200.
func (s *Server) waitReady(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	client := &http.Client{
		Timeout:   time.Second,
		Transport: &http.Transport{DisableKeepAlives: true},
	}
	url := "http://" + s.Endpoint + "/minio/health/ready"
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.exited:
			return fmt.Errorf("exited before it was ready: %v", s.cmd.ProcessState)
		case <-ctx.Done():
			return fmt.Errorf("not ready after %v", timeout)
		case <-tick.C:
		}
	}
}

func (s *Server) kill() {
	s.cmd.Process.Kill()
	<-s.exited
}

func (s *Server) stop() error {
	if s.transport != nil {
		s.transport.CloseIdleConnections()
	}
	s.kill()
	return os.RemoveAll(s.dir)
}

// logTail returns the end of the server's log, to explain a failure.
func logTail(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	const max = 4 << 10
	if len(data) > max {
		data = data[len(data)-max:]
	}
	return "MinIO's log:\n" + string(bytes.TrimSpace(data))
}
