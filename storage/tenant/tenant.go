// Package tenant defines what a tenant ID is. Every object key starts with
// one, so an ID must be safe to use as a key segment on every store.
//
// It must never depend on a transport (HTTP, gRPC): areas that receive
// requests extract the ID themselves and validate it here.
package tenant

import (
	"fmt"
)

// Default is the tenant of requests that name none.
const Default = "single-tenant"

// MaxLength is the longest tenant ID accepted (the limit Cortex, Loki and
// Tempo use for X-Scope-OrgID).
const MaxLength = 150

// Validate reports whether id can be used as a tenant ID: 1 to MaxLength
// characters from [A-Za-z0-9!_.*'()-], and not "." or "..".
func Validate(id string) error {
	if id == "" {
		return fmt.Errorf("tenant ID is empty")
	}
	if len(id) > MaxLength {
		return fmt.Errorf("tenant ID is %d characters long, the limit is %d", len(id), MaxLength)
	}
	if id == "." || id == ".." {
		return fmt.Errorf("tenant ID %q is not allowed", id)
	}
	for i := 0; i < len(id); i++ {
		if !allowed(id[i]) {
			return fmt.Errorf("tenant ID %q has a character %q that is not allowed (use letters, digits and !_.*'()-)", id, id[i])
		}
	}
	return nil
}

func allowed(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	switch c {
	case '!', '-', '_', '.', '*', '\'', '(', ')':
		return true
	}
	return false
}
