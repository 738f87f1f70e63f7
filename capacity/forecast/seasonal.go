package forecast

import (
	"cmp"
	"fmt"
	"math"
	"time"
)

// Day is the default season: resource usage follows the working day.
const Day = 24 * time.Hour

// Week is the longer season headroom uses once two weeks of history exist.
const Week = 7 * Day

// SeasonalNaive predicts each step with the value one season earlier (two
// seasons earlier for steps more than a season ahead, and so on). Its
// interval comes from its own one-season-ahead errors over the last
// seasons, widened by √k for the k-th season ahead.
type SeasonalNaive struct {
	// Season is the period; a day when zero.
	Season time.Duration
}

var _ Forecaster = SeasonalNaive{}

// Name is "seasonal_naive".
func (SeasonalNaive) Name() string { return "seasonal_naive" }

// Forecast needs one season of the series.
func (m SeasonalNaive) Forecast(s Series, h int) (Forecast, error) {
	return seasonalForecast(m.Name(), s, h, profile{season: s.Steps(cmp.Or(m.Season, Day)), seasons: 1, decay: 1, min: 1})
}

// Seasonal is headroom's seasonal model: each step is a weighted mean over
// the last Seasons seasons of the values at the same phase, each smoothed
// over the steps within Smooth of that phase (only past ones are used).
// A Decay below 1 weighs each season Decay times the next more recent one,
// so the model follows a daily profile that drifts. Its interval is
// computed as SeasonalNaive's.
type Seasonal struct {
	// Label is the name reported in backtests; "seasonal" when empty.
	Label string
	// Season is the period; a day when zero.
	Season time.Duration
	// Seasons is how many past seasons are averaged, at least 1.
	Seasons int
	// Decay is the weight of each season relative to the next more recent
	// one; 0 means 1 (a plain mean).
	Decay float64
	// Smooth is the half-width of the window averaged around each phase.
	Smooth time.Duration
	// MinSeasons is how many whole seasons the series must hold; 1 when zero.
	MinSeasons int
	// Drift corrects each past season for the growth since: the slope of
	// the means of the last Seasons whole seasons (three at least), carried
	// from each season to the step forecast. Without it a mean over past
	// seasons lags a trend by half its span. The slope is shrunk towards
	// zero as its t statistic falls to 2, so that noise in the season
	// means is not taken for growth.
	Drift bool
}

var _ Forecaster = Seasonal{}

// Name is Label, or "seasonal".
func (m Seasonal) Name() string { return cmp.Or(m.Label, "seasonal") }

// Forecast needs one season of the series.
func (m Seasonal) Forecast(s Series, h int) (Forecast, error) {
	return seasonalForecast(m.Name(), s, h, m.profile(s))
}

func (m Seasonal) profile(s Series) profile {
	d := m.Decay
	if d <= 0 {
		d = 1
	}
	return profile{
		season:  s.Steps(cmp.Or(m.Season, Day)),
		seasons: max(1, m.Seasons),
		decay:   d,
		smooth:  int(m.Smooth / s.Step),
		min:     max(1, m.MinSeasons),
		drift:   m.Drift,
	}
}

// Blend is the mean of several seasonal models' forecasts, as forecast
// combinations tend to beat each of their parts. Parts that need more
// history than the series holds are left out until it does (a weekly part
// joins after two weeks); the first part must fit.
type Blend struct {
	Label string
	Parts []Seasonal
}

var _ Forecaster = Blend{}

// Name is Label, or "blend".
func (m Blend) Name() string { return cmp.Or(m.Label, "blend") }

// Forecast needs what the first part needs.
func (m Blend) Forecast(s Series, h int) (Forecast, error) {
	var ps blend
	for i, p := range m.Parts {
		if pp := p.profile(s); i == 0 || pp.need() <= s.Len() {
			ps = append(ps, pp)
		}
	}
	if len(ps) == 0 {
		return Forecast{}, fmt.Errorf("%s: no parts", m.Name())
	}
	return seasonalForecast(m.Name(), s, h, ps)
}

// predictor predicts y[n+i] from y[:n].
type predictor interface {
	// cum holds the prefix sums of the values: cum[k] = y[0] + ... + y[k-1].
	predict(cum []float64, n, i int) float64
	// need is the fewest values predict works from.
	need() int
	// span is how far back from n predict reaches for steps before h.
	span(h int) int
	// lead is the longest step ahead that reuses the latest season; errors
	// at this lead size the interval.
	lead() int
}

// profile is the weighted mean over past seasons at the same phase.
type profile struct {
	season, seasons int
	decay           float64
	smooth          int
	min             int // seasons needed
	drift           bool
}

func (p profile) need() int { return p.min * p.season }
func (p profile) lead() int { return p.season }
func (p profile) span(h int) int {
	return (p.seasons+(h-1)/p.season)*p.season + p.smooth
}

func (p profile) predict(cum []float64, n, i int) float64 {
	t := n + i
	var slope float64 // per step
	if p.drift {
		slope = p.slope(cum, n)
	}
	var sum, wsum float64
	w := 1.0
	for j := i/p.season + 1; j <= i/p.season+p.seasons; j++ {
		c := t - j*p.season
		if c < 0 {
			break
		}
		lo, hi := max(0, c-p.smooth), min(c+p.smooth, n-1)
		v := (cum[hi+1] - cum[lo]) / float64(hi-lo+1)
		sum += w * (v + slope*float64(t-c))
		wsum += w
		w *= p.decay
	}
	return sum / wsum
}

// slope is the least-squares slope, per step, of the means of the whole
// seasons before n (up to p.seasons of them), shrunk towards zero as its
// t statistic falls to 2 so that a trend the seasons do not show does not
// add noise; 0 with fewer than three seasons.
func (p profile) slope(cum []float64, n int) float64 {
	k := min(p.seasons, n/p.season)
	if k < 3 {
		return 0
	}
	var means [16]float64
	ms := means[:0]
	var sx, sy, sxx, sxy float64
	for j := 1; j <= k; j++ {
		x := -float64(j)
		m := (cum[n-(j-1)*p.season] - cum[n-j*p.season]) / float64(p.season)
		ms = append(ms, m)
		sx += x
		sy += m
		sxx += x * x
		sxy += x * m
	}
	kf := float64(k)
	vx := sxx - sx*sx/kf
	b := (sxy - sx*sy/kf) / vx
	a := (sy - b*sx) / kf
	var ssr float64
	for j, m := range ms {
		r := m - (a - b*float64(j+1))
		ssr += r * r
	}
	se2 := ssr / (kf - 2) / vx
	shrink := max(0, 1-4*se2/(b*b))
	if b == 0 {
		shrink = 0
	}
	return shrink * b / float64(p.season)
}

// blend is the mean of profiles.
type blend []profile

func (b blend) need() int {
	n := 0
	for _, p := range b {
		n = max(n, p.need())
	}
	return n
}

func (b blend) lead() int {
	n := b[0].lead()
	for _, p := range b {
		n = min(n, p.lead())
	}
	return n
}

func (b blend) span(h int) int {
	n := 0
	for _, p := range b {
		n = max(n, p.span(h))
	}
	return n
}

func (b blend) predict(cum []float64, n, i int) float64 {
	var s float64
	for _, p := range b {
		s += p.predict(cum, n, i)
	}
	return s / float64(len(b))
}

// seasonalForecast runs a predictor over s with gaps filled. Only the end
// of s that the predictor and its interval reach is filled and summed,
// which a month of 1-minute steps makes worth it.
func seasonalForecast(name string, s Series, h int, p predictor) (Forecast, error) {
	if s.Len() < p.need() || s.observed() == 0 {
		return Forecast{}, fmt.Errorf("%s: %w: %d steps, need %d", name, ErrTooShort, s.Len(), p.need())
	}
	lead := p.lead()
	y := s.Tail(max(p.span(h), 2*lead+max(p.span(lead), p.need()))).filled()
	if y == nil { // no observation in the tail: its gaps take the last one before
		y = s.filled()
	}
	n := len(y)
	cum := make([]float64, n+1)
	for i, v := range y {
		cum[i+1] = cum[i] + v
	}
	f := newForecast(name, s, h)
	for i := range f.Mean {
		f.Mean[i] = p.predict(cum, n, i)
	}
	// Errors at the longest lead that still uses the latest season, over
	// up to two seasons of origins: the spread for the first season ahead.
	var sse float64
	k := 0
	stride := max(1, 2*lead/maxSpreadSamples)
	for t := n - 1; t >= 0 && k*stride < 2*lead; t -= stride {
		o := t - lead + 1
		if o < p.need() {
			break
		}
		e := y[t] - p.predict(cum, o, lead-1)
		sse += e * e
		k++
	}
	sd := math.NaN()
	if k > 0 {
		sd = math.Sqrt(sse / float64(k))
	}
	if math.IsNaN(sd) { // too short to measure: the series' own spread
		sd = stddev(y)
	}
	f.band(func(i int) float64 { return sd * math.Sqrt(float64(i/lead+1)) })
	return f, nil
}

// maxSpreadSamples bounds the work spent sizing an interval.
const maxSpreadSamples = 288

func stddev(y []float64) float64 {
	var s, ss float64
	for _, v := range y {
		s += v
	}
	m := s / float64(len(y))
	for _, v := range y {
		ss += (v - m) * (v - m)
	}
	return math.Sqrt(ss / float64(len(y)))
}
