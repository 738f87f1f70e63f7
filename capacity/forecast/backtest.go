package forecast

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"
)

// BacktestOptions says how Backtest replays a series. Zero values take the
// defaults written beside each field.
type BacktestOptions struct {
	// Horizons are scored separately; 1 h, 6 h and 24 h when nil.
	Horizons []time.Duration
	// Every is the spacing of the origins. When zero, every step is an
	// origin, or every few steps so that there are at most MaxOrigins:
	// sparser origins sample the daily cycle at a few phases only, and on
	// a week of data the score then moves by several percent with the
	// phase of the first origin.
	Every time.Duration
	// WarmUp is the history before the first origin; 2 days when zero
	// (seasonal models need a season, Holt-Winters two).
	WarmUp time.Duration
	// Methods are scored side by side, their names unique; Candidates()
	// and Auto{} when nil.
	Methods []Forecaster
}

// Score is one method's error at one horizon over a backtest's origins.
type Score struct {
	Method  string
	Horizon time.Duration
	// MAE is the mean absolute error, in the series' unit.
	MAE float64
	// MAPE is the mean absolute percentage error (in percent) over the
	// forecasts whose actual value is not zero (see NearZero); NaN when
	// every actual value is.
	MAPE float64
	// Forecasts is how many forecasts were scored; InMAPE how many of them
	// count in MAPE.
	Forecasts, InMAPE int
}

// replayer is a method that replays others, sharing a backtest's cache.
type replayer interface {
	run(r *replay, n, h int, intervals bool) (Forecast, Selection, error)
	defaults(step time.Duration) ([]Forecaster, int, int, []int, int)
}

var _ replayer = Auto{}

// MaxOrigins bounds the origins of a backtest whose Every is zero.
const MaxOrigins = 10000

// NearZero is the fraction of the series' mean absolute value below which
// an actual value is left out of MAPE (an error relative to nothing is
// unbounded); such forecasts still count in MAE.
const NearZero = 1e-6

// Backtest replays s: from each origin (every Every after WarmUp, as long as
// the longest horizon still falls inside s) each method forecasts from the
// values before the origin only, and its value at each horizon is compared
// with the one observed. Actual values that are gaps are not scored. It
// returns one Score per method and horizon, in the order of methods then
// horizons, and an error when s is too short for one origin or a method
// fails otherwise than for lack of history.
func Backtest(s Series, o BacktestOptions) ([]Score, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	horizons := o.Horizons
	if horizons == nil {
		horizons = []time.Duration{time.Hour, 6 * time.Hour, Day}
	}
	methods := o.Methods
	if methods == nil {
		methods = append(Candidates(), Auto{})
	}
	warm := s.Steps(cmp.Or(o.WarmUp, 2*Day))
	hs := make([]int, len(horizons))
	for i, h := range horizons {
		if h <= 0 {
			return nil, fmt.Errorf("horizon %v: must be positive", h)
		}
		hs[i] = s.Steps(h)
	}
	maxH := slices.Max(hs)
	if warm+maxH > s.Len() {
		return nil, fmt.Errorf("%w: %d steps of %v; a warm-up of %v and a horizon of %v need %d",
			ErrTooShort, s.Len(), s.Step, time.Duration(warm)*s.Step, time.Duration(maxH)*s.Step, warm+maxH)
	}
	every := s.Steps(o.Every)
	if o.Every <= 0 {
		every = (s.Len() - warm - maxH + MaxOrigins) / MaxOrigins // ceil(origins / MaxOrigins)
	}
	var scale float64
	for _, v := range s.Values {
		if !math.IsNaN(v) {
			scale += math.Abs(v)
		}
	}
	scale = NearZero * scale / float64(max(1, s.observed()))

	type acc struct {
		abs, pct float64
		n, np    int
	}
	accs := make([][]acc, len(methods))
	for i := range accs {
		accs[i] = make([]acc, len(hs))
	}
	r := newReplay(s)
	keep := 0 // how far back Auto replays
	for _, m := range methods {
		if a, ok := m.(replayer); ok {
			_, ev, lb, _, _ := a.defaults(s.Step)
			keep = max(keep, lb+ev)
		}
	}
	for origin := warm; origin+maxH <= s.Len(); origin += every {
		for mi, m := range methods {
			var f *Forecast
			if a, ok := m.(replayer); ok {
				af, _, err := a.run(r, origin, maxH, false)
				if err != nil {
					return nil, fmt.Errorf("origin %d: %w", origin, err)
				}
				f = &af
			} else {
				e, err := r.forecast(m, origin, maxH)
				if err != nil {
					return nil, fmt.Errorf("origin %d: %w", origin, err)
				}
				if f = e.f; f == nil {
					continue // too short at this origin
				}
			}
			for hi, h := range hs {
				v := s.Values[origin+h-1]
				if math.IsNaN(v) {
					continue
				}
				e := math.Abs(v - f.Mean[h-1])
				a := &accs[mi][hi]
				a.abs += e
				a.n++
				if math.Abs(v) > scale {
					a.pct += e / math.Abs(v)
					a.np++
				}
			}
		}
		if (origin-warm)/every%64 == 0 { // every 64 origins
			r.drop(origin-keep, origin-64*every)
		}
	}
	var out []Score
	for mi, m := range methods {
		for hi, h := range horizons {
			a := accs[mi][hi]
			sc := Score{Method: m.Name(), Horizon: h, MAE: math.NaN(), MAPE: math.NaN(), Forecasts: a.n, InMAPE: a.np}
			if a.n > 0 {
				sc.MAE = a.abs / float64(a.n)
			}
			if a.np > 0 {
				sc.MAPE = 100 * a.pct / float64(a.np)
			}
			out = append(out, sc)
		}
	}
	return out, nil
}
