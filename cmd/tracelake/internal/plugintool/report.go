package plugintool

import (
	"fmt"
	"io"
	"strings"

	"github.com/tracelake/tracelake/cmd/tracelake/internal/loadgen"
)

// Machine is where a benchmark ran.
type Machine = loadgen.Machine

// textWriter keeps the first write error, so report code can print
// without checking each line.
type textWriter struct {
	w   io.Writer
	err error
}

func (t *textWriter) printf(format string, args ...any) {
	if t.err == nil {
		_, t.err = fmt.Fprintf(t.w, format, args...)
	}
}

// row prints an indented "label  value" line.
func (t *textWriter) row(label, format string, args ...any) {
	t.printf("  %-14s %s\n", label, fmt.Sprintf(format, args...))
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	if strings.HasSuffix(noun, "ch") {
		return fmt.Sprintf("%d %ses", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func bytesText(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
