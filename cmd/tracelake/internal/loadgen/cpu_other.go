//go:build !unix

package loadgen

import "time"

func ProcessCPU() (time.Duration, bool) { return 0, false }
