package tenant

import (
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		id string
		ok bool
	}{
		{"single-tenant", true},
		{"Acme_Corp.prod", true},
		{"a!*'()-_.", true},
		{strings.Repeat("x", MaxLength), true},
		{"", false},
		{".", false},
		{"..", false},
		{"a/b", false},
		{"a b", false},
		{"ü", false},
		{"a~b", false}, // "~" is reserved for names that must never be tenants
		{strings.Repeat("x", MaxLength+1), false},
	} {
		if err := Validate(tc.id); (err == nil) != tc.ok {
			t.Errorf("Validate(%q) = %v, want ok=%v", tc.id, err, tc.ok)
		}
	}
}
