package forecast

import (
	"fmt"
	"math"
	"time"
)

// Linear extrapolates the least-squares line through the last Window of the
// series, as Prometheus's predict_linear does. Its interval is the
// regression's prediction interval, which assumes the line holds.
type Linear struct {
	// Window is how much of the series' end the line is fitted to; 6 h when zero.
	Window time.Duration
}

var _ Forecaster = Linear{}

// Name is "linear".
func (Linear) Name() string { return "linear" }

// Forecast fits the line and extends it h steps; it needs two observations
// in the window.
func (l Linear) Forecast(s Series, h int) (Forecast, error) {
	w := l.Window
	if w <= 0 {
		w = 6 * time.Hour
	}
	win := s.Tail(s.Steps(w))
	off := float64(s.Len() - win.Len()) // x of win.Values[0] in s's indices
	var k, sx, sy float64
	for i, v := range win.Values {
		if !math.IsNaN(v) {
			k++
			sx += float64(i)
			sy += v
		}
	}
	if k < 2 {
		return Forecast{}, fmt.Errorf("linear: %w: %v observed in the last %v, need 2", ErrTooShort, k, w)
	}
	mx, my := sx/k, sy/k
	var sxx, sxy float64
	for i, v := range win.Values {
		if !math.IsNaN(v) {
			dx := float64(i) - mx
			sxx += dx * dx
			sxy += dx * (v - my)
		}
	}
	slope := sxy / sxx
	var sse float64
	for i, v := range win.Values {
		if !math.IsNaN(v) {
			r := v - (my + slope*(float64(i)-mx))
			sse += r * r
		}
	}
	sigma := 0.0
	if k > 2 {
		sigma = math.Sqrt(sse / (k - 2))
	}
	f := newForecast(l.Name(), s, h)
	n := float64(s.Len()) - off
	for i := range f.Mean {
		f.Mean[i] = my + slope*(n+float64(i)-mx)
	}
	f.band(func(i int) float64 {
		dx := n + float64(i) - mx
		return sigma * math.Sqrt(1+1/k+dx*dx/sxx)
	})
	return f, nil
}
