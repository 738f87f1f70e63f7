package history

import (
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/headroomhq/headroom"
)

// DefaultStep is the resolution a Recorder stores at unless told otherwise.
const DefaultStep = time.Minute

// Measurement and field names read from the collector's points (see
// docs/schema.md). They are repeated here rather than imported so that
// history does not depend on the collector.
const (
	measurementNode = "node"
	measurementApp  = "app"
)

// NodeState is one node as the latest cycle saw it.
type NodeState struct {
	Name, Pool                             string
	Allocatable, Requested, Used           Amounts
	HasCPUUsage, HasMemoryUsage            bool
	Ready, Unschedulable, Scraped          bool
	MemoryPressure, DiskPressure, PIDPress bool
}

// Amounts are cpu (cores), memory (bytes) and pods.
type Amounts struct{ CPU, Memory, Pods float64 }

// Get returns the amount of r.
func (a Amounts) Get(r Resource) float64 {
	switch r {
	case CPU:
		return a.CPU
	case Memory:
		return a.Memory
	default:
		return a.Pods
	}
}

func (a *Amounts) add(b Amounts) { a.CPU += b.CPU; a.Memory += b.Memory; a.Pods += b.Pods }

// AppState is one app (summed over its containers) as the latest cycle saw it.
type AppState struct {
	Namespace, App, Workload string
	Replicas                 int64
	Requested, Used          Amounts

	cpuUsage, memoryUsage bool // every replica had usage this cycle
}

// Latest is a cluster's latest cycle.
type Latest struct {
	Time  time.Time
	Nodes []NodeState
	Apps  []AppState
}

// Pools returns the pool names of l's nodes, sorted.
func (l Latest) Pools() []string {
	set := map[string]bool{}
	for _, n := range l.Nodes {
		set[n.Pool] = true
	}
	return slices.Sorted(maps.Keys(set))
}

// Totals sum a set of nodes (or of apps: then Allocatable and Largest are
// zero).
type Totals struct {
	Nodes                        int
	Allocatable, Requested, Used Amounts
	// Largest is the largest node's allocatable, per resource.
	Largest Amounts
	// CPUUsage and MemoryUsage say whether Used holds every member's usage
	// (a node not read, or a replica without a rate yet, leaves it short).
	CPUUsage, MemoryUsage bool
}

func newTotals() *Totals { return &Totals{CPUUsage: true, MemoryUsage: true} }

func (t *Totals) addNode(n NodeState) {
	t.Nodes++
	t.Allocatable.add(n.Allocatable)
	t.Requested.add(n.Requested)
	t.Used.add(n.Used)
	t.Largest = Amounts{CPU: max(t.Largest.CPU, n.Allocatable.CPU), Memory: max(t.Largest.Memory, n.Allocatable.Memory),
		Pods: max(t.Largest.Pods, n.Allocatable.Pods)}
	t.CPUUsage = t.CPUUsage && n.HasCPUUsage
	t.MemoryUsage = t.MemoryUsage && n.HasMemoryUsage
}

// Totals sums l's nodes: the whole cluster, and per pool.
func (l Latest) Totals() (cluster *Totals, pools map[string]*Totals) {
	cluster, pools = newTotals(), map[string]*Totals{}
	for _, n := range l.Nodes {
		cluster.addNode(n)
		p := pools[n.Pool]
		if p == nil {
			p = newTotals()
			pools[n.Pool] = p
		}
		p.addNode(n)
	}
	return cluster, pools
}

// Appender stores a step's samples; *Store is one.
type Appender interface {
	Append(t time.Time, samples []Sample) error
}

// RecorderOptions configure a Recorder.
type RecorderOptions struct {
	Store Appender // required
	// Step is the resolution stored: the cycles within one step are
	// averaged. Default DefaultStep (1 minute).
	Step       time.Duration
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Recorder turns collection cycles into history. Safe for concurrent use:
// every cluster's collector calls Record.
type Recorder struct {
	o       RecorderOptions
	mu      sync.Mutex
	pending map[string]*pending // by cluster
	latest  map[string]Latest
	stored  prometheus.Counter
	failed  prometheus.Counter
	lost    int // steps failed, as failed counts them; guarded by mu
}

// pending is the step being averaged for one cluster.
type pending struct {
	step time.Time
	sums map[Key]*mean
}

type mean struct {
	sum float64
	n   int
}

// NewRecorder returns a Recorder writing to o.Store.
func NewRecorder(o RecorderOptions) *Recorder {
	if o.Step <= 0 {
		o.Step = DefaultStep
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Recorder{
		o: o, pending: map[string]*pending{}, latest: map[string]Latest{},
		stored: prometheus.NewCounter(prometheus.CounterOpts{Name: "headroom_history_samples_stored_total",
			Help: "Samples (one series, one step) appended to the history file."}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{Name: "headroom_history_append_errors_total",
			Help: "Steps of one cluster that could not be written to the history file and were lost."}),
	}
	if o.Registerer != nil {
		o.Registerer.MustRegister(r.stored, r.failed)
	}
	return r
}

// Step is the resolution the recorder stores at.
func (r *Recorder) Step() time.Duration { return r.o.Step }

// Record takes one cluster's cycle: the points the collector wrote, all of
// one cluster and one time. When the cycle starts a new step, the previous
// step's means are appended to the store first. An append that fails is
// logged and counted; history is a convenience beside the InfluxDB data,
// never a reason to fail a cycle.
func (r *Recorder) Record(points []headroom.Point) {
	cluster, t, ok := cycleOf(points)
	if !ok {
		return
	}
	latest, samples := summarize(cluster, t, points)
	step := t.Truncate(r.o.Step)

	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.pending[cluster]
	if p != nil && !p.step.Equal(step) {
		if p.step.After(step) {
			return // a cycle from an earlier step than one already stored: clock went back
		}
		r.flushLocked(cluster, p)
		p = nil
	}
	r.latest[cluster] = latest
	if p == nil {
		p = &pending{step: step, sums: map[Key]*mean{}}
		r.pending[cluster] = p
	}
	for _, s := range samples {
		m := p.sums[s.Key]
		if m == nil {
			m = &mean{}
			p.sums[s.Key] = m
		}
		m.sum += s.Value
		m.n++
	}
}

// Flush appends every cluster's step in progress, as at shutdown.
func (r *Recorder) Flush() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for cluster, p := range r.pending {
		r.flushLocked(cluster, p)
	}
}

func (r *Recorder) flushLocked(cluster string, p *pending) {
	delete(r.pending, cluster)
	if len(p.sums) == 0 {
		return
	}
	samples := make([]Sample, 0, len(p.sums))
	for k, m := range p.sums {
		samples = append(samples, Sample{Key: k, Value: m.sum / float64(m.n)})
	}
	if err := r.o.Store.Append(p.step, samples); err != nil {
		r.failed.Inc()
		r.lost++
		r.o.Logger.Error("history step lost", "cluster", cluster, "step", p.step, "err", err)
		return
	}
	r.stored.Add(float64(len(samples)))
}

func (r *Recorder) failedSteps() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lost
}

// Latest returns cluster's latest cycle; ok is false before its first.
func (r *Recorder) Latest(cluster string) (Latest, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	l, ok := r.latest[cluster]
	return l, ok
}

// cycleOf returns the cluster and time of a cycle's points.
func cycleOf(points []headroom.Point) (string, time.Time, bool) {
	for i := range points {
		if c := points[i].Tag("cluster"); c != "" {
			return c, points[i].Time, true
		}
	}
	return "", time.Time{}, false
}

// summarize reads a cycle's node and app points: the cluster's latest state
// and its samples. A usage sum is left out when a node (or replica) in its
// scope has no usage this cycle, so that a node that could not be read
// never shows as a drop in use; the step's mean then comes from the other
// cycles.
func summarize(cluster string, t time.Time, points []headroom.Point) (Latest, []Sample) {
	l := Latest{Time: t}
	apps := map[[3]string]*AppState{}
	type appKey = [3]string
	var appOrder []appKey
	for i := range points {
		p := &points[i]
		switch p.Measurement {
		case measurementNode:
			l.Nodes = append(l.Nodes, nodeState(p))
		case measurementApp:
			k := appKey{p.Tag("namespace"), p.Tag("app"), p.Tag("workload")}
			a := apps[k]
			if a == nil {
				a = &AppState{Namespace: k[0], App: k[1], Workload: k[2], cpuUsage: true, memoryUsage: true}
				apps[k] = a
				appOrder = append(appOrder, k)
			}
			addContainer(a, p)
		}
	}
	for _, k := range appOrder {
		l.Apps = append(l.Apps, *apps[k])
	}

	var samples []Sample
	cl, pools := l.Totals()
	samples = appendSamples(samples, Key{Cluster: cluster, Scope: ScopeCluster}, cl, true)
	for _, pool := range l.Pools() {
		samples = appendSamples(samples, Key{Cluster: cluster, Scope: ScopePool, Name: pool}, pools[pool], true)
	}
	namespaces := map[string]*Totals{}
	var nsOrder []string
	for _, k := range appOrder {
		a := apps[k]
		t := namespaces[a.Namespace]
		if t == nil {
			t = newTotals()
			namespaces[a.Namespace] = t
			nsOrder = append(nsOrder, a.Namespace)
		}
		t.Requested.add(a.Requested)
		t.Used.add(a.Used)
		t.CPUUsage = t.CPUUsage && a.cpuUsage
		t.MemoryUsage = t.MemoryUsage && a.memoryUsage
	}
	for _, ns := range nsOrder {
		samples = appendSamples(samples, Key{Cluster: cluster, Scope: ScopeNamespace, Name: ns}, namespaces[ns], false)
	}
	return l, samples
}

// appendSamples appends the series of one scope: requested and pods used
// always, allocatable for node scopes, cpu and memory use when complete.
func appendSamples(samples []Sample, k Key, t *Totals, allocatable bool) []Sample {
	emit := func(r Resource, kind Kind, v float64) {
		k.Resource, k.Kind = r, kind
		samples = append(samples, Sample{Key: k, Value: v})
	}
	for _, r := range Resources {
		if allocatable {
			emit(r, Allocatable, t.Allocatable.Get(r))
		}
		emit(r, Requested, t.Requested.Get(r))
	}
	if t.CPUUsage {
		emit(CPU, Used, t.Used.CPU)
	}
	if t.MemoryUsage {
		emit(Memory, Used, t.Used.Memory)
	}
	emit(Pods, Used, t.Used.Pods)
	return samples
}

func nodeState(p *headroom.Point) NodeState {
	n := NodeState{Name: p.Tag("node"), Pool: p.Tag("pool")}
	for _, f := range p.Fields {
		switch f.Key {
		case "cpu_allocatable_cores":
			n.Allocatable.CPU = num(f.Value)
		case "memory_allocatable_bytes":
			n.Allocatable.Memory = num(f.Value)
		case "pods_allocatable":
			n.Allocatable.Pods = num(f.Value)
		case "cpu_requested_cores":
			n.Requested.CPU = num(f.Value)
		case "memory_requested_bytes":
			n.Requested.Memory = num(f.Value)
		case "pods":
			n.Requested.Pods = num(f.Value)
			n.Used.Pods = num(f.Value)
		case "cpu_usage_cores":
			n.Used.CPU, n.HasCPUUsage = num(f.Value), true
		case "memory_working_set_bytes":
			n.Used.Memory, n.HasMemoryUsage = num(f.Value), true
		case "ready":
			n.Ready = f.Value == true
		case "unschedulable":
			n.Unschedulable = f.Value == true
		case "scraped":
			n.Scraped = f.Value == true
		case "memory_pressure":
			n.MemoryPressure = f.Value == true
		case "disk_pressure":
			n.DiskPressure = f.Value == true
		case "pid_pressure":
			n.PIDPress = f.Value == true
		}
	}
	return n
}

// addContainer adds one container's point to its app. Replicas are the
// largest count over the app's containers (each pod has every container).
func addContainer(a *AppState, p *headroom.Point) {
	replicas := intField(p, "replicas")
	if replicas > a.Replicas {
		a.setReplicas(replicas)
	}
	a.cpuUsage = a.cpuUsage && intField(p, "cpu_usage_replicas") >= replicas
	a.memoryUsage = a.memoryUsage && intField(p, "memory_usage_replicas") >= replicas
	for _, f := range p.Fields {
		switch f.Key {
		case "cpu_request_cores_sum":
			a.Requested.CPU += num(f.Value)
		case "memory_request_bytes_sum":
			a.Requested.Memory += num(f.Value)
		case "cpu_usage_cores_sum":
			a.Used.CPU += num(f.Value)
		case "memory_working_set_bytes_sum":
			a.Used.Memory += num(f.Value)
		}
	}
}

// setReplicas sets the app's replica count, which is also its pods
// requested and used.
func (a *AppState) setReplicas(n int64) {
	a.Replicas = n
	a.Requested.Pods, a.Used.Pods = float64(n), float64(n)
}

func intField(p *headroom.Point, key string) int64 {
	for _, f := range p.Fields {
		if f.Key == key {
			return int64(num(f.Value))
		}
	}
	return 0
}

func num(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case int64:
		return float64(x)
	case uint64:
		return float64(x)
	case int:
		return float64(x)
	}
	return 0
}
