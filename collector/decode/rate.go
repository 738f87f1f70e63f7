package decode

import (
	"math"
	"time"
)

// Sample is one reading of a cumulative CPU counter, as Rate needs it: from a
// Container, take StartTime, CPU.Time and CPU.CumulativeSeconds; from a Node
// or a Pod of /metrics/resource, which give no start time, leave StartTime
// zero and rely on the counter going down to spot a restart.
type Sample struct {
	// StartTime is when the counter last started from zero; zero if unknown.
	StartTime time.Time
	// Time is when the counter was read.
	Time time.Time
	// CumulativeSeconds is the counter, in core-seconds.
	CumulativeSeconds float64
}

// Rate returns the cores used between prev and cur, over window
// cur.Time - prev.Time, following metrics-server's storage. It returns
// ok=false when no rate can be given: prev is the zero Sample (first point);
// cur is not newer than prev (an identical or older point); the counter
// restarted (cur started at or after prev was read, or started before prev
// did); or the counter went down.
func Rate(prev, cur Sample) (cores float64, window time.Duration, ok bool) {
	if prev.Time.IsZero() || !cur.Time.After(prev.Time) {
		return 0, 0, false
	}
	if !cur.StartTime.Before(prev.Time) || cur.StartTime.Before(prev.StartTime) {
		return 0, 0, false
	}
	delta := cur.CumulativeSeconds - prev.CumulativeSeconds
	if !(delta >= 0) || math.IsInf(delta, 0) {
		return 0, 0, false
	}
	window = cur.Time.Sub(prev.Time)
	return delta / window.Seconds(), window, true
}

// Rates turns successive Samples of many counters, each under a key K (a
// container, pod or node), into rates. Per key it holds the last two points,
// as metrics-server's storage does, so that a point older than the last but
// newer than the one before is still rated against the one before.
//
// Call Observe for every key of a scrape cycle, then Forget once to drop the
// keys that were not observed, which bounds the memory to the keys alive in
// the last cycle. The zero Rates is ready to use. A Rates is not safe for
// concurrent use.
type Rates[K comparable] struct {
	m map[K]*rateState
}

type rateState struct {
	last, prev Sample
	hasPrev    bool
	seen       bool // observed since the last Forget
}

// Observe records s as the newest point of key and returns the rate it gives,
// as Rate does, against the last point or, when s is older than the last
// point but newer than the one before, against the one before.
// It allocates only for a key it has not held before.
func (r *Rates[K]) Observe(key K, s Sample) (cores float64, window time.Duration, ok bool) {
	st := r.m[key]
	if st == nil {
		if r.m == nil {
			r.m = make(map[K]*rateState)
		}
		r.m[key] = &rateState{last: s, seen: true}
		return 0, 0, false
	}
	st.seen = true
	var base Sample
	switch {
	case !s.StartTime.Before(st.last.Time):
		// Restarted since the last point: nothing to rate against.
		st.hasPrev = false
	case s.Time.After(st.last.Time):
		base, st.prev, st.hasPrev = st.last, st.last, true
	case st.hasPrev && st.prev.Time.Before(s.Time):
		base = st.prev
	default:
		// Not newer than the last nor than the one before it.
		st.hasPrev = false
	}
	st.last = s
	if base.Time.IsZero() {
		return 0, 0, false
	}
	return Rate(base, s)
}

// Forget drops every key not observed since the previous call to Forget and
// returns how many it dropped.
func (r *Rates[K]) Forget() int {
	n := 0
	for k, st := range r.m {
		if !st.seen {
			delete(r.m, k)
			n++
			continue
		}
		st.seen = false
	}
	return n
}

// Len returns the number of keys held.
func (r *Rates[K]) Len() int { return len(r.m) }
