package lambdalocal

import "syscall"

// sysProcAttr makes the kernel kill a sandbox when the emulator dies,
// however it dies: a test binary killed by a timeout runs no cleanup.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
