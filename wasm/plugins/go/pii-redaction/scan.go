package main

// The scanners are hand-written rather than regular expressions: they
// look at each byte once, allocate nothing unless they find something,
// and are several times faster than package regexp in WebAssembly (see
// README.md).

import (
	"math/bits"
	"strings"
)

// detectors is a set of what to look for in values.
type detectors uint8

const (
	detectEmail detectors = 1 << iota
	detectCard
	detectBearer
	detectAll = detectEmail | detectCard | detectBearer

	// slowPath disables redact's fast paths, for tests that check them.
	slowPath detectors = 1 << 7
)

// redact appends s to dst with every detected secret replaced by repl,
// and reports whether it found any (when it did not, dst is returned
// unchanged).
//
// Loops over bytes are slow in Go's WebAssembly (each iteration is a few
// taken branches, ~20 ns a byte), so redact first rules detectors out
// with cheap whole-string tests — strings.IndexByte and strings.Index are
// word-at-a-time assembly — and looks closely only where something may
// be found.
func redact(dst []byte, s, repl string, d detectors) ([]byte, bool) {
	if d&slowPath != 0 {
		d |= detectCard // every byte a candidate
	} else if d&detectEmail != 0 && strings.IndexByte(s, '@') < 0 {
		d &^= detectEmail
	}
	if d&detectCard != 0 && d&slowPath == 0 && (len(s) < minCardDigits || countDigits(s) < minCardDigits) {
		d &^= detectCard
	}
	if d&detectBearer != 0 && d&slowPath == 0 &&
		(len(s) < len("bearer ")+minToken || strings.IndexByte(s, ' ') < 0 && strings.IndexByte(s, '\t') < 0) {
		d &^= detectBearer
	}
	if d == 0 {
		return dst, false
	}
	start := len(dst)
	emitted := 0 // s[:emitted] is in dst
	found := false
	replace := func(from, to int) {
		dst = append(dst, s[emitted:from]...)
		dst = append(dst, repl...)
		emitted = to
		found = true
	}
	for i := next(s, 0, d); i < len(s); i = next(s, i, d) {
		c := s[i]
		switch {
		case c == '@' && d&detectEmail != 0:
			if from, to, ok := emailAt(s, i, emitted); ok {
				replace(from, to)
				i = to
				continue
			}
		case isDigit(c) && d&detectCard != 0 && (i == 0 || !isAlnum(s[i-1])):
			to, ok := cardAt(s, i)
			if ok {
				replace(i, to)
			}
			i = to // past the digit run either way: linear time
			continue
		case c|0x20 == 'b' && d&detectBearer != 0 && (i == 0 || !isAlnum(s[i-1])):
			if from, to, ok := bearerAt(s, i); ok {
				replace(from, to)
				i = to
				continue
			}
		}
		i++
	}
	if !found {
		return dst[:start], false
	}
	return append(dst, s[emitted:]...), true
}

// next returns the first position at or after i where a detector of d may
// start, or len(s). With card detection every byte is a candidate; without
// it the scan jumps between '@'s and the words before spaces with the
// assembly searches.
func next(s string, i int, d detectors) int {
	if d&detectCard != 0 || i >= len(s) {
		return i
	}
	n := len(s)
	if d&detectEmail != 0 {
		if at := strings.IndexByte(s[i:], '@'); at >= 0 {
			n = i + at
		}
	}
	if d&detectBearer != 0 {
		// "bearer" (any case) is followed by a space or a tab: find
		// those, six bytes on.
		for _, sep := range [...]byte{' ', '\t'} {
			if i+6 < len(s) {
				if at := strings.IndexByte(s[i+6:], sep); at >= 0 && i+at < n {
					n = i + at
				}
			}
		}
	}
	return n
}

// minCardDigits is the fewest digits of a card number.
const minCardDigits = 13

// countDigits counts the ASCII digits of s, eight bytes at a time.
func countDigits(s string) int {
	n, i := 0, 0
	for ; i+8 <= len(s); i += 8 {
		// Bytes '0'..'9' xor '0' are exactly the bytes below 10; count
		// them without branching (Hacker's Delight, "countless").
		x := (uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56) ^ 0x3030303030303030
		n += bits.OnesCount64((0x8989898989898989 - x&0x7f7f7f7f7f7f7f7f) &^ x & 0x8080808080808080)
	}
	for ; i < len(s); i++ {
		if isDigit(s[i]) {
			n++
		}
	}
	return n
}

// emailAt finds an address around the '@' at s[at]: a local part of
// letters, digits and ._%+- (not reaching back before min), and a domain
// of at least two dot-separated labels whose last is two or more letters.
func emailAt(s string, at, min int) (from, to int, ok bool) {
	from = at
	for from > min && isLocal(s[from-1]) {
		from--
	}
	for from < at && s[from] == '.' {
		from++
	}
	if from == at {
		return 0, 0, false
	}
	to = at + 1
	for to < len(s) && (isAlnum(s[to]) || s[to] == '-' || s[to] == '.') {
		to++
	}
	for to > at+1 && (s[to-1] == '.' || s[to-1] == '-') { // "mail me at a@b.com."
		to--
	}
	domain := s[at+1 : to]
	dot := -1
	for i := 0; i < len(domain); i++ {
		if domain[i] == '.' {
			if i == 0 || domain[i-1] == '.' {
				return 0, 0, false // empty label
			}
			dot = i
		}
	}
	if dot < 0 || len(domain)-dot-1 < 2 {
		return 0, 0, false
	}
	for i := dot + 1; i < len(domain); i++ {
		if !isLetter(domain[i]) {
			return 0, 0, false
		}
	}
	return from, to, true
}

// cardAt reads the run of digits starting at s[at] — single spaces or
// dashes may separate groups — and reports whether it is a card number:
// 13 to 19 digits, the first 2 to 6 (the major networks' ranges), passing
// the Luhn check, not followed by a letter or digit. to is the end of the
// run whatever the verdict.
func cardAt(s string, at int) (to int, ok bool) {
	digits := 0
	i := at
	for i < len(s) {
		if isDigit(s[i]) {
			digits++
			i++
			to = i
			continue
		}
		if (s[i] == ' ' || s[i] == '-') && i+1 < len(s) && isDigit(s[i+1]) {
			i++
			continue
		}
		break
	}
	if digits < 13 || digits > 19 || s[at] < '2' || s[at] > '6' || to < len(s) && isAlnum(s[to]) {
		return to, false
	}
	return to, luhn(s[at:to])
}

// luhn checks the Luhn checksum of the digits of s (other bytes skipped).
func luhn(s string) bool {
	sum, double := 0, false
	for i := len(s) - 1; i >= 0; i-- {
		if !isDigit(s[i]) {
			continue
		}
		d := int(s[i] - '0')
		if double {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// minToken is the shortest bearer token redacted: shorter words after
// "bearer" are prose ("the bearer of bad news"), not credentials.
const minToken = 8

// bearerAt finds "Bearer <token>" (any case) at s[at] and returns the
// token's extent: RFC 6750's token68 characters, then any '='.
func bearerAt(s string, at int) (from, to int, ok bool) {
	const word = "bearer"
	if len(s)-at < len(word)+1 {
		return 0, 0, false
	}
	for i := 0; i < len(word); i++ {
		if s[at+i]|0x20 != word[i] {
			return 0, 0, false
		}
	}
	from = at + len(word)
	if s[from] != ' ' && s[from] != '\t' {
		return 0, 0, false
	}
	for from < len(s) && (s[from] == ' ' || s[from] == '\t') {
		from++
	}
	to = from
	for to < len(s) && (isAlnum(s[to]) || s[to] == '-' || s[to] == '.' || s[to] == '_' || s[to] == '~' || s[to] == '+' || s[to] == '/') {
		to++
	}
	if to-from < minToken {
		return 0, 0, false
	}
	for to < len(s) && s[to] == '=' {
		to++
	}
	return from, to, true
}

func isDigit(c byte) bool  { return '0' <= c && c <= '9' }
func isLetter(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }
func isAlnum(c byte) bool  { return isDigit(c) || isLetter(c) }
func isLocal(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'
}
