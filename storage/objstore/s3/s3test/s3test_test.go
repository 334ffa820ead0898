package s3test

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestBucketName(t *testing.T) {
	valid := regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$`)
	for _, name := range []string{
		"TestBucket/PutGet",
		"TestBucket/List#01",
		"---",
		"",
		"Ünïcode/テスト",
		strings.Repeat("VeryLongTestName/", 10),
	} {
		got := bucketName(name, 12)
		if !valid.MatchString(got) || strings.Contains(got, "--") || !strings.HasSuffix(got, "-12") {
			t.Errorf("bucketName(%q) = %q, not a valid bucket name", name, got)
		}
	}
	if a, b := bucketName("x", 1), bucketName("x", 2); a == b {
		t.Errorf("two buckets for one test share the name %q", a)
	}
}

func TestFindBinary(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "minio")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}

	t.Setenv(EnvBinary, bin)
	if got, err := findBinary(); err != nil || got != bin {
		t.Errorf("with %s set: %q, %v", EnvBinary, got, err)
	}

	// Set to something missing is a mistake to report, not a skip.
	t.Setenv(EnvBinary, filepath.Join(dir, "missing"))
	if _, err := findBinary(); err == nil || errors.Is(err, errNoBinary) {
		t.Errorf("with %s pointing nowhere: %v, want an error other than errNoBinary", EnvBinary, err)
	}

	// Not installed anywhere: the error says how to install it. Run from a
	// directory outside the module so .tools/bin is not found either.
	t.Setenv(EnvBinary, "")
	t.Setenv("PATH", dir+"/empty")
	t.Chdir(dir)
	_, err := findBinary()
	if !errors.Is(err, errNoBinary) || !strings.Contains(err.Error(), "make tools") {
		t.Errorf("with no binary: %v, want errNoBinary explaining `make tools`", err)
	}
}
