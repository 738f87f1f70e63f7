package app

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/headroomhq/headroom/capacity"
	"github.com/headroomhq/headroom/capacity/alert"
	"github.com/headroomhq/headroom/capacity/history"
	"github.com/headroomhq/headroom/collector"
)

// readAPI serves what the capacity page and `headroom top --server` read:
// the clusters' latest state, their history with its forecast, top per
// node, pool, namespace or app, and the latest gate decisions. Every
// answer is JSON; a bad parameter is a 400 that names it.
type readAPI struct {
	clusters   []*collector.Cluster
	poolLabels map[string][]string
	hist       *history.Store
	rec        *history.Recorder
	ev         *alert.Evaluator
	decisions  func() []Decision
	step       time.Duration // the history's
	retention  time.Duration
	now        func() time.Time
}

func (a *readAPI) register(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/clusters", a.serveClusters)
	mux.HandleFunc("GET /api/v1/series", a.serveSeries)
	mux.HandleFunc("GET /api/v1/top", a.serveTop)
	mux.HandleFunc("GET /api/v1/checks", func(w http.ResponseWriter, _ *http.Request) {
		checks := a.decisions()
		if checks == nil {
			checks = []Decision{} // [] in JSON, not null
		}
		writeJSON(w, http.StatusOK, map[string]any{"checks": checks})
	})
}

func (a *readAPI) cluster(name string) (*collector.Cluster, error) {
	var names []string
	for _, c := range a.clusters {
		if c.Name() == name {
			return c, nil
		}
		names = append(names, c.Name())
	}
	return nil, fmt.Errorf("cluster %q is not watched by this headroomd; it watches %s", name, strings.Join(names, ", "))
}

// amounts is cpu in cores, memory in bytes, pods.
type amounts struct {
	CPU    float64 `json:"cpu"`
	Memory float64 `json:"memory"`
	Pods   float64 `json:"pods"`
}

func amountsOf(a history.Amounts) amounts { return amounts{a.CPU, a.Memory, a.Pods} }

type scopeState struct {
	Name        string  `json:"name"` // the pool's; "" for the whole cluster
	Nodes       int     `json:"nodes"`
	Allocatable amounts `json:"allocatable"`
	Requested   amounts `json:"requested"`
	Used        amounts `json:"used"`
	// UsageComplete is false when a node was not read or a rate is not
	// known yet: Used is then short.
	UsageComplete bool `json:"usage_complete"`
}

type clusterState struct {
	Name        string       `json:"name"`
	Synced      bool         `json:"synced"`
	LastSuccess *time.Time   `json:"last_success"`
	Latest      *time.Time   `json:"latest"`
	Total       *scopeState  `json:"total"`
	Pools       []scopeState `json:"pools"`
}

func scopeOf(name string, t *history.Totals) scopeState {
	return scopeState{Name: name, Nodes: t.Nodes, Allocatable: amountsOf(t.Allocatable),
		Requested: amountsOf(t.Requested), Used: amountsOf(t.Used), UsageComplete: t.CPUUsage && t.MemoryUsage}
}

// serveClusters answers GET /api/v1/clusters: each cluster's latest cycle,
// whole and per pool.
func (a *readAPI) serveClusters(w http.ResponseWriter, _ *http.Request) {
	out := []clusterState{}
	for _, c := range a.clusters {
		s := clusterState{Name: c.Name(), Synced: c.Synced(), Pools: []scopeState{}}
		if t := c.LastSuccess(); !t.IsZero() {
			s.LastSuccess = &t
		}
		if l, ok := a.rec.Latest(c.Name()); ok {
			s.Latest = &l.Time
			total, pools := l.Totals()
			ts := scopeOf("", total)
			s.Total = &ts
			for _, name := range l.Pools() {
				s.Pools = append(s.Pools, scopeOf(name, pools[name]))
			}
		}
		out = append(out, s)
	}
	writeJSON(w, http.StatusOK, map[string]any{"clusters": out})
}

// seriesPoints bounds the points of a history answer.
const seriesPoints = 240

// forecastPath is a forecast as the page draws it.
type forecastPath struct {
	Method    string     `json:"method"`
	At        time.Time  `json:"at"`
	Threshold float64    `json:"threshold"`
	Percent   float64    `json:"threshold_percent"`
	ETA       alert.ETA  `json:"eta"`
	Start     time.Time  `json:"start"`
	Step      float64    `json:"step_seconds"`
	Mean      []*float64 `json:"mean"`
	Lower     []*float64 `json:"lower"`
	Upper     []*float64 `json:"upper"`
}

type seriesAnswer struct {
	Cluster  string           `json:"cluster"`
	Scope    history.Scope    `json:"scope"`
	Pool     string           `json:"pool"`
	Resource history.Resource `json:"resource"`
	Start    time.Time        `json:"start"`
	Step     float64          `json:"step_seconds"`
	// Requested, Used and Allocatable are per step, null where nothing
	// was recorded.
	Requested   []*float64 `json:"requested"`
	Used        []*float64 `json:"used"`
	Allocatable []*float64 `json:"allocatable"`
	// Forecasts are by kind (requested, used); Learning says how much
	// history a kind still needs.
	Forecasts map[history.Kind]forecastPath   `json:"forecasts"`
	Learning  map[history.Kind]alert.Learning `json:"learning"`
}

// serveSeries answers GET /api/v1/series?cluster=C[&pool=P][&resource=R][&range=D]:
// the requested, used and allocatable R (cpu, memory or pods; cpu by
// default) of the cluster, or of pool P when the parameter is given (pool=
// is the nodes without a pool label), over the last D (6h by default; a
// longer range than the history keeps is cut to it), at most seriesPoints
// steps, with the latest forecasts.
func (a *readAPI) serveSeries(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	bad := func(err error) { writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()}) }
	c, err := a.cluster(q.Get("cluster"))
	if err != nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
		return
	}
	res := history.CPU
	if v := q.Get("resource"); v != "" {
		res = history.Resource(v)
		if !slices.Contains(history.Resources, res) {
			bad(fmt.Errorf("resource %q: want cpu, memory or pods", v))
			return
		}
	}
	span := 6 * time.Hour
	if v := q.Get("range"); v != "" {
		if span, err = time.ParseDuration(v); err != nil || span < a.step {
			bad(fmt.Errorf("range %q: want a duration of at least %s, the history's step", v, a.step))
			return
		}
		span = min(span, a.retention)
	}
	// The smallest multiple of the history's step that keeps the answer
	// within seriesPoints.
	step := a.step * time.Duration(max(1, math.Ceil(float64(span)/float64(seriesPoints)/float64(a.step))))
	now := a.now()
	from := now.Add(-span)
	pool := q.Get("pool")
	key := history.Key{Cluster: c.Name(), Scope: history.ScopeCluster, Resource: res}
	if q.Has("pool") {
		key.Scope, key.Name = history.ScopePool, pool
	}
	ans := seriesAnswer{Cluster: c.Name(), Scope: key.Scope, Pool: key.Name, Resource: res, Step: step.Seconds(),
		Forecasts: map[history.Kind]forecastPath{}, Learning: map[history.Kind]alert.Learning{}}
	for kind, dst := range map[history.Kind]*[]*float64{history.Requested: &ans.Requested,
		history.Used: &ans.Used, history.Allocatable: &ans.Allocatable} {
		s, err := a.hist.Series(key.With(kind), from, now, step)
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
			return
		}
		ans.Start, *dst = s.Start, nullable(s.Values)
	}
	// The evaluator's series of this scope and resource, by kind.
	match := func(id alert.SeriesID) bool { return id == alert.IDOf(key.With(id.Kind)) }
	for _, f := range a.ev.Forecasts() {
		if match(f.SeriesID) {
			p := f.Path()
			ans.Forecasts[f.Kind] = forecastPath{Method: f.Method, At: f.At, Threshold: f.Threshold, Percent: f.Percent,
				ETA: f.ETA, Start: p.Start, Step: p.Step.Seconds(),
				Mean: nullable(p.Mean), Lower: nullable(p.Lower), Upper: nullable(p.Upper)}
		}
	}
	for _, l := range a.ev.Learning() {
		if match(l.SeriesID) {
			ans.Learning[l.Kind] = l
		}
	}
	writeJSON(w, http.StatusOK, ans)
}

// nullable is vs for JSON, which has no NaN: null in its place.
func nullable(vs []float64) []*float64 {
	out := make([]*float64, len(vs))
	for i, v := range vs {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			out[i] = &vs[i]
		}
	}
	return out
}

// TopAnswer is GET /api/v1/top's body.
type TopAnswer struct {
	Rows []capacity.TopRow `json:"rows"`
	// Warnings name the clusters left out or shown without usage.
	Warnings []string `json:"warnings"`
}

// serveTop answers GET /api/v1/top?by=node|pool|namespace|app[&cluster=C]...:
// `headroom top` from the informer caches and the latest cycle's usage,
// for every cluster or those named. Rows are sorted by cluster, then name.
func (a *readAPI) serveTop(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	by := capacity.TopNode
	if v := q.Get("by"); v != "" {
		by = capacity.TopBy(v)
		if !slices.Contains(capacity.TopBys, by) {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("by %q: want node, pool, namespace or app", v)})
			return
		}
	}
	clusters := a.clusters
	if names := q["cluster"]; len(names) > 0 {
		clusters = nil
		for _, n := range names {
			c, err := a.cluster(n)
			if err != nil {
				writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
				return
			}
			if !slices.Contains(clusters, c) { // each cluster once, however often named
				clusters = append(clusters, c)
			}
		}
	}
	ans := TopAnswer{Rows: []capacity.TopRow{}, Warnings: []string{}}
	for _, c := range clusters {
		nodes, pods, synced := c.Objects()
		if !synced {
			ans.Warnings = append(ans.Warnings, fmt.Sprintf("cluster %s: left out: its informers have not synced yet", c.Name()))
			continue
		}
		in := capacity.TopInput{Cluster: c.Name(), Nodes: nodes, Pods: pods,
			PoolLabels: a.poolLabels[c.Name()], AppOf: c.AppOf}
		if u := c.LastUsage(); u != nil {
			in.NodeUsage, in.PodUsage = resourceLists(u.Nodes), resourceLists(u.Pods)
		} else {
			ans.Warnings = append(ans.Warnings, fmt.Sprintf("cluster %s: no usage: no collection cycle has completed yet", c.Name()))
		}
		ans.Rows = append(ans.Rows, capacity.Top(in, by)...)
	}
	writeJSON(w, http.StatusOK, ans)
}

// resourceLists turns usage into what capacity.Top reads; a resource not
// known is left out.
func resourceLists(us map[string]collector.Usage) map[string]corev1.ResourceList {
	out := make(map[string]corev1.ResourceList, len(us))
	for k, u := range us {
		l := corev1.ResourceList{}
		if u.HasCPU {
			l[corev1.ResourceCPU] = *resource.NewMilliQuantity(int64(math.Round(u.CPUCores*1000)), resource.DecimalSI)
		}
		if u.HasMemory {
			l[corev1.ResourceMemory] = *resource.NewQuantity(int64(u.MemoryBytes), resource.BinarySI)
		}
		out[k] = l
	}
	return out
}
