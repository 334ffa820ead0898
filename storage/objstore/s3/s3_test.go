package s3_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7/pkg/credentials"
	"go.uber.org/goleak"

	"github.com/tracelake/tracelake/storage/objstore"
	"github.com/tracelake/tracelake/storage/objstore/objstoretest"
	"github.com/tracelake/tracelake/storage/objstore/s3"
	"github.com/tracelake/tracelake/storage/objstore/s3/s3test"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if err := s3test.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stop MinIO:", err)
		code = 1
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goroutines leaked:", err)
			code = 1
		}
	}
	os.Exit(code)
}

func TestBucket(t *testing.T) {
	srv := s3test.Start(t)
	objstoretest.Run(t, func(t *testing.T) objstore.Bucket { return srv.NewBucket(t, t.Name()) })
}

func TestNewChecksBucket(t *testing.T) {
	srv := s3test.Start(t)
	existing := srv.CreateBucket(t, t.Name())

	missing := srv.Config("no-such-bucket")
	wrongSecret := srv.Config(existing)
	wrongSecret.Credentials = credentials.NewStaticV4(srv.AccessKey, "wrong-secret", "")
	anonymous := srv.Config(existing)
	anonymous.Credentials = nil

	tests := []struct {
		name string
		cfg  s3.Config
		want []string // in the error message
	}{
		{"missing bucket", missing, []string{`"no-such-bucket"`, srv.Endpoint, "does not exist"}},
		{"wrong secret", wrongSecret, []string{existing, srv.Endpoint, "access denied", "credentials"}},
		{"anonymous", anonymous, []string{existing, "access denied"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := s3.New(t.Context(), tt.cfg)
			if err == nil {
				b.Close()
				t.Fatal("New succeeded")
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
			if strings.Contains(err.Error(), srv.SecretKey) || strings.Contains(err.Error(), "wrong-secret") {
				t.Errorf("error %q reveals a secret", err)
			}
		})
	}
}

func TestNewUnreachable(t *testing.T) {
	cfg := s3.Config{Bucket: "b", Endpoint: "127.0.0.1:1", Insecure: true, Region: "us-east-1"}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	b, err := s3.New(ctx, cfg)
	if err == nil {
		b.Close()
		t.Fatal("New succeeded")
	}
	if !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("error %q does not name the endpoint", err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  s3.Config
		ok   bool
	}{
		{"minimal", s3.Config{Bucket: "b"}, true},
		{"no bucket", s3.Config{}, false},
		{"part size too small", s3.Config{Bucket: "b", PartSize: 1 << 20}, false},
		{"part size minimum", s3.Config{Bucket: "b", PartSize: 5 << 20}, true},
		{"bad addressing", s3.Config{Bucket: "b", Addressing: 7}, false},
	}
	for _, tt := range tests {
		if err := tt.cfg.Validate(); (err == nil) != tt.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

// TestPrefixedBucket runs the suite through a prefix on a bucket that holds
// other objects, as two deployments sharing a bucket would.
func TestPrefixedBucket(t *testing.T) {
	srv := s3test.Start(t)
	objstoretest.Run(t, func(t *testing.T) objstore.Bucket {
		b := srv.NewBucket(t, t.Name())
		for _, key := range []string{"deploy/a-neighbour", "deploy/a0/x", "other"} {
			if err := b.Put(t.Context(), key, strings.NewReader("x"), 1); err != nil {
				t.Fatal(err)
			}
		}
		return objstore.Prefixed(b, "deploy/a")
	})
}

func TestPutIfAbsentConflictNotExists(t *testing.T) {
	// A losing PutIfAbsent must say ErrExists and nothing else.
	srv := s3test.Start(t)
	b := srv.NewBucket(t, t.Name())
	if err := b.PutIfAbsent(t.Context(), "k", strings.NewReader("a"), 1); err != nil {
		t.Fatal(err)
	}
	err := b.PutIfAbsent(t.Context(), "k", strings.NewReader("b"), 1)
	if !errors.Is(err, objstore.ErrExists) || errors.Is(err, objstore.ErrNotFound) {
		t.Errorf("second PutIfAbsent = %v, want only ErrExists", err)
	}
}
