package scalebench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tracelake/tracelake/cmd/tracelake/internal/loadgen"
)

// What is read of other processes and of the machine, from Linux's /proc.

// userHZ is the unit of /proc/<pid>/stat's CPU times: USER_HZ, which
// Linux fixes at 100 on every architecture Go supports.
const userHZ = 100

// procCPU is process pid's user and system CPU time so far (10 ms
// resolution).
func procCPU(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, field 2, is in parentheses and may hold spaces:
	// count fields after its closing one. utime and stime are fields 14
	// and 15, so the 12th and 13th after it.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad CPU times %q %q", pid, f[11], f[12])
	}
	return time.Duration(utime+stime) * time.Second / userHZ, nil
}

// procPeakRSS is process pid's peak resident set (VmHWM), in bytes.
func procPeakRSS(pid int) (int64, error) {
	return statusField(fmt.Sprintf("/proc/%d/status", pid), "VmHWM:")
}

// statusField reads a "Name:   123 kB" line of a /proc status-like file.
func statusField(path, name string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), name)
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			break
		}
		n, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s %s: %w", path, name, err)
		}
		if len(fields) > 1 && fields[1] == "kB" {
			n <<= 10
		}
		return n, nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("%s: no %s", path, name)
}

// Machine is where the benchmark ran: what the load tool reports, and
// memory and kernel.
type Machine struct {
	loadgen.Machine
	MemBytes int64  `json:"mem_bytes"`
	Kernel   string `json:"kernel"`
}

func thisMachine() Machine {
	m := Machine{Machine: loadgen.ThisMachine()}
	m.MemBytes, _ = statusField("/proc/meminfo", "MemTotal:")
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(data))
	}
	return m
}
