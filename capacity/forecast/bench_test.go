package forecast

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// usage35Days1m is what headroomd's history holds for one series by
// default: 35 days at 1-minute resolution, here a daily and a weekly
// cycle, slow growth and noise.
func usage35Days1m() Series {
	r := rand.New(rand.NewPCG(35, 1))
	v := make([]float64, 35*1440)
	for i := range v {
		day := 2 * math.Pi * float64(i) / 1440
		v[i] = 40 + 0.0002*float64(i) + 10*math.Sin(day) + 3*math.Sin(day/7) + 2*r.NormFloat64()
	}
	return Series{Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Step: time.Minute, Values: v}
}

// BenchmarkAutoForecast7DaysFrom35Days1m measures what an alert
// evaluation costs per series: Auto replays every candidate from the
// origins of the last 14 days (every hour), scores them, and forecasts
// 7 days ahead with intervals.
func BenchmarkAutoForecast7DaysFrom35Days1m(b *testing.B) {
	s := usage35Days1m()
	for b.Loop() {
		if _, err := (Auto{}).Forecast(s, 7*1440); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFit7DaysFrom35Days1m measures one fit and 7-day forecast of
// each candidate, the unit Auto's replay repeats.
func BenchmarkFit7DaysFrom35Days1m(b *testing.B) {
	s := usage35Days1m()
	for _, m := range Candidates() {
		b.Run(m.Name(), func(b *testing.B) {
			for b.Loop() {
				if _, err := m.Forecast(s, 7*1440); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSelectionForecast7DaysFrom35Days1m measures forecasting with a
// selection made earlier: what an evaluation costs between selections.
func BenchmarkSelectionForecast7DaysFrom35Days1m(b *testing.B) {
	s := usage35Days1m()
	sel, err := Auto{}.Select(s)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("selection: %+v", sel.Bands)
	for b.Loop() {
		if _, err := sel.Forecast(s, 7*1440); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAutoSelect35Days5m measures Auto.Select on what headroomd's
// evaluator reads per series: 35 days averaged to forecast.step (5m). It
// runs once per series every forecast.reselect (1h).
func BenchmarkAutoSelect35Days5m(b *testing.B) {
	s1 := usage35Days1m()
	v := make([]float64, len(s1.Values)/5)
	for i := range v {
		for _, x := range s1.Values[5*i : 5*i+5] {
			v[i] += x / 5
		}
	}
	s := Series{Start: s1.Start, Step: 5 * time.Minute, Values: v}
	for b.Loop() {
		if _, err := (Auto{}).Select(s); err != nil {
			b.Fatal(err)
		}
	}
}
