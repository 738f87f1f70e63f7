package alert

import (
	"maps"
	"slices"
	"strings"
	"time"
)

// ResolvedRetention is how long a resolved alert is still sent.
const ResolvedRetention = 15 * time.Minute

// Condition is what a rule found true at one evaluation.
type Condition struct {
	// Labels identify the alert: alertname, cluster, severity and the
	// rule's own (resource, pool, kind, node).
	Labels map[string]string
	// Annotations describe it now (summary, description, runbook_url);
	// they may change between evaluations without changing the alert.
	Annotations map[string]string
	// For is how long the condition must hold before the alert fires.
	For time.Duration
	// GeneratorURL links to where the condition can be seen.
	GeneratorURL string
}

// Alert is what is sent to Alertmanager.
type Alert struct {
	Labels, Annotations map[string]string
	StartsAt, EndsAt    time.Time
	GeneratorURL        string
}

// Resolved says whether a is sent as resolved (its end is not in the future).
func (a Alert) Resolved(now time.Time) bool { return !a.EndsAt.After(now) }

// State is where an alert is.
type State int

// States.
const (
	Pending State = iota
	Firing
	Inactive // resolved, still sent for ResolvedRetention
)

func (s State) String() string { return [...]string{"pending", "firing", "inactive"}[s] }

type tracked struct {
	cond       Condition
	state      State
	activeAt   time.Time // when the condition began to hold
	firedAt    time.Time
	resolvedAt time.Time
}

// Tracker holds alerts across evaluations. Not safe for concurrent use:
// one evaluation at a time calls Update.
type Tracker struct {
	// Interval is the evaluation interval: firing alerts end 4 intervals
	// after each evaluation unless sent again.
	Interval time.Duration
	alerts   map[string]*tracked
}

// NewTracker returns a Tracker for evaluations every interval.
func NewTracker(interval time.Duration) *Tracker {
	return &Tracker{Interval: interval, alerts: map[string]*tracked{}}
}

// Update takes the conditions true at now and returns the alerts to send:
// the firing ones and those resolved within ResolvedRetention, in label
// order. Pending alerts are not sent.
func (t *Tracker) Update(now time.Time, conds []Condition) []Alert {
	seen := make(map[string]bool, len(conds))
	for _, c := range conds {
		id := fingerprint(c.Labels)
		seen[id] = true
		a := t.alerts[id]
		if a == nil || a.state == Inactive {
			a = &tracked{state: Pending, activeAt: now}
			t.alerts[id] = a
		}
		a.cond = c
		if a.state == Pending && now.Sub(a.activeAt) >= c.For {
			a.state, a.firedAt = Firing, now
		}
	}
	for id, a := range t.alerts {
		if seen[id] {
			continue
		}
		switch {
		case a.state == Pending:
			delete(t.alerts, id)
		case a.state == Firing:
			a.state, a.resolvedAt = Inactive, now
		case now.Sub(a.resolvedAt) > ResolvedRetention:
			delete(t.alerts, id)
		}
	}
	var out []Alert
	for _, id := range slices.Sorted(maps.Keys(t.alerts)) {
		a := t.alerts[id]
		al := Alert{Labels: a.cond.Labels, Annotations: a.cond.Annotations, StartsAt: a.firedAt,
			GeneratorURL: a.cond.GeneratorURL}
		switch a.state {
		case Pending:
			continue
		case Firing:
			al.EndsAt = now.Add(4 * t.Interval)
		case Inactive:
			al.EndsAt = a.resolvedAt
		}
		out = append(out, al)
	}
	return out
}

// Active lists the pending and firing alerts with their state, in label
// order, for the status page and the report.
func (t *Tracker) Active() []ActiveAlert {
	var out []ActiveAlert
	for _, id := range slices.Sorted(maps.Keys(t.alerts)) {
		a := t.alerts[id]
		if a.state == Inactive {
			continue
		}
		out = append(out, ActiveAlert{Labels: a.cond.Labels, Annotations: a.cond.Annotations,
			State: a.state, ActiveAt: a.activeAt})
	}
	return out
}

// ActiveAlert is a pending or firing alert.
type ActiveAlert struct {
	Labels, Annotations map[string]string
	State               State
	ActiveAt            time.Time
}

// fingerprint is a canonical form of a label set.
func fingerprint(labels map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		b.WriteString(k)
		b.WriteByte(0)
		b.WriteString(labels[k])
		b.WriteByte(0)
	}
	return b.String()
}
