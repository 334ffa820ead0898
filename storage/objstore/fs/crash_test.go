package fs_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"testing"

	"github.com/tracelake/tracelake/storage/objstore"
	"github.com/tracelake/tracelake/storage/objstore/fs"
)

// crashHelperEnv makes the test binary act as a writer that TestKillWriter
// kills.
const crashHelperEnv = "TRACELAKE_FS_CRASH_HELPER_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashHelperEnv); dir != "" {
		crashHelper(dir)
		return
	}
	os.Exit(m.Run())
}

// crashContent is version i of an object: big enough that a write takes a
// while, and self-describing so a reader can tell a torn one.
func crashContent(i int) []byte {
	return bytes.Repeat([]byte(fmt.Sprintf("%08d", i)), 32<<10) // 256 KiB
}

// crashHelper writes new objects and overwrites one, acknowledging each
// write on stdout once Put returned, until it is killed.
func crashHelper(dir string) {
	b, err := fs.New(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx := context.Background()
	for i := 0; ; i++ {
		data := crashContent(i)
		if err := b.Put(ctx, fmt.Sprintf("new/%06d", i), bytes.NewReader(data), int64(len(data))); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		if err := b.Put(ctx, "overwritten", bytes.NewReader(data), int64(len(data))); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Printf("%d\n", i)
	}
}

// TestKillWriter kills a writing process (kill -9) and checks what it
// acknowledged is there, and nothing torn is visible.
func TestKillWriter(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashHelperEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := -1
	lines := bufio.NewScanner(out)
	for acked < 30 && lines.Scan() {
		if acked, err = strconv.Atoi(lines.Text()); err != nil {
			t.Fatal(err)
		}
	}
	cmd.Process.Kill()
	io.Copy(io.Discard, out)
	cmd.Wait()
	if acked < 30 {
		t.Fatalf("writer stopped after %d writes", acked+1)
	}

	b, err := fs.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	seen := 0
	for a, err := range b.List(ctx, "", objstore.ListOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		data := readAll(t, b, a.Key)
		v, err := strconv.Atoi(string(data[:min(8, len(data))]))
		if err != nil || !bytes.Equal(data, crashContent(v)) {
			t.Errorf("%s: torn object (%d bytes)", a.Key, len(data))
			continue
		}
		switch {
		case a.Key == "overwritten":
			if v < acked {
				t.Errorf("overwritten holds version %d, but version %d was acknowledged", v, acked)
			}
		case a.Key != fmt.Sprintf("new/%06d", v):
			t.Errorf("%s holds version %d", a.Key, v)
		default:
			seen++
		}
	}
	if seen < acked+1 {
		t.Errorf("%d new objects listed, %d were acknowledged", seen, acked+1)
	}
}

func readAll(t *testing.T, b objstore.Bucket, key string) []byte {
	t.Helper()
	rc, err := b.Get(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
