// Package compact turns a tenant's many small ingest files into blocks:
// one sorted Parquet file per window with a trace index, a trace-ID bloom
// filter and precomputed aggregates (storage/tracestore/FORMAT.md).
//
// Planning (Plan) is a pure function of what a listing saw and the time;
// execution (Compactor) carries a plan out. Several compactors may share a
// bucket: a window is compacted by whoever holds its lease, an object
// created with the store's conditional put. Every step leaves the bucket
// in a state readers answer correctly from (tracestore.Resolve): a block
// is invisible until its meta.json exists, and its inputs are deleted only
// a grace period after that.
package compact

import (
	"slices"
	"time"

	"github.com/tracelake/tracelake/storage/tracestore"
)

// Config tunes compaction.
type Config struct {
	// Settle is how long after a window's hour ends it is compacted:
	// ingest may still be writing its last files until then. Down to -1h:
	// an hour in progress is compacted, each pass making a block of the
	// files that arrived since the last.
	Settle time.Duration
	// Grace is how long a block's inputs are kept after the block was
	// published, so queries that listed them before still read them.
	Grace time.Duration
	// LeaseTTL is how long a compactor owns a window without renewing.
	LeaseTTL time.Duration
	// MaxBlockBytes bounds the input bytes of one block: a window with
	// more becomes several blocks, so memory and temporary disk stay
	// bounded.
	MaxBlockBytes int64
	// MaxBlockFiles bounds the input files of one block.
	MaxBlockFiles int
	// Interval is how often the compactor looks for work.
	Interval time.Duration
	// RowsPerRowGroup sizes the blocks' row groups.
	RowsPerRowGroup int64
	// TempDir holds a block's data while it is written ("": the system's).
	TempDir string
	// Owner names this compactor in leases and logs.
	Owner string
	// Now is the clock; defaults to time.Now.
	Now func() time.Time
}

// DefaultConfig returns the settings `tracelake compact` starts with.
func DefaultConfig() Config {
	return Config{
		Settle:          5 * time.Minute,
		Grace:           15 * time.Minute,
		LeaseTTL:        5 * time.Minute,
		MaxBlockBytes:   1 << 30,
		MaxBlockFiles:   10_000,
		Interval:        time.Minute,
		RowsPerRowGroup: 8192,
	}
}

// State is what a listing of one tenant saw.
type State struct {
	Files  []tracestore.FileRef
	Blocks []*tracestore.BlockMeta
	// Partial are blocks with objects but no meta.json: being written, or
	// abandoned by a compactor that died.
	Partial []Partial
	// Leases are the windows' lease objects.
	Leases []Lease
}

// Partial is a block without meta.json.
type Partial struct {
	Block tracestore.BlockRef
	Keys  []string
}

// Lease is a window's lease objects.
type Lease struct {
	Window  string
	Keys    []string
	Expires time.Time // of the latest
}

// Plan is the work a state calls for.
type Plan struct {
	// Windows to compact, oldest first. Which files go into which block
	// is decided under the window's lease, from a fresh listing.
	Jobs []Job
	// DeleteFiles are ingest files a used block replaced more than Grace ago.
	DeleteFiles []string
	// DeleteBlocks are rejected blocks (published after another block took
	// their inputs) older than Grace, and partial blocks untouched for two
	// lease periods: their compactor is gone. Each is a list of keys to
	// delete in order (meta.json first, so a block disappears whole).
	DeleteBlocks [][]string
	// DeleteLeases are the lease objects of windows with nothing to do
	// whose lease expired: left by a compactor that died after its work.
	DeleteLeases []string
}

// Job compacts one window.
type Job struct {
	Tenant, Window string
}

// MakePlan decides what to do with one tenant's state at now.
func MakePlan(cfg Config, tenant string, st State, now time.Time) Plan {
	var p Plan
	used, raw, rejected := tracestore.Resolve(st.Blocks, st.Files)
	byWindow := map[string][]tracestore.FileRef{}
	for _, f := range raw {
		w := f.Window()
		byWindow[w] = append(byWindow[w], f)
	}
	var windows []string
	for w := range byWindow {
		wt, err := tracestore.WindowTime(w)
		if err != nil || now.Before(wt.Add(time.Hour+cfg.Settle)) {
			continue // the window is still being written
		}
		windows = append(windows, w)
	}
	slices.Sort(windows)
	for _, w := range windows {
		p.Jobs = append(p.Jobs, Job{Tenant: tenant, Window: w})
	}
	present := map[string]bool{}
	for _, f := range st.Files {
		present[f.Key] = true
	}
	for _, b := range used {
		if now.Before(b.Compacted.Add(cfg.Grace)) {
			continue
		}
		for _, in := range b.Inputs {
			if present[in] {
				p.DeleteFiles = append(p.DeleteFiles, in)
			}
		}
	}
	for _, b := range rejected {
		if now.Before(b.Compacted.Add(cfg.Grace)) {
			continue
		}
		keys := []string{b.Key}
		for name := range b.Sizes {
			keys = append(keys, b.ObjectKey(name))
		}
		slices.Sort(keys[1:])
		p.DeleteBlocks = append(p.DeleteBlocks, keys)
	}
	for _, pb := range st.Partial {
		// A block is begun under a lease that expires within LeaseTTL of
		// the block's ID time, and is published only under an unexpired
		// lease: after that (and a margin for clocks) it never will be.
		started := time.UnixMilli(int64(pb.Block.ID.Time()))
		if now.Before(started.Add(2 * cfg.LeaseTTL)) {
			continue
		}
		p.DeleteBlocks = append(p.DeleteBlocks, slices.Clone(pb.Keys))
	}
	for _, l := range st.Leases {
		if _, busy := byWindow[l.Window]; busy || now.Before(l.Expires) {
			continue
		}
		p.DeleteLeases = append(p.DeleteLeases, l.Keys...)
	}
	return p
}

// take is the longest prefix of files within one block's bounds (at least
// one file).
func take(cfg Config, files []tracestore.FileRef) []tracestore.FileRef {
	var bytes int64
	for i, f := range files {
		bytes += f.Size
		if i > 0 && (bytes > cfg.MaxBlockBytes || i >= cfg.MaxBlockFiles) {
			return files[:i]
		}
	}
	return files
}
