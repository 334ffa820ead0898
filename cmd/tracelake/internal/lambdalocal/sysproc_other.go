//go:build !linux

package lambdalocal

import "syscall"

// sysProcAttr has no way to tie a sandbox's life to ours outside Linux;
// Function.Close ends it there.
func sysProcAttr() *syscall.SysProcAttr { return nil }
