package objstore_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/tracelake/tracelake/storage/objstore"
)

func TestValidateKey(t *testing.T) {
	seg := strings.Repeat("s", objstore.MaxSegmentLength)
	tests := []struct {
		key     string
		problem string // "" for a valid key
	}{
		{"a", ""},
		{"a/b/c", ""},
		{"tenant/ingest/2026-11-21/01JD3.parquet", ""},
		{"..a/b..", ""},
		{".hidden/.x", ""},
		{"a b/ü/日本/😀", ""},
		{"a+b=c&d?e#f%g~h", ""},
		{seg + "/" + seg, ""},
		{strings.Repeat("a/", 511) + "bc", ""}, // 1024 bytes

		{"", "empty"},
		{strings.Repeat("a/", 512) + "b", "1025 bytes long"},
		{"a\xffb", "UTF-8"},
		{"/a", `starts with "/"`},
		{"a//b", "empty segment"},
		{"a/", "empty segment"},
		{".", `"." segment`},
		{"a/./b", `"." segment`},
		{"..", `".." segment`},
		{"a/../b", `".." segment`},
		{"a/" + seg + "s", "segment of 256 bytes"},
		{"a\x00b", "U+0000"},
		{"a\tb", "U+0009"},
		{"a\x7fb", "U+007F"},
		{"a\u0085b", "U+0085"},
		{`a\b`, "backslash"},
	}
	for _, tt := range tests {
		err := objstore.ValidateKey(tt.key)
		if tt.problem == "" {
			if err != nil {
				t.Errorf("ValidateKey(%.40q) = %v, want nil", tt.key, err)
			}
			continue
		}
		if !errors.Is(err, objstore.ErrInvalidKey) {
			t.Errorf("ValidateKey(%.40q) = %v, want ErrInvalidKey", tt.key, err)
			continue
		}
		if !strings.Contains(err.Error(), tt.problem) {
			t.Errorf("ValidateKey(%.40q) = %q, want it to say %q", tt.key, err, tt.problem)
		}
	}
}

func TestValidateKeyShortensLongKeys(t *testing.T) {
	err := objstore.ValidateKey(strings.Repeat("k", 5000))
	if err == nil || len(err.Error()) > 200 {
		t.Errorf("error for a 5000-byte key is %d bytes long: %v", len(err.Error()), err)
	}
}

func FuzzValidateKey(f *testing.F) {
	for _, k := range []string{"a/b", "", "/", "a//b", "../x", "a\x00", "ü/😀"} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, key string) {
		err := objstore.ValidateKey(key)
		if err != nil && !errors.Is(err, objstore.ErrInvalidKey) {
			t.Fatalf("error %v does not wrap ErrInvalidKey", err)
		}
		if err != nil {
			return
		}
		// Whatever passes is safe as a relative path on every store.
		if len(key) > objstore.MaxKeyLength || strings.HasPrefix(key, "/") || strings.Contains(key, `\`) {
			t.Fatalf("accepted %q", key)
		}
		for _, seg := range strings.Split(key, "/") {
			if seg == "" || seg == "." || seg == ".." || len(seg) > objstore.MaxSegmentLength {
				t.Fatalf("accepted %q with segment %q", key, seg)
			}
		}
	})
}
