package alert

import (
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

func cond(severity string, pending time.Duration) Condition {
	return Condition{Labels: map[string]string{"alertname": "HeadroomExhaustionForecast", "cluster": "osl2",
		"severity": severity}, Annotations: map[string]string{"summary": "x"}, For: pending}
}

func TestTrackerPendingFiringResolved(t *testing.T) {
	tr := NewTracker(time.Minute)
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	c := cond("warning", 3*time.Minute)

	// Pending for 3 minutes: nothing sent.
	for m := 0; m < 3; m++ {
		if got := tr.Update(at(m), []Condition{c}); len(got) != 0 {
			t.Fatalf("minute %d: sent %v while pending", m, got)
		}
	}
	if a := tr.Active(); len(a) != 1 || a[0].State != Pending || !a[0].ActiveAt.Equal(at(0)) {
		t.Fatalf("Active = %+v", a)
	}
	// Fires at minute 3; re-sent every evaluation with the same startsAt
	// and endsAt 4 intervals ahead.
	for m := 3; m < 6; m++ {
		got := tr.Update(at(m), []Condition{c})
		if len(got) != 1 || !got[0].StartsAt.Equal(at(3)) || !got[0].EndsAt.Equal(at(m+4)) || got[0].Resolved(at(m)) {
			t.Fatalf("minute %d: %+v", m, got)
		}
	}
	// Resolves at minute 6: sent with endsAt = 6 for 15 minutes, then no more.
	for m := 6; m <= 6+15; m++ {
		got := tr.Update(at(m), nil)
		if len(got) != 1 || !got[0].EndsAt.Equal(at(6)) || !got[0].StartsAt.Equal(at(3)) || !got[0].Resolved(at(m)) {
			t.Fatalf("minute %d after resolving: %+v", m, got)
		}
	}
	if got := tr.Update(at(22), nil); len(got) != 0 {
		t.Fatalf("still sent 16 minutes after resolving: %+v", got)
	}
}

func TestTrackerPendingThatClearsIsNeverSent(t *testing.T) {
	tr := NewTracker(time.Minute)
	c := cond("critical", 5*time.Minute)
	tr.Update(t0, []Condition{c})
	tr.Update(t0.Add(4*time.Minute), []Condition{c})
	if got := tr.Update(t0.Add(5*time.Minute), nil); len(got) != 0 {
		t.Fatalf("a pending alert that cleared was sent: %+v", got)
	}
	// Holding again starts the pending time over.
	tr.Update(t0.Add(6*time.Minute), []Condition{c})
	if got := tr.Update(t0.Add(10*time.Minute), []Condition{c}); len(got) != 0 {
		t.Fatalf("fired before holding 5 minutes again: %+v", got)
	}
	if got := tr.Update(t0.Add(11*time.Minute), []Condition{c}); len(got) != 1 || !got[0].StartsAt.Equal(t0.Add(11*time.Minute)) {
		t.Fatalf("did not fire after 5 minutes: %+v", got)
	}
}

func TestTrackerRefiresAfterResolvingWithANewStart(t *testing.T) {
	tr := NewTracker(time.Minute)
	c := cond("warning", 0)
	if got := tr.Update(t0, []Condition{c}); len(got) != 1 {
		t.Fatalf("For 0 did not fire at once: %+v", got)
	}
	tr.Update(t0.Add(time.Minute), nil)
	got := tr.Update(t0.Add(2*time.Minute), []Condition{c})
	if len(got) != 1 || !got[0].StartsAt.Equal(t0.Add(2*time.Minute)) || got[0].Resolved(t0.Add(2*time.Minute)) {
		t.Fatalf("re-fired alert: %+v", got)
	}
	// Two severities are two alerts.
	got = tr.Update(t0.Add(3*time.Minute), []Condition{c, cond("critical", 0)})
	if len(got) != 2 || got[0].Labels["severity"] != "critical" || got[1].Labels["severity"] != "warning" {
		t.Fatalf("two severities: %+v", got)
	}
}
