//go:build !wasip1

package sdk

// Natively there is no host: Log discards (see Plugin for how tests drive
// a plugin).
func hostLog(Level, string) {}
