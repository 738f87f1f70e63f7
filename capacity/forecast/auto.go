package forecast

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Auto forecasts with the candidate methods that erred least on the same
// series: it replays each candidate from earlier origins (every Every over
// the last Lookback, each forecast made only from the values before its
// origin) and scores it against the values that followed, separately for
// each horizon band. The choice at an origin therefore depends only on the
// series before it, so a backtest of Auto is honest.
//
// In each band the candidates are ranked by their mean absolute error,
// the means of the best two, three... up to Combine are scored beside
// them, and Auto forecasts with the mean of all those within Tolerance of
// the best. Forecasts of different kinds err differently and their mean
// often beats each (Holt and a seasonal model an hour ahead); and when
// several did about as well, which of them led over a few days of replay
// is mostly chance, so their mean is safer than the leader.
type Auto struct {
	// Methods are the candidates, in order of preference when none can be
	// scored yet; Candidates() when nil.
	Methods []Forecaster
	// Every is the spacing of the origins replayed; 1 h when zero.
	Every time.Duration
	// Lookback is how far back origins are replayed; 14 days when zero.
	Lookback time.Duration
	// Bands are the upper ends of the horizon bands scored separately;
	// steps past the last band use its choice. 1 h, 6 h, 24 h when nil.
	Bands []time.Duration
	// MinOrigins is the fewest replayed origins a candidate must share
	// with the others to be compared; 12 when zero.
	MinOrigins int

	// Combine is how many of the best candidates are averaged at most:
	// in each band the means of the best two, three... up to Combine are
	// scored beside the candidates themselves. 4 when zero; 1 for none.
	Combine int

	// Tolerance is how much worse than the best a forecast may have done
	// and still join the mean Auto forecasts with; 0.1 (10 %) when zero.
	Tolerance float64

	// Fallback forecasts a band while no candidate can be scored in it yet
	// (the first hours of a series); DefaultFallback when nil.
	Fallback Forecaster
}

// DefaultFallback is Auto's forecaster while nothing can be scored: Holt
// whose trend follows a change within about ten steps, so that it takes up
// a leak that began minutes ago and lets go of one that ended, where a line
// over hours, or a Holt fitted to a long ramp, holds on to the old trend.
var DefaultFallback Forecaster = Holt{Label: "holt_adaptive", MinBeta: 0.1}

var _ Forecaster = Auto{}

// Name is "auto".
func (Auto) Name() string { return "auto" }

// Candidates are Auto's default methods, headroom's first (the choice
// before any can be scored):
//
//   - seasonal: the mean of yesterday's value (smoothed over ±20 min), of
//     the last 7 days' (±10 min) and, once two weeks exist, of the last 3
//     weeks' at the same time of the week;
//   - seasonal_drift: the same, the 7 days and 3 weeks corrected for the
//     growth since each (Seasonal.Drift), for usage that grows;
//   - seasonal_recent: the last 7 days, each weighing 0.3 of the next more
//     recent (±20 min), for a daily profile that changes;
//   - the baselines linear, holt and seasonal_naive, and holt_winters.
func Candidates() []Forecaster {
	return []Forecaster{
		Blend{Label: "seasonal", Parts: []Seasonal{
			{Season: Day, Seasons: 1, Smooth: 20 * time.Minute},
			{Season: Day, Seasons: 7, Smooth: 10 * time.Minute},
			{Season: Week, Seasons: 3, Smooth: 10 * time.Minute, MinSeasons: 2},
		}},
		Blend{Label: "seasonal_drift", Parts: []Seasonal{
			{Season: Day, Seasons: 1, Smooth: 20 * time.Minute},
			{Season: Day, Seasons: 7, Smooth: 10 * time.Minute, Drift: true},
			{Season: Week, Seasons: 3, Smooth: 10 * time.Minute, MinSeasons: 2, Drift: true},
		}},
		Seasonal{Label: "seasonal_recent", Season: Day, Seasons: 7, Decay: 0.3, Smooth: 20 * time.Minute},
		Linear{}, Holt{}, SeasonalNaive{}, HoltWinters{},
	}
}

// BandChoice is the method Auto chose for one horizon band and why.
type BandChoice struct {
	// Until is the band's upper end; the last band also covers later steps.
	Until time.Duration
	// Method is the candidate chosen, or a mean of several: "mean(a,b)",
	// or "a 40% + b 35% + c 25%" when weighted.
	Method string
	// MAE is the chosen forecast's mean absolute error in this band over
	// Origins replayed origins; NaN when no candidate could be scored yet
	// and Method is Auto's Fallback (or, when it cannot forecast either,
	// the first candidate that can).
	MAE     float64
	Origins int

	method       Forecaster
	from, scored int // first step of the band and steps replayed (its end)
	spread       bool
	lower, upper float64 // percentiles of the replayed errors, when spread
}

// Selection is what Auto chose at one origin. Choosing replays every
// candidate and is costly; forecasting with a selection is not, so a
// caller evaluating often may select every hour or so and forecast with
// the selection in between.
type Selection struct {
	Bands []BandChoice
	step  time.Duration
}

// Forecast forecasts h steps after s with the methods chosen, and their
// replayed errors as intervals, as Auto did when it chose them. It returns
// an error when s's step is not the one the selection was made at, or when
// a chosen method cannot forecast s.
func (sel Selection) Forecast(s Series, h int) (Forecast, error) {
	if len(sel.Bands) == 0 || s.Step != sel.step {
		return Forecast{}, fmt.Errorf("auto: selection made at steps of %v, not %v", sel.step, s.Step)
	}
	fs := make([]*Forecast, len(sel.Bands))
	fitted := map[string]*Forecast{} // each base method fitted once
	for b, c := range sel.Bands {
		var f Forecast
		var err error
		if m, ok := c.method.(mix); ok {
			f, err = m.forecast(s, h, fitted)
		} else if ff := fitted[c.Method]; ff != nil {
			f = *ff
		} else {
			f, err = c.method.Forecast(s, h)
			fitted[c.Method] = &f
		}
		if err != nil {
			return Forecast{}, fmt.Errorf("auto: %w", err)
		}
		fs[b] = &f
	}
	return sel.assemble(s, h, fs, true), nil
}

// assemble is the forecast of h steps after s from the chosen forecasts,
// fs[b] for band b. Intervals are the replayed errors' percentiles where
// known (widened to hold the mean), else the chosen forecast's own; past
// the steps replayed they widen with the square root of the step, as a
// random walk's error does.
func (sel Selection) assemble(s Series, h int, fs []*Forecast, intervals bool) Forecast {
	out := newForecast("auto", s, h)
	if !intervals {
		out.Lower, out.Upper = nil, nil
	}
	for b, c := range sel.Bands {
		from, to := min(c.from, h), h
		if b+1 < len(sel.Bands) {
			to = min(sel.Bands[b+1].from, h)
		}
		f := fs[b]
		copy(out.Mean[from:to], f.Mean[from:to])
		if !intervals {
			continue
		}
		for k := from; k < to; k++ {
			if !c.spread {
				out.Lower[k], out.Upper[k] = f.Lower[k], f.Upper[k]
				continue
			}
			w := 1.0
			if k >= c.scored {
				w = math.Sqrt(float64(k+1) / float64(c.scored))
			}
			// A biased method's errors may all lie on one side; the
			// interval still holds the mean, so that ETAs stay ordered.
			out.Lower[k] = min(f.Mean[k], f.Mean[k]+w*c.lower)
			out.Upper[k] = max(f.Mean[k], f.Mean[k]+w*c.upper)
		}
	}
	return out
}

// Forecast selects per band and returns the chosen methods' forecasts,
// with intervals from the chosen method's replayed errors in the band
// (their 10th and 90th percentiles) where there are 30 or more.
func (a Auto) Forecast(s Series, h int) (Forecast, error) {
	if err := s.Validate(); err != nil {
		return Forecast{}, fmt.Errorf("auto: %w", err)
	}
	f, _, err := a.run(newReplay(s), s.Len(), h, true)
	return f, err
}

// Select returns what Auto would choose at the end of s, and why.
func (a Auto) Select(s Series) (Selection, error) {
	if err := s.Validate(); err != nil {
		return Selection{}, fmt.Errorf("auto: %w", err)
	}
	_, sel, err := a.run(newReplay(s), s.Len(), 1, true)
	return sel, err
}

func (a Auto) defaults(step time.Duration) (methods []Forecaster, every, lookback int, bands []int, minOrigins int) {
	methods = a.Methods
	if methods == nil {
		methods = Candidates()
	}
	steps := func(d time.Duration) int { return max(1, int((d+step-1)/step)) }
	every = steps(cmp.Or(a.Every, time.Hour))
	lookback = steps(cmp.Or(a.Lookback, 14*Day))
	bs := a.Bands
	if bs == nil {
		bs = []time.Duration{time.Hour, 6 * time.Hour, Day}
	}
	for _, b := range bs {
		bands = append(bands, steps(b))
	}
	slices.Sort(bands)
	bands = slices.Compact(bands)
	return methods, every, lookback, bands, cmp.Or(a.MinOrigins, 12)
}

// run selects at origin n of r's series and forecasts h steps from it;
// with intervals false, Lower and Upper are left empty (a backtest scores
// only the mean).
func (a Auto) run(r *replay, n, h int, intervals bool) (Forecast, Selection, error) {
	s := r.s.Head(n)
	methods, every, lookback, bands, minOrigins := a.defaults(s.Step)
	maxBand := bands[len(bands)-1]
	combine, tolerance := cmp.Or(a.Combine, 4), cmp.Or(a.Tolerance, 0.1)

	// The candidates that can forecast now, and their replays.
	var cands []*cand
	for rank, m := range methods {
		c, err := r.candidate(m, rank, n, max(h, maxBand), maxBand, every, lookback)
		if err != nil {
			return Forecast{}, Selection{}, fmt.Errorf("auto: %w", err)
		}
		if c != nil {
			cands = append(cands, c)
		}
	}
	if len(cands) == 0 {
		return Forecast{}, Selection{}, fmt.Errorf("auto: %w: no method can forecast from %d steps", ErrTooShort, n)
	}
	// Compare on the origins all candidates share: drop the candidates
	// with the shortest replay (those needing the longest history) until
	// they share MinOrigins and half of the longest replay, so that one
	// newcomer does not shrink the evidence for all.
	slices.SortStableFunc(cands, func(x, y *cand) int { return len(y.os) - len(x.os) })
	enough := max(minOrigins, len(cands[0].os)/2)
	for len(cands) > 1 && len(cands[len(cands)-1].os) < enough {
		cands = cands[:len(cands)-1]
	}
	shared := len(cands[len(cands)-1].os)
	for _, c := range cands {
		c.os, c.es = c.os[:shared], c.es[:shared]
		c.score(r, n, bands)
	}

	sel := Selection{step: s.Step}
	fs := make([]*Forecast, len(bands)) // the chosen forecasts from n
	lo := 0
	for b, hi := range bands {
		// The candidates scored in this band, best first, and the means of
		// the best two, three... up to Combine; then the mean of all those
		// within Tolerance of the best.
		var ranked []*cand
		for _, c := range cands {
			if !math.IsNaN(c.mae[b]) {
				ranked = append(ranked, c)
			}
		}
		slices.SortStableFunc(ranked, func(x, y *cand) int { return cmp.Compare(x.mae[b], y.mae[b]) })
		all := slices.Clone(ranked)
		for k := 2; k <= min(len(ranked), combine); k++ {
			c, err := r.combination(ranked[:k], n, h, shared, bands, every, lookback)
			if err != nil {
				return Forecast{}, Selection{}, fmt.Errorf("auto: %w", err)
			}
			all = append(all, c)
		}
		slices.SortStableFunc(all, func(x, y *cand) int { return cmp.Compare(x.mae[b], y.mae[b]) })
		k := min(1, len(all))
		for k < len(all) && all[k].mae[b] <= (1+tolerance)*all[0].mae[b] {
			k++
		}
		var best *cand
		switch {
		case k == 0:
		case k == 1:
			best = all[0]
		case intervals:
			// The mean's own replay, for its interval.
			c, err := r.combination(all[:k], n, h, shared, bands, every, lookback)
			if err != nil {
				return Forecast{}, Selection{}, fmt.Errorf("auto: %w", err)
			}
			best = c
		default:
			// A backtest scores only the mean: no replay needed.
			m := mixOf(all[:k])
			fs := make([]*Forecast, len(m.parts))
			for i, p := range m.parts {
				e, err := r.forecast(p, n, max(h, maxBand)) // cached: a candidate
				if err != nil {
					return Forecast{}, Selection{}, fmt.Errorf("auto: %w", err)
				}
				fs[i] = e.f
			}
			f := m.combine(s, max(h, maxBand), fs)
			best = &cand{m: m, f: &f, mae: all[0].mae}
		}
		choice := BandChoice{Until: time.Duration(hi) * s.Step, MAE: math.NaN(), Origins: shared, from: lo, scored: hi}
		if best != nil {
			choice.MAE = best.mae[b]
		} else { // nothing scored yet: the fallback, else the candidate listed first
			best = cands[0]
			for _, c := range cands {
				if c.rank < best.rank {
					best = c
				}
			}
			fallback := a.Fallback
			if fallback == nil {
				fallback = DefaultFallback
			}
			fb, err := r.candidate(fallback, len(methods), n, max(h, maxBand), maxBand, every, lookback)
			if err != nil {
				return Forecast{}, Selection{}, fmt.Errorf("auto: %w", err)
			}
			if fb != nil {
				best = fb
			}
		}
		choice.Method, choice.method = best.m.Name(), best.m
		if intervals {
			choice.lower, choice.upper, choice.spread = best.spread(s, lo, hi)
		}
		sel.Bands = append(sel.Bands, choice)
		fs[b] = best.f
		lo = hi
	}
	return sel.assemble(s, h, fs, intervals), sel, nil
}

// cand is a candidate method with its forecast at an origin and those it
// made from earlier origins.
type cand struct {
	m    Forecaster
	rank int // place in Auto's methods
	f    *Forecast
	os   []int // replayed origins where it forecast, newest first
	es   []*replayed
	mae  []float64 // per band over os; NaN where nothing is known yet
}

// score sets c.mae from the values of the series before n.
func (c *cand) score(r *replay, n int, bands []int) {
	abs, cnt := make([]float64, len(bands)), make([]int, len(bands))
	for j, o := range c.os {
		ea, ec := r.bandErrors(c.es[j], o, n, bands)
		for b := range bands {
			abs[b] += ea[b]
			cnt[b] += ec[b]
		}
	}
	c.mae = make([]float64, len(bands))
	for b := range bands {
		c.mae[b] = math.NaN()
		if cnt[b] > 0 {
			c.mae[b] = abs[b] / float64(cnt[b])
		}
	}
}

// combination is the candidate forecasting the mean of cs, scored on the
// shared origins.
func (r *replay) combination(cs []*cand, n, h, shared int, bands []int, every, lookback int) (*cand, error) {
	maxBand := bands[len(bands)-1]
	c, err := r.candidate(mixOf(cs), 0, n, max(h, maxBand), maxBand, every, lookback)
	if err != nil {
		return nil, err
	}
	c.os, c.es = c.os[:shared], c.es[:shared]
	c.score(r, n, bands)
	return c, nil
}

// mix forecasts a weighted mean of base methods' forecasts. Auto tries
// the means of its best candidates, and forecasts with the mean of the
// forecasts close to the best, itself a mix of the base methods.
type mix struct {
	parts []Forecaster // base methods, by decreasing weight
	w     []float64    // summing to 1
}

// mixOf is the mean of cs's forecasts, flattened to base methods.
func mixOf(cs []*cand) mix {
	w := map[string]float64{}
	base := map[string]Forecaster{}
	for _, c := range cs {
		if m, ok := c.m.(mix); ok {
			for i, p := range m.parts {
				w[p.Name()] += m.w[i] / float64(len(cs))
				base[p.Name()] = p
			}
			continue
		}
		w[c.m.Name()] += 1 / float64(len(cs))
		base[c.m.Name()] = c.m
	}
	var m mix
	for name, p := range base {
		m.parts = append(m.parts, p)
		m.w = append(m.w, w[name])
	}
	idx := make([]int, len(m.parts))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		if c := cmp.Compare(m.w[b], m.w[a]); c != 0 {
			return c
		}
		return cmp.Compare(m.parts[a].Name(), m.parts[b].Name())
	})
	out := mix{parts: make([]Forecaster, len(idx)), w: make([]float64, len(idx))}
	for i, j := range idx {
		out.parts[i], out.w[i] = m.parts[j], m.w[j]
	}
	return out
}

// Name is "mean(a,b)" for equal weights, else "a 40% + b 35% + c 25%".
func (m mix) Name() string {
	parts := make([]string, len(m.parts))
	equal := true
	for i, p := range m.parts {
		parts[i] = fmt.Sprintf("%s %.0f%%", p.Name(), 100*m.w[i])
		equal = equal && math.Abs(m.w[i]-m.w[0]) < 1e-9
	}
	if equal {
		for i, p := range m.parts {
			parts[i] = p.Name()
		}
		return "mean(" + strings.Join(parts, ",") + ")"
	}
	return strings.Join(parts, " + ")
}

// Forecast mixes the parts' means and bounds (the bounds only roughly:
// Auto replaces them with the mix's own replayed errors).
func (m mix) Forecast(s Series, h int) (Forecast, error) {
	return m.forecast(s, h, map[string]*Forecast{})
}

// forecast mixes the parts' forecasts, fitting each part once across calls
// that share fitted.
func (m mix) forecast(s Series, h int, fitted map[string]*Forecast) (Forecast, error) {
	fs := make([]*Forecast, len(m.parts))
	for i, p := range m.parts {
		if f := fitted[p.Name()]; f != nil && f.Len() >= h {
			fs[i] = f
			continue
		}
		f, err := p.Forecast(s, h)
		if err != nil {
			return Forecast{}, err
		}
		fs[i], fitted[p.Name()] = &f, &f
	}
	return m.combine(s, h, fs), nil
}

func (m mix) combine(s Series, h int, fs []*Forecast) Forecast {
	out := newForecast(m.Name(), s, h)
	withBounds := true
	for _, f := range fs {
		withBounds = withBounds && f.Lower != nil
	}
	if !withBounds {
		out.Lower, out.Upper = nil, nil
	}
	for j, f := range fs {
		w := m.w[j]
		for i := range h {
			out.Mean[i] += w * f.Mean[i]
			if withBounds {
				out.Lower[i] += w * f.Lower[i]
				out.Upper[i] += w * f.Upper[i]
			}
		}
	}
	return out
}

// spread returns the 10th and 90th percentiles of c's replayed errors at
// steps [lo, hi), and false when fewer than 30 are known.
func (c *cand) spread(s Series, lo, hi int) (lower, upper float64, ok bool) {
	// A sample of the errors is enough for two percentiles.
	stride := max(1, len(c.os)*(hi-lo)/maxSpreadSamples/4)
	var errs []float64
	for j, o := range c.os {
		for k := lo + j%stride; k < hi && o+k < s.Len(); k += stride {
			if v := s.Values[o+k]; !math.IsNaN(v) {
				errs = append(errs, v-c.es[j].f.Mean[k])
			}
		}
	}
	if len(errs) < 30 {
		return 0, 0, false
	}
	slices.Sort(errs)
	return quantile(errs, (1-Level)/2), quantile(errs, (1+Level)/2), true
}

// quantile of sorted values, linearly interpolated.
func quantile(sorted []float64, q float64) float64 {
	x := q * float64(len(sorted)-1)
	i := int(x)
	if i+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	return sorted[i] + (x-float64(i))*(sorted[i+1]-sorted[i])
}
