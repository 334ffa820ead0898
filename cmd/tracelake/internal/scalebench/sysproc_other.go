//go:build !linux

package scalebench

import "syscall"

// childProcAttr cannot tie a child's life to ours outside Linux; the run
// stops its children itself.
func childProcAttr() *syscall.SysProcAttr { return nil }
