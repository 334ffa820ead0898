package sampling

import (
	"context"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Run reloads the strategies file whenever it changes, until ctx is done;
// it returns nil then. Without a file it only waits for ctx.
//
// Changes are noticed two ways. The file's directory is watched with
// fsnotify, not the file itself: editors replace a file by renaming a new
// one over it, which ends a watch on the old inode, and a Kubernetes
// ConfigMap volume swaps a symlink (..data) next to the file, so the path
// (itself a symlink) sees no event at all. Any event in the directory
// leads to a read after a short debounce. And the file is re-read every
// few seconds anyway, for mounts fsnotify cannot see into. Either way a reload happens only if the content's hash differs
// from the last one seen, and a file that is missing or invalid leaves the
// served strategies as they are.
func (p *Provider) Run(ctx context.Context) error {
	if !p.running.CompareAndSwap(false, true) {
		return errRunning
	}
	defer p.running.Store(false)
	if p.path == "" {
		<-ctx.Done()
		return nil
	}

	dir := filepath.Dir(p.path)
	var events <-chan fsnotify.Event
	var errs <-chan error
	var w *fsnotify.Watcher
	if p.useWatcher {
		var err error
		if w, err = fsnotify.NewWatcher(); err != nil {
			p.logger.Warn("cannot watch the sampling strategies file for changes; polling it only", "path", p.path, "every", p.pollInterval, "err", err)
		} else {
			defer w.Close()
			events, errs = w.Events, w.Errors
			if err := w.Add(dir); err != nil {
				p.logger.Warn("cannot watch the sampling strategies file's directory; polling it only until it can", "dir", dir, "every", p.pollInterval, "err", err)
			}
		}
	}

	poll := time.NewTicker(p.pollInterval)
	defer poll.Stop()
	debounce := time.NewTimer(p.debounce)
	debounce.Stop()
	armed := false
	for {
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			if !armed {
				debounce.Reset(p.debounce)
				armed = true
			}
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			// Typically a queue overflow: changes may have been missed,
			// so look now rather than at the next poll.
			p.logger.Warn("watching the sampling strategies file", "path", p.path, "err", err)
			p.reload()
		case <-debounce.C:
			armed = false
			p.reload()
		case <-poll.C:
			if w != nil && len(w.WatchList()) == 0 && w.Add(dir) == nil {
				// The directory was missing or removed, and is back.
				p.logger.Info("watching the sampling strategies file's directory again", "dir", dir)
			}
			p.reload()
		}
	}
}
