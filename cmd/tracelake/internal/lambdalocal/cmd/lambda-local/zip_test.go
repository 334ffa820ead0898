package main

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestZip(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "tracelake")
	content := bytes.Repeat([]byte("ELF"), 1000)
	if err := os.WriteFile(bin, content, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "fn.zip")
	if err := run(t.Context(), []string{"zip", "-o", out, bin}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	first, _ := os.ReadFile(out)
	zr, err := zip.OpenReader(out)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	if len(zr.File) != 1 || zr.File[0].Name != "bootstrap" || zr.File[0].Mode().Perm() != 0o755 {
		t.Fatalf("zip holds %v", zr.File)
	}
	rc, _ := zr.File[0].Open()
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, content) {
		t.Fatal("bootstrap differs from the binary")
	}
	// The same binary makes the same package.
	if err := writeZip(out, bin); err != nil {
		t.Fatal(err)
	}
	if second, _ := os.ReadFile(out); !bytes.Equal(first, second) {
		t.Error("zip is not reproducible")
	}
	if err := run(t.Context(), []string{"zip", bin}, io.Discard, io.Discard); err == nil {
		t.Error("zip without -o succeeded")
	}
}
