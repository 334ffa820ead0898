package objstore

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on keys. They are the strictest of the stores we support, so a key
// accepted here works on every backend: S3 limits keys to 1024 bytes, and a
// local directory (and MinIO, which stores objects in one) limits each path
// segment to 255 bytes.
const (
	MaxKeyLength     = 1024
	MaxSegmentLength = 255
)

// ValidateKey reports whether key can name an object in every backend, with
// an error wrapping ErrInvalidKey that says what is wrong. A valid key is
// non-empty valid UTF-8 of at most MaxKeyLength bytes, made of
// "/"-separated segments that are neither empty, "." nor ".." and at most
// MaxSegmentLength bytes each, with no control characters and no backslash
// (a path separator on Windows).
//
// Every backend calls it on every key it is given, so a key that works in a
// test against the in-memory fake also works against S3 and a directory.
func ValidateKey(key string) error {
	if problem := keyProblem(key); problem != "" {
		return fmt.Errorf("%w %s: %s", ErrInvalidKey, quoteKey(key), problem)
	}
	return nil
}

func keyProblem(key string) string {
	switch {
	case key == "":
		return "key is empty"
	case len(key) > MaxKeyLength:
		return fmt.Sprintf("key is %d bytes long, the limit is %d", len(key), MaxKeyLength)
	case !utf8.ValidString(key):
		return "key is not valid UTF-8"
	case strings.HasPrefix(key, "/"):
		return `key starts with "/"`
	}
	for _, r := range key {
		switch {
		case r == '\\':
			return "key contains a backslash"
		case unicode.IsControl(r):
			return fmt.Sprintf("key contains the control character %U", r)
		}
	}
	for seg := range strings.SplitSeq(key, "/") {
		switch {
		case seg == "":
			return `key has an empty segment ("//" or a trailing "/")`
		case seg == "." || seg == "..":
			return fmt.Sprintf("key has a %q segment", seg)
		case len(seg) > MaxSegmentLength:
			return fmt.Sprintf("key has a segment of %d bytes, the limit is %d", len(seg), MaxSegmentLength)
		}
	}
	return ""
}

// quoteKey quotes key for an error message, shortening keys too long to
// read: the message is for a person, and the start of a key says which it is.
func quoteKey(key string) string {
	const show = 64
	if len(key) <= 2*show {
		return fmt.Sprintf("%q", key)
	}
	return fmt.Sprintf("%q… (%d bytes)", key[:show], len(key))
}
