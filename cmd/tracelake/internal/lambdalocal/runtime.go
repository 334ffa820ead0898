package lambdalocal

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Lambda's limits on synchronous invocations.
const (
	MaxPayloadBytes = 6 << 20 // request and response payloads
	accountID       = "123456789012"
)

// Config describes a function.
type Config struct {
	Name string // function name; required
	// Bootstrap is the executable Lambda runs (a provided.al2023 package's
	// "bootstrap"); Args are passed to it (Lambda passes none).
	Bootstrap string
	Args      []string
	Handler   string   // the handler setting, as _HANDLER
	Env       []string // the function's environment variables (KEY=value)
	MemoryMB  int      // default 128
	Timeout   time.Duration
	// MaxSandboxes bounds concurrent invocations; each sandbox is one
	// process serving one invocation at a time. Default 1.
	MaxSandboxes int
	Region       string    // default us-east-1
	Logs         io.Writer // the sandboxes' stdout and stderr; nil discards
}

// FunctionError is a failed invocation as Lambda reports it.
type FunctionError struct {
	Type    string `json:"errorType"`
	Message string `json:"errorMessage"`
}

func (e *FunctionError) Error() string { return e.Type + ": " + e.Message }

// ErrRequestTooLarge is Invoke's answer to a payload over Lambda's limit;
// the function is not invoked.
var ErrRequestTooLarge = fmt.Errorf("request payload is larger than Lambda's limit of %d bytes", MaxPayloadBytes)

// Result is one invocation's outcome.
type Result struct {
	Payload []byte         // the function's response, when Err is nil
	Err     *FunctionError // a function error, timeout, crash or init failure
	// Cold is true when the invocation started its sandbox's process;
	// Init is then the time from process start to its first request for
	// work, and Duration the time from process start to the response.
	Cold     bool
	Init     time.Duration
	Duration time.Duration // from Invoke (or process start, when Cold) to the response
	// PeakRSS is the sandbox process's peak resident memory so far
	// (Linux's VmHWM), 0 where unknown.
	PeakRSS int64
}

// Function is a function with its sandboxes.
type Function struct {
	cfg     Config
	arn     string
	idle    chan *sandbox
	slots   chan struct{} // one per sandbox that may exist
	mu      sync.Mutex
	all     map[*sandbox]struct{}
	closed  bool
	tmpRoot string
}

// New returns a function; sandboxes start on demand, as on Lambda.
func New(cfg Config) (*Function, error) {
	if cfg.Name == "" || cfg.Bootstrap == "" {
		return nil, errors.New("lambdalocal: a function needs a Name and a Bootstrap")
	}
	if _, err := os.Stat(cfg.Bootstrap); err != nil {
		return nil, fmt.Errorf("lambdalocal: bootstrap: %w", err)
	}
	abs, err := filepath.Abs(cfg.Bootstrap) // the process runs in the package's directory, as on Lambda
	if err != nil {
		return nil, err
	}
	cfg.Bootstrap = abs
	if cfg.MemoryMB <= 0 {
		cfg.MemoryMB = 128
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.MaxSandboxes <= 0 {
		cfg.MaxSandboxes = 1
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.Logs == nil {
		cfg.Logs = io.Discard
	}
	tmp, err := os.MkdirTemp("", "lambdalocal-"+cfg.Name+"-")
	if err != nil {
		return nil, err
	}
	return &Function{
		cfg:     cfg,
		arn:     fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", cfg.Region, accountID, cfg.Name),
		idle:    make(chan *sandbox, cfg.MaxSandboxes),
		slots:   make(chan struct{}, cfg.MaxSandboxes),
		all:     map[*sandbox]struct{}{},
		tmpRoot: tmp,
	}, nil
}

// ARN is the function's ARN, as Lambda would name it.
func (f *Function) ARN() string { return f.arn }

// Invoke runs one invocation and waits for its outcome. The error is for
// the emulator's own failures (and ErrRequestTooLarge, ctx); what went
// wrong inside the function is in Result.Err.
func (f *Function) Invoke(ctx context.Context, payload []byte) (*Result, error) {
	if len(payload) > MaxPayloadBytes {
		return nil, ErrRequestTooLarge
	}
	sb, err := f.acquire(ctx)
	if err != nil {
		return nil, err
	}
	res, healthy := sb.invoke(ctx, payload)
	if healthy {
		f.idle <- sb
	} else {
		f.discard(sb)
	}
	return res, nil
}

// acquire returns an idle sandbox, a new one while fewer than MaxSandboxes
// exist, or waits for one to come free.
func (f *Function) acquire(ctx context.Context) (*sandbox, error) {
	select {
	case sb := <-f.idle:
		return sb, nil
	default:
	}
	select {
	case sb := <-f.idle:
		return sb, nil
	case f.slots <- struct{}{}:
		sb, err := f.newSandbox()
		if err != nil {
			<-f.slots
			return nil, err
		}
		return sb, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (f *Function) discard(sb *sandbox) {
	sb.stop()
	f.mu.Lock()
	delete(f.all, sb)
	f.mu.Unlock()
	<-f.slots
}

// Close stops every sandbox and removes their /tmp directories.
func (f *Function) Close() error {
	f.mu.Lock()
	f.closed = true
	sbs := make([]*sandbox, 0, len(f.all))
	for sb := range f.all {
		sbs = append(sbs, sb)
	}
	f.mu.Unlock()
	for _, sb := range sbs {
		sb.stop()
	}
	return os.RemoveAll(f.tmpRoot)
}

// invocation is one event on its way through a sandbox.
type invocation struct {
	id       string
	payload  []byte
	deadline time.Time
	done     chan outcome // buffered; receives exactly one outcome
}

type outcome struct {
	payload []byte
	err     *FunctionError
}

// sandbox is one execution environment: a process and its Runtime API.
type sandbox struct {
	f      *Function
	srv    *http.Server
	lis    net.Listener
	tmp    string
	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has exited
	next   chan *invocation

	mu       sync.Mutex
	started  time.Time     // process start, zero until the first invocation
	initDone time.Duration // process start to first GET /next
	current  *invocation
	initErr  *FunctionError
	waitErr  error
}

func (f *Function) newSandbox() (*sandbox, error) {
	f.mu.Lock()
	closed := f.closed
	f.mu.Unlock()
	if closed {
		return nil, errors.New("lambdalocal: function closed")
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(f.tmpRoot, "tmp-")
	if err != nil {
		lis.Close()
		return nil, err
	}
	sb := &sandbox{f: f, lis: lis, tmp: tmp, exited: make(chan struct{}), next: make(chan *invocation)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", sb.serveNext)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", sb.serveResponse)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", sb.serveError)
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", sb.serveInitError)
	sb.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go sb.srv.Serve(lis)
	f.mu.Lock()
	f.all[sb] = struct{}{}
	f.mu.Unlock()
	return sb, nil
}

// env is what Lambda sets for a provided.al2023 function, plus the
// function's own variables.
func (sb *sandbox) env() []string {
	c := sb.f.cfg
	env := []string{
		"AWS_LAMBDA_RUNTIME_API=" + sb.lis.Addr().String(),
		"AWS_LAMBDA_FUNCTION_NAME=" + c.Name,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=" + strconv.Itoa(c.MemoryMB),
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_INITIALIZATION_TYPE=on-demand",
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/" + c.Name,
		"AWS_LAMBDA_LOG_STREAM_NAME=" + time.Now().UTC().Format("2006/01/02") + "/[$LATEST]" + randomHex(16),
		"AWS_REGION=" + c.Region,
		"AWS_DEFAULT_REGION=" + c.Region,
		"LAMBDA_TASK_ROOT=" + filepath.Dir(c.Bootstrap),
		"LAMBDA_RUNTIME_DIR=" + filepath.Dir(c.Bootstrap),
		"_HANDLER=" + c.Handler,
		"TZ=:UTC",
		"LANG=en_US.UTF-8",
		"PATH=/usr/local/bin:/usr/bin:/bin",
		// The sandbox's own /tmp.
		"TMPDIR=" + sb.tmp,
		"HOME=" + sb.tmp,
	}
	return append(env, c.Env...)
}

// start launches the process: Lambda's init phase.
func (sb *sandbox) start() error {
	c := sb.f.cfg
	cmd := exec.Command(c.Bootstrap, c.Args...)
	cmd.Env = sb.env()
	cmd.Dir = filepath.Dir(c.Bootstrap)
	cmd.Stdout, cmd.Stderr = c.Logs, c.Logs
	cmd.SysProcAttr = sysProcAttr()
	sb.mu.Lock()
	sb.started = time.Now()
	sb.mu.Unlock()
	if err := cmd.Start(); err != nil {
		return err
	}
	sb.cmd = cmd
	go func() {
		err := cmd.Wait()
		sb.mu.Lock()
		sb.waitErr = err
		sb.mu.Unlock()
		close(sb.exited)
	}()
	return nil
}

// invoke hands inv to the process and waits for its outcome. healthy is
// false when the sandbox must not be reused (timeout, crash).
func (sb *sandbox) invoke(ctx context.Context, payload []byte) (*Result, bool) {
	res := &Result{}
	t0 := time.Now()
	if sb.cmd == nil {
		res.Cold = true
		if err := sb.start(); err != nil {
			res.Err = &FunctionError{Type: "Runtime.InvalidEntrypoint", Message: err.Error()}
			return res, false
		}
		t0 = sb.started
	}
	inv := &invocation{id: newRequestID(), payload: payload, deadline: time.Now().Add(sb.f.cfg.Timeout), done: make(chan outcome, 1)}
	timer := time.NewTimer(time.Until(inv.deadline))
	defer timer.Stop()
	finish := func(o outcome, healthy bool) (*Result, bool) {
		res.Duration = time.Since(t0)
		res.Payload, res.Err = o.payload, o.err
		res.PeakRSS = peakRSS(sb.cmd.Process.Pid)
		sb.mu.Lock()
		res.Init = sb.initDone
		sb.current = nil
		sb.mu.Unlock()
		return res, healthy
	}
	timedOut := func() (*Result, bool) {
		res.PeakRSS = peakRSS(sb.cmd.Process.Pid)
		sb.stop()
		o := outcome{err: &FunctionError{Type: "Sandbox.Timedout", Message: fmt.Sprintf("%s Task timed out after %.2f seconds", time.Now().UTC().Format(time.RFC3339), sb.f.cfg.Timeout.Seconds())}}
		r, _ := finish(o, false)
		return r, false
	}
	// Hand the event to the runtime's GET /next.
	select {
	case sb.next <- inv:
	case <-sb.exited:
		return finish(outcome{err: sb.exitError()}, false)
	case <-timer.C:
		return timedOut()
	case <-ctx.Done():
		sb.stop()
		return finish(outcome{err: &FunctionError{Type: "Emulator.Canceled", Message: ctx.Err().Error()}}, false)
	}
	select {
	case o := <-inv.done:
		return finish(o, true)
	case <-sb.exited:
		return finish(outcome{err: sb.exitError()}, false)
	case <-timer.C:
		return timedOut()
	case <-ctx.Done():
		sb.stop()
		return finish(outcome{err: &FunctionError{Type: "Emulator.Canceled", Message: ctx.Err().Error()}}, false)
	}
}

// exitError describes a process that ended while it should have worked.
func (sb *sandbox) exitError() *FunctionError {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	if sb.initErr != nil {
		return sb.initErr
	}
	return &FunctionError{Type: "Runtime.ExitError", Message: fmt.Sprintf("Runtime exited with error: %v", sb.waitErr)}
}

// stop kills the process (Lambda does not wait for functions) and closes
// the Runtime API.
func (sb *sandbox) stop() {
	if sb.cmd != nil && sb.cmd.Process != nil {
		_ = sb.cmd.Process.Signal(syscall.SIGKILL)
		<-sb.exited
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = sb.srv.Shutdown(ctx)
	sb.srv.Close()
	os.RemoveAll(sb.tmp)
}

func (sb *sandbox) serveNext(w http.ResponseWriter, r *http.Request) {
	sb.mu.Lock()
	if sb.initDone == 0 && !sb.started.IsZero() {
		sb.initDone = time.Since(sb.started)
	}
	sb.mu.Unlock()
	var inv *invocation
	select {
	case inv = <-sb.next:
	case <-r.Context().Done():
		return
	}
	sb.mu.Lock()
	sb.current = inv
	sb.mu.Unlock()
	h := w.Header()
	h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
	h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(inv.deadline.UnixMilli(), 10))
	h.Set("Lambda-Runtime-Invoked-Function-Arn", sb.f.arn)
	h.Set("Lambda-Runtime-Trace-Id", fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0", time.Now().Unix(), randomHex(12), randomHex(8)))
	h.Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(inv.payload)
}

// invocationFor returns the invocation a response or error is for, or
// answers 400 as Lambda does for an unknown or finished request ID.
func (sb *sandbox) invocationFor(w http.ResponseWriter, r *http.Request) *invocation {
	sb.mu.Lock()
	inv := sb.current
	sb.mu.Unlock()
	if inv == nil || inv.id != r.PathValue("id") {
		writeJSON(w, http.StatusBadRequest, &FunctionError{Type: "InvalidRequestID", Message: "Invalid request ID"})
		return nil
	}
	return inv
}

func (sb *sandbox) complete(inv *invocation, o outcome) {
	sb.mu.Lock()
	if sb.current == inv {
		sb.current = nil
	}
	sb.mu.Unlock()
	select {
	case inv.done <- o:
	default: // already completed
	}
}

func (sb *sandbox) serveResponse(w http.ResponseWriter, r *http.Request) {
	inv := sb.invocationFor(w, r)
	if inv == nil {
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxPayloadBytes+1))
	switch {
	case err != nil:
		writeJSON(w, http.StatusBadRequest, &FunctionError{Type: "InvalidRequest", Message: err.Error()})
		return
	case len(body) > MaxPayloadBytes:
		fe := &FunctionError{Type: "Function.ResponseSizeTooLarge", Message: fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", MaxPayloadBytes)}
		sb.complete(inv, outcome{err: fe})
		writeJSON(w, http.StatusRequestEntityTooLarge, fe)
		return
	}
	sb.complete(inv, outcome{payload: body})
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "OK"})
}

func (sb *sandbox) serveError(w http.ResponseWriter, r *http.Request) {
	inv := sb.invocationFor(w, r)
	if inv == nil {
		return
	}
	sb.complete(inv, outcome{err: readError(r)})
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "OK"})
}

func (sb *sandbox) serveInitError(w http.ResponseWriter, r *http.Request) {
	fe := readError(r)
	sb.mu.Lock()
	sb.initErr = fe
	sb.mu.Unlock()
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "OK"})
}

// readError reads an error a runtime reports: a JSON body with
// errorMessage and errorType, the type also in a header.
func readError(r *http.Request) *FunctionError {
	fe := &FunctionError{}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err := json.Unmarshal(body, fe); err != nil {
		fe.Message = strings.TrimSpace(string(body))
	}
	if fe.Type == "" {
		fe.Type = r.Header.Get("Lambda-Runtime-Function-Error-Type")
	}
	if fe.Type == "" {
		fe.Type = "Unhandled"
	}
	return fe
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func newRequestID() string {
	h := randomHex(16)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// peakRSS reads a process's peak resident set size from /proc (Linux).
func peakRSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}
