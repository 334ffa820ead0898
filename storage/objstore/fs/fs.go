package fs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tracelake/tracelake/storage/objstore"
)

const (
	// tmpDirName is the directory under the root that holds uploads in
	// progress. Keys starting with it are rejected. '~' is not allowed in
	// tenant IDs, which start every key tracelake writes, so no real key
	// collides with it.
	tmpDirName = ".tmp~"
	// staleTmpAge is how old a temporary file must be before New removes it
	// as left over by a crash. An hour is far longer than any upload takes,
	// so it never removes the file of a writer that is still running.
	staleTmpAge = time.Hour
	// renameAttempts bounds how often a write retries after a concurrent
	// Delete removed the directory it was about to write into. Each retry
	// needs another Delete to empty the directory again, so it is not
	// reached unless something else keeps removing directories.
	renameAttempts = 100
)

// Bucket is a directory used as an object store. It is safe for concurrent
// use.
type Bucket struct {
	root string // absolute and clean
	tmp  string // root/tmpDirName

	mu sync.Mutex
	// durable holds the directories under root whose entry (and their
	// parents' entries) this process has synced. A directory that merely
	// exists may have been created by a writer that has not synced it yet,
	// or that crashed before it could; writing an object into it and
	// syncing only the object's own directory would not make the object
	// durable.
	durable map[string]bool
}

var _ objstore.Bucket = (*Bucket)(nil)
var _ objstore.ReaderAtOpener = (*Bucket)(nil)

// New opens the directory root as a bucket, creating it if needed, and
// removes temporary files that a crashed writer left behind.
func New(root string) (*Bucket, error) {
	if root == "" {
		return nil, errors.New("fs bucket: empty root directory")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("fs bucket %s: %w", root, err)
	}
	b := &Bucket{root: abs, tmp: filepath.Join(abs, tmpDirName), durable: make(map[string]bool)}
	// The root itself must be durable before any object in it is: objects
	// acknowledged in a root whose own entry is lost are lost too.
	if err := mkdirAllSync(abs); err != nil {
		return nil, fmt.Errorf("fs bucket %s: create root: %w", abs, err)
	}
	if err := os.Mkdir(b.tmp, 0o777); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("fs bucket %s: create temporary directory: %w", abs, err)
	}
	if err := removeStale(b.tmp, time.Now().Add(-staleTmpAge)); err != nil {
		return nil, fmt.Errorf("fs bucket %s: remove stale temporary files: %w", abs, err)
	}
	return b, nil
}

// mkdirAllSync creates dir and its missing parents, syncing the directory
// that holds each one it creates.
func mkdirAllSync(dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case err == nil && fi.IsDir():
		return nil
	case err == nil:
		return fmt.Errorf("%s is not a directory", dir)
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := mkdirAllSync(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o777); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return syncDir(parent)
}

// removeStale removes the files in dir last modified before cutoff.
func removeStale(dir string, cutoff time.Time) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if fi.ModTime().Before(cutoff) {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// Name returns "fs:" and the root directory.
func (b *Bucket) Name() string { return "fs:" + b.root }

// Close does nothing: the bucket holds no resources between calls.
func (b *Bucket) Close() error { return nil }

// path validates key and returns its file.
func (b *Bucket) path(key string) (string, error) {
	if err := objstore.ValidateKey(key); err != nil {
		return "", err
	}
	if first, _, _ := strings.Cut(key, "/"); first == tmpDirName {
		return "", fmt.Errorf("%w %q: the first segment %q is reserved by the fs backend", objstore.ErrInvalidKey, key, tmpDirName)
	}
	return filepath.Join(b.root, filepath.FromSlash(key)), nil
}

// isNotFound reports whether err from opening or stating a path means there
// is no object there: the path is missing, or a parent is a file.
func isNotFound(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// open opens the object under key for reading.
func (b *Bucket) open(ctx context.Context, op, key string) (*os.File, fs.FileInfo, error) {
	path, err := b.path(key)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", op, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w", op, key, err)
	}
	f, err := os.Open(path)
	if isNotFound(err) {
		return nil, nil, fmt.Errorf("%s %s: %w", op, key, objstore.ErrNotFound)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w", op, key, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%s %s: %w", op, key, err)
	}
	if !fi.Mode().IsRegular() {
		// A directory holding other objects' files, not an object.
		f.Close()
		return nil, nil, fmt.Errorf("%s %s: %w", op, key, objstore.ErrNotFound)
	}
	return f, fi, nil
}

// Get returns the object's file. Because it is open, a concurrent
// overwrite or delete does not change what it reads.
func (b *Bucket) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	f, _, err := b.open(ctx, "get", key)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// GetRange returns length bytes of the object from off, or to its end when
// length is negative.
func (b *Bucket) GetRange(ctx context.Context, key string, off, length int64) (io.ReadCloser, error) {
	if off < 0 {
		return nil, fmt.Errorf("get range %s: negative offset %d", key, off)
	}
	f, fi, err := b.open(ctx, "get range", key)
	if err != nil {
		return nil, err
	}
	n := max(fi.Size()-off, 0)
	if length >= 0 && length < n {
		n = length
	}
	return sectionReadCloser{io.NewSectionReader(f, off, n), f}, nil
}

type sectionReadCloser struct {
	*io.SectionReader
	io.Closer
}

// OpenReaderAt opens the object's file for random access.
func (b *Bucket) OpenReaderAt(ctx context.Context, key string) (objstore.ReaderAtCloser, int64, error) {
	f, fi, err := b.open(ctx, "open", key)
	if err != nil {
		return nil, 0, err
	}
	return f, fi.Size(), nil
}

// Attributes describes the object.
func (b *Bucket) Attributes(ctx context.Context, key string) (objstore.Attrs, error) {
	path, err := b.path(key)
	if err != nil {
		return objstore.Attrs{}, fmt.Errorf("attributes: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return objstore.Attrs{}, fmt.Errorf("attributes %s: %w", key, err)
	}
	fi, err := os.Stat(path)
	if isNotFound(err) || (err == nil && !fi.Mode().IsRegular()) {
		return objstore.Attrs{}, fmt.Errorf("attributes %s: %w", key, objstore.ErrNotFound)
	}
	if err != nil {
		return objstore.Attrs{}, fmt.Errorf("attributes %s: %w", key, err)
	}
	return attrs(key, fi), nil
}

func attrs(key string, fi fs.FileInfo) objstore.Attrs {
	mtime := fi.ModTime()
	return objstore.Attrs{
		Key:          key,
		Size:         fi.Size(),
		ETag:         strconv.FormatInt(fi.Size(), 16) + "-" + strconv.FormatInt(mtime.UnixNano(), 16) + "-" + strconv.FormatUint(inode(fi), 16),
		LastModified: mtime,
	}
}

// Put writes the object to a temporary file, syncs it and renames it into
// place, so readers see the old object or the whole new one, and syncs the
// directories involved before it returns.
func (b *Bucket) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	return b.put(ctx, "put", key, r, size, false)
}

// PutIfAbsent is Put that links the temporary file into place instead of
// renaming it: link fails if the name exists, atomically, so of several
// concurrent writers exactly one wins, even across processes.
func (b *Bucket) PutIfAbsent(ctx context.Context, key string, r io.Reader, size int64) error {
	return b.put(ctx, "put if absent", key, r, size, true)
}

func (b *Bucket) put(ctx context.Context, op, key string, r io.Reader, size int64, ifAbsent bool) error {
	path, err := b.path(key)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s %s: %w", op, key, err)
	}
	tmp, err := b.writeTemp(ctx, r, size)
	if err != nil {
		return fmt.Errorf("%s %s: %w", op, key, err)
	}
	placed := false
	defer func() {
		if !placed {
			os.Remove(tmp)
		}
	}()

	dir := filepath.Dir(path)
	for attempt := 1; ; attempt++ {
		err := b.mkdirs(dir)
		if err == nil && ifAbsent {
			err = os.Link(tmp, path)
		} else if err == nil {
			err = os.Rename(tmp, path)
		}
		if err == nil {
			break
		}
		if errors.Is(err, fs.ErrNotExist) && attempt < renameAttempts {
			// A Delete removed a directory on the way, empty for a moment,
			// after mkdirs made sure of it. Make it again.
			continue
		}
		if errors.Is(err, objstore.ErrKeyConflict) {
			return fmt.Errorf("%s %s: %w", op, key, err)
		}
		if fi, serr := os.Lstat(path); serr == nil && fi.IsDir() {
			return fmt.Errorf("%s %s: objects exist under %q: %w", op, key, key+"/", objstore.ErrKeyConflict)
		}
		if ifAbsent && errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s %s: %w", op, key, objstore.ErrExists)
		}
		return fmt.Errorf("%s %s: %w", op, key, err)
	}
	placed = true
	if ifAbsent {
		// The object's file has two names now; drop the temporary one.
		// Failing to is harmless: New removes it eventually.
		os.Remove(tmp)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("%s %s: sync directory: %w", op, key, err)
	}
	return nil
}

// writeTemp copies r to a new synced temporary file and returns its path.
func (b *Bucket) writeTemp(ctx context.Context, r io.Reader, size int64) (path string, err error) {
	f, err := b.createTemp()
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()

	src := io.Reader(ctxReader{ctx: ctx, r: r})
	if size >= 0 {
		// One byte more than promised, to notice a reader that has more.
		src = io.LimitReader(src, size+1)
	}
	n, err := io.Copy(f, src)
	if err != nil {
		return "", fmt.Errorf("write: %w", err)
	}
	if size >= 0 && n != size {
		if n > size {
			return "", fmt.Errorf("reader has more than the %d bytes size says", size)
		}
		return "", fmt.Errorf("reader has %d bytes, size says %d", n, size)
	}
	if err := f.Sync(); err != nil {
		return "", fmt.Errorf("sync: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("close: %w", err)
	}
	return f.Name(), nil
}

// createTemp creates a file in the temporary directory. Unlike
// os.CreateTemp it leaves the permissions to the umask, as for any file a
// program writes.
func (b *Bucket) createTemp() (*os.File, error) {
	for {
		name := filepath.Join(b.tmp, "put-"+strconv.FormatUint(rand.Uint64(), 36))
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		switch {
		case errors.Is(err, fs.ErrExist):
			continue
		case errors.Is(err, fs.ErrNotExist):
			// Someone removed the temporary directory; it holds nothing
			// that matters between writes, so make it again.
			if err := os.MkdirAll(b.tmp, 0o777); err != nil {
				return nil, err
			}
			continue
		}
		return f, err
	}
}

// ctxReader stops a copy when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// mkdirs makes sure dir, a directory under the root, exists and that its
// entry and its parents' entries are durable.
func (b *Bucket) mkdirs(dir string) error {
	if dir == b.root {
		return nil // made durable by New
	}
	b.mu.Lock()
	durable := b.durable[dir]
	b.mu.Unlock()

	parent := filepath.Dir(dir)
	fi, err := os.Stat(dir)
	switch {
	case err == nil && fi.IsDir() && durable:
		return nil
	case err == nil && !fi.IsDir():
		return fmt.Errorf("object %q exists: %w", b.key(dir), objstore.ErrKeyConflict)
	case err == nil:
		// It exists, but its creator may not have synced it yet.
		if err := b.mkdirs(parent); err != nil {
			return err
		}
	case isNotFound(err):
		if err := b.mkdirs(parent); err != nil {
			return err
		}
		if err := os.Mkdir(dir, 0o777); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		// It may have become a file since the Stat; the write fails then.
	default:
		return err
	}
	if err := syncDir(parent); err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	b.mu.Lock()
	b.durable[dir] = true
	b.mu.Unlock()
	return nil
}

// key returns the key of a path under the root.
func (b *Bucket) key(path string) string {
	rel, err := filepath.Rel(b.root, path)
	if err != nil {
		return path
	}
	return filepath.ToSlash(rel)
}

// Delete removes the object's file, syncs its directory and removes the
// directories the delete left empty, so listings do not walk dead branches.
func (b *Bucket) Delete(ctx context.Context, key string) error {
	path, err := b.path(key)
	if err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	fi, err := os.Lstat(path)
	if isNotFound(err) || (err == nil && fi.IsDir()) {
		return nil // no object, maybe a directory of other objects
	}
	if err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	dir := filepath.Dir(path)
	if err := syncDir(dir); err != nil && !isNotFound(err) {
		return fmt.Errorf("delete %s: sync directory: %w", key, err)
	}
	b.removeEmptyDirs(dir)
	return nil
}

// removeEmptyDirs removes dir and its parents below the root while they are
// empty. It is best effort: a directory that is not empty, or that a
// concurrent Put has just made, stays.
func (b *Bucket) removeEmptyDirs(dir string) {
	for dir != b.root && strings.HasPrefix(dir, b.root+string(filepath.Separator)) {
		// Rmdir, not os.Remove: if another writer has just replaced the
		// directory with an object's file, os.Remove would delete it.
		if err := syscall.Rmdir(dir); err != nil {
			return
		}
		// Forgotten after the removal, not before, so that a directory that
		// is not empty stays known as durable. A Put racing with this finds
		// the directory missing and makes (and syncs) it again.
		b.mu.Lock()
		delete(b.durable, dir)
		b.mu.Unlock()
		dir = filepath.Dir(dir)
	}
}
