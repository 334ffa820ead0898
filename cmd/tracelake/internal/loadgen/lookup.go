package loadgen

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Lookup is the outcome of the trace-by-ID phase.
type Lookup struct {
	// Lookups is how many were made; Wrong how many did not answer 200
	// with the trace's spans, by reason in Failures.
	Lookups    int            `json:"lookups"`
	OK         int            `json:"ok"`
	Wrong      int            `json:"wrong"`
	Failures   map[string]int `json:"failures,omitempty"`
	FirstError string         `json:"first_error,omitempty"`
	// Latency is over the right answers.
	Latency Latency `json:"latency"`
}

const lookupTimeout = 10 * time.Second

// lookupAll fetches each trace in turn from the Jaeger API at base: one at
// a time, since what is measured is latency, not throughput.
func lookupAll(ctx context.Context, client *http.Client, base, tenant string, ids [][16]byte) *Lookup {
	l := &Lookup{Failures: map[string]int{}}
	var h histogram
	base = strings.TrimSuffix(base, "/") + "/api/traces/"
	for _, id := range ids {
		if ctx.Err() != nil {
			break
		}
		start := time.Now()
		reason, err := lookupOne(ctx, client, base, tenant, id)
		elapsed := time.Since(start)
		l.Lookups++
		if reason == "" {
			l.OK++
			h.record(elapsed)
			continue
		}
		l.Wrong++
		l.Failures[reason]++
		if l.FirstError == "" {
			l.FirstError = fmt.Sprintf("trace %x: %v", id, err)
		}
	}
	l.Latency = h.latency()
	return l
}

// lookupOne returns why the answer for id was wrong, or "" when it was
// right.
func lookupOne(ctx context.Context, client *http.Client, base, tenant string, id [16]byte) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	want := hex.EncodeToString(id[:])
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+want, nil)
	if err != nil {
		return "transport", err
	}
	if tenant != "" {
		req.Header.Set(tenantHeader, tenant)
	}
	resp, err := client.Do(req)
	if err != nil {
		return "transport", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return "not found", fmt.Errorf("%s: %s", resp.Status, firstLine(body))
	case resp.StatusCode != http.StatusOK:
		return "http " + strconv.Itoa(resp.StatusCode), fmt.Errorf("%s: %s", resp.Status, firstLine(body))
	case err != nil:
		return "transport", fmt.Errorf("read answer: %w", err)
	}
	var answer struct {
		Data []struct {
			TraceID string            `json:"traceID"`
			Spans   []json.RawMessage `json:"spans"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		return "bad JSON", err
	}
	if len(answer.Data) != 1 {
		return "not one trace", fmt.Errorf("answer holds %d traces", len(answer.Data))
	}
	// Jaeger drops leading zeros of trace IDs.
	if got := answer.Data[0].TraceID; strings.TrimLeft(strings.ToLower(got), "0") != strings.TrimLeft(want, "0") {
		return "wrong trace", fmt.Errorf("answer is trace %s", got)
	}
	if n := len(answer.Data[0].Spans); n != spansPerTrace {
		return "wrong span count", fmt.Errorf("answer has %d spans, want %d", n, spansPerTrace)
	}
	return "", nil
}
