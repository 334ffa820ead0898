package scalebench

import "syscall"

// childProcAttr makes the kernel kill a child (MinIO, the query service)
// when the benchmark dies, however it dies.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
