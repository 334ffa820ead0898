package httpquery

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tracelake/tracelake/query"
)

func TestParamErrors(t *testing.T) {
	long := strings.Repeat("x", 200)
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"missing", MissingParam("service"), `parameter "service" is required`},
		{"bad", BadParam("limit", "-1", "must be a positive integer"), `invalid value "-1" for parameter "limit": must be a positive integer`},
		{"bad value clipped", BadParam("tag", long, "must be key:value"), `invalid value "` + long[:128] + `…" for parameter "tag": must be key:value`},
		{"bad value of 128 bytes kept", BadParam("tag", long[:128], "r"), `invalid value "` + long[:128] + `" for parameter "tag": r`},
		{"formatted", ParamErrorf("%q is after %q", "start", "end"), `"start" is after "end"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var pe *ParamError
			if !errors.As(tt.err, &pe) {
				t.Fatalf("%T is not a *ParamError", tt.err)
			}
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("message\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	secret := errors.New("s3://bucket/secret: connection reset")
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantMsg    string
	}{
		{"param", fmt.Errorf("parse: %w", MissingParam("service")), 400, `parameter "service" is required`},
		{"not found", fmt.Errorf("trace 1: %w", query.ErrNotFound), 404, "trace not found"},
		{"canceled", fmt.Errorf("scan: %w", context.Canceled), statusClientClosedRequest, ""},
		{"unavailable", fmt.Errorf("read: %w: %w", query.ErrUnavailable, secret), 503, "storage unavailable, try again later"},
		{"deadline", fmt.Errorf("scan: %w", context.DeadlineExceeded), 503, "storage unavailable, try again later"},
		{"other", secret, 500, "internal error"},
		// A parameter error wins over whatever else the chain holds.
		{"param and unavailable", fmt.Errorf("%w: %w", ParamErrorf("bad"), query.ErrUnavailable), 400, "bad"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, msg := Classify(tt.err)
			if status != tt.wantStatus || msg != tt.wantMsg {
				t.Errorf("Classify = %d %q, want %d %q", status, msg, tt.wantStatus, tt.wantMsg)
			}
		})
	}
}

func TestFailed(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name       string
		ctx        context.Context
		err        error
		wantStatus int
		wantWrite  bool
		wantLog    string // level of the one log line, "" for none
	}{
		{"param", context.Background(), BadParam("a", "b", "c"), 400, true, ""},
		{"not found", context.Background(), query.ErrNotFound, 404, true, ""},
		{"unavailable", context.Background(), query.ErrUnavailable, 503, true, "WARN"},
		{"internal", context.Background(), errors.New("secret-key"), 500, true, "ERROR"},
		{"canceled", context.Background(), context.Canceled, statusClientClosedRequest, false, "DEBUG"},
		{"client gone, querier says unavailable", canceled, query.ErrUnavailable, statusClientClosedRequest, false, "DEBUG"},
		{"client gone, bad parameter", canceled, MissingParam("x"), statusClientClosedRequest, false, "DEBUG"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			mux := http.NewServeMux()
			var (
				status int
				msg    string
				write  bool
			)
			mux.HandleFunc("GET /x/{id}", func(_ http.ResponseWriter, r *http.Request) {
				status, msg, write = Failed(log, r, tt.err)
			})
			mux.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/x/1", nil).WithContext(tt.ctx))
			if status != tt.wantStatus || write != tt.wantWrite {
				t.Errorf("Failed = %d %q %v, want %d, write %v", status, msg, write, tt.wantStatus, tt.wantWrite)
			}
			if !write && msg != "" {
				t.Errorf("message %q for an answer not written", msg)
			}
			lines := strings.Count(logs.String(), "\n")
			switch {
			case tt.wantLog == "" && lines != 0:
				t.Errorf("unexpected log: %s", logs.String())
			case tt.wantLog != "" && (lines != 1 || !strings.Contains(logs.String(), "level="+tt.wantLog)):
				t.Errorf("log %q, want one %s line", logs.String(), tt.wantLog)
			case tt.wantLog != "" && (!strings.Contains(logs.String(), `route="GET /x/{id}"`) || !strings.Contains(logs.String(), "err=")):
				t.Errorf("log %q does not name the route and the error", logs.String())
			case tt.wantLog == "ERROR" && !strings.Contains(logs.String(), "secret-key"):
				t.Errorf("log %q does not carry the real error", logs.String())
			}
		})
	}
}

func TestWriteBody(t *testing.T) {
	w := httptest.NewRecorder()
	WriteBody(w, http.StatusTeapot, "text/plain; charset=utf-8", []byte("short and stout"))
	if w.Code != http.StatusTeapot || w.Body.String() != "short and stout" {
		t.Errorf("wrote %d %q", w.Code, w.Body)
	}
	want := http.Header{
		"Content-Type":           {"text/plain; charset=utf-8"},
		"X-Content-Type-Options": {"nosniff"},
	}
	if got := w.Header(); len(got) != len(want) || got.Get("Content-Type") != want.Get("Content-Type") || got.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("headers %v, want %v", got, want)
	}
}
