//go:build !linux

package s3test

import "syscall"

// sysProcAttr has no way to tie the server's life to ours outside Linux;
// Stop (from TestMain) ends it there.
func sysProcAttr() *syscall.SysProcAttr { return nil }
