package objstoretest

import (
	"context"
	"fmt"
	"io"
	"iter"
	"strings"
	"sync"

	"github.com/tracelake/tracelake/storage/objstore"
)

// Op names a Bucket operation a Fault applies to.
type Op string

// The operations of objstore.Bucket.
const (
	OpGet         Op = "get"
	OpGetRange    Op = "get_range"
	OpAttributes  Op = "attributes"
	OpList        Op = "list"
	OpPut         Op = "put"
	OpPutIfAbsent Op = "put_if_absent"
	OpDelete      Op = "delete"
)

// Fault describes failures to inject.
type Fault struct {
	Op Op
	// KeyPrefix limits the fault to keys starting with it (for List, to
	// listings whose prefix starts with it). Empty matches every key.
	KeyPrefix string
	// Err is the error the operation fails with; callers see it wrapped,
	// so errors.Is works.
	Err error
	// Times is how many matching calls fail; 0 means every matching call
	// until Clear.
	Times int
	// After makes the operation happen before it fails, as when a store
	// did the work but the response was lost: Put, PutIfAbsent and Delete
	// change the bucket and then return Err; Get and GetRange return a body
	// whose reads fail with Err; List yields the first object (if any), then
	// Err.
	After bool
}

// Faulty wraps a Bucket to make chosen operations fail, for testing how
// other packages handle store errors. It is safe for concurrent use. A
// zero Faulty is not usable; make one with NewFaulty.
type Faulty struct {
	objstore.Bucket

	mu       sync.Mutex
	faults   []*Fault // remaining faults; Times counts down
	injected int
}

// NewFaulty wraps b with no faults injected.
func NewFaulty(b objstore.Bucket) *Faulty {
	return &Faulty{Bucket: b}
}

// Inject adds a fault. When several match a call, the earliest added wins.
func (f *Faulty) Inject(fault Fault) {
	if fault.Err == nil {
		panic("objstoretest: Fault without Err")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = append(f.faults, &fault)
}

// Clear removes every fault.
func (f *Faulty) Clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = nil
}

// Injected says how many calls failed because of a fault so far.
func (f *Faulty) Injected() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.injected
}

// fault returns the fault that applies to this call, if any, and uses it up.
func (f *Faulty) fault(op Op, key string) *Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, ft := range f.faults {
		if ft.Op != op || !strings.HasPrefix(key, ft.KeyPrefix) {
			continue
		}
		f.injected++
		if ft.Times > 0 {
			ft.Times--
			if ft.Times == 0 {
				f.faults = append(f.faults[:i:i], f.faults[i+1:]...)
			}
		}
		c := *ft
		return &c
	}
	return nil
}

func injected(op Op, key string, err error) error {
	return fmt.Errorf("%s %s: injected fault: %w", op, key, err)
}

func (f *Faulty) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	return f.get(OpGet, key, func() (io.ReadCloser, error) { return f.Bucket.Get(ctx, key) })
}

func (f *Faulty) GetRange(ctx context.Context, key string, off, length int64) (io.ReadCloser, error) {
	return f.get(OpGetRange, key, func() (io.ReadCloser, error) { return f.Bucket.GetRange(ctx, key, off, length) })
}

func (f *Faulty) get(op Op, key string, get func() (io.ReadCloser, error)) (io.ReadCloser, error) {
	ft := f.fault(op, key)
	if ft != nil && !ft.After {
		return nil, injected(op, key, ft.Err)
	}
	rc, err := get()
	if err != nil || ft == nil {
		return rc, err
	}
	return failingReader{rc: rc, err: injected(op, key, ft.Err)}, nil
}

type failingReader struct {
	rc  io.ReadCloser
	err error
}

func (r failingReader) Read([]byte) (int, error) { return 0, r.err }
func (r failingReader) Close() error             { return r.rc.Close() }

func (f *Faulty) Attributes(ctx context.Context, key string) (objstore.Attrs, error) {
	ft := f.fault(OpAttributes, key)
	if ft != nil && !ft.After {
		return objstore.Attrs{}, injected(OpAttributes, key, ft.Err)
	}
	a, err := f.Bucket.Attributes(ctx, key)
	if err == nil && ft != nil {
		return objstore.Attrs{}, injected(OpAttributes, key, ft.Err)
	}
	return a, err
}

func (f *Faulty) List(ctx context.Context, prefix string, opts objstore.ListOptions) iter.Seq2[objstore.Attrs, error] {
	return func(yield func(objstore.Attrs, error) bool) {
		ft := f.fault(OpList, prefix)
		if ft != nil && !ft.After {
			yield(objstore.Attrs{}, injected(OpList, prefix, ft.Err))
			return
		}
		for a, err := range f.Bucket.List(ctx, prefix, opts) {
			if !yield(a, err) || err != nil {
				return
			}
			if ft != nil {
				yield(objstore.Attrs{}, injected(OpList, prefix, ft.Err))
				return
			}
		}
		if ft != nil { // the listing was empty
			yield(objstore.Attrs{}, injected(OpList, prefix, ft.Err))
		}
	}
}

func (f *Faulty) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	return f.write(OpPut, key, func() error { return f.Bucket.Put(ctx, key, r, size) })
}

func (f *Faulty) PutIfAbsent(ctx context.Context, key string, r io.Reader, size int64) error {
	return f.write(OpPutIfAbsent, key, func() error { return f.Bucket.PutIfAbsent(ctx, key, r, size) })
}

func (f *Faulty) Delete(ctx context.Context, key string) error {
	return f.write(OpDelete, key, func() error { return f.Bucket.Delete(ctx, key) })
}

func (f *Faulty) write(op Op, key string, do func() error) error {
	ft := f.fault(op, key)
	if ft != nil && !ft.After {
		return injected(op, key, ft.Err)
	}
	if err := do(); err != nil || ft == nil {
		return err
	}
	return injected(op, key, ft.Err)
}
