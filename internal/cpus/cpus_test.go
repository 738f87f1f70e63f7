package cpus

import (
	"runtime"
	"sync"
	"testing"
)

// recorder stands in for runtime.GOMAXPROCS.
type recorder struct {
	mu    sync.Mutex
	procs int
	calls int
}

func (r *recorder) set(n int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.procs
	r.procs, r.calls = n, r.calls+1
	return old
}

func (r *recorder) get() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.procs
}

func TestBorrowRaisesUntilTheLastRelease(t *testing.T) {
	r := &recorder{procs: 8}
	l := newLender(1, 8, r.set)
	if r.get() != 1 {
		t.Fatalf("after New: %d Ps, want idle 1", r.get())
	}
	a := l.Borrow()
	b := l.Borrow()
	if r.get() != 8 {
		t.Fatalf("while borrowed: %d Ps, want busy 8", r.get())
	}
	a()
	a() // a second release of one borrow must not give back another's
	if r.get() != 8 {
		t.Fatalf("one of two borrows released (once, then again): %d Ps, want 8", r.get())
	}
	b()
	if r.get() != 1 {
		t.Fatalf("after the last release: %d Ps, want 1", r.get())
	}
	if l.Busy() != 8 {
		t.Fatalf("Busy() = %d, want 8", l.Busy())
	}
}

func TestConcurrentBorrowsEndIdle(t *testing.T) {
	r := &recorder{procs: 4}
	l := newLender(1, 4, r.set)
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			release := l.Borrow()
			if got := r.get(); got != 4 {
				t.Errorf("inside a borrow: %d Ps, want 4", got)
			}
			release()
		})
	}
	wg.Wait()
	if r.get() != 1 {
		t.Fatalf("after every borrow was released: %d Ps, want 1", r.get())
	}
}

func TestEqualIdleAndBusyLendNothing(t *testing.T) {
	r := &recorder{procs: 4}
	if l := newLender(2, 2, r.set); l != nil {
		t.Fatalf("idle = busy: got a Lender (idle %d, busy %d), want nil", l.idle, l.busy)
	}
	if r.calls != 1 || r.get() != 2 {
		t.Fatalf("%d calls to GOMAXPROCS leaving %d Ps, want one call setting 2", r.calls, r.get())
	}
}

func TestNilLenderChangesNothing(t *testing.T) {
	var l *Lender
	before := runtime.GOMAXPROCS(0)
	l.Borrow()()
	if l.Busy() != before || runtime.GOMAXPROCS(0) != before {
		t.Fatalf("nil Lender: Busy %d, GOMAXPROCS %d, want both %d", l.Busy(), runtime.GOMAXPROCS(0), before)
	}
}

func TestFromEnvironmentRespectsGOMAXPROCS(t *testing.T) {
	t.Setenv("GOMAXPROCS", "3")
	if l := FromEnvironment(); l != nil {
		t.Fatalf("GOMAXPROCS set: got a Lender (idle %d, busy %d), want none", l.idle, l.busy)
	}
}
