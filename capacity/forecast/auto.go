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
}

var _ Forecaster = Auto{}

// Name is "auto".
func (Auto) Name() string { return "auto" }

// Candidates are Auto's default methods: the baselines and headroom's
// seasonal models, headroom's first (the choice before any can be scored).
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
	// Until is the band's upper end (the last band also covers later steps).
	Until  time.Duration
	Method string
	// MAE is the chosen method's mean absolute error in this band over
	// Origins replayed origins; NaN when no candidate could be scored and
	// Method is the default.
	MAE     float64
	Origins int
}

// Selection is what Auto chose at one origin.
type Selection struct {
	Bands []BandChoice
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
	_, sel, err := a.run(newReplay(s), s.Len(), 1, false)
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

	sel := Selection{}
	out := newForecast(a.Name(), s, h)
	if !intervals {
		out.Lower, out.Upper = nil, nil
	}
	lo := 0
	for b, hi := range bands {
		if b == len(bands)-1 {
			hi = max(hi, h)
		}
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
			parts := make(meanOf, k)
			fs := make([]*Forecast, k)
			for i, c := range all[:k] {
				parts[i], fs[i] = c.m, c.f
			}
			f := parts.combine(s, max(h, maxBand), fs)
			best = &cand{m: parts, f: &f, mae: all[0].mae}
		}
		choice := BandChoice{Until: time.Duration(hi) * s.Step, MAE: math.NaN(), Origins: shared}
		if best != nil {
			choice.MAE = best.mae[b]
		} else { // nothing scored yet: the candidate listed first
			best = cands[0]
			for _, c := range cands {
				if c.rank < best.rank {
					best = c
				}
			}
		}
		choice.Method = best.m.Name()
		sel.Bands = append(sel.Bands, choice)
		from, to := min(lo, h), min(hi, h) // the steps forecast in this band
		copy(out.Mean[from:to], best.f.Mean[from:to])
		if intervals && from < to {
			a.band(&out, best, s, from, to, min(hi, maxBand))
		}
		lo = hi
	}
	return out, sel, nil
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
	parts := make(meanOf, len(cs))
	for i, c := range cs {
		parts[i] = c.m
	}
	maxBand := bands[len(bands)-1]
	c, err := r.candidate(parts, 0, n, max(h, maxBand), maxBand, every, lookback)
	if err != nil {
		return nil, err
	}
	c.os, c.es = c.os[:shared], c.es[:shared]
	c.score(r, n, bands)
	return c, nil
}

// meanOf forecasts the mean of its parts' forecasts; Auto tries the means
// of its best candidates, as combinations often beat each of their parts.
type meanOf []Forecaster

func (m meanOf) Name() string {
	names := make([]string, len(m))
	for i, f := range m {
		names[i] = f.Name()
	}
	return "mean(" + strings.Join(names, ",") + ")"
}

// Forecast averages the parts' means and bounds (the bounds only roughly:
// Auto replaces them with the combination's own replayed errors).
func (m meanOf) Forecast(s Series, h int) (Forecast, error) {
	fs := make([]*Forecast, len(m))
	for i, p := range m {
		f, err := p.Forecast(s, h)
		if err != nil {
			return Forecast{}, err
		}
		fs[i] = &f
	}
	return m.combine(s, h, fs), nil
}

func (m meanOf) combine(s Series, h int, fs []*Forecast) Forecast {
	out := newForecast(m.Name(), s, h)
	if fs[0].Lower == nil {
		out.Lower, out.Upper = nil, nil
	}
	k := float64(len(fs))
	for i := range h {
		for _, f := range fs {
			out.Mean[i] += f.Mean[i] / k
			if out.Lower != nil {
				out.Lower[i] += f.Lower[i] / k
				out.Upper[i] += f.Upper[i] / k
			}
		}
	}
	return out
}

// band sets out's interval over steps [lo, hi) to f's mean plus the 10th
// and 90th percentiles of the replayed errors at steps [lo, scoreHi), or
// to f's own interval when fewer than 30 are known. Past scoreHi (the
// longest step replayed) the percentiles widen with the square root of
// the step, as the error of a random walk does.
func (Auto) band(out *Forecast, c *cand, s Series, lo, hi, scoreHi int) {
	f, os, es := c.f, c.os, c.es
	// A sample of the errors is enough for two percentiles.
	stride := max(1, len(os)*(scoreHi-lo)/maxSpreadSamples/4)
	var errs []float64
	for j, o := range os {
		for k := lo + j%stride; k < scoreHi && o+k < s.Len(); k += stride {
			if v := s.Values[o+k]; !math.IsNaN(v) {
				errs = append(errs, v-es[j].f.Mean[k])
			}
		}
	}
	if len(errs) < 30 {
		copy(out.Lower[lo:hi], f.Lower[lo:hi])
		copy(out.Upper[lo:hi], f.Upper[lo:hi])
		return
	}
	slices.Sort(errs)
	ql, qh := quantile(errs, (1-Level)/2), quantile(errs, (1+Level)/2)
	for k := lo; k < hi; k++ {
		w := 1.0
		if k >= scoreHi {
			w = math.Sqrt(float64(k+1) / float64(scoreHi))
		}
		out.Lower[k], out.Upper[k] = f.Mean[k]+w*ql, f.Mean[k]+w*qh
	}
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
