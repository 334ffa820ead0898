package tracestore

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/tracelake/tracelake/storage/objstore"
	"github.com/tracelake/tracelake/storage/spanfile/vparquet1"
	"github.com/tracelake/tracelake/storage/tenant"
)

// Blocks are what compaction makes of a window's ingest files (FORMAT.md
// in this folder documents them):
//
//	<tenant>/blocks/<YYYY-MM-DDTHH>/<ULID>/data.parquet   spans, sorted by trace ID
//	<tenant>/blocks/<YYYY-MM-DDTHH>/<ULID>/index.arrow    one row per trace
//	<tenant>/blocks/<YYYY-MM-DDTHH>/<ULID>/bloom          trace ID bloom filter
//	<tenant>/blocks/<YYYY-MM-DDTHH>/<ULID>/aggregates     dependency links and RED metrics
//	<tenant>/blocks/<YYYY-MM-DDTHH>/<ULID>/meta.json      written last: the block exists once this does
//
// The hour is the window: the write hour of the ingest files compacted.

const (
	blocksDir = "blocks"

	// The objects of a block, by name.
	BlockData       = "data.parquet"
	BlockIndex      = "index.arrow"
	BlockBloom      = "bloom"
	BlockAggregates = "aggregates"
	// BlockAttrFilter is optional: blocks written before it existed have
	// none, and searches then read every row group's dictionaries.
	BlockAttrFilter = "attrfilter"
	BlockMetaName   = "meta.json"

	// BlockFormat and BlockVersion identify meta.json's format.
	BlockFormat  = "tracelake.block"
	BlockVersion = 1
)

// BlockMeta is a block's meta.json.
type BlockMeta struct {
	Format  string    `json:"format"`
	Version int       `json:"version"`
	ID      ulid.ULID `json:"id"`
	Tenant  string    `json:"tenant"`
	// Window is the write hour of the ingest files compacted, as in their
	// keys (YYYY-MM-DDTHH, UTC).
	Window string `json:"window"`
	// StartMin and EndMax bound the spans, Unix ns.
	StartMin int64 `json:"start_min_unix_nano"`
	EndMax   int64 `json:"end_max_unix_nano"`
	Spans    int   `json:"spans"`
	Traces   int   `json:"traces"`
	// Duplicates is how many spans of the inputs were dropped as exact
	// duplicates of others.
	Duplicates int `json:"duplicates_removed"`
	// Inputs are the keys of the ingest files the block replaces. Once
	// meta.json exists, readers use the block instead of them (see
	// Resolve), and they are deleted after a grace period.
	Inputs []string `json:"inputs"`
	// Sizes of the block's objects, by name (data.parquet, …).
	Sizes     map[string]int64 `json:"sizes"`
	Compacted time.Time        `json:"compacted"`
	// Key is where meta.json was read from; not stored.
	Key string `json:"-"`
}

// Prefix is the key prefix of the block's objects, ending in "/".
func (m *BlockMeta) Prefix() string { return BlockPrefix(m.Tenant, m.Window, m.ID) }

// ObjectKey is the key of one of the block's objects.
func (m *BlockMeta) ObjectKey(name string) string { return m.Prefix() + name }

// Overlaps reports whether the block may hold spans starting in [start, end).
func (m *BlockMeta) Overlaps(start, end int64) bool {
	return (end == 0 || m.StartMin < end) && (start == 0 || m.EndMax >= start)
}

// BlockPrefix is the key prefix of a block's objects, ending in "/".
func BlockPrefix(tenantID, window string, id ulid.ULID) string {
	return blocksPrefix(tenantID) + window + "/" + id.String() + "/"
}

func blocksPrefix(tenantID string) string { return tenantID + "/" + blocksDir + "/" }

// Window is the window (the write hour) of an ingest file.
func (r FileRef) Window() string { return r.Written.UTC().Format(hourLayout) }

// WindowTime parses a window name back to the hour's start.
func WindowTime(window string) (time.Time, error) {
	return time.Parse(hourLayout, window)
}

// EncodeBlockMeta is meta.json's content.
func EncodeBlockMeta(m *BlockMeta) ([]byte, error) {
	m.Format, m.Version = BlockFormat, BlockVersion
	return json.MarshalIndent(m, "", "  ")
}

// DecodeBlockMeta parses meta.json, refusing other formats and versions.
func DecodeBlockMeta(data []byte) (*BlockMeta, error) {
	var m BlockMeta
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("block meta: %w", err)
	}
	if m.Format != BlockFormat || m.Version != BlockVersion {
		return nil, fmt.Errorf("block meta: format %q version %d, this build reads %s version %d", m.Format, m.Version, BlockFormat, BlockVersion)
	}
	if _, err := WindowTime(m.Window); err != nil {
		return nil, fmt.Errorf("block meta: window %q: %w", m.Window, err)
	}
	return &m, nil
}

// BlockRef names a block's meta.json, as found by a listing.
type BlockRef struct {
	Key    string // of meta.json
	Tenant string
	Window string
	ID     ulid.ULID
}

// parseBlockKey parses a key under <tenant>/blocks/: the block it belongs
// to and the object's name.
func parseBlockKey(key string) (BlockRef, string, bool) {
	parts := strings.Split(key, "/")
	if len(parts) != 5 || parts[1] != blocksDir {
		return BlockRef{}, "", false
	}
	if _, err := WindowTime(parts[2]); err != nil {
		return BlockRef{}, "", false
	}
	id, err := ulid.ParseStrict(parts[3])
	if err != nil {
		return BlockRef{}, "", false
	}
	return BlockRef{Key: strings.Join(parts[:4], "/") + "/" + BlockMetaName, Tenant: parts[0], Window: parts[2], ID: id}, parts[4], true
}

// BlockObjects yields every object under the tenant's blocks, with the
// block it belongs to and its name, in key order; windows before from
// (zero: all) are skipped. Blocks still being written, or abandoned by a
// compactor that died, have objects but no meta.json.
func (s *Store) BlockObjects(ctx context.Context, tenantID string, from time.Time) iter.Seq2[BlockObject, error] {
	return func(yield func(BlockObject, error) bool) {
		if err := tenant.Validate(tenantID); err != nil {
			yield(BlockObject{}, err)
			return
		}
		var opts objstore.ListOptions
		if !from.IsZero() {
			// Keys of from's window sort just after this.
			opts.StartAfter = blocksPrefix(tenantID) + from.UTC().Format(hourLayout)
		}
		for attrs, err := range s.bucket.List(ctx, blocksPrefix(tenantID), opts) {
			if err != nil {
				yield(BlockObject{}, fmt.Errorf("list blocks: %w", err))
				return
			}
			ref, name, ok := parseBlockKey(attrs.Key)
			if !ok {
				continue
			}
			if !yield(BlockObject{Block: ref, Name: name, Attrs: attrs}, nil) {
				return
			}
		}
	}
}

// BlockObject is one object of a block.
type BlockObject struct {
	Block BlockRef
	Name  string
	Attrs objstore.Attrs
}

// Blocks yields the published blocks (those with meta.json) of windows
// that may hold spans starting at or after start, by the same write-skew
// rule as Files (a window may hold spans of any earlier time, so there is
// no bound on the other side); the caller reads their metas and checks
// their time ranges.
func (s *Store) Blocks(ctx context.Context, tenantID string, start int64) iter.Seq2[BlockRef, error] {
	return func(yield func(BlockRef, error) bool) {
		var from time.Time
		if start != 0 {
			from = time.Unix(0, start).Add(-s.cfg.WriteSkew)
		}
		for o, err := range s.BlockObjects(ctx, tenantID, from) {
			if err != nil {
				yield(BlockRef{}, err)
				return
			}
			if o.Name == BlockMetaName && !yield(o.Block, nil) {
				return
			}
		}
	}
}

// ReadBlockMeta reads and parses a block's meta.json.
func (s *Store) ReadBlockMeta(ctx context.Context, ref BlockRef) (*BlockMeta, error) {
	data, err := s.ReadObject(ctx, ref.Key)
	if err != nil {
		return nil, err
	}
	m, err := DecodeBlockMeta(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref.Key, err)
	}
	if m.Tenant != ref.Tenant || m.Window != ref.Window || m.ID != ref.ID {
		return nil, fmt.Errorf("%s: meta names block %s/%s/%s", ref.Key, m.Tenant, m.Window, m.ID)
	}
	m.Key = ref.Key
	return m, nil
}

// ReadObject reads a whole (small) object.
func (s *Store) ReadObject(ctx context.Context, key string) ([]byte, error) {
	rc, err := s.bucket.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	defer rc.Close()
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, rc); err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	return buf.Bytes(), nil
}

// OpenBlock opens a block's data.parquet. Unlike small ingest files, a
// block is never fetched whole: its footer is read once and kept (blocks
// are immutable), and a lookup then costs one ranged read, of the row
// group holding the trace (vparquet1.Prefetcher).
func (s *Store) OpenBlock(ctx context.Context, m *BlockMeta) (*OpenFile, error) {
	key, size := m.ObjectKey(BlockData), m.Sizes[BlockData]
	if _, pread := s.bucket.(objstore.ReaderAtOpener); pread || size == 0 {
		return s.Open(ctx, FileRef{Key: key, Tenant: m.Tenant, Size: size, StartMin: m.StartMin, EndMax: m.EndMax})
	}
	s.tailsMu.Lock()
	if b, ok := s.opened[key]; ok {
		b.users++
		s.tailsMu.Unlock()
		return &OpenFile{File: b.f, closer: &releaser{s: s, b: b}}, nil
	}
	s.tailsMu.Unlock()

	// Kept open for every query: decoding a footer costs milliseconds,
	// more than the rest of a lookup by ID. Its reads are bounded by a
	// timeout rather than this caller's context.
	r := &rangeReaderAt{timeout: s.cfg.BlockReadTimeout, bucket: s.bucket, key: key, keep: 8}
	tail, err := s.blockTail(ctx, r, key, size)
	if err != nil {
		return nil, fmt.Errorf("open block %s: %w", key, err)
	}
	r.segs = append(r.segs, segment{off: size - int64(len(tail)), data: tail, pinned: true})
	f, err := vparquet1.OpenRows(r, size)
	if err != nil {
		return nil, fmt.Errorf("open block %s: %w", key, err)
	}
	r.dropSegments() // the footer is decoded; the tail stays in s.tails
	b := &openBlock{f: f, r: r, users: 1, bytes: 4 * len(tail)}

	s.tailsMu.Lock()
	defer s.tailsMu.Unlock()
	if other, ok := s.opened[key]; ok { // opened meanwhile by another query
		other.users++
		return &OpenFile{File: other.f, closer: &releaser{s: s, b: other}}, nil
	}
	if s.opened == nil {
		s.opened = map[string]*openBlock{}
	}
	if s.openBytes+b.bytes > s.cfg.FooterCacheBytes {
		// Bounded: close every block no query is using.
		for k, o := range s.opened {
			if o.users == 0 {
				delete(s.opened, k)
				s.openBytes -= o.bytes
			}
		}
	}
	s.opened[key] = b
	s.openBytes += b.bytes
	return &OpenFile{File: b.f, closer: &releaser{s: s, b: b}}, nil
}

// openBlock is a block's data file kept open, with the queries using it.
type openBlock struct {
	f     *vparquet1.File
	r     *rangeReaderAt
	users int
	bytes int
}

// releaser ends one query's use of an open block; the last one out drops
// the prefetched row groups.
type releaser struct {
	s    *Store
	b    *openBlock
	done bool
}

func (r *releaser) Close() error {
	r.s.tailsMu.Lock()
	defer r.s.tailsMu.Unlock()
	if r.done {
		return nil
	}
	r.done = true
	r.b.users--
	if r.b.users == 0 {
		r.b.r.dropSegments()
	}
	return nil
}

// blockTail returns the end of a block's data file holding its Parquet
// footer, from the cache or read now (one request, two when the footer is
// larger than a first guess).
func (s *Store) blockTail(ctx context.Context, r *rangeReaderAt, key string, size int64) ([]byte, error) {
	s.tailsMu.Lock()
	tail, ok := s.tails[key]
	s.tailsMu.Unlock()
	if ok {
		return tail, nil
	}
	n := min(size, 64<<10)
	tail = make([]byte, n)
	if _, err := r.ReadAt(tail, size-n); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if n >= 8 && string(tail[n-4:]) == "PAR1" {
		footer := int64(binary.LittleEndian.Uint32(tail[n-8:])) + 8
		if footer > n && footer <= size {
			tail = make([]byte, footer)
			if _, err := r.ReadAt(tail, size-footer); err != nil && !errors.Is(err, io.EOF) {
				return nil, err
			}
		}
	}
	s.tailsMu.Lock()
	defer s.tailsMu.Unlock()
	if s.tails == nil {
		s.tails = map[string][]byte{}
	}
	// Bounded: drop everything when full (blocks are few and footers
	// small; a full cache means the working set changed).
	if s.tailsBytes+len(tail) > s.cfg.FooterCacheBytes {
		clear(s.tails)
		s.tailsBytes = 0
	}
	s.tails[key] = tail
	s.tailsBytes += len(tail)
	return tail, nil
}

// NewBlockID returns a new block ID, time-ordered like file IDs.
func (s *Store) NewBlockID() (ulid.ULID, error) { return s.newID(s.cfg.Now()) }

// Resolve decides which blocks and ingest files a reader uses so that
// every stored span is read exactly once:
//
//   - blocks are taken in ID order; a block is used unless one of its
//     inputs is already an input of a block used before it (two
//     compactors that both compacted a file — one of them after its
//     ownership expired — publish overlapping blocks; the older wins);
//   - an ingest file is used unless it is an input of a used block.
//
// It is a pure function of what a listing saw, so every reader and the
// compactor agree. Rejected are the blocks not used: garbage to delete.
func Resolve(blocks []*BlockMeta, files []FileRef) (used []*BlockMeta, raw []FileRef, rejected []*BlockMeta) {
	sorted := slices.Clone(blocks)
	slices.SortFunc(sorted, func(a, b *BlockMeta) int { return a.ID.Compare(b.ID) })
	covered := map[string]bool{}
	for _, b := range sorted {
		clash := false
		for _, in := range b.Inputs {
			if covered[in] {
				clash = true
				break
			}
		}
		if clash {
			rejected = append(rejected, b)
			continue
		}
		for _, in := range b.Inputs {
			covered[in] = true
		}
		used = append(used, b)
	}
	for _, f := range files {
		if !covered[f.Key] {
			raw = append(raw, f)
		}
	}
	return used, raw, rejected
}

// WindowFiles returns the ingest files of one window (write hour).
func (s *Store) WindowFiles(ctx context.Context, tenantID, window string) ([]FileRef, error) {
	var refs []FileRef
	for attrs, err := range s.bucket.List(ctx, ingestPrefix(tenantID)+window+"/", objstore.ListOptions{}) {
		if err != nil {
			return nil, fmt.Errorf("list span files: %w", err)
		}
		ref, err := ParseKey(attrs.Key)
		if err != nil {
			continue
		}
		ref.Size = attrs.Size
		refs = append(refs, ref)
	}
	return refs, nil
}

// Tenants returns the tenants that have objects in the bucket, with one
// listing per tenant (each skips past the tenant's keys).
func (s *Store) Tenants(ctx context.Context) ([]string, error) {
	var tenants []string
	opts := objstore.ListOptions{}
	for {
		found := false
		for attrs, err := range s.bucket.List(ctx, "", opts) {
			if err != nil {
				return nil, fmt.Errorf("list tenants: %w", err)
			}
			id, _, ok := strings.Cut(attrs.Key, "/")
			// Every tenant key is "<tenant>/…", and no tenant character
			// lies between "/" and "0": "<tenant>0" sorts after all of the
			// tenant's keys and before every other tenant's.
			opts.StartAfter = id + "0"
			found = true
			if ok && tenant.Validate(id) == nil {
				tenants = append(tenants, id)
			}
			break
		}
		if !found {
			return tenants, nil
		}
	}
}

// WindowBlocks returns the published blocks of one window, metas read.
func (s *Store) WindowBlocks(ctx context.Context, tenantID, window string) ([]*BlockMeta, error) {
	wt, err := WindowTime(window)
	if err != nil {
		return nil, err
	}
	var metas []*BlockMeta
	for o, err := range s.BlockObjects(ctx, tenantID, wt) {
		if err != nil {
			return nil, err
		}
		if o.Block.Window != window {
			break // keys are in order: the window's objects are over
		}
		if o.Name != BlockMetaName {
			continue
		}
		m, err := s.ReadBlockMeta(ctx, o.Block)
		if err != nil {
			return nil, err
		}
		metas = append(metas, m)
	}
	return metas, nil
}
