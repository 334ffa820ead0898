package objstore

import (
	"context"
	"errors"
	"io"
	"iter"
	"time"
)

// Sentinel errors. Backends wrap them so callers can test with errors.Is.
var (
	// ErrNotFound is returned when the object does not exist.
	ErrNotFound = errors.New("object not found")
	// ErrExists is returned by PutIfAbsent when the key is already taken.
	ErrExists = errors.New("object already exists")
	// ErrInvalidKey is returned for keys that are empty, absolute, contain
	// empty, "." or ".." segments, or are otherwise not portable (see
	// ValidateKey).
	ErrInvalidKey = errors.New("invalid object key")
	// ErrKeyConflict is returned by Put and PutIfAbsent when the key and a
	// stored key are each other's "/"-separated parent and child ("a/b" and
	// "a/b/c"). Such pairs are not portable: a local directory cannot hold
	// both (one name would be a file and a directory at once) and rejects
	// the second with this error; MinIO stores both but then lists only the
	// parent; AWS S3 handles both. Key layouts must never create them; the
	// in-memory fake rejects them so that tests catch a layout that would.
	ErrKeyConflict = errors.New("object key conflicts with an existing object")
)

// Attrs describe one stored object.
type Attrs struct {
	Key  string
	Size int64
	// ETag is opaque. It changes whenever the object is replaced with
	// different contents; it may stay the same when the same bytes are
	// stored again (S3 derives it from the contents).
	ETag         string
	LastModified time.Time
}

// ListOptions narrow a listing.
type ListOptions struct {
	// StartAfter, when set, yields only keys strictly greater than it.
	StartAfter string
}

// Reader is the read half of a bucket.
type Reader interface {
	// Get returns the whole object, or an error wrapping ErrNotFound.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// GetRange returns length bytes of the object starting at off; a
	// negative length reads to the end. Reading past the end returns the
	// bytes that exist. Missing objects give an error wrapping ErrNotFound.
	GetRange(ctx context.Context, key string, off, length int64) (io.ReadCloser, error)
	// Attributes describes the object, or returns an error wrapping ErrNotFound.
	Attributes(ctx context.Context, key string) (Attrs, error)
	// List yields every object whose key starts with prefix, recursively
	// (keys are flat; "/" has no special meaning to the listing), in
	// ascending byte order of the key. The sequence ends after the first
	// error it yields; a canceled ctx is such an error.
	List(ctx context.Context, prefix string, opts ListOptions) iter.Seq2[Attrs, error]
}

// Writer is the write half of a bucket.
type Writer interface {
	// Put stores the object atomically: a reader sees either no object (or
	// the previous one) or the complete new one, never a part. A nil error
	// means the object is durably stored. size may be -1 when unknown;
	// otherwise it is the number of bytes r yields, and if r ends sooner
	// Put fails and stores nothing. Put never closes r.
	Put(ctx context.Context, key string, r io.Reader, size int64) error
	// PutIfAbsent is Put that fails with an error wrapping ErrExists when
	// the key already exists. Of several concurrent calls for one key,
	// exactly one succeeds.
	PutIfAbsent(ctx context.Context, key string, r io.Reader, size int64) error
	// Delete removes the object. Deleting a missing object is not an error.
	Delete(ctx context.Context, key string) error
}

// Bucket is a whole object store namespace.
type Bucket interface {
	Reader
	Writer
	// Name says which store this is, for logs and metrics ("fs:/data", "s3://b/p").
	Name() string
	// Close releases resources held by the bucket.
	Close() error
}

// ReaderAtCloser is random access to one stored object.
type ReaderAtCloser interface {
	io.ReaderAt
	io.Closer
}

// ReaderAtOpener is optional: buckets that can read an object at arbitrary
// offsets without a request per read (a local file) implement it, and
// readers of columnar formats find it by type assertion to pread instead of
// issuing a GetRange per column chunk. Wrappers pass it through when the
// bucket they wrap has it.
type ReaderAtOpener interface {
	// OpenReaderAt opens the object for random access and returns its size,
	// or an error wrapping ErrNotFound. The caller closes it. The contents
	// stay those of the version opened even if the key is overwritten.
	OpenReaderAt(ctx context.Context, key string) (ReaderAtCloser, int64, error)
}
