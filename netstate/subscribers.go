package netstate

import (
	"sync"
	"sync/atomic"
)

// subscription is one Subscribe call. active is cleared by its unsubscribe func.
type subscription struct {
	fn     func(*Snapshot)
	active atomic.Bool
}

// subscribers is the list of Subscribe callbacks of a Watcher. The zero value is
// ready to use. add and the unsubscribe funcs it returns may be called from any
// goroutine, also from inside a callback; publish must be called by one goroutine at
// a time (the Watcher's delivery goroutine, or under a lock).
type subscribers struct {
	mu   sync.Mutex
	list []*subscription // in subscription order
}

// add registers fn and returns the func that removes it. After unsubscribe returns,
// fn is not called again, except by a publish that had already started and is
// running on another goroutine.
func (s *subscribers) add(fn func(*Snapshot)) (unsubscribe func()) {
	sub := &subscription{fn: fn}
	sub.active.Store(true)
	s.mu.Lock()
	s.list = append(s.list, sub)
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			sub.active.Store(false)
			s.remove(sub)
		})
	}
}

func (s *subscribers) remove(sub *subscription) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, x := range s.list {
		if x == sub {
			s.list = append(s.list[:i:i], s.list[i+1:]...)
			return
		}
	}
}

// publish calls every active subscriber with snap, in subscription order.
func (s *subscribers) publish(snap *Snapshot) {
	s.mu.Lock()
	list := s.list // add and remove never modify a published backing array
	s.mu.Unlock()
	for _, sub := range list {
		if sub.active.Load() {
			sub.fn(snap)
		}
	}
}

// clear removes all subscribers.
func (s *subscribers) clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sub := range s.list {
		sub.active.Store(false)
	}
	s.list = nil
}
