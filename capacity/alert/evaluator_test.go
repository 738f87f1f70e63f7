package alert

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/headroomhq/headroom"
	"github.com/headroomhq/headroom/capacity/forecast"
	"github.com/headroomhq/headroom/capacity/history"
)

const gib = 1 << 30

type captured struct{ sent [][]Alert }

func (c *captured) Notify(_ context.Context, alerts []Alert) error {
	c.sent = append(c.sent, alerts)
	return nil
}

func (c *captured) last() []Alert {
	if len(c.sent) == 0 {
		return nil
	}
	return c.sent[len(c.sent)-1]
}

func named(alerts []Alert, name string) []Alert {
	var out []Alert
	for _, a := range alerts {
		if a.Labels["alertname"] == name {
			out = append(out, a)
		}
	}
	return out
}

// nodes is a cycle of the "general" pool's three 4-core 16 GiB nodes using
// used bytes of memory in all.
func nodes(t time.Time, used float64, pressure bool) []headroom.Point {
	var pts []headroom.Point
	for i, name := range []string{"g1", "g2", "g3"} {
		pts = append(pts, headroom.Point{Measurement: "node", Time: t,
			Tags: []headroom.Tag{{Key: "cluster", Value: "osl2"}, {Key: "node", Value: name}, {Key: "pool", Value: "general"}},
			Fields: []headroom.Field{
				{Key: "cpu_allocatable_cores", Value: 4.0}, {Key: "cpu_requested_cores", Value: 2.0},
				{Key: "cpu_usage_cores", Value: 1.0},
				{Key: "memory_allocatable_bytes", Value: int64(16 * gib)}, {Key: "memory_requested_bytes", Value: int64(4 * gib)},
				{Key: "memory_working_set_bytes", Value: int64(used / 3)},
				{Key: "pods_allocatable", Value: int64(110)}, {Key: "pods", Value: int64(10)},
				{Key: "memory_pressure", Value: pressure && i == 0},
			}})
	}
	return pts
}

type rig struct {
	store *history.Store
	rec   *history.Recorder
	ev    *Evaluator
	out   *captured
	last  time.Time // the last collection
}

func newRig(t *testing.T, rules Rules, interval time.Duration) *rig {
	t.Helper()
	st, err := history.Open(history.Options{Path: filepath.Join(t.TempDir(), "h.db"), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	r := &rig{store: st, rec: history.NewRecorder(history.RecorderOptions{Store: st}), out: &captured{}}
	r.ev = NewEvaluator(EvaluatorOptions{
		Clusters: []Cluster{{Name: "osl2", Interval: time.Minute, LastSuccess: func() time.Time { return r.last }}},
		History:  st, Present: r.rec, Notifier: r.out, Rules: rules, Interval: interval,
		ExternalURL: "http://headroomd:8080",
	})
	return r
}

// run records a cycle every `record` from `from` to `to` with memory use
// usage(t), and evaluates every `every`, calling check after each.
func (r *rig) run(t *testing.T, from, to time.Time, record, every time.Duration, usage func(time.Time) float64, check func(now time.Time)) {
	t.Helper()
	for now := from; now.Before(to); now = now.Add(record) {
		r.rec.Record(nodes(now, usage(now), false))
		r.last = now
		if now.Sub(from)%every == 0 {
			if err := r.ev.Evaluate(context.Background(), now.Add(time.Second)); err != nil {
				t.Fatalf("evaluate at %v: %v", now, err)
			}
			if check != nil {
				check(now.Add(time.Second))
			}
		}
	}
}

// A pool whose memory use grows 4 GiB a day, with a daily swing of ±2 GiB,
// towards 90 % of its 48 GiB. Evaluated every 2 hours over 8 simulated days: the
// warning fires once the forecast ETA is below 7 days, the critical below
// 48 h, each ETA within 20 % of the true time the use reaches 43.2 GiB, and
// both before it does.
func TestExhaustionForecastFiresAheadOfTime(t *testing.T) {
	if testing.Short() {
		t.Skip("8 simulated days")
	}
	r := newRig(t, Rules{MinHistory: 24 * time.Hour, ExhaustionFor: 4 * time.Hour, Reselect: 24 * time.Hour}, 2*time.Hour)
	start := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	usage := func(t time.Time) float64 {
		d := t.Sub(start).Hours() / 24
		return (10 + 4*d + 2*math.Sin(2*math.Pi*d)) * gib
	}
	threshold := 0.9 * 48 * gib
	truth := start
	for usage(truth) < threshold {
		truth = truth.Add(time.Minute)
	}
	t.Logf("use reaches 90%% at %v (%.1f days in)", truth, truth.Sub(start).Hours()/24)

	var warnedAt, criticalAt time.Time
	var worst float64
	r.run(t, start, truth, 5*time.Minute, 2*time.Hour, usage, func(now time.Time) {
		for _, f := range r.ev.Forecasts() {
			if f.Scope != history.ScopePool || f.Pool != "general" || f.Resource != history.Memory || f.Kind != history.Used {
				continue
			}
			eta := f.ETA.Value()
			want := truth.Sub(now)
			if eta.Reached() && want < 7*24*time.Hour && now.Sub(start) >= 2*24*time.Hour {
				rel := math.Abs(eta.Expected.Hours()-want.Hours()) / want.Hours()
				worst = max(worst, rel)
				if rel > 0.2 && want > 6*time.Hour {
					t.Errorf("at %v: ETA %v, true %v (%.0f%% off)", now, eta.Expected, want, 100*rel)
				}
			}
		}
		for _, a := range r.out.last() {
			if a.Labels["alertname"] != NameExhaustion || a.Resolved(now) {
				continue
			}
			if a.Labels["pool"] != "general" || a.Labels["resource"] != "memory" || a.Labels["kind"] != "used" || a.Labels["cluster"] != "osl2" {
				t.Fatalf("alert for the wrong series: %v", a.Labels)
			}
			switch a.Labels["severity"] {
			case "warning":
				if warnedAt.IsZero() {
					warnedAt = now
				}
			case "critical":
				if criticalAt.IsZero() {
					criticalAt = now
				}
			}
			if !strings.HasPrefix(a.Annotations["runbook_url"], DefaultRunbookURL+"#headroomexhaustionforecast") ||
				!strings.Contains(a.GeneratorURL, "cluster=osl2") || a.Annotations["summary"] == "" {
				t.Errorf("annotations: %v, generatorURL %q", a.Annotations, a.GeneratorURL)
			}
		}
	})
	t.Logf("warning at %v before, critical %v before; worst ETA error beyond 6 h: %.0f%%",
		truth.Sub(warnedAt), truth.Sub(criticalAt), 100*worst)
	if warnedAt.IsZero() || truth.Sub(warnedAt) < 5*24*time.Hour {
		t.Errorf("warning fired %v before exhaustion (at %v); want at least 5 days", truth.Sub(warnedAt), warnedAt)
	}
	if criticalAt.IsZero() || truth.Sub(criticalAt) < 24*time.Hour || truth.Sub(criticalAt) > 60*time.Hour {
		t.Errorf("critical fired %v before exhaustion (at %v); want 1 to 2.5 days", truth.Sub(criticalAt), criticalAt)
	}
	// No other alert: requests are flat and the pool can lose its largest
	// node (3 × 4 GiB requested of 48).
	for _, a := range r.out.last() {
		if a.Labels["alertname"] != NameExhaustion {
			t.Errorf("unexpected alert %v", a.Labels)
		}
	}
}

// Steady use, and growth that stops: no alert, or one that resolves.
func TestExhaustionForecastSteadyAndStopping(t *testing.T) {
	r := newRig(t, Rules{MinHistory: time.Hour, ExhaustionFor: time.Minute, Step: time.Minute}, time.Minute)
	start := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	steady := func(time.Time) float64 { return 20 * gib }
	r.run(t, start, start.Add(3*time.Hour), time.Minute, 5*time.Minute, steady, func(now time.Time) {
		if len(r.out.last()) != 0 {
			t.Fatalf("steady use at %v: %v", now, r.out.last())
		}
	})
	if n := len(r.ev.Forecasts()); n == 0 {
		t.Fatal("no forecasts after 3 hours of history")
	}
	// A leak of 10 GiB an hour for an hour (43.2 GiB in less than 3 hours
	// if it went on), then the leaking pod restarts and use is back to 20.
	from := start.Add(3 * time.Hour)
	grow := func(t time.Time) float64 {
		if h := t.Sub(from).Hours(); h < 1 {
			return 20*gib + 10*gib*h
		}
		return 20 * gib
	}
	var firing, resolved bool
	r.run(t, from, from.Add(9*time.Hour), time.Minute, 5*time.Minute, grow, func(now time.Time) {
		for _, a := range named(r.out.last(), NameExhaustion) {
			if a.Labels["kind"] != "used" || a.Labels["resource"] != "memory" {
				t.Fatalf("alert for a series that does not grow: %v", a.Labels)
			}
			if !a.Resolved(now) {
				firing = true
			} else if firing {
				resolved = true
			}
		}
	})
	if !firing || !resolved {
		t.Fatalf("growth then stop: firing %v, resolved %v; want both", firing, resolved)
	}
}

func TestNPlusOneNodePressureAndCollectionDown(t *testing.T) {
	r := newRig(t, Rules{NPlusOneFor: time.Minute, NodePressureFor: time.Minute}, time.Minute)
	now := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	// Requests of 12 GiB a node, 36 of 48: losing a node leaves 32.
	pts := nodes(now, 30*gib, true)
	for i := range 3 {
		pts[i].Fields[4].Value = int64(12 * gib)
	}
	r.rec.Record(pts)
	r.last = now
	for i := range 2 {
		if err := r.ev.Evaluate(context.Background(), now.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	got := r.out.last()
	np := named(got, NameNPlusOne)
	if len(np) != 1 || np[0].Labels["pool"] != "general" || np[0].Labels["resource"] != "memory" ||
		!strings.Contains(np[0].Annotations["description"], "36 GiB of 48 GiB") {
		t.Errorf("N+1: %+v", np)
	}
	pr := named(got, NameNodePressure)
	if len(pr) != 1 || pr[0].Labels["node"] != "g1" || pr[0].Labels["resource"] != "memory" || pr[0].Labels["severity"] != "warning" {
		t.Errorf("node pressure: %+v", pr)
	}
	if cd := named(got, NameCollectionDown); len(cd) != 0 {
		t.Errorf("collection down while collecting: %+v", cd)
	}
	// No cycle for 5 intervals: down at once (no pending), critical.
	if err := r.ev.Evaluate(context.Background(), now.Add(5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	cd := named(r.out.last(), NameCollectionDown)
	if len(cd) != 1 || cd[0].Labels["severity"] != "critical" || cd[0].Labels["cluster"] != "osl2" ||
		!cd[0].StartsAt.Equal(now.Add(5*time.Minute)) {
		t.Errorf("collection down: %+v", cd)
	}
}

// TestReselectionIsStaggered: the series of a cluster, all chosen in the
// first evaluation, come due for a new choice spread over half of
// Reselect, not all in one evaluation.
func TestReselectionIsStaggered(t *testing.T) {
	const spread = 30 * time.Minute
	buckets := map[time.Duration]int{} // by 5-minute slice of the spread
	for _, pool := range []string{"", "general", "highmem", "db"} {
		for _, r := range history.Resources {
			for _, kind := range []history.Kind{history.Requested, history.Used} {
				k := history.Key{Cluster: "osl2", Scope: history.ScopePool, Name: pool, Resource: r, Kind: kind}
				d := stagger(k, spread)
				if d < 0 || d >= spread || d != stagger(k, spread) {
					t.Fatalf("stagger(%s) = %v: want a fixed value in [0, %v)", k, d, spread)
				}
				buckets[d/(5*time.Minute)]++
			}
		}
	}
	if len(buckets) < 4 {
		t.Errorf("24 series fall in %d of 6 five-minute slices: %v", len(buckets), buckets)
	}
}

// TestPathIsThinnedFromNow: the forecast path a page draws starts at the
// step holding now and keeps at most pathPoints evenly spaced steps.
func TestPathIsThinnedFromNow(t *testing.T) {
	start := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	f := forecast.Forecast{Start: start, Step: time.Minute}
	for i := range 10_000 {
		f.Mean = append(f.Mean, float64(i))
		f.Lower = append(f.Lower, float64(i)-1)
		f.Upper = append(f.Upper, float64(i)+1)
	}
	p := thin(from(f, start.Add(90*time.Minute+30*time.Second)), pathPoints)
	if !p.Start.Equal(start.Add(90*time.Minute)) || p.Mean[0] != 90 || p.Lower[0] != 89 || p.Upper[0] != 91 {
		t.Errorf("starts at %v with %v", p.Start, p.Mean[0])
	}
	if p.Len() > pathPoints || p.Step != 42*time.Minute || p.Mean[1] != 90+42 {
		t.Errorf("%d steps of %v, second %v", p.Len(), p.Step, p.Mean[1])
	}
	if short := thin(from(f, start.Add(9_900*time.Minute)), pathPoints); short.Len() != 100 || short.Step != time.Minute {
		t.Errorf("a short path is kept whole: %d steps of %v", short.Len(), short.Step)
	}
	if past := from(f, start.Add(30*24*time.Hour)); past.Len() != 0 {
		t.Errorf("from beyond the end: %d steps", past.Len())
	}
}
