package forecast

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// A line with a daily sine and noise: Trend recovers the line a week ahead
// where a seasonal model without trend cannot, and its interval covers the
// truth.
func TestTrendLineWithDailySine(t *testing.T) {
	step := 5 * time.Minute
	perDay := int(Day / step)
	truth := func(i int) float64 {
		d := float64(i) / float64(perDay)
		return 10 + 4*d + 2*math.Sin(2*math.Pi*d)
	}
	s := Series{Start: time.Unix(0, 0).UTC(), Step: step}
	rnd := rand.New(rand.NewPCG(7, 7))
	for i := range 9 * perDay {
		s.Values = append(s.Values, truth(i)+0.2*rnd.NormFloat64())
	}
	s.Values[100] = math.NaN() // a gap
	f, err := Trend{}.Forecast(s, 7*perDay)
	if err != nil {
		t.Fatal(err)
	}
	var worst float64
	outside := 0
	for j := range f.Len() {
		want := truth(s.Len() + j)
		worst = max(worst, math.Abs(f.Mean[j]-want))
		if want < f.Lower[j]-0.3 || want > f.Upper[j]+0.3 {
			outside++
		}
	}
	if worst > 0.5 {
		t.Errorf("a week ahead the forecast strays %.2f from the truth (values 46 to 74)", worst)
	}
	if outside > 0 {
		t.Errorf("%d of %d steps outside the interval", outside, f.Len())
	}
}

// With less than two days, too short.
func TestTrendNeedsTwoSeasons(t *testing.T) {
	s := Series{Start: time.Unix(0, 0).UTC(), Step: time.Hour}
	for i := range 47 {
		s.Values = append(s.Values, float64(i))
	}
	if _, err := (Trend{}).Forecast(s, 3); !errors.Is(err, ErrTooShort) {
		t.Fatalf("47 hours: %v, want ErrTooShort", err)
	}
	s.Values = append(s.Values, 47)
	if _, err := (Trend{}).Forecast(s, 3); err != nil {
		t.Fatalf("48 hours: %v", err)
	}
}
