package objstoretest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"iter"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tracelake/tracelake/storage/objstore"
)

// NewMemory returns an empty in-memory bucket for unit tests. It passes Run,
// so code tested against it behaves the same on real stores: it validates
// keys, fails on a canceled context, rejects keys that conflict with a
// stored object (ErrKeyConflict, as a directory or MinIO would) and lists in
// byte order. It deliberately does not implement objstore.ReaderAtOpener,
// so code tested with it takes the path S3 takes.
func NewMemory() objstore.Bucket {
	return &memory{
		objects: make(map[string]memObject),
		dirs:    make(map[string]int),
	}
}

type memory struct {
	mu      sync.RWMutex
	objects map[string]memObject
	// dirs counts the objects under each "/"-separated parent of a stored
	// key ("a" and "a/b" for "a/b/c"), to find conflicting keys quickly.
	dirs map[string]int
	seq  uint64 // makes ETags unique
}

type memObject struct {
	data     []byte // never modified once stored, so readers need no lock
	etag     string
	modified time.Time
}

func (m *memory) Name() string { return "memory" }

func (m *memory) Close() error { return nil }

// lookup returns the object under key after the checks every read does.
func (m *memory) lookup(ctx context.Context, op, key string) (memObject, error) {
	if err := objstore.ValidateKey(key); err != nil {
		return memObject{}, fmt.Errorf("%s: %w", op, err)
	}
	if err := ctx.Err(); err != nil {
		return memObject{}, fmt.Errorf("%s %s: %w", op, key, err)
	}
	m.mu.RLock()
	o, ok := m.objects[key]
	m.mu.RUnlock()
	if !ok {
		return memObject{}, fmt.Errorf("%s %s: %w", op, key, objstore.ErrNotFound)
	}
	return o, nil
}

func (m *memory) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	o, err := m.lookup(ctx, "get", key)
	if err != nil {
		return nil, err
	}
	return io.NopCloser(bytes.NewReader(o.data)), nil
}

func (m *memory) GetRange(ctx context.Context, key string, off, length int64) (io.ReadCloser, error) {
	if off < 0 {
		return nil, fmt.Errorf("get range %s: negative offset %d", key, off)
	}
	o, err := m.lookup(ctx, "get range", key)
	if err != nil {
		return nil, err
	}
	data := o.data[min(off, int64(len(o.data))):]
	if length >= 0 && length < int64(len(data)) {
		data = data[:length]
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}

func (m *memory) Attributes(ctx context.Context, key string) (objstore.Attrs, error) {
	o, err := m.lookup(ctx, "attributes", key)
	if err != nil {
		return objstore.Attrs{}, err
	}
	return o.attrs(key), nil
}

func (o memObject) attrs(key string) objstore.Attrs {
	return objstore.Attrs{Key: key, Size: int64(len(o.data)), ETag: o.etag, LastModified: o.modified}
}

func (m *memory) List(ctx context.Context, prefix string, opts objstore.ListOptions) iter.Seq2[objstore.Attrs, error] {
	return func(yield func(objstore.Attrs, error) bool) {
		// A snapshot, so the caller may write to the bucket while listing.
		m.mu.RLock()
		var list []objstore.Attrs
		for k, o := range m.objects {
			if strings.HasPrefix(k, prefix) && k > opts.StartAfter {
				list = append(list, o.attrs(k))
			}
		}
		m.mu.RUnlock()
		slices.SortFunc(list, func(a, b objstore.Attrs) int { return strings.Compare(a.Key, b.Key) })
		for _, a := range list {
			if err := ctx.Err(); err != nil {
				yield(objstore.Attrs{}, fmt.Errorf("list %s: %w", prefix, err))
				return
			}
			if !yield(a, nil) {
				return
			}
		}
		if err := ctx.Err(); err != nil {
			yield(objstore.Attrs{}, fmt.Errorf("list %s: %w", prefix, err))
		}
	}
}

func (m *memory) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	return m.put(ctx, "put", key, r, size, false)
}

func (m *memory) PutIfAbsent(ctx context.Context, key string, r io.Reader, size int64) error {
	return m.put(ctx, "put if absent", key, r, size, true)
}

func (m *memory) put(ctx context.Context, op, key string, r io.Reader, size int64, ifAbsent bool) error {
	if err := objstore.ValidateKey(key); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	data, err := readSized(r, size)
	if err != nil {
		return fmt.Errorf("%s %s: %w", op, key, err)
	}
	// Checked after reading, like a network store that fails the request
	// when the context ends during the upload.
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s %s: %w", op, key, err)
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	_, exists := m.objects[key]
	if exists && ifAbsent {
		return fmt.Errorf("%s %s: %w", op, key, objstore.ErrExists)
	}
	if m.dirs[key] > 0 {
		return fmt.Errorf("%s %s: objects exist under %q: %w", op, key, key+"/", objstore.ErrKeyConflict)
	}
	for dir := range parents(key) {
		if _, ok := m.objects[dir]; ok {
			return fmt.Errorf("%s %s: object %q exists: %w", op, key, dir, objstore.ErrKeyConflict)
		}
	}
	if !exists {
		for dir := range parents(key) {
			m.dirs[dir]++
		}
	}
	m.seq++
	m.objects[key] = memObject{data: data, etag: strconv.FormatUint(m.seq, 10), modified: time.Now()}
	return nil
}

func (m *memory) Delete(ctx context.Context, key string) error {
	if err := objstore.ValidateKey(key); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.objects[key]; !ok {
		return nil
	}
	delete(m.objects, key)
	for dir := range parents(key) {
		if m.dirs[dir]--; m.dirs[dir] == 0 {
			delete(m.dirs, dir)
		}
	}
	return nil
}

// parents yields the "/"-separated parents of key: "a" and "a/b" for "a/b/c".
func parents(key string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for i := range len(key) {
			if key[i] == '/' && !yield(key[:i]) {
				return
			}
		}
	}
}

// readSized reads all of r, which must hold exactly size bytes unless size
// is negative, so that a short reader never becomes a short object.
func readSized(r io.Reader, size int64) ([]byte, error) {
	if size < 0 {
		return io.ReadAll(r)
	}
	data, err := io.ReadAll(io.LimitReader(r, size+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) != size {
		return nil, fmt.Errorf("reader has %s bytes, size says %d", countOrMore(len(data), size), size)
	}
	return data, nil
}

func countOrMore(n int, size int64) string {
	if int64(n) > size {
		return "more than " + strconv.FormatInt(size, 10)
	}
	return strconv.Itoa(n)
}
