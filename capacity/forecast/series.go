package forecast

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Series is a regular time series: Values[i] was observed at Start + i*Step.
// NaN marks a gap. Forecasters never modify Values.
type Series struct {
	Start  time.Time
	Step   time.Duration
	Values []float64
}

// ErrTooShort is returned when a series holds too few values for a method.
var ErrTooShort = errors.New("series too short")

// Len is the number of steps in s, gaps included.
func (s Series) Len() int { return len(s.Values) }

// Time is when Values[i] was observed.
func (s Series) Time(i int) time.Time { return s.Start.Add(time.Duration(i) * s.Step) }

// End is the time of the first step after the series: where forecasts start.
func (s Series) End() time.Time { return s.Time(len(s.Values)) }

// Head is the first n steps of s, sharing its values.
func (s Series) Head(n int) Series {
	return Series{Start: s.Start, Step: s.Step, Values: s.Values[:n:n]}
}

// Tail is the last n steps of s (all of it when n is larger), sharing its values.
func (s Series) Tail(n int) Series {
	if n >= len(s.Values) {
		return s
	}
	off := len(s.Values) - n
	return Series{Start: s.Time(off), Step: s.Step, Values: s.Values[off:]}
}

// Steps is how many steps of s span d, rounded up; at least 1 for d > 0.
func (s Series) Steps(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int((d + s.Step - 1) / s.Step)
}

// Validate reports a step that is not positive or a value that is infinite.
func (s Series) Validate() error {
	if s.Step <= 0 {
		return fmt.Errorf("step %v: must be positive", s.Step)
	}
	for i, v := range s.Values {
		if math.IsInf(v, 0) {
			return fmt.Errorf("value %d: infinite", i)
		}
	}
	return nil
}

// observed is the number of values of s that are not gaps.
func (s Series) observed() int {
	n := 0
	for _, v := range s.Values {
		if !math.IsNaN(v) {
			n++
		}
	}
	return n
}

// filled returns the values of s with gaps filled: linearly between two
// observations, with the nearest observation at either end. It returns nil
// when s has no observation at all.
func (s Series) filled() []float64 {
	out := make([]float64, len(s.Values))
	last := -1
	for i, v := range s.Values {
		if math.IsNaN(v) {
			continue
		}
		out[i] = v
		switch {
		case last < 0:
			for j := 0; j < i; j++ {
				out[j] = v
			}
		case i-last > 1:
			a := s.Values[last]
			for j := last + 1; j < i; j++ {
				out[j] = a + (v-a)*float64(j-last)/float64(i-last)
			}
		}
		last = i
	}
	if last < 0 {
		return nil
	}
	for j := last + 1; j < len(out); j++ {
		out[j] = s.Values[last]
	}
	return out
}
