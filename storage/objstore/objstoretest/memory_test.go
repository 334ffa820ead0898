package objstoretest_test

import (
	"strings"
	"testing"

	"github.com/tracelake/tracelake/storage/objstore"
	"github.com/tracelake/tracelake/storage/objstore/objstoretest"
)

func TestMemory(t *testing.T) {
	objstoretest.Run(t, func(*testing.T) objstore.Bucket { return objstoretest.NewMemory() })
}

func TestPrefixedMemory(t *testing.T) {
	objstoretest.Run(t, func(t *testing.T) objstore.Bucket {
		inner := objstoretest.NewMemory()
		// Neighbours of the prefix, which must stay invisible through it.
		for _, key := range []string{"some/prefi", "some/prefix-x", "some/prefix0/y", "other"} {
			if err := inner.Put(t.Context(), key, strings.NewReader("x"), 1); err != nil {
				t.Fatal(err)
			}
		}
		return objstore.Prefixed(inner, "some/prefix")
	})
}
