package host

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/tetratelabs/wazero/api"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracelake/tracelake/wasm/abi"
)

// maxErrorMessage bounds what a plugin can make the host log.
const maxErrorMessage = 1024

// callState is what the host imports record during one call into an
// instance. It travels in the call's context: host functions receive the
// context of the call that invoked them.
type callState struct {
	errMsg             string
	editsPtr, editsLen uint32
	editsSet           bool
	editsTwice         bool
}

type callStateKey struct{}

func withCallState(ctx context.Context, st *callState) context.Context {
	return context.WithValue(ctx, callStateKey{}, st)
}

func stateOf(ctx context.Context) *callState {
	st, _ := ctx.Value(callStateKey{}).(*callState)
	return st
}

func (st *callState) message() string {
	if st.errMsg == "" {
		return "no error message"
	}
	return st.errMsg
}

// instantiateHostModule provides the tracelake.* imports to the plugin's
// runtime.
func (p *Plugin) instantiateHostModule(ctx context.Context) error {
	i32 := api.ValueTypeI32
	_, err := p.rt.NewHostModuleBuilder(abi.ImportModule).
		NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(hostError), []api.ValueType{i32, i32}, nil).Export(abi.ImportError).
		NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(hostSetEdits), []api.ValueType{i32, i32}, nil).Export(abi.ImportSetEdits).
		NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(p.hostLog), []api.ValueType{i32, i32, i32}, nil).Export(abi.ImportLog).
		Instantiate(ctx)
	if err != nil {
		return fmt.Errorf("host module: %w", err)
	}
	return nil
}

func hostError(ctx context.Context, m api.Module, stack []uint64) {
	st := stateOf(ctx)
	if st == nil {
		return
	}
	ptr, n := uint32(stack[0]), uint32(stack[1])
	if n > maxErrorMessage {
		n = maxErrorMessage
	}
	if b, ok := m.Memory().Read(ptr, n); ok {
		st.errMsg = string(b)
	} else {
		st.errMsg = fmt.Sprintf("(error message at %#x+%d is outside the plugin's memory)", ptr, n)
	}
}

func hostSetEdits(ctx context.Context, _ api.Module, stack []uint64) {
	st := stateOf(ctx)
	if st == nil {
		return
	}
	if st.editsSet {
		st.editsTwice = true
	}
	st.editsSet = true
	st.editsPtr, st.editsLen = uint32(stack[0]), uint32(stack[1])
}

func (p *Plugin) hostLog(ctx context.Context, m api.Module, stack []uint64) {
	level, ptr, n := int32(stack[0]), uint32(stack[1]), uint32(stack[2])
	if n > maxErrorMessage {
		n = maxErrorMessage
	}
	b, ok := m.Memory().Read(ptr, n)
	if !ok {
		return
	}
	lvl := slog.LevelDebug
	switch level {
	case abi.LogInfo:
		lvl = slog.LevelInfo
	case abi.LogWarn:
		lvl = slog.LevelWarn
	case abi.LogError:
		lvl = slog.LevelError
	}
	if !p.loader.logger.Enabled(ctx, lvl) {
		return
	}
	if suppressed, ok := p.logLimit.allow(); ok {
		p.loader.logger.Log(ctx, lvl, string(b), "plugin", p.cfg.Name, "suppressed", suppressed)
	}
}

// edit is one change a plugin asked for, copied out of its memory.
type edit struct {
	span       int
	op         byte
	key, value string
}

func (e edit) apply(s ptrace.Span) {
	switch e.op {
	case abi.OpDeleteAttr:
		// Every attribute with the key: OTLP forbids duplicate keys but
		// clients send them, and a redaction must not leave a copy behind.
		s.Attributes().RemoveIf(func(k string, _ pcommon.Value) bool { return k == e.key })
	case abi.OpSetAttr:
		// PutStr replaces the first attribute with the key; drop the rest.
		attrs, first := s.Attributes(), true
		attrs.RemoveIf(func(k string, _ pcommon.Value) bool {
			if k != e.key {
				return false
			}
			dup := !first
			first = false
			return dup
		})
		attrs.PutStr(e.key, e.value)
	case abi.OpSetTraceState:
		s.TraceState().FromRaw(e.value)
	}
}

// readEdits copies the call's edit list out of the plugin's memory,
// rejecting anything malformed.
func (st *callState) readEdits(mem api.Memory, spans int) ([]edit, error) {
	if !st.editsSet {
		return nil, nil
	}
	if st.editsTwice {
		return nil, fmt.Errorf("%s called more than once in one batch", abi.ImportSetEdits)
	}
	if st.editsLen%abi.EditSize != 0 {
		return nil, fmt.Errorf("edit list is %d bytes, not a multiple of %d", st.editsLen, abi.EditSize)
	}
	raw, ok := mem.Read(st.editsPtr, st.editsLen)
	if !ok {
		return nil, fmt.Errorf("edit list at %#x+%d is outside the plugin's memory", st.editsPtr, st.editsLen)
	}
	str := func(ptr, n uint32, what string, i int) (string, error) {
		if n == 0 {
			return "", nil
		}
		b, ok := mem.Read(ptr, n)
		if !ok {
			return "", fmt.Errorf("edit %d: %s at %#x+%d is outside the plugin's memory", i, what, ptr, n)
		}
		return string(b), nil
	}
	edits := make([]edit, 0, len(raw)/abi.EditSize)
	for i := 0; i < len(raw); i += abi.EditSize {
		r := raw[i : i+abi.EditSize]
		e := edit{span: int(le.Uint32(r[abi.EditSpan:])), op: r[abi.EditOp]}
		n := i / abi.EditSize
		if e.span >= spans {
			return nil, fmt.Errorf("edit %d: span index %d, the batch has %d spans", n, e.span, spans)
		}
		if e.op < abi.OpDeleteAttr || e.op > abi.OpSetTraceState {
			return nil, fmt.Errorf("edit %d: unknown operation %d", n, e.op)
		}
		var err error
		if e.op != abi.OpSetTraceState {
			if e.key, err = str(le.Uint32(r[abi.EditKeyPtr:]), le.Uint32(r[abi.EditKeyLen:]), "key", n); err != nil {
				return nil, err
			}
		}
		if e.op != abi.OpDeleteAttr {
			if e.value, err = str(le.Uint32(r[abi.EditValuePtr:]), le.Uint32(r[abi.EditValueLen:]), "value", n); err != nil {
				return nil, err
			}
		}
		edits = append(edits, e)
	}
	return edits, nil
}

// rateLimit lets one event through per interval and counts the rest.
type rateLimit struct {
	mu         sync.Mutex
	interval   time.Duration
	now        func() time.Time
	last       time.Time
	suppressed int
}

func newRateLimit(interval time.Duration, now func() time.Time) *rateLimit {
	return &rateLimit{interval: interval, now: now}
}

// allow reports whether to let this event through, and how many were
// suppressed since the last one let through.
func (r *rateLimit) allow() (int, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if r.interval > 0 && !r.last.IsZero() && now.Sub(r.last) < r.interval {
		r.suppressed++
		return 0, false
	}
	n := r.suppressed
	r.last, r.suppressed = now, 0
	return n, true
}
