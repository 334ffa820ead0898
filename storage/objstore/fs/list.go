package fs

import (
	"context"
	"fmt"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tracelake/tracelake/storage/objstore"
)

// List walks the directory tree in the byte order of keys. That is not the
// order of a walk by file name: the keys under directory "a" all start with
// "a/", so "a-c" ('-' < '/') comes before them and "a0" after, while by name
// "a" sorts before both. Each directory's entries are therefore sorted by
// name, with "/" appended to directories' names.
//
// Only the directory named by the prefix up to its last "/" is read, and
// subtrees whose keys all sort at or before opts.StartAfter are skipped
// without being read, so listing one time partition, or resuming a long
// listing, reads little more than it yields.
func (b *Bucket) List(ctx context.Context, prefix string, opts objstore.ListOptions) iter.Seq2[objstore.Attrs, error] {
	return func(yield func(objstore.Attrs, error) bool) {
		if err := ctx.Err(); err != nil {
			yield(objstore.Attrs{}, fmt.Errorf("list %s: %w", prefix, err))
			return
		}
		// "tenant/ingest/2026-11-2" lists the entries of tenant/ingest
		// whose names start with "2026-11-2".
		i := strings.LastIndexByte(prefix, '/')
		dirKey, namePrefix := prefix[:i+1], prefix[i+1:]
		dir := b.root
		if dirKey != "" {
			// The directory part must be a valid key itself, or no valid
			// key starts with it; checking also keeps ".." from leaving
			// the root.
			if _, err := b.path(strings.TrimSuffix(dirKey, "/")); err != nil {
				return
			}
			dir = filepath.Join(b.root, filepath.FromSlash(dirKey))
		}
		w := walker{ctx: ctx, b: b, startAfter: opts.StartAfter, yield: yield}
		w.walk(dir, dirKey, namePrefix)
	}
}

type walker struct {
	ctx        context.Context
	b          *Bucket
	startAfter string
	yield      func(objstore.Attrs, error) bool
}

type dirEntry struct {
	name    string
	dir     bool
	sortKey string // name, with "/" appended for a directory
}

// walk yields the objects under dir, whose keys start with keyPrefix, for
// the entries whose names start with namePrefix. It returns false when the
// listing must stop.
func (w *walker) walk(dir, keyPrefix, namePrefix string) bool {
	entries, err := w.entries(dir, keyPrefix, namePrefix)
	if err != nil {
		w.yield(objstore.Attrs{}, fmt.Errorf("list %s: %w", keyPrefix+namePrefix, err))
		return false
	}
	for _, e := range entries {
		if err := w.ctx.Err(); err != nil {
			w.yield(objstore.Attrs{}, fmt.Errorf("list %s: %w", keyPrefix+namePrefix, err))
			return false
		}
		key := keyPrefix + e.name
		path := filepath.Join(dir, e.name)
		if e.dir {
			sub := key + "/"
			if sub < w.startAfter && !strings.HasPrefix(w.startAfter, sub) {
				continue // every key in the subtree sorts before StartAfter
			}
			if !w.walk(path, sub, "") {
				return false
			}
			continue
		}
		if key <= w.startAfter || objstore.ValidateKey(key) != nil {
			// Not wanted, or a file someone put there by hand whose name
			// could not be read back as a key.
			continue
		}
		fi, err := os.Stat(path)
		if isNotFound(err) || (err == nil && !fi.Mode().IsRegular()) {
			continue // deleted or replaced since the directory was read
		}
		if err != nil {
			w.yield(objstore.Attrs{}, fmt.Errorf("list %s: %w", keyPrefix+namePrefix, err))
			return false
		}
		if !w.yield(attrs(key, fi), nil) {
			return false
		}
	}
	return true
}

// entries reads dir and returns its objects and subdirectories whose names
// start with namePrefix, in key order. A missing directory has none.
func (w *walker) entries(dir, keyPrefix, namePrefix string) ([]dirEntry, error) {
	des, err := os.ReadDir(dir)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	entries := make([]dirEntry, 0, len(des))
	for _, de := range des {
		name := de.Name()
		if !strings.HasPrefix(name, namePrefix) || (keyPrefix == "" && name == tmpDirName) {
			continue
		}
		typ := de.Type()
		if typ&fs.ModeSymlink != 0 {
			fi, err := os.Stat(filepath.Join(dir, name))
			if err != nil {
				continue // dangling
			}
			typ = fi.Mode().Type()
		}
		switch {
		case typ.IsDir():
			entries = append(entries, dirEntry{name: name, dir: true, sortKey: name + "/"})
		case typ.IsRegular():
			entries = append(entries, dirEntry{name: name, sortKey: name})
		}
	}
	slices.SortFunc(entries, func(a, b dirEntry) int { return strings.Compare(a.sortKey, b.sortKey) })
	return entries, nil
}
