package forecast

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"
)

// Holt is double exponential smoothing (a level and a trend), its two
// smoothing parameters chosen by minimising the one-step-ahead squared
// error over the last Window of the series: a grid, then a pattern search
// around its best point. Gaps are filled linearly before fitting. Its
// interval is the ETS(A,A,N) model's.
type Holt struct {
	// Window is how much of the series' end is fitted; 7 days when zero.
	Window time.Duration
	// MinBeta is the least trend smoothing fitted: the trend then follows a
	// change within about 1/MinBeta steps. 0 leaves it free, so that a
	// trend that held long is kept long, past the end of a leak.
	MinBeta float64
	// Label is the name reported; "holt" when empty.
	Label string
}

var _ Forecaster = Holt{}

// Name is Label, or "holt".
func (m Holt) Name() string { return cmp.Or(m.Label, "holt") }

// Forecast fits the level and trend and extends them h steps; it needs
// three observations in the window.
func (m Holt) Forecast(s Series, h int) (Forecast, error) {
	w := m.Window
	if w <= 0 {
		w = 7 * 24 * time.Hour
	}
	win := s.Tail(s.Steps(w))
	if win.observed() < 3 {
		return Forecast{}, fmt.Errorf("holt: %w: need 3 observations in the last %v", ErrTooShort, w)
	}
	y := win.filled()
	betas := []float64{m.MinBeta}
	for _, b := range []float64{0.001, 0.01, 0.05, 0.1, 0.3} {
		if b > m.MinBeta {
			betas = append(betas, b)
		}
	}
	if m.MinBeta <= 0 {
		betas = betas[1:]
	}
	p := minimize(func(ps [][]float64, out []float64) { holtSSEBatch(y, ps, out) },
		[][]float64{{0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9}, betas},
		[]float64{0.0001, max(0, m.MinBeta)}, []float64{1, 1})
	alpha, beta := p[0], p[1]
	var st holtState
	sse := holtSSE(y, alpha, beta, &st)
	sigma := math.Sqrt(sse / float64(len(y)-1))
	f := newForecast(m.Name(), s, h)
	for i := range f.Mean {
		f.Mean[i] = st.level + float64(i+1)*st.trend
	}
	// Var(h) = σ²(1 + Σ_{j<h} (α + αβ j)²): cumulative over the steps.
	var acc float64
	f.band(func(i int) float64 {
		if i > 0 {
			c := alpha + alpha*beta*float64(i)
			acc += c * c
		}
		return sigma * math.Sqrt(1+acc)
	})
	return f, nil
}

type holtState struct{ level, trend float64 }

// holtSSE runs Holt's recursions over y and returns the sum of squared
// one-step-ahead errors; the final state goes to st when not nil.
func holtSSE(y []float64, alpha, beta float64, st *holtState) float64 {
	level := y[0]
	k := min(len(y)-1, 12)
	trend := (y[k] - y[0]) / float64(k)
	var sse float64
	for _, v := range y[1:] {
		pred := level + trend
		e := v - pred
		sse += e * e
		nl := pred + alpha*e
		trend += beta * (nl - level - trend)
		level = nl
	}
	if st != nil {
		*st = holtState{level, trend}
	}
	return sse
}

// holtBatch is how many recursions holtSSEBatch interleaves: each is a
// chain of dependent operations, and independent chains run side by side.
const holtBatch = 8

// holtSSEBatch sets out[i] to holtSSE(y, ps[i][0], ps[i][1]).
func holtSSEBatch(y []float64, ps [][]float64, out []float64) {
	for len(ps) > 0 {
		k := min(len(ps), holtBatch)
		var alpha, beta, level, trend, sse [holtBatch]float64
		kk := min(len(y)-1, 12)
		for j := range k {
			alpha[j], beta[j] = ps[j][0], ps[j][1]
			level[j], trend[j] = y[0], (y[kk]-y[0])/float64(kk)
		}
		for _, v := range y[1:] {
			for j := range holtBatch {
				pred := level[j] + trend[j]
				e := v - pred
				sse[j] += e * e
				nl := pred + alpha[j]*e
				trend[j] += beta[j] * (nl - level[j] - trend[j])
				level[j] = nl
			}
		}
		copy(out, sse[:k])
		ps, out = ps[k:], out[k:]
	}
}

// minimize returns the point of the grid (one list of values per
// coordinate) where f is least, refined by a pattern search that stays
// within [lo, hi]. f evaluates a batch of points at once (out[i] for
// ps[i]), so that a fit can run several recursions in one pass over the
// data. It is deterministic, which backtests rely on.
func minimize(f func(ps [][]float64, out []float64), grid [][]float64, lo, hi []float64) []float64 {
	d := len(grid)
	var ps [][]float64
	var walk func(p []float64)
	walk = func(p []float64) {
		if len(p) == d {
			ps = append(ps, p)
			return
		}
		for _, x := range grid[len(p)] {
			walk(append(p[:len(p):len(p)], x))
		}
	}
	walk(nil)
	out := make([]float64, len(ps))
	f(ps, out)
	best := ps[0]
	bestV := out[0]
	for i, v := range out {
		if v < bestV {
			best, bestV = ps[i], v
		}
	}
	// Pattern search: try a step up and down each coordinate (half the
	// distance to the grid neighbour at first), move to the best point
	// that improves, halve the steps when none does.
	step := make([]float64, d)
	for c := range step {
		step[c] = gridStep(grid[c], best[c])
	}
	for iter := 0; iter < 12 && slices.Max(step) > 2e-3; iter++ {
		ps = ps[:0]
		for c := 0; c < d; c++ {
			for _, sign := range [...]float64{-1, 1} {
				p := slices.Clone(best)
				p[c] = math.Min(hi[c], math.Max(lo[c], best[c]+sign*step[c]))
				if p[c] != best[c] {
					ps = append(ps, p)
				}
			}
		}
		f(ps, out[:len(ps)])
		moved := false
		for i, p := range ps {
			if out[i] < bestV {
				best, bestV, moved = p, out[i], true
			}
		}
		if !moved {
			for c := range step {
				step[c] /= 2
			}
		}
	}
	return best
}

// gridStep is half the distance from x to its nearest neighbour in g.
func gridStep(g []float64, x float64) float64 {
	s := math.Inf(1)
	for _, v := range g {
		if v != x {
			s = math.Min(s, math.Abs(v-x))
		}
	}
	if math.IsInf(s, 1) {
		return 0.05
	}
	return s / 2
}
