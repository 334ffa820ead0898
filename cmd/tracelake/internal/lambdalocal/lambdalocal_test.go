package lambdalocal

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

var fnBinary string

func TestMain(m *testing.M) {
	code := func() int {
		dir, err := os.MkdirTemp("", "lambdalocal-test-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		fnBinary = filepath.Join(dir, "bootstrap")
		build := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", fnBinary, "./testdata/fn")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build the test function:", err)
			return 1
		}
		return m.Run()
	}()
	os.Exit(code)
}

func newFunction(t *testing.T, mode string, mutate ...func(*Config)) *Function {
	t.Helper()
	cfg := Config{Name: "fn-" + mode, Bootstrap: fnBinary, Handler: "bootstrap", Env: []string{"FN_MODE=" + mode}, Timeout: 10 * time.Second, MemoryMB: 256}
	for _, m := range mutate {
		m(&cfg)
	}
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestInvokeThroughTheRuntimeAPI(t *testing.T) {
	f := newFunction(t, "echo")
	ctx := context.Background()
	first, err := f.Invoke(ctx, []byte(`{"rawPath":"/x"}`))
	if err != nil || first.Err != nil {
		t.Fatalf("invoke: %v %v", err, first.Err)
	}
	if !first.Cold || first.Init <= 0 || first.Duration < first.Init {
		t.Errorf("first invocation: cold %t init %s duration %s", first.Cold, first.Init, first.Duration)
	}
	second, err := f.Invoke(ctx, []byte(`{"rawPath":"/y"}`))
	if err != nil || second.Err != nil {
		t.Fatalf("invoke: %v %v", err, second.Err)
	}
	if second.Cold {
		t.Error("second invocation was cold: the sandbox was not reused")
	}
	var resp events.LambdaFunctionURLResponse
	if err := json.Unmarshal(second.Payload, &resp); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Event       events.LambdaFunctionURLRequest
		RequestID   string
		ARN         string
		DeadlineIn  int64
		Memory      string
		Handler     string
		Tmp         string
		TraceHeader string
	}
	if err := json.Unmarshal([]byte(resp.Body), &got); err != nil {
		t.Fatal(err)
	}
	if got.Event.RawPath != "/y" || len(got.RequestID) != 36 || got.ARN != f.ARN() || got.Memory != "256" || got.Handler != "bootstrap" {
		t.Errorf("the function saw %+v", got)
	}
	if got.DeadlineIn < 8000 || got.DeadlineIn > 10000 {
		t.Errorf("deadline in %d ms, want about 10 s", got.DeadlineIn)
	}
	if !strings.HasPrefix(got.TraceHeader, "Root=1-") {
		t.Errorf("trace header %q", got.TraceHeader)
	}
	if !strings.HasPrefix(got.Tmp, os.TempDir()) || got.Tmp == os.TempDir() {
		t.Errorf("sandbox /tmp is %q, want a private directory", got.Tmp)
	}
	if second.PeakRSS <= 0 {
		t.Errorf("peak RSS %d", second.PeakRSS)
	}
}

func TestFailures(t *testing.T) {
	for _, tc := range []struct {
		mode, errType, msg string
		timeout            time.Duration
	}{
		{mode: "fail", errType: "errorString", msg: "it went wrong"},
		{mode: "panic", errType: "string", msg: "oops"},
		{mode: "exit", errType: "Runtime.ExitError", msg: "exit status 3"},
		{mode: "huge", errType: "Function.ResponseSizeTooLarge", msg: "exceeded maximum"},
		{mode: "initfail", errType: "Runtime.InitError", msg: "storage.url: not set"},
		{mode: "sleep", errType: "Sandbox.Timedout", msg: "Task timed out after 0.50 seconds", timeout: 500 * time.Millisecond},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			f := newFunction(t, tc.mode, func(c *Config) {
				if tc.timeout > 0 {
					c.Timeout = tc.timeout
				}
			})
			res, err := f.Invoke(context.Background(), []byte(`{"sleep":5000}`))
			if err != nil {
				t.Fatal(err)
			}
			if res.Err == nil || res.Err.Type != tc.errType || !strings.Contains(res.Err.Message, tc.msg) {
				t.Fatalf("error %+v, want type %s with %q", res.Err, tc.errType, tc.msg)
			}
		})
	}
	// After a crash or timeout, the next invocation gets a fresh sandbox.
	f := newFunction(t, "sleep", func(c *Config) { c.Timeout = 300 * time.Millisecond })
	if res, _ := f.Invoke(context.Background(), []byte(`{"sleep":2000}`)); res.Err == nil {
		t.Fatal("no timeout")
	}
	res, err := f.Invoke(context.Background(), []byte(`{"sleep":1}`))
	if err != nil || res.Err != nil || !res.Cold {
		t.Fatalf("after a timeout: %v %+v cold %t", err, res.Err, res.Cold)
	}
}

func TestRequestTooLarge(t *testing.T) {
	f := newFunction(t, "echo")
	if _, err := f.Invoke(context.Background(), make([]byte, MaxPayloadBytes+1)); err != ErrRequestTooLarge {
		t.Fatalf("err %v", err)
	}
	srv := httptest.NewServer(NewURL(f, nil))
	defer srv.Close()
	// 4.5 MiB of binary becomes 6 MiB of base64: over the limit.
	resp, err := http.Post(srv.URL+"/v1/traces", "application/x-protobuf", bytes.NewReader(make([]byte, 4<<20+600<<10)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

func TestSandboxesScaleOut(t *testing.T) {
	f := newFunction(t, "sleep", func(c *Config) { c.MaxSandboxes = 2 })
	var wg sync.WaitGroup
	results := make([]*Result, 3)
	start := time.Now()
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := f.Invoke(context.Background(), []byte(`{"sleep":400}`))
			if err != nil || res.Err != nil {
				t.Errorf("invoke: %v %+v", err, res.Err)
			}
			results[i] = res
		}()
	}
	wg.Wait()
	cold := 0
	for _, r := range results {
		if r != nil && r.Cold {
			cold++
		}
	}
	// Two run at once; the third waits for one of them.
	if cold != 2 {
		t.Errorf("%d cold starts, want 2", cold)
	}
	if d := time.Since(start); d < 800*time.Millisecond {
		t.Errorf("3 invocations of 400 ms on 2 sandboxes took %s", d)
	}
}

func TestURL(t *testing.T) {
	f := newFunction(t, "echo")
	srv := httptest.NewServer(NewURL(f, nil))
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/v2/spans?a=1&a=2", strings.NewReader(`[{"id":"x"}]`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Add("X-Multi", "one")
	req.Header.Add("X-Multi", "two")
	req.Header.Set("Cookie", "s=1; t=2")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 201 || resp.Header.Get("X-Fn") != "yes" || resp.Header.Get("Set-Cookie") != "a=1" {
		t.Fatalf("status %d headers %v", resp.StatusCode, resp.Header)
	}
	var got struct {
		Event events.LambdaFunctionURLRequest
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	ev := got.Event
	if ev.Version != "2.0" || ev.RawPath != "/api/v2/spans" || ev.RawQueryString != "a=1&a=2" || ev.QueryStringParameters["a"] != "1,2" ||
		ev.Headers["x-multi"] != "one,two" || ev.Headers["cookie"] != "" || len(ev.Cookies) != 2 ||
		ev.Body != `[{"id":"x"}]` || ev.IsBase64Encoded || ev.RequestContext.HTTP.Method != "POST" || ev.RequestContext.HTTP.SourceIP != "127.0.0.1" {
		t.Errorf("event %+v", ev)
	}

	// Binary bodies are base64.
	resp, err = http.Post(srv.URL+"/v1/traces", "application/x-protobuf", bytes.NewReader([]byte{0xff, 0}))
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if err := json.Unmarshal(body, &got); err != nil || !got.Event.IsBase64Encoded || got.Event.Body != "/wA=" {
		t.Errorf("binary body: %+v %v", got.Event, err)
	}

	// A failing function is a 502.
	bad := httptest.NewServer(NewURL(newFunction(t, "fail"), nil))
	defer bad.Close()
	resp, err = http.Get(bad.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("failing function: status %d", resp.StatusCode)
	}
}

func TestScheduledEvent(t *testing.T) {
	var ev events.EventBridgeEvent
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := json.Unmarshal(ScheduledEvent(now, "eu-west-1", "arn:aws:events:eu-west-1:123456789012:rule/r"), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.DetailType != "Scheduled Event" || ev.Source != "aws.events" || !ev.Time.Equal(now) || ev.Region != "eu-west-1" || len(ev.Resources) != 1 {
		t.Errorf("event %+v", ev)
	}
}
