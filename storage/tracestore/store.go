package tracestore

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"iter"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracelake/tracelake/storage/objstore"
	"github.com/tracelake/tracelake/storage/spanfile"
	"github.com/tracelake/tracelake/storage/spanfile/vparquet1"
	"github.com/tracelake/tracelake/storage/tenant"
)

// Batch is spans converted for writing in the current format. Converting
// is the costly part of a write, so callers convert in their own
// goroutines and hand batches to Write.
type Batch struct{ b *vparquet1.Batch }

// NewBatch converts td. td may be changed or reused afterwards.
func NewBatch(td ptrace.Traces) Batch { return Batch{vparquet1.NewBatch(td)} }

// Spans is the number of spans in the batch.
func (b Batch) Spans() int { return b.b.Len() }

// MemSize estimates the memory the batch holds, in bytes.
func (b Batch) MemSize() int { return b.b.MemSize() }

// Config tunes a Store.
type Config struct {
	// Now is the clock used to name new files. Defaults to time.Now.
	Now func() time.Time
	// WholeObjectLimit: files up to this size are fetched with one GET and
	// read from memory; larger ones are read with ranged GETs. Buckets that
	// can pread (the local directory) are always read in place.
	WholeObjectLimit int64
	// WriteSkew is how far ahead of its write time a span's start may be
	// and still be found by a time-window listing (clients' clocks run
	// ahead). Listings for a window start this much before it.
	WriteSkew time.Duration
	// FooterCacheBytes bounds the memory of cached block footers, and of
	// the blocks kept open with their footers decoded (estimated at four
	// times the footer's bytes).
	FooterCacheBytes int
	// BlockReadTimeout bounds each read from a block kept open: such reads
	// serve every query using the block, so no one query's context bounds
	// them.
	BlockReadTimeout time.Duration
}

func (c *Config) defaults() {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.WholeObjectLimit == 0 {
		c.WholeObjectLimit = 32 << 20
	}
	if c.WriteSkew == 0 {
		c.WriteSkew = time.Hour
	}
	if c.FooterCacheBytes == 0 {
		c.FooterCacheBytes = 32 << 20
	}
	if c.BlockReadTimeout == 0 {
		c.BlockReadTimeout = time.Minute
	}
}

// Store reads and writes span files in a bucket. It is safe for
// concurrent use.
type Store struct {
	bucket objstore.Bucket
	cfg    Config
	writer *vparquet1.Writer
	bufs   sync.Pool

	mu      sync.Mutex
	entropy io.Reader

	tailsMu    sync.Mutex
	tails      map[string][]byte // block footers by key
	tailsBytes int
	opened     map[string]*openBlock // blocks kept open, by data key
	openBytes  int                   // their estimated memory
}

// New returns a Store on bucket.
func New(bucket objstore.Bucket, cfg Config) *Store {
	cfg.defaults()
	return &Store{
		bucket:  bucket,
		cfg:     cfg,
		writer:  vparquet1.NewWriter(vparquet1.DefaultWriterConfig()),
		bufs:    sync.Pool{New: func() any { return new(bytes.Buffer) }},
		entropy: ulid.Monotonic(rand.Reader, 0),
	}
}

// Bucket is the bucket the store reads and writes.
func (s *Store) Bucket() objstore.Bucket { return s.bucket }

func (s *Store) newID(now time.Time) (ulid.ULID, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return ulid.New(ulid.Timestamp(now), s.entropy)
}

// Write encodes batches as one new span file for tenantID and stores it.
// A nil error means the file is durably stored and visible to every reader
// of the bucket; any error means it may not be, and the caller must treat
// every span in batches as not written.
func (s *Store) Write(ctx context.Context, tenantID string, batches ...Batch) (FileRef, error) {
	if err := tenant.Validate(tenantID); err != nil {
		return FileRef{}, err
	}
	buf := s.bufs.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 64<<20 { // do not pin one huge flush's buffer forever
			buf.Reset()
			s.bufs.Put(buf)
		}
	}()
	buf.Reset()
	inner := make([]*vparquet1.Batch, len(batches))
	for i, b := range batches {
		inner[i] = b.b
	}
	info, err := s.writer.Write(buf, tenantID, inner...)
	if err != nil {
		return FileRef{}, fmt.Errorf("encode span file: %w", err)
	}
	if info.Spans == 0 {
		return FileRef{}, errors.New("no spans to write")
	}
	id, err := s.newID(s.cfg.Now())
	if err != nil {
		return FileRef{}, fmt.Errorf("new file ID: %w", err)
	}
	key := fileKey(tenantID, id, info.StartMin, info.EndMax)
	if err := s.bucket.Put(ctx, key, bytes.NewReader(buf.Bytes()), int64(buf.Len())); err != nil {
		return FileRef{}, fmt.Errorf("store span file %s: %w", key, err)
	}
	ref, err := ParseKey(key)
	if err != nil {
		return FileRef{}, err // a bug: we just built the key
	}
	ref.Size = int64(buf.Len())
	return ref, nil
}

// Files yields the tenant's span files that may hold spans starting in
// [start, end) (Unix ns; zero leaves a side open), in key order (which is
// write order, hour by hour).
func (s *Store) Files(ctx context.Context, tenantID string, start, end int64) iter.Seq2[FileRef, error] {
	return func(yield func(FileRef, error) bool) {
		if err := tenant.Validate(tenantID); err != nil {
			yield(FileRef{}, err)
			return
		}
		var opts objstore.ListOptions
		if start != 0 {
			// Spans are written after they start, give or take clock skew,
			// so files written before the window (less the skew) cannot
			// hold them.
			from := time.Unix(0, start).Add(-s.cfg.WriteSkew)
			opts.StartAfter = hourPrefix(tenantID, from)
		}
		for attrs, err := range s.bucket.List(ctx, ingestPrefix(tenantID), opts) {
			if err != nil {
				yield(FileRef{}, fmt.Errorf("list span files: %w", err))
				return
			}
			ref, err := ParseKey(attrs.Key)
			if err != nil {
				continue // not ours (a temporary or foreign object): skip it
			}
			ref.Size = attrs.Size
			if !ref.Overlaps(start, end) {
				continue
			}
			if !yield(ref, nil) {
				return
			}
		}
	}
}

// OpenFile is an open span file. Close it when done.
type OpenFile struct {
	spanfile.File
	closer io.Closer
}

// Close releases what the file holds.
func (f *OpenFile) Close() error {
	if f.closer == nil {
		return nil
	}
	return f.closer.Close()
}

// Open opens the span file ref names, in whatever format it was written.
//
// ctx bounds the reads made while the file is open (the ReaderAt a format
// reader uses has no context of its own).
func (s *Store) Open(ctx context.Context, ref FileRef) (*OpenFile, error) {
	r, size, closer, err := s.readerAt(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("open span file %s: %w", ref.Key, err)
	}
	f, err := openFormat(r, size)
	if err != nil {
		if closer != nil {
			_ = closer.Close()
		}
		return nil, fmt.Errorf("open span file %s: %w", ref.Key, err)
	}
	return &OpenFile{File: f, closer: closer}, nil
}

// openFormat picks the reader for the file's format version. Every version
// ever written stays here.
func openFormat(r io.ReaderAt, size int64) (spanfile.File, error) {
	f, err := vparquet1.Open(r, size)
	if err == nil {
		return f, nil
	}
	if errors.Is(err, vparquet1.ErrNotThisFormat) {
		return nil, fmt.Errorf("unknown span file format: %w", err)
	}
	return nil, err
}

func (s *Store) readerAt(ctx context.Context, ref FileRef) (io.ReaderAt, int64, io.Closer, error) {
	if o, ok := s.bucket.(objstore.ReaderAtOpener); ok {
		r, size, err := o.OpenReaderAt(ctx, ref.Key)
		if err != nil {
			return nil, 0, nil, err
		}
		return r, size, r, nil
	}
	size := ref.Size
	if size == 0 {
		attrs, err := s.bucket.Attributes(ctx, ref.Key)
		if err != nil {
			return nil, 0, nil, err
		}
		size = attrs.Size
	}
	if size <= s.cfg.WholeObjectLimit {
		rc, err := s.bucket.Get(ctx, ref.Key)
		if err != nil {
			return nil, 0, nil, err
		}
		defer rc.Close()
		data := make([]byte, 0, size)
		buf := bytes.NewBuffer(data)
		if _, err := buf.ReadFrom(rc); err != nil {
			return nil, 0, nil, err
		}
		return bytes.NewReader(buf.Bytes()), int64(buf.Len()), nil, nil
	}
	return &rangeReaderAt{ctx: ctx, bucket: s.bucket, key: ref.Key}, size, nil, nil
}

// rangeReaderAt reads a large object with one ranged GET per ReadAt,
// except for reads inside a segment it already holds (a prefetched row
// group, a cached footer).
type rangeReaderAt struct {
	// ctx bounds every read, since io.ReaderAt has no context. When nil
	// (a reader shared by queries), each read gets timeout instead.
	ctx     context.Context
	timeout time.Duration
	bucket  objstore.Reader
	key     string
	keep    int // prefetched segments kept besides pinned ones; 0 means 4

	mu   sync.Mutex
	segs []segment
}

type segment struct {
	off    int64
	data   []byte
	pinned bool // kept however many ranges are prefetched
}

// dropSegments forgets every segment (the reader's users are done).
func (r *rangeReaderAt) dropSegments() {
	r.mu.Lock()
	r.segs = nil
	r.mu.Unlock()
}

func (r *rangeReaderAt) ReadAt(p []byte, off int64) (int, error) {
	r.mu.Lock()
	for _, s := range r.segs {
		if off >= s.off && off+int64(len(p)) <= s.off+int64(len(s.data)) {
			n := copy(p, s.data[off-s.off:])
			r.mu.Unlock()
			return n, nil
		}
	}
	r.mu.Unlock()
	ctx := r.ctx
	if ctx == nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.Background(), r.timeout)
		defer cancel()
	}
	rc, err := r.bucket.GetRange(ctx, r.key, off, int64(len(p)))
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	n, err := io.ReadFull(rc, p)
	if err == io.ErrUnexpectedEOF {
		err = io.EOF
	}
	return n, err
}

// Prefetch reads [off, off+n) in one request and serves later reads
// inside it from memory (vparquet1.Prefetcher).
func (r *rangeReaderAt) Prefetch(off, n int64) error {
	r.mu.Lock()
	for _, s := range r.segs {
		if off >= s.off && off+n <= s.off+int64(len(s.data)) {
			r.mu.Unlock()
			return nil
		}
	}
	r.mu.Unlock()
	data := make([]byte, n)
	if _, err := r.ReadAt(data, off); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	r.mu.Lock()
	// Readers go row group by row group: keep the pinned footer and the
	// last few prefetched ranges, so a scan of a large block holds one row
	// group's columns at a time, not the block.
	keep := r.keep
	if keep == 0 {
		keep = 4
	}
	var kept []segment
	for i, s := range r.segs {
		if s.pinned || i >= len(r.segs)-keep+1 {
			kept = append(kept, s)
		}
	}
	r.segs = append(kept, segment{off: off, data: data})
	r.mu.Unlock()
	return nil
}
