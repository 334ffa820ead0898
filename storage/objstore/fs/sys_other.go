//go:build !unix

package fs

import "io/fs"

func inode(fs.FileInfo) uint64 { return 0 }

// syncDir does nothing where directories cannot be opened for syncing
// (Windows, whose file systems journal their metadata).
func syncDir(string) error { return nil }
