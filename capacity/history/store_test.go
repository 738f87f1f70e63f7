package history

import (
	"errors"
	"math"
	"path/filepath"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)

func openTemp(t *testing.T, o Options) *Store {
	t.Helper()
	if o.Path == "" {
		o.Path = filepath.Join(t.TempDir(), "history.db")
	}
	o.NoSync = true
	s, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestKeyRoundTrip(t *testing.T) {
	for _, k := range []Key{
		{Cluster: "osl2", Scope: ScopeCluster, Resource: CPU, Kind: Allocatable},
		{Cluster: "osl2", Scope: ScopePool, Name: "general", Resource: Memory, Kind: Used},
		{Cluster: "ksd1", Scope: ScopeNamespace, Name: "kube-system", Resource: Pods, Kind: Requested},
		{Cluster: "ksd1", Scope: ScopePool, Name: "", Resource: Pods, Kind: Requested}, // nodes without a pool label
	} {
		got, err := ParseKey(k.String())
		if err != nil || got != k {
			t.Errorf("ParseKey(%q) = %+v, %v; want %+v", k.String(), got, err, k)
		}
	}
	for _, bad := range []string{"", "osl2", "osl2/cluster/cpu", "osl2/pool/cpu/used", "osl2/cluster=x/cpu/used",
		"osl2/zone=a/cpu/used", "osl2/cluster/gpu/used", "osl2/cluster/cpu/free", "/cluster/cpu/used"} {
		if _, err := ParseKey(bad); err == nil {
			t.Errorf("ParseKey(%q): no error", bad)
		}
	}
}

func TestSeriesMeansStepsAndMarksGaps(t *testing.T) {
	s := openTemp(t, Options{})
	k := Key{Cluster: "osl2", Scope: ScopePool, Name: "general", Resource: Memory, Kind: Used}
	other := k.With(Requested)
	for i, v := range []float64{10, 20, 30, math.NaN(), 50} {
		if i == 3 {
			continue // a gap
		}
		if err := s.Append(t0.Add(time.Duration(i)*time.Minute), []Sample{{k, v}, {other, -v}}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Series(k, t0, t0.Add(5*time.Minute), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{10, 20, 30, math.NaN(), 50}
	if !got.Start.Equal(t0) || got.Step != time.Minute || !sameValues(got.Values, want) {
		t.Fatalf("Series = %v from %v; want %v from %v", got.Values, got.Start, want, t0)
	}
	// Coarser: means of pairs; a step half empty is the mean of what it has.
	got, err = s.Series(k, t0, t0.Add(6*time.Minute), 2*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if want := []float64{15, 30, 50}; !sameValues(got.Values, want) {
		t.Fatalf("2m series = %v, want %v", got.Values, want)
	}
	// A range with nothing and a key never written are all gaps, not errors.
	got, err = s.Series(Key{Cluster: "nowhere", Scope: ScopeCluster, Resource: CPU, Kind: Used}, t0, t0.Add(2*time.Minute), time.Minute)
	if err != nil || len(got.Values) != 2 || !math.IsNaN(got.Values[0]) {
		t.Fatalf("unknown key: %v, %v", got.Values, err)
	}
	if _, err := s.Series(k, t0, t0.Add(time.Hour), 0); err == nil {
		t.Fatal("step 0: no error")
	}
	last, v, ok, err := s.Last(k)
	if err != nil || !ok || v != 50 || !last.Equal(t0.Add(4*time.Minute)) {
		t.Fatalf("Last = %v %v %v %v", last, v, ok, err)
	}
}

func TestRetentionDropsOldValuesAndEmptySeries(t *testing.T) {
	s := openTemp(t, Options{Retention: 2 * time.Hour})
	old := Key{Cluster: "osl2", Scope: ScopeNamespace, Name: "gone", Resource: CPU, Kind: Used}
	kept := Key{Cluster: "osl2", Scope: ScopeCluster, Resource: CPU, Kind: Used}
	if err := s.Append(t0, []Sample{{old, 1}, {kept, 1}}); err != nil {
		t.Fatal(err)
	}
	for h := 1; h <= 3; h++ {
		if err := s.Append(t0.Add(time.Duration(h)*time.Hour), []Sample{{kept, float64(h)}}); err != nil {
			t.Fatal(err)
		}
	}
	keys, err := s.Keys()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0] != kept {
		t.Fatalf("keys after retention = %v, want only %v", keys, kept)
	}
	got, _ := s.Series(kept, t0, t0.Add(4*time.Hour), time.Hour)
	if want := []float64{math.NaN(), 1, 2, 3}; !sameValues(got.Values, want) {
		t.Fatalf("kept = %v, want %v", got.Values, want)
	}
}

func TestStoreSurvivesReopenAndIsLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	s, err := Open(Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	k := Key{Cluster: "osl3", Scope: ScopeCluster, Resource: Pods, Kind: Allocatable}
	if err := s.Append(t0, []Sample{{k, 330}}); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(Options{Path: path, LockTimeout: 50 * time.Millisecond}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTemp(t, Options{Path: path})
	if empty, err := s.Empty(); err != nil || empty {
		t.Fatalf("Empty after reopen = %v, %v", empty, err)
	}
	_, v, ok, err := s.Last(k)
	if err != nil || !ok || v != 330 {
		t.Fatalf("Last after reopen = %v %v %v", v, ok, err)
	}
}

func sameValues(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.IsNaN(a[i]) != math.IsNaN(b[i]) || (!math.IsNaN(a[i]) && math.Abs(a[i]-b[i]) > 1e-9) {
			return false
		}
	}
	return true
}
