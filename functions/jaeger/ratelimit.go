package jaeger

import (
	"log/slog"
	"sync"
	"time"
)

// logLimiter logs at most one warning per reason per interval, so a
// flood of bad datagrams cannot flood the log; the next warning that is
// let through says how many were suppressed since the last one.
type logLimiter struct {
	logger *slog.Logger
	every  time.Duration
	now    func() time.Time

	mu      sync.Mutex
	reasons map[string]*limitState
}

type limitState struct {
	last       time.Time
	suppressed int
}

func newLogLimiter(logger *slog.Logger, every time.Duration, now func() time.Time) *logLimiter {
	return &logLimiter{logger: logger, every: every, now: now, reasons: map[string]*limitState{}}
}

// Warn logs msg with args and reason unless a warning for reason was
// logged less than the interval ago.
func (l *logLimiter) Warn(reason, msg string, args ...any) {
	now := l.now()
	l.mu.Lock()
	st, ok := l.reasons[reason]
	if !ok {
		st = &limitState{}
		l.reasons[reason] = st
	}
	if ok && now.Sub(st.last) < l.every {
		st.suppressed++
		l.mu.Unlock()
		return
	}
	suppressed := st.suppressed
	st.last, st.suppressed = now, 0
	l.mu.Unlock()
	l.logger.Warn(msg, append(args, "reason", reason, "suppressed", suppressed)...)
}
