package client

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7/pkg/credentials"
	"go.uber.org/goleak"

	"github.com/tracelake/tracelake/storage/objstore"
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

func env(vars map[string]string) func(string) string {
	return func(name string) string { return vars[name] }
}

func TestParse(t *testing.T) {
	aws := func(cfg s3.Config) s3.Config {
		if cfg.Region == "" {
			cfg.Region = "us-east-1"
		}
		return cfg
	}
	tests := []struct {
		url  string
		env  map[string]string
		want target
	}{
		{url: "./data", want: target{dir: "./data"}},
		{url: "data", want: target{dir: "data"}},
		{url: "/var/lib/tracelake", want: target{dir: "/var/lib/tracelake"}},
		{url: `C:\tracelake\data`, want: target{dir: `C:\tracelake\data`}},
		{url: "./50%", want: target{dir: "./50%"}},
		{url: "file:///var/lib/tracelake", want: target{dir: "/var/lib/tracelake"}},
		{url: "file://localhost/var/lib/tracelake", want: target{dir: "/var/lib/tracelake"}},
		{url: "file://./data", want: target{dir: "./data"}},
		{url: "file://../data/x", want: target{dir: "../data/x"}},
		{url: "FILE:///x", want: target{dir: "/x"}},

		{url: "s3://bucket", want: target{s3: aws(s3.Config{Bucket: "bucket"})}},
		{url: "s3://bucket/", want: target{s3: aws(s3.Config{Bucket: "bucket"})}},
		{url: "s3://bucket/tenant/traces/", want: target{s3: aws(s3.Config{Bucket: "bucket"}), prefix: "tenant/traces"}},
		{
			url:  "s3://bucket/p?endpoint=localhost:9000&region=eu-west-1&insecure=true&path-style=true",
			want: target{s3: s3.Config{Bucket: "bucket", Endpoint: "localhost:9000", Region: "eu-west-1", Insecure: true, Addressing: s3.AddressingPath}, prefix: "p"},
		},
		{url: "s3://bucket?path-style=false", want: target{s3: aws(s3.Config{Bucket: "bucket", Addressing: s3.AddressingVirtual})}},
		{url: "s3://bucket?endpoint=http://minio:9000", want: target{s3: aws(s3.Config{Bucket: "bucket", Endpoint: "minio:9000", Insecure: true})}},
		{url: "s3://bucket?endpoint=https://minio:9000/", want: target{s3: aws(s3.Config{Bucket: "bucket", Endpoint: "minio:9000"})}},
		{url: "s3://bucket?endpoint=http://minio:9000&insecure=true", want: target{s3: aws(s3.Config{Bucket: "bucket", Endpoint: "minio:9000", Insecure: true})}},
		{
			url:  "s3://bucket",
			env:  map[string]string{"AWS_ENDPOINT_URL_S3": "http://minio:9000", "AWS_ENDPOINT_URL": "https://other", "AWS_REGION": "eu-central-1", "AWS_DEFAULT_REGION": "ap-south-1"},
			want: target{s3: s3.Config{Bucket: "bucket", Endpoint: "minio:9000", Insecure: true, Region: "eu-central-1"}},
		},
		{
			url:  "s3://bucket",
			env:  map[string]string{"AWS_ENDPOINT_URL": "https://other:8443", "AWS_DEFAULT_REGION": "ap-south-1"},
			want: target{s3: s3.Config{Bucket: "bucket", Endpoint: "other:8443", Region: "ap-south-1"}},
		},
		{
			url:  "s3://bucket?endpoint=url:1&region=url-region",
			env:  map[string]string{"AWS_ENDPOINT_URL": "http://env", "AWS_REGION": "env-region"},
			want: target{s3: s3.Config{Bucket: "bucket", Endpoint: "url:1", Region: "url-region"}},
		},
	}
	for _, tt := range tests {
		got, err := parse(tt.url, env(tt.env))
		if err != nil {
			t.Errorf("parse(%q): %v", tt.url, err)
			continue
		}
		if got != tt.want {
			t.Errorf("parse(%q)\n got %+v\nwant %+v", tt.url, got, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		url  string
		env  map[string]string
		want string // the part of the message that names the problem
	}{
		{url: "", want: "empty"},
		{url: "gs://bucket", want: `unknown scheme "gs"`},
		{url: "s3:bucket", want: `"s3://"`},
		{url: "s3://", want: "no bucket"},
		{url: "s3:///prefix", want: "no bucket"},
		{url: "s3://bucket:9000", want: "?endpoint=host:port"},
		{url: "s3://AKIA:hunter2@bucket", want: "credentials do not belong in the URL"},
		{url: "s3://bucket?foo=1", want: `unknown parameter "foo" (s3 URLs take endpoint, region, insecure, path-style)`},
		{url: "s3://bucket?insecure=maybe", want: `insecure="maybe"`},
		{url: "s3://bucket?path-style=yes", want: `path-style="yes"`},
		{url: "s3://bucket?region=a&region=b", want: `"region" given 2 times`},
		{url: "s3://bucket?region=", want: "region is empty"},
		{url: "s3://bucket?endpoint=", want: "endpoint is empty"},
		{url: "s3://bucket?endpoint=ftp://host", want: `scheme "ftp"`},
		{url: "s3://bucket?endpoint=host/path", want: "host[:port]"},
		{url: "s3://bucket?endpoint=http://host/path", want: "without a path"},
		{url: "s3://bucket?endpoint=https://host&insecure=true", want: "contradicts"},
		{url: "s3://bucket?%zz", want: "query"},
		{url: "s3://bucket/a//b", want: `key prefix "a//b"`},
		{url: "s3://bucket/../x", want: "key prefix"},
		{url: "s3://bucket#frag", want: "fragment"},
		{url: "s3://bucket", env: map[string]string{"AWS_ENDPOINT_URL_S3": "ftp://x"}, want: "AWS_ENDPOINT_URL_S3"},
		{url: "file://host/x", want: `host "host"`},
		{url: "file:///x?y=1", want: "no parameters"},
		{url: "file:data", want: `"file://"`},
		{url: "file://", want: "without a directory"},
	}
	for _, tt := range tests {
		_, err := parse(tt.url, env(tt.env))
		if err == nil {
			t.Errorf("parse(%q) succeeded", tt.url)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, tt.want) {
			t.Errorf("parse(%q) = %q, want it to mention %q", tt.url, msg, tt.want)
		}
		if !strings.Contains(msg, "accepted forms") {
			t.Errorf("parse(%q) = %q, want the accepted forms listed", tt.url, msg)
		}
		if strings.Contains(msg, "hunter2") {
			t.Errorf("parse(%q) = %q reveals the secret", tt.url, msg)
		}
	}
}

func TestOpenDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	for _, url := range []string{dir, "file://" + dir} {
		b, err := Open(t.Context(), url, nil)
		if err != nil {
			t.Fatalf("Open(%q): %v", url, err)
		}
		if want := "fs:" + dir; b.Name() != want {
			t.Errorf("Open(%q).Name() = %q, want %q", url, b.Name(), want)
		}
		if _, ok := b.(objstore.ReaderAtOpener); !ok {
			t.Errorf("Open(%q) lost the fs fast path", url)
		}
		b.Close()
	}
}

func TestOpenS3(t *testing.T) {
	srv := s3test.Start(t)
	ctx := t.Context()

	credsFile := filepath.Join(t.TempDir(), "credentials")
	profile := fmt.Sprintf("[default]\naws_access_key_id = wrong\naws_secret_access_key = wrong\n\n[tracelake]\naws_access_key_id = %s\naws_secret_access_key = %s\n", srv.AccessKey, srv.SecretKey)
	if err := os.WriteFile(credsFile, []byte(profile), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		url  string // %s is replaced by the bucket
		env  map[string]string
	}{
		{
			name: "AWS environment",
			url:  "s3://%s/pre/fix?endpoint=" + srv.Endpoint + "&insecure=true&path-style=true",
			env:  map[string]string{"AWS_ACCESS_KEY_ID": srv.AccessKey, "AWS_SECRET_ACCESS_KEY": srv.SecretKey},
		},
		{
			name: "MinIO environment, endpoint from the environment",
			url:  "s3://%s/pre/fix?path-style=true",
			env:  map[string]string{"MINIO_ROOT_USER": srv.AccessKey, "MINIO_ROOT_PASSWORD": srv.SecretKey, "AWS_ENDPOINT_URL": "http://" + srv.Endpoint},
		},
		{
			name: "credentials file profile",
			url:  "s3://%s/pre/fix?endpoint=http://" + srv.Endpoint,
			env:  map[string]string{"AWS_SHARED_CREDENTIALS_FILE": credsFile, "AWS_PROFILE": "tracelake"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bucket := srv.CreateBucket(t, t.Name())
			b, err := Open(ctx, fmt.Sprintf(tt.url, bucket), env(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if want := "s3://" + bucket + "/pre/fix"; b.Name() != want {
				t.Errorf("Name() = %q, want %q", b.Name(), want)
			}
			if err := b.Put(ctx, "k", strings.NewReader("v"), 1); err != nil {
				t.Fatal(err)
			}

			// The object is under the prefix in the bucket.
			direct, err := s3.New(ctx, srv.Config(bucket))
			if err != nil {
				t.Fatal(err)
			}
			defer direct.Close()
			rc, err := direct.Get(ctx, "pre/fix/k")
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			if got, _ := io.ReadAll(rc); string(got) != "v" {
				t.Errorf("pre/fix/k = %q, want v", got)
			}
		})
	}
}

func TestOpenS3WrongCredentials(t *testing.T) {
	srv := s3test.Start(t)
	bucket := srv.CreateBucket(t, t.Name())
	url := "s3://" + bucket + "?endpoint=http://" + srv.Endpoint
	b, err := Open(t.Context(), url, env(map[string]string{"AWS_ACCESS_KEY_ID": srv.AccessKey, "AWS_SECRET_ACCESS_KEY": "not-the-secret"}))
	if err == nil {
		b.Close()
		t.Fatal("Open succeeded")
	}
	msg := err.Error()
	for _, want := range []string{bucket, srv.Endpoint, "access denied"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
	if strings.Contains(msg, "not-the-secret") {
		t.Errorf("error %q reveals the secret", msg)
	}
}

// The credential chain prefers the AWS variables, then MinIO's.
func TestCredentialChainOrder(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string // access key ID
	}{
		{map[string]string{"AWS_ACCESS_KEY_ID": "aws", "AWS_SECRET_ACCESS_KEY": "s", "MINIO_ROOT_USER": "root", "MINIO_ROOT_PASSWORD": "s"}, "aws"},
		{map[string]string{"AWS_ACCESS_KEY_ID": "aws-without-secret", "MINIO_ROOT_USER": "root", "MINIO_ROOT_PASSWORD": "s"}, "root"},
		{map[string]string{"MINIO_ACCESS_KEY": "old", "MINIO_SECRET_KEY": "s"}, "old"},
		{map[string]string{"AWS_ACCESS_KEY": "short", "AWS_SECRET_KEY": "s", "AWS_SESSION_TOKEN": "tok"}, "short"},
	}
	for _, tt := range tests {
		creds := credentialChain(env(tt.env), "us-east-1")
		v, err := creds.GetWithContext(&credentials.CredContext{})
		if err != nil {
			t.Errorf("%v: %v", tt.env, err)
			continue
		}
		if v.AccessKeyID != tt.want {
			t.Errorf("%v: access key %q, want %q", tt.env, v.AccessKeyID, tt.want)
		}
	}
}
