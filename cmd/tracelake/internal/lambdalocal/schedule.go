package lambdalocal

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"
)

// ScheduledEvent is the event EventBridge sends a target of a schedule
// rule named ruleARN at now.
func ScheduledEvent(now time.Time, region, ruleARN string) []byte {
	b, _ := json.Marshal(map[string]any{
		"version":     "0",
		"id":          newRequestID(),
		"detail-type": "Scheduled Event",
		"source":      "aws.events",
		"account":     accountID,
		"time":        now.UTC().Format(time.RFC3339),
		"region":      region,
		"resources":   []string{ruleARN},
		"detail":      map[string]any{},
	})
	return b
}

// Schedule invokes f with a scheduled event every interval until ctx
// ends, as an EventBridge rule with rate(interval) does. EventBridge
// invokes asynchronously and does not wait, so a slow run may overlap the
// next; here runs overlap as far as f has sandboxes.
func Schedule(ctx context.Context, f *Function, rule string, every time.Duration, logger *slog.Logger) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	arn := "arn:aws:events:" + f.cfg.Region + ":" + accountID + ":rule/" + rule
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			go func() {
				res, err := f.Invoke(ctx, ScheduledEvent(now, f.cfg.Region, arn))
				switch {
				case err != nil:
					logger.Warn("scheduled invocation", "function", f.cfg.Name, "err", err)
				case res.Err != nil:
					logger.Warn("scheduled invocation failed", "function", f.cfg.Name, "type", res.Err.Type, "message", res.Err.Message)
				default:
					logger.Info("scheduled invocation", "function", f.cfg.Name, "result", string(res.Payload), "duration", res.Duration)
				}
			}()
		}
	}
}
