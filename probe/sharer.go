package probe

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"go.uber.org/zap"
)

// The Sharer's merge period: a random time between these two, each time.
const (
	ShareEveryMin = 4 * time.Minute
	ShareEveryMax = 6 * time.Minute
)

// Sharer merges a Store with the shared file now, every 4 to 6 minutes (jittered)
// and once more on Close. See Store.Share.
type Sharer struct {
	s    *Store
	path string
	log  *zap.Logger

	cancel  context.CancelFunc
	done    chan struct{}
	once    sync.Once
	err     error
	lastErr string // the last merge's error, logged once as a warning
}

// ShareOption configures a Sharer.
type ShareOption func(*Sharer)

// WithShareLogger makes the Sharer log to l (named "share"); a failed merge is
// logged as a warning, and again only when the failure changes. The default
// logs nothing.
func WithShareLogger(l *zap.Logger) ShareOption {
	return func(sh *Sharer) {
		if l != nil {
			sh.log = l.Named("share")
		}
	}
}

// NewSharer starts merging s with the file at path: at once, then periodically.
func NewSharer(s *Store, path string, opts ...ShareOption) *Sharer {
	sh := &Sharer{s: s, path: path, log: zap.NewNop(), done: make(chan struct{})}
	for _, o := range opts {
		o(sh)
	}
	ctx, cancel := context.WithCancel(context.Background())
	sh.cancel = cancel
	go sh.run(ctx)
	return sh
}

func (sh *Sharer) run(ctx context.Context) {
	defer close(sh.done)
	for {
		sh.merge()
		t := time.NewTimer(ShareEveryMin + rand.N(ShareEveryMax-ShareEveryMin))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// merge merges once. A failure is a warning, and while the same failure
// repeats (a read-only directory, a newer version's file) a debug message.
func (sh *Sharer) merge() error {
	err := sh.s.Share(sh.path)
	switch {
	case err == nil:
		if sh.lastErr != "" {
			sh.log.Info("sharing works again", zap.String("path", sh.path))
		}
		sh.lastErr = ""
	case err.Error() == sh.lastErr:
		sh.log.Debug("sharing failed again", zap.String("path", sh.path), zap.Error(err))
	default:
		sh.lastErr = err.Error()
		sh.log.Warn("sharing failed", zap.String("path", sh.path), zap.Error(err))
	}
	return err
}

// Close stops the periodic merges, waits for the one under way, merges a last time
// and returns that merge's error. It is idempotent.
func (sh *Sharer) Close() error {
	sh.once.Do(func() {
		sh.cancel()
		<-sh.done
		sh.err = sh.merge()
	})
	return sh.err
}
