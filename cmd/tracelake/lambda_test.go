package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/tracelake/tracelake/storage/objstore"
	"github.com/tracelake/tracelake/storage/objstore/fs"
)

func envOf(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestLambdaRole(t *testing.T) {
	for _, tc := range []struct {
		env  func(string) string
		want string
		err  string
	}{
		{env: envOf("TRACELAKE_ROLE", "ingest"), want: "ingest"},
		{env: envOf("TRACELAKE_ROLE", "query", "_HANDLER", "compact"), want: "query"},
		{env: envOf("_HANDLER", "compact"), want: "compact"},
		{env: envOf("_HANDLER", "bootstrap"), err: `_HANDLER (the function's handler setting) is "bootstrap": set TRACELAKE_ROLE`},
		{env: envOf("TRACELAKE_ROLE", "all-in-one"), err: `TRACELAKE_ROLE="all-in-one": a Lambda function serves ingest, query or compact`},
	} {
		r, err := lambdaRole(tc.env)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("err %v, want %q", err, tc.err)
			}
			continue
		}
		if err != nil || r.name != tc.want {
			t.Errorf("role %q (%v), want %s", r.name, err, tc.want)
		}
	}
}

func TestLambdaConfig(t *testing.T) {
	cfg, err := lambdaConfig(roleQuery, envOf("TRACELAKE_STORAGE_URL", "s3://b", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128",
		"TRACELAKE_INGEST_BATCH_MAX_DELAY", "5s", "TRACELAKE_QUERY_TRACE_INDEX_CACHE", "1MiB"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Ingest.Batch.MaxDelay != 0 {
		t.Errorf("max-delay %s: a function must write each request before answering", cfg.Ingest.Batch.MaxDelay)
	}
	if cfg.Query.BlockIndexCache != 32<<20 || cfg.Query.TraceIndexCache != 1<<20 || cfg.Ingest.MaxRequestBytes != 8<<20 {
		t.Errorf("sizes for 128 MB: block index cache %s (want 32 MiB), trace index cache %s (set: 1 MiB), max request %s (want 8 MiB)",
			cfg.Query.BlockIndexCache, cfg.Query.TraceIndexCache, cfg.Ingest.MaxRequestBytes)
	}
	if !strings.HasSuffix(cfg.Plugins.CacheDir, "tracelake-plugins") {
		t.Errorf("plugin cache in %q, want under the temporary directory", cfg.Plugins.CacheDir)
	}
	if _, err := lambdaConfig(roleIngest, envOf()); err == nil || !strings.Contains(err.Error(), "TRACELAKE_STORAGE_URL") {
		t.Errorf("without storage: %v", err)
	}
}

// TestLazyBucket: the bucket is opened by the first operation, and a failed
// open is retried by the next.
func TestLazyBucket(t *testing.T) {
	dir := t.TempDir()
	opens := 0
	lb := &lazyBucket{name: "s3://b", open: func(context.Context) (objstore.Bucket, error) {
		opens++
		if opens == 1 {
			return nil, errors.New("cannot reach the endpoint")
		}
		return fs.New(dir)
	}}
	ctx := context.Background()
	if lb.Name() != "s3://b" || opens != 0 {
		t.Fatalf("name %q, opens %d before any operation", lb.Name(), opens)
	}
	if err := lb.Put(ctx, "k", bytes.NewReader([]byte("v")), 1); err == nil || !strings.Contains(err.Error(), "cannot reach") {
		t.Fatalf("first Put: %v", err)
	}
	for _, err := range lb.List(ctx, "", objstore.ListOptions{}) {
		if err != nil {
			t.Fatalf("List after a failed open: %v", err)
		}
	}
	if err := lb.Put(ctx, "k", bytes.NewReader([]byte("v")), 1); err != nil {
		t.Fatal(err)
	}
	rc, err := lb.Get(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "v" || opens != 2 {
		t.Fatalf("read %q after %d opens", b, opens)
	}
	if err := lb.Close(); err != nil {
		t.Fatal(err)
	}
}
