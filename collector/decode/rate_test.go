package decode

import (
	"math"
	"testing"
	"time"
)

func TestRatesMatchMetricsServerStorageVectors(t *testing.T) {
	t0 := time.Date(2021, 10, 3, 9, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	for _, c := range loadVectors(t).Rate {
		t.Run(c.Name, func(t *testing.T) {
			var r Rates[string]
			var (
				cores  float64
				window time.Duration
				ok     bool
			)
			for _, p := range c.Points {
				cores, window, ok = r.Observe("kube-system/coredns/coredns", Sample{
					StartTime:         at(p.Start),
					Time:              at(p.TS),
					CumulativeSeconds: p.CPUCoreSeconds,
				})
			}
			if c.Expect == nil {
				if ok {
					t.Fatalf("got %v cores over %v, want no rate", cores, window)
				}
				return
			}
			if !ok {
				t.Fatal("got no rate")
			}
			if math.Abs(cores-c.Expect.CPUCores) > 1e-12 || window.Seconds() != c.Expect.WindowSeconds {
				t.Errorf("got %v cores over %v, want %v over %vs", cores, window, c.Expect.CPUCores, c.Expect.WindowSeconds)
			}
			// The rate is reported for the newest point: its time is the
			// expected timestamp, the window ends there.
			if last := c.Points[len(c.Points)-1]; last.TS != c.Expect.Timestamp {
				t.Errorf("rated point at %v, want %v", last.TS, c.Expect.Timestamp)
			}
		})
	}
}

func TestRate(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	sec := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	for _, c := range []struct {
		name       string
		prev, cur  Sample
		wantOK     bool
		wantCores  float64
		wantWindow time.Duration
	}{
		{"two points give the rate between them", Sample{t0, sec(10), 5}, Sample{t0, sec(30), 15}, true, 0.5, 20 * time.Second},
		{"an idle counter gives zero", Sample{t0, sec(10), 5}, Sample{t0, sec(20), 5}, true, 0, 10 * time.Second},
		{"unknown start times are no restart", Sample{Time: sec(10), CumulativeSeconds: 1}, Sample{Time: sec(12), CumulativeSeconds: 2}, true, 0.5, 2 * time.Second},
		{"no previous point", Sample{}, Sample{t0, sec(10), 5}, false, 0, 0},
		{"the same point twice", Sample{t0, sec(10), 5}, Sample{t0, sec(10), 5}, false, 0, 0},
		{"an older point", Sample{t0, sec(10), 5}, Sample{t0, sec(5), 1}, false, 0, 0},
		{"a restart after the previous point", Sample{t0, sec(10), 5}, Sample{sec(12), sec(20), 1}, false, 0, 0},
		{"a restart exactly at the previous point", Sample{t0, sec(10), 5}, Sample{sec(10), sec(20), 6}, false, 0, 0},
		{"a start time going back", Sample{sec(5), sec(10), 5}, Sample{t0, sec(20), 6}, false, 0, 0},
		{"a counter going down", Sample{t0, sec(10), 5}, Sample{t0, sec(20), 4}, false, 0, 0},
		{"a NaN counter", Sample{t0, sec(10), 5}, Sample{t0, sec(20), math.NaN()}, false, 0, 0},
		{"an infinite counter", Sample{t0, sec(10), 5}, Sample{t0, sec(20), math.Inf(1)}, false, 0, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			cores, window, ok := Rate(c.prev, c.cur)
			if ok != c.wantOK || math.Abs(cores-c.wantCores) > 1e-12 || window != c.wantWindow {
				t.Fatalf("got %v cores over %v (%v), want %v over %v (%v)", cores, window, ok, c.wantCores, c.wantWindow, c.wantOK)
			}
		})
	}
}

func TestRatesRecoverAfterARestart(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	sec := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	var r Rates[string]
	r.Observe("c", Sample{t0, sec(10), 10})
	if _, _, ok := r.Observe("c", Sample{sec(15), sec(20), 5}); ok {
		t.Fatal("rated across a restart")
	}
	cores, window, ok := r.Observe("c", Sample{sec(15), sec(30), 20})
	if !ok || cores != 1.5 || window != 10*time.Second {
		t.Fatalf("after the restart got %v over %v (%v), want 1.5 over 10s", cores, window, ok)
	}
}

func TestRatesForgetDropsKeysNotObservedInACycle(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var r Rates[string]
	r.Observe("a", Sample{Time: t0, CumulativeSeconds: 1})
	r.Observe("b", Sample{Time: t0, CumulativeSeconds: 1})
	if n := r.Forget(); n != 0 || r.Len() != 2 {
		t.Fatalf("first Forget dropped %d, holds %d; want 0 and 2", n, r.Len())
	}
	if _, _, ok := r.Observe("a", Sample{Time: t0.Add(time.Second), CumulativeSeconds: 2}); !ok {
		t.Fatal("no rate for a")
	}
	if n := r.Forget(); n != 1 || r.Len() != 1 {
		t.Fatalf("second Forget dropped %d, holds %d; want 1 and 1", n, r.Len())
	}
	if _, _, ok := r.Observe("b", Sample{Time: t0.Add(2 * time.Second), CumulativeSeconds: 3}); ok {
		t.Fatal("a forgotten key still gave a rate")
	}
	var empty Rates[int]
	if empty.Forget() != 0 || empty.Len() != 0 {
		t.Fatal("zero Rates is not empty")
	}
}

func TestRatesObserveDoesNotAllocateForKnownKeys(t *testing.T) {
	type key struct{ namespace, pod, container string }
	keys := make([]key, 110)
	for i := range keys {
		keys[i] = key{"default", "app-" + string(rune('a'+i%26)) + string(rune('a'+i/26)), "app"}
	}
	var r Rates[key]
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	tick := 0
	cycle := func() {
		tick++
		for _, k := range keys {
			r.Observe(k, Sample{StartTime: t0, Time: t0.Add(time.Duration(tick) * 15 * time.Second), CumulativeSeconds: float64(tick)})
		}
		r.Forget()
	}
	cycle()
	if allocs := testing.AllocsPerRun(10, cycle); allocs != 0 {
		t.Fatalf("a cycle over known keys allocates %v times", allocs)
	}
}
