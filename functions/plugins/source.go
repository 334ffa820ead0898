package plugins

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/tracelake/tracelake/storage/objstore"
)

// racyWindow is how recent a file's modification time may be for its size
// and time alone not to prove it unchanged: a file rewritten with the same
// size within the file system's timestamp granularity keeps its mtime. A
// file modified this recently is hashed again at every look.
const racyWindow = 2 * time.Second

// version is the content of a source as last read.
type version struct {
	data []byte
	sum  string // hex SHA-256 of data: what a loaded plugin is identified by

	// What was seen when data was read, to tell cheaply whether to read
	// again: a file's size and modification time (and when it was read),
	// an object's ETag.
	size   int64
	mtime  time.Time
	readAt time.Time
	etag   string
}

// sources reads plugin modules and remembers the last version of each, so
// that a look at an unchanged source costs a stat or an object HEAD, and
// the version in force of each, so that a source that cannot be read can
// still be loaded (with changed settings) from it. It is used by one
// goroutine at a time (Manager's apply lock).
type sources struct {
	open    func(ctx context.Context, url string) (objstore.Bucket, error)
	now     func() time.Time
	last    map[string]*version        // read last, by Spec.Source
	applied map[string]*version        // in force, by Spec.Source
	buckets map[string]objstore.Bucket // by bucket URL
}

func newSources(open func(context.Context, string) (objstore.Bucket, error), now func() time.Time) *sources {
	return &sources{open: open, now: now, last: map[string]*version{}, applied: map[string]*version{}, buckets: map[string]objstore.Bucket{}}
}

// get returns src's current version. If src cannot be read it returns the
// error and, when there is one, the version in force: never one that was
// read but not applied (it may be the bad one that got rejected).
func (s *sources) get(ctx context.Context, src string) (*version, error) {
	loc, err := parseSource(src)
	if err != nil {
		return nil, err
	}
	prev := s.last[src]
	var v *version
	if loc.isObject() {
		v, err = s.getObject(ctx, loc, prev)
	} else {
		v, err = s.getFile(loc.path, prev)
	}
	if err != nil {
		return s.applied[src], err
	}
	s.last[src] = v
	return v, nil
}

func (s *sources) getFile(path string, prev *version) (*version, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if fi.Size() > maxModuleBytes {
		return nil, fmt.Errorf("%s is %d bytes, more than the %d MiB a plugin may have", path, fi.Size(), maxModuleBytes>>20)
	}
	if prev != nil && prev.size == fi.Size() && prev.mtime.Equal(fi.ModTime()) && prev.mtime.Before(prev.readAt.Add(-racyWindow)) {
		return prev, nil
	}
	now := s.now()
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(data) > maxModuleBytes {
		return nil, fmt.Errorf("%s is more than the %d MiB a plugin may have", path, maxModuleBytes>>20)
	}
	// The size and time are the stat's, from before the read: if the file
	// changed in between, the next look sees a newer time and reads again.
	v := &version{data: data, sum: sum(data), size: fi.Size(), mtime: fi.ModTime(), readAt: now}
	if prev != nil && prev.sum == v.sum {
		v.data = prev.data // a touch: keep one copy
	}
	return v, nil
}

func (s *sources) getObject(ctx context.Context, loc location, prev *version) (*version, error) {
	b, err := s.bucket(ctx, loc.bucket)
	if err != nil {
		return nil, err
	}
	attrs, err := b.Attributes(ctx, loc.key)
	if err != nil {
		return nil, err
	}
	if prev != nil && attrs.ETag != "" && prev.etag == attrs.ETag {
		return prev, nil
	}
	if attrs.Size > maxModuleBytes {
		return nil, fmt.Errorf("object %s is %d bytes, more than the %d MiB a plugin may have", loc.key, attrs.Size, maxModuleBytes>>20)
	}
	r, err := b.Get(ctx, loc.key)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, maxModuleBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read object %s: %w", loc.key, err)
	}
	if len(data) > maxModuleBytes {
		return nil, fmt.Errorf("object %s is more than the %d MiB a plugin may have", loc.key, maxModuleBytes>>20)
	}
	// The object may have been replaced between Attributes and Get; the
	// content is then newer than the ETag kept, and the next look fetches
	// it again and finds the same sum: one extra read, never a missed
	// change.
	v := &version{data: data, sum: sum(data), etag: attrs.ETag}
	if prev != nil && prev.sum == v.sum {
		v.data = prev.data
	}
	return v, nil
}

func (s *sources) bucket(ctx context.Context, url string) (objstore.Bucket, error) {
	if b, ok := s.buckets[url]; ok {
		return b, nil
	}
	b, err := s.open(ctx, url)
	if err != nil {
		return nil, err
	}
	s.buckets[url] = b
	return b, nil
}

// commit records the versions of the chains now in force, and forgets the
// sources, and closes the buckets, they do not use.
func (s *sources) commit(inUse map[string]*version) {
	s.applied = inUse
	buckets := map[string]bool{}
	for src := range s.last {
		if _, ok := inUse[src]; !ok {
			delete(s.last, src)
		}
	}
	for src := range inUse {
		if loc, err := parseSource(src); err == nil && loc.isObject() {
			buckets[loc.bucket] = true
		}
	}
	for url, b := range s.buckets {
		if !buckets[url] {
			_ = b.Close()
			delete(s.buckets, url)
		}
	}
}

func (s *sources) close() error {
	var errs []error
	for url, b := range s.buckets {
		if err := b.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close plugin bucket %s: %w", url, err))
		}
		delete(s.buckets, url)
	}
	return errors.Join(errs...)
}

func sum(data []byte) string {
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}
