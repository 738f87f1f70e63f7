package forecast

import (
	"math/rand/v2"
	"testing"
	"time"
)

// A leak that ran for three minutes and then ended, at steps of 2 s: while
// nothing can be scored, Auto forecasts with its fallback, which takes the
// leak up and lets go of it once use is flat again.
func TestAutoFallbackFollowsALeakAndItsEnd(t *testing.T) {
	s := Series{Start: time.Unix(0, 0).UTC(), Step: 2 * time.Second}
	for range 30 {
		s.Values = append(s.Values, 1)
	}
	// Each step's mean holds one or two collection cycles: the ramp is
	// seen with a jitter of up to half a step's growth.
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := range 90 {
		s.Values = append(s.Values, 1+(float64(i+1)+rnd.Float64()-0.5)*0.6)
	}
	ramp := s
	eta := func(f Forecaster, s Series) time.Duration {
		t.Helper()
		fc, err := f.Forecast(s, 1000)
		if err != nil {
			t.Fatal(err)
		}
		return fc.ETA(100, s.End()).Expected
	}
	// During the leak: 100 reached in (100-55)/0.6 = 75 steps = 150 s.
	if got := eta(Auto{}, ramp); got < 120*time.Second || got > 180*time.Second {
		t.Errorf("during the leak, ETA %v; want about 150s", got)
	}
	// The leak ends: back to 1, flat for 40 steps.
	for range 40 {
		s.Values = append(s.Values, 1)
	}
	if got := eta(Auto{}, s); got != NotWithin {
		t.Errorf("40 steps after the leak ended, Auto still reaches 100 in %v", got)
	}
	sel, err := Auto{}.Select(s)
	if err != nil {
		t.Fatal(err)
	}
	if m := sel.Bands[0].Method; m != "holt_adaptive" {
		t.Errorf("chose %q, want the fallback holt_adaptive", m)
	}
}
