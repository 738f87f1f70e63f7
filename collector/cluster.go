package collector

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	listersv1 "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"

	"github.com/headroomhq/headroom"
	"github.com/headroomhq/headroom/collector/decode"
)

// Sink stores a cycle's points durably. Write returns only once the points
// are safe (on disk); only then are they counted as collected.
type Sink interface {
	Write(ctx context.Context, points []headroom.Point) error
}

// ClusterOptions configure the collection of one cluster.
type ClusterOptions struct {
	Name     string               // the cluster tag
	Client   kubernetes.Interface // for the node and pod informers
	Metadata metadata.Interface   // for ReplicaSet and Job owners; nil skips owner lookups
	// Exactly one of NodeScraper (kubelet, kubelet-proxy) and ClusterScraper
	// (metrics-server) is set.
	NodeScraper    NodeScraper
	ClusterScraper ClusterScraper
	Interval       time.Duration // default 15s
	Timeout        time.Duration // per node; default 5s
	Jitter         time.Duration // random start delay per node, within [0, Jitter)
	Concurrency    int           // nodes scraped at once; default 20
	Aggregation    Aggregation
	Sink           Sink
	Metrics        *Metrics
	Logger         *slog.Logger
	Now            func() time.Time // clock; default time.Now
}

// Cluster collects one cluster: informers built once, then a cycle every
// Interval. A failing node never delays the others beyond Timeout, and a
// failing cluster never touches another Cluster.
type Cluster struct {
	opts    ClusterOptions
	nodes   listersv1.NodeLister
	pods    cache.Indexer // of *Pod (slimObjects)
	factory informers.SharedInformerFactory
	meta    metadatainformer.SharedInformerFactory
	owners  *ownerIndex
	// Rates from cumulative counters, per container and per node.
	containerRates decode.Rates[string] // by decode.ContainerID
	nodeRates      decode.Rates[string]
	synced         atomic.Bool
	lastSuccess    atomic.Int64 // unix nanoseconds
	// lastUsed is the usage of the latest stored cycle; LastUsage sums its
	// containers into pods when asked, not every cycle.
	lastUsed atomic.Pointer[Cycle]
}

// LastUsage is what the latest stored cycle scraped: per node, and per
// container summed into pods. headroomd serves `headroom top` from it.
type LastUsage struct {
	Time time.Time
	// Nodes by node name; Pods by "namespace/pod".
	Nodes map[string]Usage
	Pods  map[string]Usage
}

// NewCluster validates opts and builds the informers (not yet started).
func NewCluster(opts ClusterOptions) (*Cluster, error) {
	if opts.Name == "" || opts.Client == nil || opts.Sink == nil {
		return nil, errors.New("collector: Name, Client and Sink are required")
	}
	if (opts.NodeScraper == nil) == (opts.ClusterScraper == nil) {
		return nil, errors.New("collector: set exactly one of NodeScraper and ClusterScraper")
	}
	if opts.Interval <= 0 {
		opts.Interval = 15 * time.Second
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	if opts.Timeout+opts.Jitter >= opts.Interval {
		return nil, fmt.Errorf("collector %s: timeout %s + jitter %s must be shorter than interval %s",
			opts.Name, opts.Timeout, opts.Jitter, opts.Interval)
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 20
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics(nil)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	opts.Logger = opts.Logger.With("cluster", opts.Name)
	opts.Aggregation.Cache = NewPodCache()
	c := &Cluster{opts: opts}
	c.factory = informers.NewSharedInformerFactoryWithOptions(opts.Client, 0,
		informers.WithTransform(slimObjects))
	c.nodes = c.factory.Core().V1().Nodes().Lister()
	// The pod informer's store holds *Pod, not *corev1.Pod (slimObjects):
	// it is read through listPods, never through the typed lister.
	c.pods = c.factory.Core().V1().Pods().Informer().GetIndexer()
	if opts.Metadata != nil {
		c.meta = metadatainformer.NewSharedInformerFactory(opts.Metadata, 0)
		c.owners = &ownerIndex{
			replicaSets: c.meta.ForResource(schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "replicasets"}).Lister(),
			jobs:        c.meta.ForResource(schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}).Lister(),
		}
		c.opts.Aggregation.Owners = c.owners
	}
	return c, nil
}

// Synced reports whether the informers have synced (for /readyz).
func (c *Cluster) Synced() bool { return c.synced.Load() }

// LastSuccess is when a cycle last stored its points (zero before the first).
func (c *Cluster) LastSuccess() time.Time {
	ns := c.lastSuccess.Load()
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

// LastUsage returns what the latest stored cycle scraped, nil before the
// first. Nodes is shared: callers must not modify it.
func (c *Cluster) LastUsage() *LastUsage {
	cy := c.lastUsed.Load()
	if cy == nil {
		return nil
	}
	return lastUsageOf(*cy)
}

// lastContainers is how many containers the last stored cycle saw.
func (c *Cluster) lastContainers() int {
	if cy := c.lastUsed.Load(); cy != nil {
		return len(cy.ContainerUsage)
	}
	return 0
}

// AppOf names a pod's app as the cluster's app series name it.
func (c *Cluster) AppOf(p *corev1.Pod) string {
	var owners OwnerLookup
	if c.owners != nil {
		owners = c.owners
	}
	return AppOf(p, c.opts.Aggregation.AppLabels, WorkloadOf(p, owners))
}

// lastUsageOf sums a cycle's containers into pods. A pod's cpu or memory
// is known only when every one of its scraped containers gave it.
func lastUsageOf(cy Cycle) *LastUsage {
	pods := make(map[string]Usage, len(cy.ContainerUsage))
	for id, u := range cy.ContainerUsage {
		ns, pod, _, _ := decode.SplitContainerID(id)
		key := ns + "/" + pod
		p, seen := pods[key]
		if !seen {
			p.HasCPU, p.HasMemory = true, true
		}
		p.CPUCores += u.CPUCores
		p.MemoryBytes += u.MemoryBytes
		p.HasCPU = p.HasCPU && u.HasCPU
		p.HasMemory = p.HasMemory && u.HasMemory
		pods[key] = p
	}
	return &LastUsage{Time: cy.Time, Nodes: cy.NodeUsage, Pods: pods}
}

// Name is the cluster's name.
func (c *Cluster) Name() string { return c.opts.Name }

// Objects returns the cluster's nodes and pods from the informer caches, and
// whether the caches have synced; before they have, it returns no objects.
// It does not block. The nodes are the cache's own; the pods are built
// from it (Pod.Object) and share its slices and maps. Both are slimmed
// (slimObjects keeps what the capacity model reads), and callers must not
// modify them.
func (c *Cluster) Objects() (nodes []*corev1.Node, pods []*corev1.Pod, synced bool) {
	if !c.synced.Load() {
		return nil, nil, false
	}
	nodes, _ = c.nodes.List(labels.Everything())
	cached := c.listPods()
	// One allocation for the lot: a datacenter's pods are built for one
	// check and dropped together.
	built := make([]corev1.Pod, len(cached))
	pods = make([]*corev1.Pod, len(cached))
	for i, p := range cached {
		p.objectInto(&built[i])
		pods[i] = &built[i]
	}
	return nodes, pods, true
}

// listPods is every pod in the informer cache.
func (c *Cluster) listPods() []*Pod {
	objs := c.pods.List()
	out := make([]*Pod, 0, len(objs))
	for _, o := range objs {
		if p, ok := o.(*Pod); ok {
			out = append(out, p)
		}
	}
	return out
}

// Run starts the informers, waits for them to sync, then runs a cycle every
// Interval until ctx ends. It returns nil on cancellation; it returns an
// error only if the informers cannot start.
func (c *Cluster) Run(ctx context.Context) error {
	c.factory.Start(ctx.Done())
	defer c.factory.Shutdown()
	if c.meta != nil {
		c.meta.Start(ctx.Done())
		defer c.meta.Shutdown()
	}
	for typ, ok := range c.factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("cluster %s: %v informer did not sync", c.opts.Name, typ)
		}
	}
	if c.meta != nil {
		c.meta.WaitForCacheSync(ctx.Done())
	}
	c.synced.Store(true)
	c.opts.Metrics.informerSynced.WithLabelValues(c.opts.Name).Set(1)
	c.opts.Logger.Info("informers synced")

	// Cycles run on the interval's boundaries (12:00:00, 12:00:15, ...),
	// each stamped with its boundary, so that two headroomd replicas stamp
	// a cycle alike and InfluxDB keeps one point of it; the first waits for
	// the next boundary, so that every cpu rate spans a whole interval.
	interval := c.opts.Interval
	now := c.opts.Now()
	wait := time.NewTimer(now.Truncate(interval).Add(interval).Sub(now))
	defer wait.Stop()
	select {
	case <-ctx.Done():
		return nil
	case <-wait.C:
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		c.Cycle(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Cycle scrapes every node once, aggregates and hands the points to the
// sink. It is exported for tests that drive cycles themselves.
func (c *Cluster) Cycle(ctx context.Context) {
	start := c.opts.Now()
	name := c.opts.Name
	m := c.opts.Metrics
	m.cycles.WithLabelValues(name).Inc()
	nodes, _ := c.nodes.List(labels.Everything())
	pods := c.listPods()
	cy := c.newCycle(name, start.Truncate(c.opts.Interval), nodes, pods)
	results, failed := c.scrape(ctx, nodes)
	if ctx.Err() != nil {
		// Shutting down mid-cycle: the cycle is dropped whole rather than
		// stored with the nodes it did not reach missing.
		c.opts.Logger.Info("cycle abandoned: shutting down", "nodes", len(nodes), "scraped", len(results))
		return
	}
	// Counted only now, for a cycle that completed: every node was
	// either scraped or failed.
	m.nodesScraped.WithLabelValues(name).Add(float64(len(nodes) - failed))
	m.nodesFailed.WithLabelValues(name).Add(float64(failed))
	if failed > 0 {
		m.partialCycles.WithLabelValues(name).Inc()
	}
	for _, r := range results {
		c.addUsage(&cy, r)
	}
	c.forgetRates()
	points := c.opts.Aggregation.Points(cy)
	if err := c.opts.Sink.Write(ctx, points); err != nil {
		m.sinkErrors.WithLabelValues(name).Inc()
		c.opts.Logger.Error("points not stored", "points", len(points), "err", err)
		return
	}
	m.points.WithLabelValues(name).Add(float64(len(points)))
	c.keepUsage(cy)
	now := c.opts.Now()
	c.lastSuccess.Store(now.UnixNano())
	m.lastSuccess.WithLabelValues(name).Set(float64(now.UnixNano()) / 1e9)
	took := now.Sub(start)
	m.cycleDuration.WithLabelValues(name).Observe(took.Seconds())
	if took > c.opts.Interval {
		// The ticker drops the boundaries the cycle ran over: those
		// intervals have no point of their own. Said once per cycle,
		// with what to change, because it is a sizing problem, not a
		// failure of any node.
		m.overruns.WithLabelValues(name).Inc()
		c.opts.Logger.Warn("cycle took longer than the interval: raise collection.concurrency (or lower the per-node timeout) so that nodes/concurrency scrapes fit in one interval",
			"took", took.Round(time.Millisecond), "interval", c.opts.Interval, "nodes", len(nodes), "concurrency", c.opts.Concurrency)
	}
	c.opts.Logger.Debug("cycle done", "nodes", len(nodes), "failed", failed, "points", len(points), "took", took)
}

// newCycle starts a cycle of the given objects, its usage not yet added.
func (c *Cluster) newCycle(cluster string, t time.Time, nodes []*corev1.Node, pods []*Pod) Cycle {
	return Cycle{
		Cluster: cluster, Time: t, Nodes: nodes, Pods: pods,
		NodeUsage: make(map[string]Usage, len(nodes)), Scraped: make(map[string]bool, len(nodes)),
		// Sized like the last cycle's: growing a datacenter's worth of
		// containers entry by entry rehashes it a dozen times.
		ContainerUsage: make(map[string]Usage, c.lastContainers()),
	}
}

// keepUsage keeps a stored cycle's usage for LastUsage.
func (c *Cluster) keepUsage(cy Cycle) {
	c.lastUsed.Store(&Cycle{Time: cy.Time, NodeUsage: cy.NodeUsage, ContainerUsage: cy.ContainerUsage})
}

// forgetRates drops the rate state of containers and nodes the cycle did
// not see.
func (c *Cluster) forgetRates() {
	c.containerRates.Forget()
	c.nodeRates.Forget()
}

type scrapeResult struct {
	node string // "" for a cluster-wide scrape
	res  *decode.Result
}

func (c *Cluster) scrape(ctx context.Context, nodes []*corev1.Node) ([]scrapeResult, int) {
	name, m := c.opts.Name, c.opts.Metrics
	if c.opts.ClusterScraper != nil {
		sctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
		defer cancel()
		t0 := time.Now()
		res, err := c.opts.ClusterScraper.ScrapeCluster(sctx)
		m.nodeDuration.WithLabelValues(name).Observe(time.Since(t0).Seconds())
		if err != nil && ctx.Err() != nil {
			return nil, 0 // shutting down
		}
		if err != nil {
			c.opts.Logger.Warn("scrape failed", "err", err)
			return nil, len(nodes)
		}
		return []scrapeResult{{res: res}}, 0
	}
	var (
		mu      sync.Mutex
		results = make([]scrapeResult, 0, len(nodes))
		failed  int
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.opts.Concurrency)
	// Each node starts at a random offset within [0, Jitter) of the cycle,
	// so that kubelets are not all asked at once; nodes are handed out in
	// offset order and the waiting happens here, before a slot is taken,
	// so that jitter never holds one of the Concurrency slots idle.
	// (Waiting inside the slot made a 500-node cycle take twice the
	// interval at 20 slots.)
	order := startOrder(nodes, c.opts.Jitter)
	t0 := time.Now()
	wait := time.NewTimer(0)
	defer wait.Stop()
dispatch:
	for _, s := range order {
		if gctx.Err() != nil {
			break // shutting down
		}
		if d := s.offset - time.Since(t0); d > 0 {
			wait.Reset(d)
			select {
			case <-gctx.Done():
				break dispatch
			case <-wait.C:
			}
		}
		n := s.node
		g.Go(func() error {
			sctx, cancel := context.WithTimeout(gctx, c.opts.Timeout)
			defer cancel()
			t0 := time.Now()
			res, err := c.opts.NodeScraper.ScrapeNode(sctx, n)
			m.nodeDuration.WithLabelValues(name).Observe(time.Since(t0).Seconds())
			mu.Lock()
			defer mu.Unlock()
			if err != nil && ctx.Err() != nil {
				return nil // shutting down: not the node's failure
			}
			if err != nil {
				failed++
				c.opts.Logger.Warn("node scrape failed", "node", n.Name, "err", err)
				return nil // one node never fails the others
			}
			results = append(results, scrapeResult{node: n.Name, res: res})
			return nil
		})
	}
	_ = g.Wait()
	return results, failed
}

type nodeStart struct {
	node   *corev1.Node
	offset time.Duration
}

// startOrder gives each node a random start offset within [0, jitter) and
// returns the nodes by offset.
func startOrder(nodes []*corev1.Node, jitter time.Duration) []nodeStart {
	out := make([]nodeStart, len(nodes))
	for i, n := range nodes {
		out[i].node = n
		if jitter > 0 {
			out[i].offset = rand.N(jitter)
		}
	}
	slices.SortFunc(out, func(a, b nodeStart) int { return cmp.Compare(a.offset, b.offset) })
	return out
}

// addUsage turns one scrape's samples into usage: rates from cumulative
// counters where the source gives no rate itself.
func (c *Cluster) addUsage(cy *Cycle, r scrapeResult) {
	for _, n := range r.res.Nodes {
		name := n.Name
		if name == "" {
			name = r.node
		}
		u := Usage{MemoryBytes: n.MemoryWorkingSetBytes, HasMemory: n.HasMemory}
		u.CPUCores, u.HasCPU = cores(&c.nodeRates, name, time.Time{}, n.CPU)
		cy.NodeUsage[name] = u
		cy.Scraped[name] = true
	}
	if r.node != "" {
		cy.Scraped[r.node] = true
	}
	for _, ctr := range r.res.Containers {
		u := Usage{MemoryBytes: ctr.MemoryWorkingSetBytes, HasMemory: ctr.HasMemory}
		u.CPUCores, u.HasCPU = cores(&c.containerRates, ctr.ID, ctr.StartTime, ctr.CPU)
		cy.ContainerUsage[ctr.ID] = u
	}
}

// cores is the source's own rate when it gives one (summary,
// metrics.k8s.io), else the rate of the cumulative counter since the last cycle.
func cores[K comparable](rates *decode.Rates[K], key K, start time.Time, cpu decode.CPU) (float64, bool) {
	if cpu.HasCores {
		return cpu.Cores, true
	}
	if !cpu.HasCumulative {
		return 0, false
	}
	v, _, ok := rates.Observe(key, decode.Sample{StartTime: start, Time: cpu.Time, CumulativeSeconds: cpu.CumulativeSeconds})
	return v, ok
}

// slimObjects keeps in the informer caches only what the collector and the
// capacity model read, as kube-state-metrics does: a pod's annotations,
// volumes, env and probes, a node's image list and managed fields can be
// most of its size, and a daemon caches every pod of a datacenter.
//
// The deploy gate (POST /api/v1/check) schedules against these pods: what
// kube-scheduler reads of a placed pod must survive here: labels and
// namespace (spreading, affinity), node name, the containers' and init
// containers' requests, restart policy and host ports, pod-level resources,
// overhead, and the pod's own scheduling terms (node selector, affinity,
// tolerations, topology spread, scheduler name, priority), and the
// container statuses' resources (in-place resize).
func slimObjects(obj any) (any, error) {
	switch o := obj.(type) {
	case *corev1.Pod:
		return NewPod(o), nil
	case *Pod:
		return o, nil // already slimmed
	case *corev1.Node:
		o.ManagedFields = nil
		o.Status.Images = nil
		o.Status.VolumesAttached, o.Status.VolumesInUse = nil, nil
		return o, nil
	case metav1.ObjectMetaAccessor:
		o.GetObjectMeta().SetManagedFields(nil)
	}
	return obj, nil
}

// ownerIndex answers owner lookups from metadata-only informers.
type ownerIndex struct {
	replicaSets, jobs cache.GenericLister
}

func (o *ownerIndex) owner(l cache.GenericLister, namespace, name string) *metav1.OwnerReference {
	obj, err := l.ByNamespace(namespace).Get(name)
	if err != nil {
		return nil
	}
	m, ok := obj.(*metav1.PartialObjectMetadata)
	if !ok {
		return nil
	}
	return metav1.GetControllerOfNoCopy(m)
}

func (o *ownerIndex) ReplicaSetOwner(namespace, name string) *metav1.OwnerReference {
	return o.owner(o.replicaSets, namespace, name)
}

func (o *ownerIndex) JobOwner(namespace, name string) *metav1.OwnerReference {
	return o.owner(o.jobs, namespace, name)
}
