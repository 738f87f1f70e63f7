package forecast

import (
	"cmp"
	"fmt"
	"math"
	"time"
)

// HoltWinters is additive seasonal exponential smoothing: a level and one
// seasonal term per phase, smoothed by α and γ chosen by a grid then a
// pattern search over the last Window. It has no trend term: a trend
// fitted to noisy usage and carried a day ahead was the worst of the
// errors measured on the traces (Holt and Linear cover trends). Fitting
// on one-step errors lets the level chase the daily cycle and count it
// twice hours ahead, so α and γ minimise the squared errors at three
// leads at once: one step, a quarter season and a whole season. It needs
// two seasons.
type HoltWinters struct {
	// Season is the period; a day when zero.
	Season time.Duration
	// Window is how much of the series' end is fitted; 7 days when zero.
	Window time.Duration
}

var _ Forecaster = HoltWinters{}

// Name is "holt_winters".
func (HoltWinters) Name() string { return "holt_winters" }

// Forecast fits the model and extends it h steps.
func (m HoltWinters) Forecast(s Series, h int) (Forecast, error) {
	season := s.Steps(cmp.Or(m.Season, Day))
	win := s.Tail(max(s.Steps(cmp.Or(m.Window, 7*Day)), 2*season))
	if win.Len() < 2*season || win.observed() == 0 {
		return Forecast{}, fmt.Errorf("holt_winters: %w: %d steps, need two seasons (%d)", ErrTooShort, win.Len(), 2*season)
	}
	y := win.filled()
	hw := hwFit{y: y, m: season}
	p := minimize(func(ps [][]float64, out []float64) { hw.run(ps, out, nil) },
		[][]float64{{0.01, 0.05, 0.2, 0.5}, {0.02, 0.1, 0.3, 0.6}},
		[]float64{0.001, 0.001}, []float64{1, 1})
	var st hwState
	hw.run([][]float64{p}, make([]float64, 1), &st)
	f := newForecast(m.Name(), s, h)
	n := len(y)
	for i := range f.Mean {
		f.Mean[i] = st.level + st.seasonal[(n+i)%season]
	}
	f.band(func(i int) float64 {
		switch {
		case i+1 < hw.quarter():
			return st.sd[0]
		case i+1 < season:
			return st.sd[1]
		}
		return st.sd[2] * math.Sqrt(float64(i/season+1))
	})
	return f, nil
}

type hwFit struct {
	y []float64
	m int
}

func (hw hwFit) quarter() int { return max(1, hw.m/4) }

type hwState struct {
	level    float64
	seasonal []float64 // indexed by t % season
	sd       [3]float64
}

// run sets out[i] to the sum of squared errors at leads 1, m/4 and m of
// the recursions with α, γ = ps[i], interleaving holtBatch of them (see
// holtSSEBatch). With st not nil it runs ps[0] alone and keeps its state.
func (hw hwFit) run(ps [][]float64, out []float64, st *hwState) {
	y, m := hw.y, hw.m
	q := hw.quarter()
	var a float64
	for i := 0; i < m; i++ {
		a += y[i]
	}
	level0 := a / float64(m)
	seas := make([]float64, holtBatch*m)   // phase-major: seas[k*holtBatch+j]
	levels := make([]float64, holtBatch*m) // level at t, by t % m
	for len(ps) > 0 {
		n := min(len(ps), holtBatch)
		var alpha, gamma, level [holtBatch]float64
		var sse [3][holtBatch]float64
		var cnt [3]int
		for j := range n {
			alpha[j], gamma[j] = ps[j][0], ps[j][1]
		}
		for j := range holtBatch {
			level[j] = level0
		}
		for k := 0; k < m; k++ {
			for j := range holtBatch {
				seas[k*holtBatch+j] = y[k] - level0
				levels[k*holtBatch+j] = level0
			}
		}
		for t := m; t < len(y); t++ {
			v := y[t]
			sk := seas[(t%m)*holtBatch:][:holtBatch]
			lq := levels[((t-q)%m)*holtBatch:][:holtBatch]
			lm := levels[(t%m)*holtBatch:][:holtBatch] // level at t-m, overwritten below
			scoreLong := t >= 2*m
			for j := range holtBatch {
				// Forecasts of y[t] from t-1, t-q and t-m share the
				// seasonal term: phase t was last updated at t-m.
				e1 := v - level[j] - sk[j]
				sse[0][j] += e1 * e1
				if scoreLong {
					eq := v - lq[j] - sk[j]
					em := v - lm[j] - sk[j]
					sse[1][j] += eq * eq
					sse[2][j] += em * em
				}
				nl := level[j] + alpha[j]*e1
				sk[j] += gamma[j] * (v - nl - sk[j])
				level[j] = nl
				lm[j] = nl
			}
			cnt[0]++
			if scoreLong {
				cnt[1]++
				cnt[2]++
			}
		}
		for j := range n {
			out[j] = sse[0][j] + sse[1][j] + sse[2][j]
		}
		if st != nil {
			st.level = level[0]
			st.seasonal = make([]float64, m)
			for k := range m {
				st.seasonal[k] = seas[k*holtBatch]
			}
			for l := range 3 {
				st.sd[l] = math.Sqrt(sse[l][0] / float64(max(1, cnt[l])))
			}
			return
		}
		ps, out = ps[n:], out[n:]
	}
}
