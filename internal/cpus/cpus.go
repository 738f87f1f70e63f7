package cpus

import (
	"os"
	"runtime"
	"sync"
)

// Lender sets GOMAXPROCS to idle while nobody borrows and to busy while
// anyone does. A nil *Lender never changes it and lends what is set.
type Lender struct {
	idle, busy int
	set        func(int) int // runtime.GOMAXPROCS; tests record instead

	mu    sync.Mutex
	users int
}

// New sets GOMAXPROCS to idle and returns a Lender between idle and busy
// Ps; nil, with nothing to lend, when they are equal.
func New(idle, busy int) *Lender {
	return newLender(max(1, idle), max(1, idle, busy), runtime.GOMAXPROCS)
}

func newLender(idle, busy int, set func(int) int) *Lender {
	set(idle)
	if idle == busy {
		return nil
	}
	return &Lender{idle: idle, busy: busy, set: set}
}

// FromEnvironment is the Lender headroomd runs with: one P while idle and
// the Go runtime's own choice (the CPUs, or the container's CPU limit)
// while busy; nil, changing nothing, when GOMAXPROCS is set in the
// environment, which is then the operator's choice throughout.
func FromEnvironment() *Lender {
	if os.Getenv("GOMAXPROCS") != "" {
		return nil
	}
	return New(1, runtime.GOMAXPROCS(0))
}

// Busy is the number of Ps a borrower gets: how many CPU-bound tasks may
// usefully run at once.
func (l *Lender) Busy() int {
	if l == nil {
		return runtime.GOMAXPROCS(0)
	}
	return l.busy
}

// Borrow raises GOMAXPROCS to busy until the returned release is called
// (once; later calls do nothing). Borrows may overlap: GOMAXPROCS goes back
// to idle when the last is released.
func (l *Lender) Borrow() (release func()) {
	if l == nil {
		return func() {}
	}
	l.mu.Lock()
	if l.users == 0 {
		l.set(l.busy)
	}
	l.users++
	l.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.users--
			if l.users == 0 {
				l.set(l.idle)
			}
		})
	}
}
