package s3test

import "syscall"

// sysProcAttr makes the kernel kill the server when the test process dies,
// however it dies: a test binary killed by a timeout runs no cleanup.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
