package forecast

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// replay caches forecasts of a series from past origins, and their errors
// as the values they forecast become known: a backtest shares one across
// its origins, so Auto replays each origin once. Methods are told apart by
// name. Forecasts from origins before the end of the series keep only
// their means, all that is scored, to hold days of origins in less memory.
type replay struct {
	s     Series
	slots map[string]*slot
}

// slot holds one method's forecasts by origin.
type slot struct {
	m    Forecaster
	at   []*replayed // indexed by origin
	kept int         // origins before kept have been dropped
	used int         // the latest origin it was a candidate at
}

type replayed struct {
	f *Forecast // nil for a method that could not forecast
	// abs and cnt are the absolute errors summed per band of bands, and
	// how many, over the values before known; complete once known covers
	// every step of the bands.
	bands []int
	known int
	abs   []float64
	cnt   []int
}

func newReplay(s Series) *replay { return &replay{s: s, slots: map[string]*slot{}} }

// slot is m's slot, made on first use.
func (r *replay) slot(m Forecaster) *slot {
	name := m.Name()
	sl := r.slots[name]
	if sl == nil {
		sl = &slot{m: m, at: make([]*replayed, r.s.Len()+1)}
		r.slots[name] = sl
	}
	return sl
}

// forecast is m's forecast of h steps from the values before origin; its f
// is nil when the history is too short for m.
func (r *replay) forecast(m Forecaster, origin, h int) (*replayed, error) {
	return r.forecastIn(r.slot(m), origin, h)
}

func (r *replay) forecastIn(sl *slot, origin, h int) (*replayed, error) {
	if e := sl.at[origin]; e != nil && (e.f == nil || e.f.Len() >= h) {
		return e, nil
	}
	var f Forecast
	var err error
	if mo, ok := sl.m.(mix); ok { // from the parts' cached forecasts
		fs := make([]*Forecast, len(mo.parts))
		for i, p := range mo.parts {
			e, err := r.forecast(p, origin, h)
			if err != nil {
				return nil, err
			}
			if e.f == nil {
				sl.at[origin] = &replayed{}
				return sl.at[origin], nil
			}
			fs[i] = e.f
		}
		f = mo.combine(r.s.Head(origin), h, fs)
	} else {
		f, err = sl.m.Forecast(r.s.Head(origin), h)
	}
	if err != nil {
		if errors.Is(err, ErrTooShort) {
			sl.at[origin] = &replayed{}
			return sl.at[origin], nil
		}
		return nil, err
	}
	if origin < r.s.Len() {
		f.Lower, f.Upper = nil, nil
	}
	sl.at[origin] = &replayed{f: &f}
	return sl.at[origin], nil
}

// bandErrors returns the absolute errors of e (a forecast from origin)
// summed per band, with their counts, scoring only the values before n.
// The sums are kept and extended as n grows, as it does in a backtest.
func (r *replay) bandErrors(e *replayed, origin, n int, bands []int) ([]float64, []int) {
	end := origin + min(bands[len(bands)-1], e.f.Len()) // past the last step scored
	if e.abs == nil || !slices.Equal(e.bands, bands) || n < e.known {
		e.bands, e.known = bands, origin
		e.abs, e.cnt = make([]float64, len(bands)), make([]int, len(bands))
	}
	b := 0
	for t := e.known; t < min(n, end); t++ {
		k := t - origin
		for k >= bands[b] {
			b++
		}
		if v := r.s.Values[t]; !math.IsNaN(v) {
			e.abs[b] += math.Abs(v - e.f.Mean[k])
			e.cnt[b]++
		}
	}
	e.known = max(e.known, min(n, end))
	return e.abs, e.cnt
}

// drop forgets forecasts from origins before keep, and the mixes last
// used before idle (cheap to remake, and many come and go as rankings
// change), bounding a backtest's memory.
func (r *replay) drop(keep, idle int) {
	for name, sl := range r.slots {
		if _, ok := sl.m.(mix); ok && sl.used < idle {
			delete(r.slots, name)
			continue
		}
		for ; sl.kept < min(keep, len(sl.at)); sl.kept++ {
			sl.at[sl.kept] = nil
		}
	}
}

// candidate is m's forecast of h steps from n and its replay from the
// origins every steps apart within lookback before n, forecasting span
// steps; nil when m cannot forecast from n.
func (r *replay) candidate(m Forecaster, rank, n, h, span, every, lookback int) (*cand, error) {
	sl := r.slot(m)
	e, err := r.forecastIn(sl, n, h)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", m.Name(), err)
	}
	if e.f == nil {
		return nil, nil
	}
	sl.used = max(sl.used, n)
	c := &cand{m: m, rank: rank, f: e.f}
	for o := n - every; o > 0 && o >= n-lookback; o -= every {
		e, err := r.forecastIn(sl, o, span)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.Name(), err)
		}
		if e.f == nil {
			break // shorter histories cannot forecast either
		}
		c.os = append(c.os, o)
		c.es = append(c.es, e)
	}
	return c, nil
}
