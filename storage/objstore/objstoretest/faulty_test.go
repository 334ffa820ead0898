package objstoretest_test

import (
	"errors"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/tracelake/tracelake/storage/objstore"
	"github.com/tracelake/tracelake/storage/objstore/objstoretest"
)

var errBoom = errors.New("boom")

// With no faults, Faulty is the bucket it wraps.
func TestFaultyPassesThrough(t *testing.T) {
	objstoretest.Run(t, func(*testing.T) objstore.Bucket {
		return objstoretest.NewFaulty(objstoretest.NewMemory())
	})
}

func TestFaultyTimesAndPrefix(t *testing.T) {
	f := objstoretest.NewFaulty(objstoretest.NewMemory())
	ctx := t.Context()
	f.Inject(objstoretest.Fault{Op: objstoretest.OpPut, KeyPrefix: "blocks/", Err: errBoom, Times: 2})

	if err := f.Put(ctx, "other", strings.NewReader("x"), 1); err != nil {
		t.Errorf("Put outside the prefix: %v", err)
	}
	for i := range 2 {
		if err := f.Put(ctx, "blocks/a", strings.NewReader("x"), 1); !errors.Is(err, errBoom) {
			t.Errorf("Put %d: %v, want the injected error", i, err)
		}
	}
	if err := f.Put(ctx, "blocks/a", strings.NewReader("x"), 1); err != nil {
		t.Errorf("Put after the fault ran out: %v", err)
	}
	if n := f.Injected(); n != 2 {
		t.Errorf("Injected() = %d, want 2", n)
	}
	// Failing before the write stores nothing; only the third Put stored.
	if _, err := f.Attributes(ctx, "blocks/a"); err != nil {
		t.Errorf("Attributes: %v", err)
	}
}

func TestFaultyUntilCleared(t *testing.T) {
	f := objstoretest.NewFaulty(objstoretest.NewMemory())
	ctx := t.Context()
	f.Inject(objstoretest.Fault{Op: objstoretest.OpAttributes, Err: objstore.ErrNotFound})
	for range 5 {
		if _, err := f.Attributes(ctx, "k"); !errors.Is(err, objstore.ErrNotFound) {
			t.Fatalf("Attributes = %v", err)
		}
	}
	f.Clear()
	if _, err := f.Attributes(ctx, "k"); !errors.Is(err, objstore.ErrNotFound) || f.Injected() != 5 {
		t.Errorf("after Clear: %v, %d injected", err, f.Injected())
	}
}

// After-faults do the work and then fail, like a lost response.
func TestFaultyAfter(t *testing.T) {
	f := objstoretest.NewFaulty(objstoretest.NewMemory())
	ctx := t.Context()
	f.Inject(objstoretest.Fault{Op: objstoretest.OpPutIfAbsent, Err: errBoom, Times: 1, After: true})
	if err := f.PutIfAbsent(ctx, "lease", strings.NewReader("x"), 1); !errors.Is(err, errBoom) {
		t.Fatalf("PutIfAbsent = %v", err)
	}
	// The object was stored: a retry sees its own write as someone else's.
	if err := f.PutIfAbsent(ctx, "lease", strings.NewReader("x"), 1); !errors.Is(err, objstore.ErrExists) {
		t.Errorf("retry = %v, want ErrExists", err)
	}

	f.Inject(objstoretest.Fault{Op: objstoretest.OpGet, Err: errBoom, Times: 1, After: true})
	rc, err := f.Get(ctx, "lease")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(rc); !errors.Is(err, errBoom) {
		t.Errorf("reading the body = %v, want the injected error", err)
	}
	rc.Close()

	f.Inject(objstoretest.Fault{Op: objstoretest.OpList, Err: errBoom, Times: 1, After: true})
	if err := f.Put(ctx, "second", strings.NewReader("x"), 1); err != nil {
		t.Fatal(err)
	}
	var keys []string
	var listErr error
	for a, err := range f.List(ctx, "", objstore.ListOptions{}) {
		if err != nil {
			listErr = err
			break
		}
		keys = append(keys, a.Key)
	}
	if len(keys) != 1 || !errors.Is(listErr, errBoom) {
		t.Errorf("List yielded %q then %v, want one key then the injected error", keys, listErr)
	}
}

func TestFaultyConcurrent(t *testing.T) {
	f := objstoretest.NewFaulty(objstoretest.NewMemory())
	f.Inject(objstoretest.Fault{Op: objstoretest.OpDelete, Err: errBoom, Times: 50})
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		failed int
	)
	for range 8 {
		wg.Go(func() {
			for range 20 {
				if err := f.Delete(t.Context(), "k"); err != nil {
					mu.Lock()
					failed++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if failed != 50 || f.Injected() != 50 {
		t.Errorf("%d deletes failed, %d injected; want exactly 50", failed, f.Injected())
	}
}
