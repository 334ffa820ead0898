package fs_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracelake/tracelake/storage/objstore"
	"github.com/tracelake/tracelake/storage/objstore/fs"
	"github.com/tracelake/tracelake/storage/objstore/objstoretest"
)

func newBucket(t *testing.T) *fs.Bucket {
	t.Helper()
	b, err := fs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func TestBucket(t *testing.T) {
	objstoretest.Run(t, func(t *testing.T) objstore.Bucket { return newBucket(t) })
}

func TestNewCreatesRoot(t *testing.T) {
	root := filepath.Join(t.TempDir(), "does", "not", "exist")
	b, err := fs.New(root)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
		t.Fatalf("root not created: %v", err)
	}
	if want := "fs:" + root; b.Name() != want {
		t.Errorf("Name() = %q, want %q", b.Name(), want)
	}

	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o666); err != nil {
		t.Fatal(err)
	}
	if _, err := fs.New(file); err == nil {
		t.Errorf("New on a file succeeded")
	}
	if _, err := fs.New(""); err == nil {
		t.Errorf("New with an empty root succeeded")
	}
}

// TestLayout pins the documented layout: key a/b/c is the file root/a/b/c,
// which people and tools look at directly.
func TestLayout(t *testing.T) {
	root := t.TempDir()
	b, err := fs.New(root)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Put(t.Context(), "a/b/c", strings.NewReader("data"), 4); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(root, "a", "b", "c"))
	if err != nil || string(got) != "data" {
		t.Errorf("root/a/b/c = %q, %v", got, err)
	}
}

// TestCrashLeftovers plays a crash in the middle of writes: temporary files
// are left behind. They must never be listed, and New removes those old
// enough that no running writer can own them.
func TestCrashLeftovers(t *testing.T) {
	root := t.TempDir()
	b, err := fs.New(root)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Put(t.Context(), "kept", strings.NewReader("x"), 1); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(root, ".tmp~")
	stale := filepath.Join(tmp, "put-stale")
	fresh := filepath.Join(tmp, "put-fresh")
	for _, p := range []string{stale, fresh} {
		if err := os.WriteFile(p, []byte("partial"), 0o666); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}

	if keys := list(t, b, ""); !slices.Equal(keys, []string{"kept"}) {
		t.Errorf("List = %q, want only the stored object", keys)
	}

	if _, err := fs.New(root); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale temporary file still there: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("recent temporary file removed (a running writer may own it): %v", err)
	}
	entries, err := os.ReadDir(tmp)
	if err != nil || len(entries) != 1 {
		t.Errorf("temporary directory holds %d entries, %v; want 1", len(entries), err)
	}
}

// TestNoTempFilesLeft checks successful and failed writes clean up.
func TestNoTempFilesLeft(t *testing.T) {
	root := t.TempDir()
	b, err := fs.New(root)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	_ = b.Put(ctx, "ok", strings.NewReader("x"), 1)
	_ = b.PutIfAbsent(ctx, "ok-if-absent", strings.NewReader("x"), 1)
	_ = b.PutIfAbsent(ctx, "ok-if-absent", strings.NewReader("x"), 1) // loses
	_ = b.Put(ctx, "short", strings.NewReader("x"), 10)               // fails
	_ = b.Put(ctx, "conflict/child", strings.NewReader("x"), 1)
	_ = b.Put(ctx, "conflict", strings.NewReader("x"), 1) // fails
	entries, err := os.ReadDir(filepath.Join(root, ".tmp~"))
	if err != nil || len(entries) != 0 {
		t.Errorf("temporary directory holds %d entries, %v; want none", len(entries), err)
	}
}

func TestReservedKey(t *testing.T) {
	b := newBucket(t)
	for _, key := range []string{".tmp~", ".tmp~/x"} {
		if err := b.Put(t.Context(), key, strings.NewReader("x"), 1); !errors.Is(err, objstore.ErrInvalidKey) {
			t.Errorf("Put(%q) = %v, want ErrInvalidKey", key, err)
		}
	}
	// Only the first segment is reserved.
	if err := b.Put(t.Context(), "a/.tmp~", strings.NewReader("x"), 1); err != nil {
		t.Errorf("Put(a/.tmp~) = %v", err)
	}
	if keys := list(t, b, ""); !slices.Equal(keys, []string{"a/.tmp~"}) {
		t.Errorf("List = %q", keys)
	}
}

func TestDeleteRemovesEmptyDirectories(t *testing.T) {
	root := t.TempDir()
	b, err := fs.New(root)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for _, key := range []string{"t/2026/11/21/a", "t/2026/11/21/b", "t/2026/11/22/c"} {
		if err := b.Put(ctx, key, strings.NewReader("x"), 1); err != nil {
			t.Fatal(err)
		}
	}
	for _, key := range []string{"t/2026/11/21/a", "t/2026/11/21/b"} {
		if err := b.Delete(ctx, key); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "t/2026/11/21")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("empty directory t/2026/11/21 still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "t/2026/11/22")); err != nil {
		t.Errorf("directory with an object removed: %v", err)
	}
	if err := b.Delete(ctx, "t/2026/11/22/c"); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != ".tmp~" {
		t.Errorf("root holds %v after deleting everything, want only the temporary directory", entries)
	}
}

// TestListStaysInRoot checks prefixes cannot reach outside the root.
func TestListStaysInRoot(t *testing.T) {
	parent := t.TempDir()
	root := filepath.Join(parent, "root")
	b, err := fs.New(root)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(parent, "outside"), 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(parent, "outside", "secret"), []byte("x"), 0o666); err != nil {
		t.Fatal(err)
	}
	for _, prefix := range []string{"../", "../outside/", "../outside/s", "/", "//", "./", "a/../../"} {
		if keys := list(t, b, prefix); len(keys) != 0 {
			t.Errorf("List(%q) = %q", prefix, keys)
		}
	}
}

// TestListSkipsFilesThatAreNotKeys: files put in the directory by hand
// whose names are not valid keys are not listed, since they could not be
// read back.
func TestListSkipsFilesThatAreNotKeys(t *testing.T) {
	root := t.TempDir()
	b, err := fs.New(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"back\\slash", "new\nline", "ok"} {
		if err := os.WriteFile(filepath.Join(root, name), []byte("x"), 0o666); err != nil {
			t.Fatal(err)
		}
	}
	if keys := list(t, b, ""); !slices.Equal(keys, []string{"ok"}) {
		t.Errorf("List = %q, want [ok]", keys)
	}
}

func TestOpenReaderAt(t *testing.T) {
	b := newBucket(t)
	ctx := t.Context()
	var opener objstore.ReaderAtOpener = b
	if err := b.Put(ctx, "obj", strings.NewReader("0123456789"), 10); err != nil {
		t.Fatal(err)
	}
	ra, size, err := opener.OpenReaderAt(ctx, "obj")
	if err != nil {
		t.Fatal(err)
	}
	defer ra.Close()
	if size != 10 {
		t.Errorf("size = %d, want 10", size)
	}
	// Replacing the object does not change what an open reader sees.
	if err := b.Put(ctx, "obj", strings.NewReader("abcdefghij"), 10); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if n, err := ra.ReadAt(buf, 3); n != 4 || err != nil || string(buf) != "3456" {
		t.Errorf("ReadAt(3) = %d, %v, %q", n, err, buf)
	}
	if n, err := ra.ReadAt(buf, 8); n != 2 || err != io.EOF || string(buf[:n]) != "89" {
		t.Errorf("ReadAt(8) = %d, %v, %q", n, err, buf[:n])
	}
	if _, _, err := opener.OpenReaderAt(ctx, "missing"); !errors.Is(err, objstore.ErrNotFound) {
		t.Errorf("OpenReaderAt(missing) = %v, want ErrNotFound", err)
	}
}

// TestETagChangesOnSameSizeRewrite: size and time alone could repeat on a
// coarse clock; the file's identity does not.
func TestETagChangesOnSameSizeRewrite(t *testing.T) {
	b := newBucket(t)
	ctx := t.Context()
	seen := map[string]bool{}
	for i := range 20 {
		data := bytes.Repeat([]byte{byte(i)}, 8)
		if err := b.Put(ctx, "k", bytes.NewReader(data), 8); err != nil {
			t.Fatal(err)
		}
		a, err := b.Attributes(ctx, "k")
		if err != nil {
			t.Fatal(err)
		}
		if seen[a.ETag] {
			t.Fatalf("ETag %q repeated after rewrite %d", a.ETag, i)
		}
		seen[a.ETag] = true
	}
}

func list(t *testing.T, b objstore.Bucket, prefix string) []string {
	t.Helper()
	var keys []string
	for a, err := range b.List(t.Context(), prefix, objstore.ListOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, a.Key)
	}
	return keys
}
