package forecast

import (
	"cmp"
	"fmt"
	"math"
	"time"
)

// Trend is a straight line plus a repeating profile, fitted together over
// the last Window of the series: the model for horizons of days, where
// what matters is the growth from one day to the next and not the shape of
// the next hour. The line's slope is estimated within each phase of the
// season (the same time of day on each day), so the daily swing does not
// bias it; the profile is each phase's level around the line, smoothed
// over ±Smooth. Its interval is the regression's prediction interval, so it
// widens with the distance from the data.
//
// With fewer than MinSeasons whole seasons it returns ErrTooShort: a line
// over hours would take a change of trend (a leak that began, a leak that
// ended) for the trend of days.
type Trend struct {
	// Season is the period; a day when zero.
	Season time.Duration
	// Window is how much history is fitted; 7 days when zero. It is
	// rounded down to whole seasons.
	Window time.Duration
	// MinSeasons is how many whole seasons the profile needs; 2 when zero.
	MinSeasons int
	// Smooth is the half-width of the circular window each phase's level
	// is averaged over; 20 minutes when zero.
	Smooth time.Duration
}

var _ Forecaster = Trend{}

// Name is "trend".
func (Trend) Name() string { return "trend" }

// Forecast needs MinSeasons whole seasons.
func (m Trend) Forecast(s Series, h int) (Forecast, error) {
	season := s.Steps(cmp.Or(m.Season, Day))
	seasons := min(s.Len()/season, s.Steps(cmp.Or(m.Window, 7*Day))/season)
	if need := cmp.Or(m.MinSeasons, 2); seasons < need {
		return Forecast{}, fmt.Errorf("trend: %w: %d whole seasons of %v, need %d", ErrTooShort, seasons, time.Duration(season)*s.Step, need)
	}
	win := s.Tail(seasons * season)
	off := s.Len() - win.Len()
	phase := func(i int) int { return (off + i) % season } // of win's index i

	// Per phase: mean time and value.
	mt := make([]float64, season)
	my := make([]float64, season)
	cnt := make([]float64, season)
	for i, v := range win.Values {
		if !math.IsNaN(v) {
			p := phase(i)
			mt[p] += float64(i)
			my[p] += v
			cnt[p]++
		}
	}
	for p := range season {
		if cnt[p] > 0 {
			mt[p] /= cnt[p]
			my[p] /= cnt[p]
		}
	}
	// The slope within phases.
	var sxx, sxy, n float64
	for i, v := range win.Values {
		if !math.IsNaN(v) {
			p := phase(i)
			dt := float64(i) - mt[p]
			sxx += dt * dt
			sxy += dt * (v - my[p])
			n++
		}
	}
	if sxx == 0 {
		return Forecast{}, fmt.Errorf("trend: %w: no two observations at one phase", ErrTooShort)
	}
	slope := sxy / sxx
	// Each phase's level at i = 0, smoothed circularly; phases never
	// observed take their neighbours' through the smoothing.
	level := make([]float64, season)
	for p := range season {
		level[p] = math.NaN()
		if cnt[p] > 0 {
			level[p] = my[p] - slope*mt[p]
		}
	}
	k := s.Steps(cmp.Or(m.Smooth, 20*time.Minute))
	smooth := make([]float64, season)
	for p := range season {
		var sum, w float64
		for d := -k; d <= k; d++ {
			if v := level[((p+d)%season+season)%season]; !math.IsNaN(v) {
				sum += v
				w++
			}
		}
		smooth[p] = math.NaN()
		if w > 0 {
			smooth[p] = sum / w
		}
	}
	fit := func(i int) float64 { return smooth[phase(i)] + slope*float64(i) }
	var sse, tbar float64
	for i, v := range win.Values {
		if !math.IsNaN(v) {
			r := v - fit(i)
			sse += r * r
			tbar += float64(i)
		}
	}
	tbar /= n
	sigma := math.Sqrt(sse / max(1, n-2))
	f := newForecast(m.Name(), s, h)
	for j := range h {
		i := win.Len() + j
		f.Mean[j] = fit(i)
	}
	f.band(func(j int) float64 {
		d := float64(win.Len()+j) - tbar
		return sigma * math.Sqrt(1+1/n+d*d/sxx)
	})
	for j := range h {
		if math.IsNaN(f.Mean[j]) {
			return Forecast{}, fmt.Errorf("trend: phase %d never observed", phase(win.Len()+j))
		}
	}
	return f, nil
}
