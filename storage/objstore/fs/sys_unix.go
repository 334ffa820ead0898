//go:build unix

package fs

import (
	"io/fs"
	"os"
	"syscall"
)

// inode identifies the file behind fi, so that an object replaced by
// another of the same size within the clock's resolution still gets a new
// ETag.
func inode(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}

// syncDir makes the entries of dir durable: a file renamed into it, or a
// directory created in it, is not durable until its parent is synced.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
