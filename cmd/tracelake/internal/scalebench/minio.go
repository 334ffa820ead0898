package scalebench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// A MinIO server for one run, started the way storage/objstore/s3/s3test
// starts the tests' (which needs a testing.TB): the pinned binary, a
// fresh data directory, loopback only, nothing of the user's MinIO
// configuration.
type minioServer struct {
	target S3Target
	dir    string
	cmd    *exec.Cmd
	exited chan struct{}
}

const benchBucket = "tracelake-bench-scale"

// startMinio starts bin with its data under dir (which must exist and
// which it owns) and creates an empty bucket.
func startMinio(ctx context.Context, bin, dir string) (*minioServer, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	console, err := freeAddr()
	if err != nil {
		return nil, err
	}
	secret := make([]byte, 16)
	rand.Read(secret)
	s := &minioServer{
		target: S3Target{Endpoint: addr, AccessKey: "tracelake-bench", SecretKey: hex.EncodeToString(secret), Bucket: benchBucket},
		dir:    dir,
		exited: make(chan struct{}),
	}
	logFile, err := os.Create(filepath.Join(dir, "minio.log"))
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child has its own copy
	s.cmd = exec.Command(bin, "server", "--address", addr, "--console-address", console,
		"--certs-dir", filepath.Join(dir, "certs"), filepath.Join(dir, "data"))
	s.cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir,
		"TMPDIR=" + dir,
		"MINIO_ROOT_USER=" + s.target.AccessKey,
		"MINIO_ROOT_PASSWORD=" + s.target.SecretKey,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
		"MINIO_CI_CD=on", // allows a data directory on the root drive
	}
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	s.cmd.SysProcAttr = childProcAttr()
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("run %s: %w", bin, err)
	}
	go func() {
		s.cmd.Wait()
		close(s.exited)
	}()
	if err := waitHTTP(ctx, "http://"+addr+"/minio/health/ready", s.exited, 60*time.Second); err != nil {
		s.stop()
		return nil, fmt.Errorf("MinIO on %s: %w\n%s", addr, err, logTail(filepath.Join(dir, "minio.log")))
	}
	admin, err := minio.New(addr, &minio.Options{
		Creds:  credentials.NewStaticV4(s.target.AccessKey, s.target.SecretKey, ""),
		Region: "us-east-1",
	})
	if err != nil {
		s.stop()
		return nil, err
	}
	if err := admin.MakeBucket(ctx, benchBucket, minio.MakeBucketOptions{}); err != nil {
		s.stop()
		return nil, fmt.Errorf("create bucket: %w", err)
	}
	return s, nil
}

func (s *minioServer) stop() {
	s.cmd.Process.Kill()
	<-s.exited
}

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
