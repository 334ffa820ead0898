package main

import (
	"bytes"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// The compactor running inside the all-in-one (and as its own role beside
// split ingest and query processes) turns ingest files into blocks while
// traces stay findable by ID and by search, and `tracelake inspect` shows
// the blocks.
func TestCompactionEndToEnd(t *testing.T) {
	for _, tc := range []struct {
		name    string
		storage func(*testing.T) storage
		split   bool
	}{
		{name: "local-directory/all-in-one", storage: localStorage},
		{name: "minio/split", storage: minioStorage, split: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := tc.storage(t)
			// Compact the hour in progress, every second, and delete
			// inputs at once: what production does an hour later.
			compaction := []string{"--compactor.settle", "-1h", "--compactor.interval", "1s", "--compactor.grace", "0s"}
			var ingest, query, compactor *proc
			if tc.split {
				ingest = start(t, "ingest", st)
				query = start(t, "query", st)
				compactor = start(t, "compact", st, compaction...)
			} else {
				ingest = start(t, "all-in-one", st, compaction...)
				query, compactor = ingest, ingest
			}
			first := exportSpans(t, grpcExporter(t, ingest.grpcAddr, nil), "compacted-a", 20)
			waitCompacted(t, compactor, 1)
			second := exportSpans(t, httpExporter(t, ingest.httpURL, nil), "compacted-b", 20)
			check := func() {
				t.Helper()
				for _, id := range first {
					checkTrace(t, query.queryURL, id, "compacted-a", nil)
				}
				for _, id := range second {
					checkTrace(t, query.queryURL, id, "compacted-b", nil)
				}
				checkSearch(t, query.queryURL, "compacted-a", first, nil)
				checkSearch(t, query.queryURL, "compacted-b", second, nil)
			}
			check() // a block and an uncompacted file
			waitCompacted(t, compactor, 2)
			check() // blocks only

			var out, errb bytes.Buffer
			// Inputs go in the compactor's next pass (grace 0).
			for deadline := time.Now().Add(30 * time.Second); ; {
				out.Reset()
				cmd := exec.Command(binary, "inspect", "blocks", "--storage", st.url)
				cmd.Env = append(cmd.Environ(), st.env...)
				cmd.Stdout, cmd.Stderr = &out, &errb
				if err := cmd.Run(); err != nil {
					t.Fatalf("inspect blocks: %v\n%s", err, errb.String())
				}
				if strings.Contains(out.String(), "used") && strings.Contains(out.String(), "0 uncompacted ingest files") {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("inspect blocks:\n%s", out.String())
				}
				time.Sleep(500 * time.Millisecond)
			}
			// The first block's layout.
			lines := strings.Split(out.String(), "\n")
			blockID := strings.Fields(lines[1])[0]
			out.Reset()
			cmd := exec.Command(binary, "inspect", "block", blockID, "--storage", st.url)
			cmd.Env = append(cmd.Environ(), st.env...)
			cmd.Stdout, cmd.Stderr = &out, &errb
			if err := cmd.Run(); err != nil {
				t.Fatalf("inspect block: %v\n%s", err, errb.String())
			}
			for _, want := range []string{`"format": "tracelake.block"`, "message span", "ROW GROUP", "BYTES PER SPAN", "attrs.key", "index.arrow:", "GET /checkout"} {
				if !strings.Contains(out.String(), want) {
					t.Fatalf("inspect block lacks %q:\n%s", want, out.String())
				}
			}
			cmd = exec.Command(binary, "inspect", "trace", first[0], "--storage", st.url)
			cmd.Env = append(cmd.Environ(), st.env...)
			out.Reset()
			cmd.Stdout, cmd.Stderr = &out, &errb
			if err := cmd.Run(); err != nil || !strings.Contains(out.String(), "GET /checkout") {
				t.Fatalf("inspect trace: %v\n%s%s", err, out.String(), errb.String())
			}
		})
	}
}

// waitCompacted waits until the compactor published at least n blocks
// and no uncompacted file is left.
func waitCompacted(t *testing.T, p *proc, n int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		m := scrape(t, p.adminURL)
		blocks := grepLines(m, `tracelake_compactor_blocks_total{result="ok"}`)
		if blocks != "" {
			var got int
			if _, err := fmt.Sscan(strings.Fields(blocks)[1], &got); err == nil && got >= n {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("fewer than %d blocks after 60s:\n%s", n, grepLines(m, "tracelake_compactor"))
		}
		time.Sleep(200 * time.Millisecond)
	}
}
