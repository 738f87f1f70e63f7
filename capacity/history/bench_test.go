package history

import (
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkSeries35Days reads one series' 35 days of 1-minute values at
// the forecasts' 5-minute step: what each evaluation does per series.
// Measured here: 2.8 ms and 178 KB per series (go test ./capacity/history
// -bench Series35 -benchmem).
func BenchmarkSeries35Days(b *testing.B) {
	s, err := Open(Options{Path: filepath.Join(b.TempDir(), "h.db"), NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	k := Key{Cluster: "osl2", Scope: ScopePool, Name: "general", Resource: Memory, Kind: Used}
	const days = 35
	for d := range days {
		for h := range 24 {
			at := t0.Add(time.Duration(d*24+h) * time.Hour)
			for m := range 60 {
				if err := s.Append(at.Add(time.Duration(m)*time.Minute), []Sample{{k, float64(m)}}); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	end := t0.Add(days * 24 * time.Hour)
	b.ResetTimer()
	for b.Loop() {
		sr, err := s.Series(k, end.Add(-days*24*time.Hour), end, 5*time.Minute)
		if err != nil || len(sr.Values) != days*288 {
			b.Fatal(err, len(sr.Values))
		}
	}
}
