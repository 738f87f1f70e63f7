package history

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/headroomhq/headroom"
)

// minuteSource serves, per step, the points of one cycle of each minute
// with only the numeric fields Read names, as floats: what InfluxDB's
// per-window means of cycles that did not change within a minute are.
type minuteSource struct {
	cycles map[time.Time][]headroom.Point
	calls  int
}

func (s *minuteSource) Means(_ context.Context, measurement string, fields []string, cluster string,
	from, to time.Time, step time.Duration) ([]headroom.Point, error) {
	s.calls++
	if cluster != "osl2" {
		return nil, errors.New("no such database")
	}
	var out []headroom.Point
	for t := from; t.Before(to); t = t.Add(step) {
		for _, p := range s.cycles[t] {
			if p.Measurement != measurement {
				continue
			}
			q := headroom.Point{Measurement: p.Measurement, Tags: p.Tags, Time: t}
			for _, f := range p.Fields {
				for _, want := range fields {
					if f.Key == want {
						q.Fields = append(q.Fields, headroom.Field{Key: f.Key, Value: num(f.Value)})
					}
				}
			}
			out = append(out, q)
		}
	}
	return out, nil
}

// TestBackfillMatchesRecording: history backfilled from per-minute means
// is the history recording the same cycles live would have kept.
func TestBackfillMatchesRecording(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	const minutes = 30
	live := &memStore{}
	rec := NewRecorder(RecorderOptions{Store: live, Step: time.Minute})
	src := &minuteSource{cycles: map[time.Time][]headroom.Point{}}
	for m := range minutes {
		minute := t0.Add(time.Duration(m) * time.Minute)
		src.cycles[minute] = cycle(minute, 1+float64(m)/10, m%5 != 0)
		for c := range 4 { // every 15 s, the same values within the minute
			rec.Record(cycle(minute.Add(time.Duration(c)*15*time.Second), 1+float64(m)/10, m%5 != 0))
		}
	}
	rec.Flush()

	filled := &memStore{}
	steps, err := Backfill(context.Background(), BackfillOptions{Source: src, Store: filled,
		Clusters: []string{"osl2", "gone"}, From: t0, To: t0.Add(minutes * time.Minute), Step: time.Minute,
		Chunk: 7 * time.Minute})
	if err == nil || !strings.Contains(err.Error(), "cluster gone: no such database") {
		t.Errorf("error %v: want cluster gone's failure named", err)
	}
	if steps != minutes {
		t.Errorf("%d steps backfilled, want %d", steps, minutes)
	}
	if want := 2*5 + 1; src.calls != want { // osl2: 5 chunks × 2 measurements; gone: fails at its first
		t.Errorf("%d queries, want %d (chunks of 7 minutes)", src.calls, want)
	}
	if len(filled.steps) != len(live.steps) {
		t.Fatalf("%d steps backfilled, %d recorded", len(filled.steps), len(live.steps))
	}
	compared := 0
	for _, at := range live.steps {
		for k, v := range live.by[at] {
			got, ok := filled.by[at][k]
			if !ok || got != v {
				t.Errorf("%s at %s: backfilled %v (present %v), recorded %v", k, at.Format("15:04"), got, ok, v)
			}
			compared++
		}
		if len(filled.by[at]) != len(live.by[at]) {
			t.Errorf("at %s: %d series backfilled, %d recorded", at.Format("15:04"), len(filled.by[at]), len(live.by[at]))
		}
	}
	if compared < minutes*20 {
		t.Errorf("only %d values compared", compared)
	}
}

func TestBackfillRejectsBadOptions(t *testing.T) {
	now := time.Now()
	if _, err := Backfill(context.Background(), BackfillOptions{Source: &minuteSource{}, Store: &memStore{},
		From: now, To: now, Step: time.Minute}); err == nil {
		t.Error("an empty range was accepted")
	}
}
