package querytest

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"strconv"
	"strings"
	"testing"
)

// update is registered here so that every test binary importing this
// package has it exactly once; see the package documentation.
var update = flag.Bool("update", false, "rewrite the golden files under testdata from the current output")

// Golden compares got with the golden file at path, or, under -update,
// writes got there.
func Golden(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("answer differs from %s (run go test -update after checking the change)\n%s", path, lineDiff(string(want), string(got)))
	}
}

// GoldenJSON is Golden for a JSON answer, indented by two spaces and ended
// by a newline so that the golden file reads well and diffs by line.
func GoldenJSON(t testing.TB, path string, body []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, body, "", "  "); err != nil {
		t.Fatalf("%s: answer is not JSON: %v\n%s", path, err, body)
	}
	buf.WriteByte('\n')
	Golden(t, path, buf.Bytes())
}

// lineDiff shows the first differing lines of two texts.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return "line " + strconv.Itoa(i+1) + ":\n  want: " + wl + "\n  got:  " + gl
		}
	}
	return ""
}
