package alert

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/headroomhq/headroom/capacity/forecast"
	"github.com/headroomhq/headroom/capacity/history"
)

// Alert names.
const (
	NameExhaustion     = "HeadroomExhaustionForecast"
	NameNPlusOne       = "HeadroomNPlusOneViolated"
	NameNodePressure   = "HeadroomNodePressure"
	NameCollectionDown = "HeadroomCollectionDown"
)

// History is the capacity history the rules read; *history.Store is one.
type History interface {
	Series(k history.Key, from, to time.Time, step time.Duration) (forecast.Series, error)
}

// Present is each cluster's latest cycle; *history.Recorder is one.
type Present interface {
	Latest(cluster string) (history.Latest, bool)
}

// Notifier sends alerts to Alertmanager; sink/alertmanager is one.
type Notifier interface {
	Notify(ctx context.Context, alerts []Alert) error
}

// Cluster is a cluster the rules watch.
type Cluster struct {
	Name string
	// Interval is the cluster's collection interval.
	Interval time.Duration
	// LastSuccess returns when the cluster's last collection cycle
	// completed; zero before the first.
	LastSuccess func() time.Time
}

// Rules are the thresholds and durations of the rules. Zero fields take
// the defaults in parentheses.
type Rules struct {
	// RequestedPercent and UsedPercent are the thresholds, in percent of
	// allocatable, whose ETA is forecast (90, 90).
	RequestedPercent, UsedPercent float64
	// Warning and Critical: an ETA below them fires the alert with that
	// severity (7 days, 48 h). Both fire below Critical; route or inhibit
	// in Alertmanager (docs/runbooks.md).
	Warning, Critical time.Duration
	// ExhaustionFor, NPlusOneFor and NodePressureFor are the pending
	// durations (15m, 15m, 5m).
	ExhaustionFor, NPlusOneFor, NodePressureFor time.Duration
	// CollectionDownAfter is how many collection intervals without a
	// completed cycle fire HeadroomCollectionDown (4).
	CollectionDownAfter int
	// Step is the forecast's resolution; history is averaged to it (5m).
	Step time.Duration
	// Lookback is how much history forecasts read (35 days).
	Lookback time.Duration
	// MinHistory is the least history a series needs to be forecast (24h).
	MinHistory time.Duration
	// Reselect is how often the forecaster of a series is chosen again
	// by backtest (1h); in between the choice is reused.
	Reselect time.Duration
}

func (r Rules) withDefaults() Rules {
	r.RequestedPercent = cmp.Or(r.RequestedPercent, 90)
	r.UsedPercent = cmp.Or(r.UsedPercent, 90)
	r.Warning = cmp.Or(r.Warning, 7*24*time.Hour)
	r.Critical = cmp.Or(r.Critical, 48*time.Hour)
	r.ExhaustionFor = cmp.Or(r.ExhaustionFor, 15*time.Minute)
	r.NPlusOneFor = cmp.Or(r.NPlusOneFor, 15*time.Minute)
	r.NodePressureFor = cmp.Or(r.NodePressureFor, 5*time.Minute)
	r.CollectionDownAfter = cmp.Or(r.CollectionDownAfter, 4)
	r.Step = cmp.Or(r.Step, 5*time.Minute)
	r.Lookback = cmp.Or(r.Lookback, 35*24*time.Hour)
	r.MinHistory = cmp.Or(r.MinHistory, 24*time.Hour)
	r.Reselect = cmp.Or(r.Reselect, time.Hour)
	return r
}

// EvaluatorOptions configure an Evaluator.
type EvaluatorOptions struct {
	Clusters []Cluster
	History  History
	Present  Present
	Notifier Notifier // nil: decide and record, send nothing
	Rules    Rules
	// Interval is the evaluation interval: firing alerts end 4 intervals
	// after each evaluation unless sent again. Default 1m.
	Interval time.Duration
	// ExternalURL is headroomd's URL as on-call reaches it, for the
	// alerts' generatorURL; empty leaves generatorURL empty.
	ExternalURL string
	// RunbookURL is the base of the runbook links; an alert's links to
	// RunbookURL#alertname-in-lower-case. Default: docs/runbooks.md on
	// GitHub.
	RunbookURL string
	// Forecaster chooses and forecasts; forecast.Auto{} when nil.
	Forecaster Selector
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	// Started is when watching began: a cluster never collected counts
	// as down from then. Default: the first evaluation.
	Started time.Time
}

// Selector chooses a forecaster for a series; forecast.Auto is one.
type Selector interface {
	Select(s forecast.Series) (forecast.Selection, error)
}

// DefaultRunbookURL is where the runbooks are published.
const DefaultRunbookURL = "https://github.com/headroomhq/headroom/blob/main/docs/runbooks.md"

// Evaluator runs the rules and keeps their alerts and the latest forecasts.
type Evaluator struct {
	o       EvaluatorOptions
	rules   Rules
	tracker *Tracker

	evalMu     sync.Mutex // one evaluation at a time
	selections map[history.Key]selection

	mu        sync.Mutex // guards forecasts and learning
	forecasts []SeriesForecast
	learning  []Learning

	evaluations, failures prometheus.Counter
	firing                *prometheus.GaugeVec
	duration              prometheus.Histogram
}

type selection struct {
	sel forecast.Selection
	at  time.Time
}

// NewEvaluator returns an Evaluator.
func NewEvaluator(o EvaluatorOptions) *Evaluator {
	o.Interval = cmp.Or(o.Interval, time.Minute)
	o.RunbookURL = cmp.Or(o.RunbookURL, DefaultRunbookURL)
	if o.Forecaster == nil {
		o.Forecaster = forecast.Auto{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	e := &Evaluator{
		o: o, rules: o.Rules.withDefaults(), tracker: NewTracker(o.Interval),
		selections: map[history.Key]selection{},
		evaluations: prometheus.NewCounter(prometheus.CounterOpts{Name: "headroom_alert_evaluations_total",
			Help: "Evaluations of the alert rules."}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{Name: "headroom_alert_evaluation_failures_total",
			Help: "Evaluations in which a series could not be read or forecast, or the alerts not sent."}),
		firing: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "headroom_alerts",
			Help: "Alerts by state after the latest evaluation."}, []string{"alertname", "state"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "headroom_alert_evaluation_duration_seconds",
			Help: "Time to evaluate the rules, forecasts included.", Buckets: prometheus.ExponentialBuckets(0.01, 2, 12)}),
	}
	if o.Registerer != nil {
		o.Registerer.MustRegister(e.evaluations, e.failures, e.firing, e.duration)
	}
	return e
}

// SeriesID names a forecast series: one resource and kind of a whole
// cluster or of one of its node pools.
type SeriesID struct {
	Cluster string `json:"cluster"`
	// Scope is the whole cluster, or the node pool Pool.
	Scope    history.Scope    `json:"scope"`
	Pool     string           `json:"pool"`
	Resource history.Resource `json:"resource"`
	Kind     history.Kind     `json:"kind"`
}

// IDOf is the SeriesID of a history key (ScopeCluster or ScopePool).
func IDOf(k history.Key) SeriesID {
	return SeriesID{Cluster: k.Cluster, Scope: k.Scope, Pool: k.Name, Resource: k.Resource, Kind: k.Kind}
}

// SeriesForecast is the latest forecast of one series.
type SeriesForecast struct {
	SeriesID
	// At is when it was made; Now the latest value, Allocatable the
	// scope's allocatable now and Threshold the value the ETA is for.
	At          time.Time `json:"at"`
	Now         float64   `json:"now"`
	Allocatable float64   `json:"allocatable"`
	Threshold   float64   `json:"threshold"`
	Percent     float64   `json:"threshold_percent"`
	// In24h and In7d are the forecast a day and a week ahead.
	In24h Range `json:"in_24h"`
	In7d  Range `json:"in_7d"`
	// ETA is when the threshold is reached, with its bounds.
	ETA    ETA    `json:"eta"`
	Method string `json:"method"`
	// History is how much history the forecast was made from.
	History Seconds `json:"history_seconds"`

	path forecast.Forecast
}

// pathPoints bounds the points Path keeps: enough to draw a week.
const pathPoints = 240

// Path is the forecast itself, from At to the horizon, thinned to at most
// a few hundred steps (the capacity page draws it).
func (f SeriesForecast) Path() forecast.Forecast { return f.path }

// thin keeps every k-th step of f, k the smallest that leaves at most n.
func thin(f forecast.Forecast, n int) forecast.Forecast {
	k := (f.Len() + n - 1) / n
	if k <= 1 {
		return f
	}
	out := forecast.Forecast{Method: f.Method, Start: f.Start, Step: f.Step * time.Duration(k)}
	for i := 0; i < f.Len(); i += k {
		out.Mean = append(out.Mean, f.Mean[i])
		out.Lower = append(out.Lower, f.Lower[i])
		out.Upper = append(out.Upper, f.Upper[i])
	}
	return out
}

// Learning is a series that holds too little history to be forecast yet.
type Learning struct {
	SeriesID
	At          time.Time `json:"at"`
	Now         float64   `json:"now"`
	Allocatable float64   `json:"allocatable"`
	// History is how much history the series holds, Needs how much it
	// must hold to be forecast (forecast.min_history).
	History Seconds `json:"history_seconds"`
	Needs   Seconds `json:"needs_seconds"`
}

// Seconds is a duration that JSON writes as a number of seconds.
type Seconds time.Duration

// MarshalJSON writes the seconds.
func (s Seconds) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(s).Seconds()) }

// UnmarshalJSON reads a number of seconds.
func (s *Seconds) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("seconds: %w", err)
	}
	*s = Seconds(f * float64(time.Second))
	return nil
}

// Range is a forecast value with its 80 % interval.
type Range struct {
	Mean  float64 `json:"mean"`
	Lower float64 `json:"lower"`
	Upper float64 `json:"upper"`
}

// ETA is forecast.ETA as JSON: seconds from At, null when not reached
// within the horizon.
type ETA struct {
	Expected *float64 `json:"expected_seconds"`
	Earliest *float64 `json:"earliest_seconds"`
	Latest   *float64 `json:"latest_seconds"`
	Horizon  float64  `json:"horizon_seconds"`
	eta      forecast.ETA
}

// Value is the forecast.ETA.
func (e ETA) Value() forecast.ETA { return e.eta }

// ETAOf converts a forecast.ETA.
func ETAOf(f forecast.ETA) ETA {
	sec := func(d time.Duration) *float64 {
		if d < 0 {
			return nil
		}
		s := d.Seconds()
		return &s
	}
	return ETA{Expected: sec(f.Expected), Earliest: sec(f.Earliest), Latest: sec(f.Latest),
		Horizon: f.Horizon.Seconds(), eta: f}
}

// Forecasts returns the forecasts of the latest evaluation.
func (e *Evaluator) Forecasts() []SeriesForecast {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.forecasts)
}

// Learning returns the series the latest evaluation could not forecast yet
// for want of history.
func (e *Evaluator) Learning() []Learning {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.learning)
}

// Active returns the pending and firing alerts.
func (e *Evaluator) Active() []ActiveAlert {
	e.evalMu.Lock()
	defer e.evalMu.Unlock()
	return e.tracker.Active()
}

// Evaluate runs every rule at now and sends the resulting alerts. A series
// that cannot be read or forecast is logged and skipped, not fatal: the
// other rules still run. The error reports what failed.
func (e *Evaluator) Evaluate(ctx context.Context, now time.Time) error {
	e.evalMu.Lock()
	defer e.evalMu.Unlock()
	start := time.Now()
	defer func() { e.duration.Observe(time.Since(start).Seconds()) }()
	e.evaluations.Inc()
	if e.o.Started.IsZero() {
		e.o.Started = now
	}

	var conds []Condition
	var forecasts []SeriesForecast
	var learning []Learning
	var errs []error
	for _, c := range e.o.Clusters {
		conds = append(conds, e.collectionDown(c, now)...)
		latest, ok := e.o.Present.Latest(c.Name)
		if !ok {
			continue
		}
		conds = append(conds, e.nodePressure(c.Name, latest)...)
		conds = append(conds, e.nPlusOne(c.Name, latest)...)
		cs, fs, ls, err := e.exhaustion(c.Name, latest, now)
		conds = append(conds, cs...)
		forecasts = append(forecasts, fs...)
		learning = append(learning, ls...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	e.mu.Lock()
	e.forecasts, e.learning = forecasts, learning
	e.mu.Unlock()

	alerts := e.tracker.Update(now, conds)
	e.firing.Reset()
	for _, a := range e.tracker.Active() {
		e.firing.WithLabelValues(a.Labels["alertname"], a.State.String()).Inc()
	}
	if e.o.Notifier != nil && len(alerts) > 0 {
		if err := e.o.Notifier.Notify(ctx, alerts); err != nil {
			errs = append(errs, fmt.Errorf("notify: %w", err))
		}
	}
	err := errors.Join(errs...)
	if err != nil {
		e.failures.Inc()
	}
	return err
}

func (e *Evaluator) condition(name, severity string, labels map[string]string, pending time.Duration,
	summary, description, generator string) Condition {
	l := map[string]string{"alertname": name, "severity": severity}
	for k, v := range labels {
		l[k] = v
	}
	return Condition{
		Labels: l, For: pending, GeneratorURL: generator,
		Annotations: map[string]string{"summary": summary, "description": description,
			"runbook_url": e.o.RunbookURL + "#" + lower(name)},
	}
}

func (e *Evaluator) generatorURL(cluster, pool string) string {
	if e.o.ExternalURL == "" {
		return ""
	}
	q := url.Values{"cluster": {cluster}}
	if pool != "" {
		q.Set("pool", pool)
	}
	return e.o.ExternalURL + "/api/v1/forecast?" + q.Encode()
}

func (e *Evaluator) collectionDown(c Cluster, now time.Time) []Condition {
	last := c.LastSuccess()
	since := last
	if since.IsZero() {
		since = e.o.Started
	}
	limit := time.Duration(e.rules.CollectionDownAfter) * c.Interval
	if now.Sub(since) <= limit {
		return nil
	}
	what := "has not completed a collection cycle since headroomd started " + since.Format(time.RFC3339)
	if !last.IsZero() {
		what = "last completed a collection cycle at " + last.Format(time.RFC3339)
	}
	return []Condition{e.condition(NameCollectionDown, "critical", map[string]string{"cluster": c.Name}, 0,
		fmt.Sprintf("headroomd cannot collect cluster %s", c.Name),
		fmt.Sprintf("Cluster %s %s (%s ago, more than %d intervals of %s): its usage is not written to InfluxDB and its forecasts go stale.",
			c.Name, what, Human(now.Sub(since)), e.rules.CollectionDownAfter, c.Interval),
		e.generatorURL(c.Name, ""))}
}

func (e *Evaluator) nodePressure(cluster string, l history.Latest) []Condition {
	var out []Condition
	for _, n := range l.Nodes {
		for _, p := range []struct {
			on       bool
			resource string
		}{{n.MemoryPressure, "memory"}, {n.DiskPressure, "disk"}, {n.PIDPress, "pid"}} {
			if !p.on {
				continue
			}
			out = append(out, e.condition(NameNodePressure, "warning",
				map[string]string{"cluster": cluster, "pool": n.Pool, "node": n.Name, "resource": p.resource},
				e.rules.NodePressureFor,
				fmt.Sprintf("node %s of %s reports %s pressure", n.Name, cluster, p.resource),
				fmt.Sprintf("The kubelet of node %s (pool %s, cluster %s) reports the %sPressure condition: it evicts pods and the scheduler avoids the node.",
					n.Name, orAll(n.Pool), cluster, title(p.resource)),
				e.generatorURL(cluster, n.Pool)))
		}
	}
	return out
}

func (e *Evaluator) nPlusOne(cluster string, l history.Latest) []Condition {
	var out []Condition
	_, ps := l.Totals()
	for _, name := range l.Pools() {
		p := ps[name]
		for _, r := range history.Resources {
			req, left := p.Requested.Get(r), p.Allocatable.Get(r)-p.Largest.Get(r)
			if req <= left || req == 0 {
				continue
			}
			out = append(out, e.condition(NameNPlusOne, "warning",
				map[string]string{"cluster": cluster, "pool": name, "resource": string(r)}, e.rules.NPlusOneFor,
				fmt.Sprintf("pool %s of %s cannot lose a node: %s requests exceed capacity minus the largest node", orAll(name), cluster, r),
				fmt.Sprintf("Pods in pool %s of cluster %s request %s of %s; without its largest node (%s) only %s would be left, so losing one node leaves pods Pending. Add a node to the pool or lower requests.",
					orAll(name), cluster, Amount(r, req), Amount(r, p.Allocatable.Get(r)), Amount(r, p.Largest.Get(r)), Amount(r, left)),
				e.generatorURL(cluster, name)))
		}
	}
	return out
}

// exhaustion forecasts, per pool and for the whole cluster, each resource's
// requests and use, and fires for pools whose ETA is near. Series with too
// little history are returned as learning.
func (e *Evaluator) exhaustion(cluster string, l history.Latest, now time.Time) ([]Condition, []SeriesForecast, []Learning, error) {
	var conds []Condition
	var out []SeriesForecast
	var learning []Learning
	var errs []error
	all, ps := l.Totals()
	type scope struct {
		key    history.Key
		totals *history.Totals
	}
	scopes := []scope{{history.Key{Cluster: cluster, Scope: history.ScopeCluster}, all}}
	for _, pool := range l.Pools() {
		scopes = append(scopes, scope{history.Key{Cluster: cluster, Scope: history.ScopePool, Name: pool}, ps[pool]})
	}
	for _, sc := range scopes {
		k, totals := sc.key, sc.totals
		for _, r := range history.Resources {
			for _, kind := range []history.Kind{history.Requested, history.Used} {
				if r == history.Pods && kind == history.Used {
					continue // the same as requested
				}
				k.Resource, k.Kind = r, kind
				alloc := totals.Allocatable.Get(r)
				if alloc <= 0 {
					continue
				}
				f, learn, err := e.forecastOne(k, alloc, now)
				if err != nil {
					errs = append(errs, err)
					e.o.Logger.Warn("forecast failed", "series", k.String(), "err", err)
					continue
				}
				if learn != nil {
					learning = append(learning, *learn)
					continue
				}
				out = append(out, f)
				if k.Scope != history.ScopePool {
					continue // alerts are per pool; the cluster total is for reading
				}
				eta := f.ETA.eta
				for _, sev := range []struct {
					name  string
					limit time.Duration
				}{{"warning", e.rules.Warning}, {"critical", e.rules.Critical}} {
					if !eta.Reached() || eta.Expected >= sev.limit {
						continue
					}
					conds = append(conds, e.exhaustionCondition(f, sev.name))
				}
			}
		}
	}
	return conds, out, learning, errors.Join(errs...)
}

func (e *Evaluator) exhaustionCondition(f SeriesForecast, severity string) Condition {
	eta := f.ETA.eta
	what := map[history.Kind]string{history.Requested: "requests", history.Used: "use"}[f.Kind]
	bounds := fmt.Sprintf("between %s and %s", Human(eta.Earliest), Human(eta.Latest))
	if eta.Latest < 0 {
		bounds = fmt.Sprintf("between %s and later than %s", Human(eta.Earliest), Human(eta.Horizon))
	}
	return e.condition(NameExhaustion, severity,
		map[string]string{"cluster": f.Cluster, "pool": f.Pool, "resource": string(f.Resource), "kind": string(f.Kind)},
		e.rules.ExhaustionFor,
		fmt.Sprintf("%s %s in pool %s of %s reach %g%% of allocatable in %s", f.Resource, what, orAll(f.Pool), f.Cluster, f.Percent, Human(eta.Expected)),
		fmt.Sprintf("%s %s in pool %s of cluster %s are %s of %s allocatable now; forecast (%s, from %s of history) to reach %g%% (%s) in %s, %s (80%% interval). In 24 h: %s.",
			title(string(f.Resource)), what, orAll(f.Pool), f.Cluster, Amount(f.Resource, f.Now), Amount(f.Resource, f.Allocatable),
			f.Method, Human(time.Duration(f.History)), f.Percent, Amount(f.Resource, f.Threshold), Human(eta.Expected), bounds,
			Amount(f.Resource, f.In24h.Mean)),
		e.generatorURL(f.Cluster, f.Pool))
}

// forecastOne forecasts one series, or says how much history it still
// lacks.
func (e *Evaluator) forecastOne(k history.Key, alloc float64, now time.Time) (SeriesForecast, *Learning, error) {
	step := e.rules.Step
	s, err := e.o.History.Series(k, now.Add(-e.rules.Lookback), now, step)
	if err != nil {
		return SeriesForecast{}, nil, err
	}
	s = trim(s)
	observed := 0
	for _, v := range s.Values {
		if !math.IsNaN(v) {
			observed++
		}
	}
	if observed < 2 || time.Duration(observed)*step < e.rules.MinHistory {
		latest := last(s)
		if math.IsNaN(latest) {
			latest = 0 // nothing recorded yet; JSON has no NaN
		}
		return SeriesForecast{}, &Learning{SeriesID: IDOf(k), At: now, Now: latest, Allocatable: alloc,
			History: Seconds(time.Duration(observed) * step), Needs: Seconds(e.rules.MinHistory)}, nil
	}
	horizon := max(e.rules.Warning, 7*24*time.Hour) + step
	h := int(horizon / step)
	// The series ends at its last value; the forecast must reach now + horizon.
	h += int(now.Sub(s.End()) / step)

	sel, cached := e.selections[k]
	fresh := cached && now.Sub(sel.at) < e.rules.Reselect
	var near forecast.Forecast
	if fresh {
		near, err = sel.sel.Forecast(s, h)
	}
	if !fresh || err != nil {
		chosen, serr := e.o.Forecaster.Select(s)
		if serr != nil {
			delete(e.selections, k)
			return SeriesForecast{}, nil, fmt.Errorf("%s: %w", k, serr)
		}
		// Counted as made up to half a Reselect earlier, by key, so that
		// series chosen in one evaluation (as all are at start) come due
		// over half an hour rather than all in one evaluation: a choice
		// costs about a second per series (README, Forecast accuracy).
		sel = selection{sel: chosen, at: now.Add(-stagger(k, e.rules.Reselect/2))}
		e.selections[k] = sel
		near, err = chosen.Forecast(s, h)
	}
	if err != nil {
		return SeriesForecast{}, nil, fmt.Errorf("%s: %w", k, err)
	}
	f, trend := near, false
	far, err := forecast.Trend{}.Forecast(s, h)
	switch {
	case err == nil:
		f, trend = splice(near, far, int(NearHorizon/step)), true
	case !errors.Is(err, forecast.ErrTooShort):
		return SeriesForecast{}, nil, fmt.Errorf("%s: %w", k, err)
	}
	pct := e.rules.RequestedPercent
	if k.Kind == history.Used {
		pct = e.rules.UsedPercent
	}
	threshold := pct / 100 * alloc
	out := SeriesForecast{
		SeriesID: IDOf(k), At: now,
		Now: last(s), Allocatable: alloc, Threshold: threshold, Percent: pct,
		In24h: at(f, now.Add(24*time.Hour)), In7d: at(f, now.Add(7*24*time.Hour)),
		ETA: ETAOf(f.ETA(threshold, now)), Method: methodOf(sel.sel, trend),
		History: Seconds(time.Duration(s.Len()) * step),
		path:    thin(from(f, now), pathPoints),
	}
	return out, nil, nil
}

// stagger is a duration in [0, spread) fixed by k.
func stagger(k history.Key, spread time.Duration) time.Duration {
	if spread <= 0 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(k.String()))
	return time.Duration(h.Sum64() % uint64(spread))
}

// NearHorizon is how far ahead the forecaster chosen by backtest (Auto)
// is consulted. Beyond it, where a backtest cannot choose until weeks of
// history exist, the trend and daily profile of the last week are used
// (forecast.Trend); within it, the higher of the two, so that neither a
// sudden rise Auto follows nor a steady growth a seasonal choice lags is
// missed. With less than two days of history, Auto's choice alone.
const NearHorizon = 24 * time.Hour

// splice is the higher of near and far for the first cut steps, far after.
func splice(near, far forecast.Forecast, cut int) forecast.Forecast {
	f := far
	f.Mean, f.Lower, f.Upper = slices.Clone(far.Mean), slices.Clone(far.Lower), slices.Clone(far.Upper)
	for i := range min(cut, f.Len(), near.Len()) {
		f.Mean[i] = max(f.Mean[i], near.Mean[i])
		f.Lower[i] = max(f.Lower[i], near.Lower[i])
		f.Upper[i] = max(f.Upper[i], near.Upper[i])
	}
	return f
}

// methodOf names the forecast: Auto's choice for its longest band, and
// the trend when it was used.
func methodOf(sel forecast.Selection, trend bool) string {
	near := "auto"
	if len(sel.Bands) > 0 {
		near = sel.Bands[len(sel.Bands)-1].Method
	}
	if !trend {
		return near
	}
	return "max(" + near + ", trend) to 24h, trend after"
}

// from is f from the step holding t on.
func from(f forecast.Forecast, t time.Time) forecast.Forecast {
	i := min(max(0, int(t.Sub(f.Start)/f.Step)), f.Len())
	return forecast.Forecast{Method: f.Method, Start: f.Time(i), Step: f.Step,
		Mean: f.Mean[i:], Lower: f.Lower[i:], Upper: f.Upper[i:]}
}

// at is f's value at t, clamped to the forecast's steps.
func at(f forecast.Forecast, t time.Time) Range {
	i := min(max(0, int(t.Sub(f.Start)/f.Step)), f.Len()-1)
	return Range{Mean: f.Mean[i], Lower: f.Lower[i], Upper: f.Upper[i]}
}

// trim drops leading and trailing gaps: before the series was first
// recorded, and steps not recorded yet.
func trim(s forecast.Series) forecast.Series {
	i, j := 0, len(s.Values)
	for i < j && math.IsNaN(s.Values[i]) {
		i++
	}
	for j > i && math.IsNaN(s.Values[j-1]) {
		j--
	}
	return forecast.Series{Start: s.Time(i), Step: s.Step, Values: s.Values[i:j]}
}

func last(s forecast.Series) float64 {
	if len(s.Values) == 0 {
		return math.NaN()
	}
	return s.Values[len(s.Values)-1]
}
