package scalebench

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/tracelake/tracelake/storage/objstore/s3/s3test"
)

// A MinIO server for one run: the pinned binary, a fresh data directory,
// loopback only, nothing of the user's MinIO configuration — started by
// the same code as the tests' (s3test.Launch).
type minioServer struct {
	target S3Target
	srv    *s3test.Server
}

const benchBucket = "tracelake-bench-scale"

// startMinio starts bin with its data under dir (which must exist and
// which it owns) and creates an empty bucket.
func startMinio(ctx context.Context, bin, dir string) (*minioServer, error) {
	srv, err := s3test.Launch(bin, dir)
	if err != nil {
		return nil, err
	}
	if err := srv.MakeBucket(ctx, benchBucket); err != nil {
		srv.Stop()
		return nil, fmt.Errorf("create bucket: %w", err)
	}
	return &minioServer{
		target: S3Target{Endpoint: srv.Endpoint, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, Bucket: benchBucket},
		srv:    srv,
	}, nil
}

func (s *minioServer) stop() { _ = s.srv.Stop() }

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// waitHTTP polls url until it answers 200, the process signals exited,
// or timeout passes.
func waitHTTP(ctx context.Context, url string, exited <-chan struct{}, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
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
		case <-exited:
			return fmt.Errorf("exited before it was ready")
		case <-ctx.Done():
			return fmt.Errorf("not ready after %v", timeout)
		case <-tick.C:
		}
	}
}

// logTail is the end of a log file, to explain a failure.
func logTail(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	const max = 4 << 10
	if len(data) > max {
		data = data[len(data)-max:]
	}
	return "log " + path + ":\n" + string(bytes.TrimSpace(data))
}
