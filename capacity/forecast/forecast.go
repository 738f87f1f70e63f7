package forecast

import (
	"fmt"
	"time"
)

// Level is the coverage of every prediction interval in this package: the
// actual value should fall between Lower and Upper 80 % of the time.
const Level = 0.8

// z80 is the standard normal quantile bounding a central 80 % interval.
const z80 = 1.2815515655446004

// Forecaster fits a series and predicts past its end. Forecast must not
// modify s, must be safe to call concurrently, and returns ErrTooShort
// (wrapped) when s holds too little for the method.
type Forecaster interface {
	// Name is the method's name in backtests and on the command line.
	Name() string
	// Forecast fits s and predicts the h steps after it.
	Forecast(s Series, h int) (Forecast, error)
}

// Forecast is a prediction for the steps after a series: Mean[i] is the
// expected value at Start + i*Step, and [Lower[i], Upper[i]] its prediction
// interval at Level.
type Forecast struct {
	Method             string
	Start              time.Time
	Step               time.Duration
	Mean, Lower, Upper []float64
}

// Len is the number of steps forecast.
func (f Forecast) Len() int { return len(f.Mean) }

// Time is the time Mean[i] is for.
func (f Forecast) Time(i int) time.Time { return f.Start.Add(time.Duration(i) * f.Step) }

// newForecast allocates a forecast of h steps after s.
func newForecast(method string, s Series, h int) Forecast {
	return Forecast{
		Method: method, Start: s.End(), Step: s.Step,
		Mean: make([]float64, h), Lower: make([]float64, h), Upper: make([]float64, h),
	}
}

// band sets Lower and Upper to Mean ± z80*sd(i).
func (f *Forecast) band(sd func(i int) float64) {
	for i, m := range f.Mean {
		d := z80 * sd(i)
		f.Lower[i], f.Upper[i] = m-d, m+d
	}
}

// ETA is when a forecast first reaches a threshold (a value at or above it).
// Each of Expected, Earliest and Latest is a duration from the now given to
// Forecast.ETA, or negative when the forecast does not reach the threshold
// within its horizon. Earliest is when the upper band reaches it (a lower
// bound on the ETA), Latest when the lower band does (an upper bound), so
// Earliest <= Expected <= Latest whenever they are reached.
type ETA struct {
	Threshold                  float64
	Expected, Earliest, Latest time.Duration
	// Horizon is how far past now the forecast reaches: "not within Horizon".
	Horizon time.Duration
}

// NotWithin is the ETA of a threshold not reached within the horizon.
const NotWithin time.Duration = -1

// Reached says whether the mean forecast reaches the threshold within the horizon.
func (e ETA) Reached() bool { return e.Expected >= 0 }

// String is the ETA as an operator reads it.
func (e ETA) String() string {
	show := func(d time.Duration) string {
		if d < 0 {
			return fmt.Sprintf("> %v", e.Horizon)
		}
		return d.Round(time.Minute).String()
	}
	if e.Earliest < 0 {
		return fmt.Sprintf("%g not reached within %v", e.Threshold, e.Horizon)
	}
	return fmt.Sprintf("%g in %s (%s to %s)", e.Threshold, show(e.Expected), show(e.Earliest), show(e.Latest))
}

// ETA returns when f first reaches threshold, counted from now (the caller's
// clock: usually the end of the series, later when its data is stale). A
// step already at or above the threshold at now or before counts as zero.
func (f Forecast) ETA(threshold float64, now time.Time) ETA {
	first := func(v []float64) time.Duration {
		for i, x := range v {
			if x >= threshold {
				return max(0, f.Time(i).Sub(now))
			}
		}
		return NotWithin
	}
	return ETA{
		Threshold: threshold,
		Expected:  first(f.Mean),
		Earliest:  first(f.Upper),
		Latest:    first(f.Lower),
		Horizon:   f.Time(f.Len() - 1).Sub(now),
	}
}
