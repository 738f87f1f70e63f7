package app

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes/fake"

	"github.com/headroomhq/headroom"
	"github.com/headroomhq/headroom/capacity/alert"
	"github.com/headroomhq/headroom/capacity/history"
	"github.com/headroomhq/headroom/collector"
)

type discardSink struct{}

func (discardSink) Write(context.Context, []headroom.Point) error { return nil }

// testAPI is the read API over one cluster, osl2, whose history holds ten
// one-minute steps of one 4-core node ending at now.
func testAPI(t *testing.T, now time.Time) *http.ServeMux {
	t.Helper()
	st, err := history.Open(history.Options{Path: filepath.Join(t.TempDir(), "h.db"), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	rec := history.NewRecorder(history.RecorderOptions{Store: st, Step: time.Minute})
	for i := 10; i > 0; i-- {
		rec.Record([]headroom.Point{{Measurement: "node", Time: now.Add(-time.Duration(i) * time.Minute),
			Tags: []headroom.Tag{{Key: "cluster", Value: "osl2"}, {Key: "node", Value: "n1"}, {Key: "pool", Value: "general"}},
			Fields: []headroom.Field{{Key: "cpu_allocatable_cores", Value: 4.0}, {Key: "cpu_requested_cores", Value: 1.5},
				{Key: "cpu_usage_cores", Value: 0.5}}}})
	}
	rec.Flush()
	c, err := collector.NewCluster(collector.ClusterOptions{Name: "osl2", Client: fake.NewClientset(), Sink: discardSink{},
		NodeScraper: &collector.KubeletScraper{}})
	if err != nil {
		t.Fatal(err)
	}
	api := &readAPI{clusters: []*collector.Cluster{c}, hist: st, rec: rec,
		ev:        alert.NewEvaluator(alert.EvaluatorOptions{History: st, Present: rec}),
		decisions: func() []Decision { return nil }, step: time.Minute, retention: 35 * 24 * time.Hour,
		now: func() time.Time { return now }}
	mux := http.NewServeMux()
	api.register(mux)
	return mux
}

func get(t *testing.T, mux *http.ServeMux, url string) (int, string) {
	t.Helper()
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, url, nil))
	return w.Code, w.Body.String()
}

// TestReadAPISeries: the history of a cluster comes back per step, null
// where nothing was recorded; bad parameters are 400s naming the parameter,
// an unknown cluster a 404 naming the known ones.
func TestReadAPISeries(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	mux := testAPI(t, now)
	code, body := get(t, mux, "/api/v1/series?cluster=osl2&range=20m")
	if code != http.StatusOK {
		t.Fatalf("%d %s", code, body)
	}
	var s struct {
		Start                        time.Time
		Step                         float64 `json:"step_seconds"`
		Requested, Used, Allocatable []*float64
		Forecasts, Learning          map[string]json.RawMessage
	}
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatal(err)
	}
	if s.Step != 60 || len(s.Requested) != 20 || !s.Start.Equal(now.Add(-20*time.Minute)) {
		t.Fatalf("step %v, %d steps from %v: %s", s.Step, len(s.Requested), s.Start, body)
	}
	if s.Requested[0] != nil || s.Requested[19] == nil || *s.Requested[19] != 1.5 || *s.Allocatable[19] != 4 || *s.Used[19] != 0.5 {
		t.Errorf("values: %s", body)
	}
	// A long range is thinned to at most seriesPoints steps, each a whole
	// number of the history's steps.
	if _, body := get(t, mux, "/api/v1/series?cluster=osl2&range=168h&resource=memory"); !strings.Contains(body, `"step_seconds":2520`) {
		t.Errorf("7 days: %.200s", body)
	}
	// A range beyond the history's retention is cut to it.
	if _, body := get(t, mux, "/api/v1/series?cluster=osl2&range=2000h"); !strings.Contains(body, `"step_seconds":12600`) {
		t.Errorf("2000h: %.200s", body)
	}
	// pool=P is the pool's series; pool= the nodes without a pool label.
	if _, body := get(t, mux, "/api/v1/series?cluster=osl2&range=20m&pool=general"); !strings.Contains(body, `"scope":"pool","pool":"general"`) ||
		!strings.Contains(body, `1.5]`) {
		t.Errorf("pool general: %.300s", body)
	}
	if _, body := get(t, mux, "/api/v1/series?cluster=osl2&range=20m&pool="); !strings.Contains(body, `"scope":"pool","pool":""`) ||
		strings.Contains(body, `1.5`) {
		t.Errorf("pool without a label: %.300s", body)
	}
	if code, body := get(t, mux, "/api/v1/checks"); code != 200 || body != "{\"checks\":[]}\n" {
		t.Errorf("no checks yet: %d %q", code, body)
	}
	for url, want := range map[string]string{
		"/api/v1/series?cluster=osl2&resource=disk": `resource \"disk\": want cpu, memory or pods`,
		"/api/v1/series?cluster=osl2&range=1y":      `range \"1y\": want a duration of at least 1m0s`,
		"/api/v1/series?cluster=osl2&range=10s":     `range \"10s\"`,
		"/api/v1/series?cluster=osl9":               `cluster \"osl9\" is not watched by this headroomd; it watches osl2`,
		"/api/v1/top?by=rack":                       `by \"rack\": want node, pool, namespace or app`,
		"/api/v1/top?cluster=osl9":                  `cluster \"osl9\" is not watched`,
	} {
		code, body := get(t, mux, url)
		if code/100 != 4 || !strings.Contains(body, want) {
			t.Errorf("%s: %d %s, want %q", url, code, body, want)
		}
	}
	// Informers that have not synced leave the cluster out, with a warning.
	if code, body := get(t, mux, "/api/v1/top?by=pool"); code != 200 || !strings.Contains(body, `"rows":[]`) ||
		!strings.Contains(body, "cluster osl2: left out: its informers have not synced yet") {
		t.Errorf("top: %d %s", code, body)
	}
	if code, body := get(t, mux, "/api/v1/clusters"); code != 200 || !strings.Contains(body, `"name":"osl2","synced":false`) ||
		!strings.Contains(body, `"allocatable":{"cpu":4`) {
		t.Errorf("clusters: %d %s", code, body)
	}
}

// TestDecisionsKeepTheLatest: the gate's decisions are kept newest first,
// at most maxDecisions.
func TestDecisionsKeepTheLatest(t *testing.T) {
	var d decisions
	for i := range maxDecisions + 5 {
		d.add(Decision{ReplicasRequested: i})
	}
	got := d.latest()
	if len(got) != maxDecisions || got[0].ReplicasRequested != maxDecisions+4 || got[maxDecisions-1].ReplicasRequested != 5 {
		t.Errorf("%d decisions, first %d, last %d", len(got), got[0].ReplicasRequested, got[len(got)-1].ReplicasRequested)
	}
}
