package capacity

import (
	"container/heap"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// The scheduler filters every node of a small cluster; from 100 nodes on it
// stops once it has found a share of feasible ones (numFeasibleNodesToFind).
const (
	minFeasibleNodesToFind           = 100
	minFeasibleNodesPercentageToFind = 5
	maxNodeScore                     = 100
	// defaultParallelism is the scheduler's default parallelism (16): its
	// Filter goroutines take chunks of the node list in turn.
	defaultParallelism = 16
	// filterStreams is how many of those goroutines append feasible nodes
	// at once, as many as the scheduler has CPUs (GOMAXPROCS): 2 on the
	// test stack.
	filterStreams = 2
)

// Default score plugin weights (kube-scheduler's default profile).
const (
	weightTaint    = 3
	weightAffinity = 2
	weightFit      = 1
	weightBalanced = 1
	weightSpread   = 2
)

// sim is one simulated sequence of scheduling decisions on a copy of a
// Cluster's state.
type sim struct {
	c       *Cluster
	R       int
	req     []int64 // node-major, like Cluster.baseReq
	nz      [][2]int64
	removed bitset // existing pods gone (an old revision, a lost node)
	down    []bool // nodes gone
	placed  []placed
	tracked []*tmpl
	rng     *rand.Rand
	// interleave is false for seed 0: its Filter goroutines do not overlap
	// (heapPick).
	interleave bool
	start      int
	// downCount caches how many nodes are down; -1 when unknown.
	downCount int
	// tiesAcrossPools is set when the scheduler's tie-break chose
	// between nodes of different pools: the placement per pool (and, for
	// mixed pods, the count) may vary from run to run.
	tiesAcrossPools bool
	// scratch buffers reused across scheduling decisions.
	feasible []int32
	walk     []int32   // per feasible node, its index in the filter walk
	ties     scoreHeap // heapPick's heap, kept so that a pick does not allocate
	scores   []int64
	raw      [][]int64
	fbuf     []float64
	// resBufs back the tracked templates' per-node score caches.
	resBufs []resBuf
	pcg     rand.PCG
}

type resBuf struct {
	score []int64
	valid []bool
}

// sims holds simulations done with, for their buffers: a check of a large
// cluster plays up to 1+tieRuns of them, each with a few arrays the size
// of the cluster, and the garbage collector's work grows with what is
// allocated.
var sims sync.Pool

// placed is a pod the simulation bound to a node.
type placed struct {
	t    *tmpl
	node int32
	gone bool
}

// newSim starts a simulation of c, reusing the buffers of one released.
func (c *Cluster) newSim(seed uint64) *sim {
	s, _ := sims.Get().(*sim)
	if s == nil {
		s = &sim{raw: make([][]int64, 5)}
		s.rng = rand.New(&s.pcg)
	}
	s.c, s.R = c, len(c.resources)
	s.req = append(s.req[:0], c.baseReq...)
	s.nz = append(s.nz[:0], c.baseNZ...)
	s.removed = resize(s.removed, (len(c.pods)+63)/64) // a bitset's words
	s.down = resize(s.down, len(c.nodes))
	s.placed, s.tracked = s.placed[:0], s.tracked[:0]
	s.pcg.Seed(seed, 0x9e3779b97f4a7c15)
	s.interleave = seed != 0
	s.start, s.downCount, s.tiesAcrossPools = 0, -1, false
	return s
}

// release gives a simulation's buffers back once nothing reads it.
// Only simulations newSim made are released: a clone shares its original's
// random source.
func (s *sim) release() {
	clear(s.tracked) // drops the templates (copied pods, per-node arrays)
	clear(s.placed)
	s.c, s.tracked, s.placed = nil, s.tracked[:0], s.placed[:0]
	sims.Put(s)
}

// resize returns b with n zero elements, reusing its array when it can.
func resize[T any](b []T, n int) []T {
	if cap(b) < n {
		return make([]T, n)
	}
	b = b[:n]
	clear(b)
	return b
}

// track makes the simulation keep t's topology counts current, counting
// what is on the nodes now.
func (s *sim) track(t *tmpl) {
	for _, sp := range t.allSpreads() {
		clear(sp.dom.count)
	}
	for _, pt := range t.terms() {
		clear(pt.dom.count)
	}
	t.exAnti = map[string]map[string]int32{}
	t.affTotal = 0
	s.giveScores(t)
	// Spread constraints count pods of t's namespace; inter-pod terms may
	// look further, and then every pod is visited.
	beyond := false
	for _, pt := range t.terms() {
		beyond = beyond || pt.ns == nil || len(pt.ns) > 1 || !pt.ns[t.ns]
	}
	visit := func(i int32) {
		if s.removed.has(i) || s.down[s.c.pods[i].node] {
			return
		}
		p := &s.c.pods[i]
		s.countMatches(t, p.pod, p.terminating, p.node, 1)
	}
	if beyond {
		for i := range s.c.pods {
			visit(int32(i))
		}
	} else {
		for _, i := range s.c.byNamespace[t.ns] {
			visit(i)
		}
	}
	for _, i := range s.c.antiAffinity {
		if !s.removed.has(i) && !s.down[s.c.pods[i].node] {
			s.countRepels(t, s.c.pods[i].pod, s.c.pods[i].node, nil, 1)
		}
	}
	for _, pl := range s.placed {
		if !pl.gone {
			s.count(t, pl.t.pod, false, pl.node, pl.t, 1)
		}
	}
	s.tracked = append(s.tracked, t)
}

// adopt tracks t, whose counts are already those of this simulation's
// state: a fork of a template tracked on an untouched simulation of the
// same cluster, adopted by another untouched one. It spares recounting.
func (s *sim) adopt(t *tmpl) {
	s.giveScores(t)
	s.tracked = append(s.tracked, t)
}

// giveScores backs t's per-node score cache with the simulation's buffers.
func (s *sim) giveScores(t *tmpl) {
	k := len(s.tracked)
	for len(s.resBufs) <= k {
		s.resBufs = append(s.resBufs, resBuf{})
	}
	b := &s.resBufs[k]
	b.score, b.valid = resize(b.score, len(s.c.nodes)), resize(b.valid, len(s.c.nodes))
	t.resScore, t.resValid = b.score, b.valid
}

// count adds delta for pod p on node n to t's counts. from is p's compiled
// template when it was placed by the simulation.
func (s *sim) count(t *tmpl, p *corev1.Pod, terminating bool, n int32, from *tmpl, delta int32) {
	s.countMatches(t, p, terminating, n, delta)
	s.countRepels(t, p, n, from, delta)
}

// countMatches counts p in t's spread constraints and inter-pod terms.
func (s *sim) countMatches(t *tmpl, p *corev1.Pod, terminating bool, n int32, delta int32) {
	if len(t.hard)+len(t.soft)+len(t.anti)+len(t.affinity) == 0 {
		return
	}
	set := labels.Set(p.Labels)
	if p.Namespace == t.ns && !terminating {
		for _, spreads := range [2][]*spread{t.hard, t.soft} { // allSpreads, without allocating
			for _, sp := range spreads {
				if d := sp.dom.of[n]; d >= 0 && sp.eligible[n] && sp.sel.Matches(set) {
					sp.dom.count[d] += delta
				}
			}
		}
	}
	for _, pt := range t.anti {
		if d := pt.dom.of[n]; d >= 0 && pt.matches(p) {
			pt.dom.count[d] += delta
		}
	}
	if len(t.affinity) > 0 {
		all := true
		for _, pt := range t.affinity {
			if !pt.matches(p) {
				all = false
				break
			}
		}
		if all {
			for _, pt := range t.affinity {
				if d := pt.dom.of[n]; d >= 0 {
					pt.dom.count[d] += delta
					t.affTotal += delta
				}
			}
		}
	}
}

// countRepels counts p's own required anti-affinity against t.
func (s *sim) countRepels(t *tmpl, p *corev1.Pod, n int32, from *tmpl, delta int32) {
	node := s.c.nodes[n].node
	if from != nil {
		for _, pt := range from.anti {
			if v, ok := node.Labels[pt.key]; ok && pt.matches(t.pod) {
				addExAnti(t, pt.key, v, delta)
			}
		}
		return
	}
	if a := p.Spec.Affinity; a != nil && a.PodAntiAffinity != nil {
		for _, term := range a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution {
			v, ok := node.Labels[term.TopologyKey]
			if !ok {
				continue
			}
			sel, ns, err := termSelector(p, term)
			if err != nil || (ns != nil && !ns[t.ns]) || !sel.Matches(t.labels) {
				continue
			}
			addExAnti(t, term.TopologyKey, v, delta)
		}
	}
}

func addExAnti(t *tmpl, key, value string, delta int32) {
	m := t.exAnti[key]
	if m == nil {
		m = map[string]int32{}
		t.exAnti[key] = m
	}
	m[value] += delta
}

// place binds a pod of t to node n.
func (s *sim) place(t *tmpl, n int32) int {
	row := s.req[int(n)*s.R : int(n+1)*s.R]
	for i, v := range t.req {
		row[i] += v
	}
	s.nz[n][0] += t.nz[0]
	s.nz[n][1] += t.nz[1]
	s.changed(n)
	for _, u := range s.tracked {
		s.count(u, t.pod, false, n, t, 1)
	}
	s.placed = append(s.placed, placed{t: t, node: n})
	return len(s.placed) - 1
}

// unplace removes a pod the simulation placed.
func (s *sim) unplace(k int) {
	pl := &s.placed[k]
	if pl.gone {
		return
	}
	pl.gone = true
	row := s.req[int(pl.node)*s.R : int(pl.node+1)*s.R]
	for i, v := range pl.t.req {
		row[i] -= v
	}
	s.nz[pl.node][0] -= pl.t.nz[0]
	s.nz[pl.node][1] -= pl.t.nz[1]
	s.changed(pl.node)
	for _, u := range s.tracked {
		s.count(u, pl.t.pod, false, pl.node, pl.t, -1)
	}
}

// remove takes an existing pod off its node.
func (s *sim) remove(i int32) {
	if s.removed.has(i) {
		return
	}
	s.removed.set(i)
	p := &s.c.pods[i]
	row := s.req[int(p.node)*s.R : int(p.node+1)*s.R]
	for j, v := range p.req {
		row[j] -= v
	}
	s.nz[p.node][0] -= p.nz[0]
	s.nz[p.node][1] -= p.nz[1]
	s.changed(p.node)
	for _, u := range s.tracked {
		s.count(u, p.pod, p.terminating, p.node, nil, -1)
	}
}

// failure is why a pod found no node, as kube-scheduler's FitError counts
// it: for each reason, the number of nodes that gave it.
type failure struct {
	nodes   int
	reasons map[string]int
}

// Message renders it as the scheduler's FailedScheduling event does.
func (f *failure) Message() string {
	var parts []string
	for r, n := range f.reasons {
		parts = append(parts, fmt.Sprintf("%d %s", n, r))
	}
	sort.Strings(parts)
	msg := fmt.Sprintf("0/%d nodes are available", f.nodes)
	if len(parts) > 0 {
		msg += ": " + strings.Join(parts, ", ")
	}
	return msg + "."
}

func numFeasibleNodesToFind(n, pct int) int {
	if n < minFeasibleNodesToFind || pct >= 100 {
		return n
	}
	if pct <= 0 {
		pct = 50 - n/125
	}
	if pct < minFeasibleNodesPercentageToFind {
		pct = minFeasibleNodesPercentageToFind
	}
	k := n * pct / 100
	if k < minFeasibleNodesToFind {
		return minFeasibleNodesToFind
	}
	return k
}

// schedule finds the node kube-scheduler would bind a pod of t to, or says
// why none fits. t must be tracked.
func (s *sim) schedule(t *tmpl) (int32, *failure) {
	n := len(s.c.nodes)
	live := s.live()
	want := numFeasibleNodesToFind(live, s.c.opts.PercentageOfNodesToScore)
	s.feasible, s.walk = s.feasible[:0], s.walk[:0]
	mins := s.spreadMins(t)
	processed := 0
	for k := 0; k < n && len(s.feasible) < want; k++ {
		j := s.start + k
		if j >= n {
			j -= n
		}
		i := s.c.order[j]
		processed++
		if s.down[i] {
			continue
		}
		if t.static[i] == 0 && s.filter(t, i, mins, nil) {
			s.feasible = append(s.feasible, i)
			s.walk = append(s.walk, int32(k))
		}
	}
	s.start = (s.start + processed) % max(n, 1)
	if len(s.feasible) == 0 {
		f := &failure{nodes: live, reasons: map[string]int{}}
		for i := range s.c.nodes {
			if s.down[i] {
				continue
			}
			if r := t.static[i]; r != 0 {
				f.reasons[staticReasons[r-1]]++
				continue
			}
			s.filter(t, int32(i), mins, f.reasons)
		}
		return -1, f
	}
	if len(s.feasible) == 1 {
		return s.feasible[0], nil
	}
	return s.pick(t), nil
}

// live counts the nodes not lost.
func (s *sim) live() int {
	if s.downCount < 0 {
		s.downCount = 0
		for _, d := range s.down {
			if d {
				s.downCount++
			}
		}
	}
	return len(s.c.nodes) - s.downCount
}

// spreadMins is, per hard spread constraint, the smallest count of matching
// pods over the domains that count (0 below minDomains).
func (s *sim) spreadMins(t *tmpl) []int32 {
	if len(t.hard) == 0 {
		return nil
	}
	mins := make([]int32, len(t.hard))
	for j, sp := range t.hard {
		present := make([]bool, len(sp.dom.values))
		domainsN := 0
		for i, d := range sp.dom.of {
			if d >= 0 && sp.eligible[i] && !s.down[i] && !present[d] {
				present[d] = true
				domainsN++
			}
		}
		m := int32(math.MaxInt32)
		for d, ok := range present {
			if ok && sp.dom.count[d] < m {
				m = sp.dom.count[d]
			}
		}
		if domainsN < int(sp.minDomains) || domainsN == 0 {
			m = 0
		}
		mins[j] = m
	}
	return mins
}

// filter runs the filters whose outcome depends on what is placed, in the
// scheduler's order, on a node the static filters passed. With reasons
// non-nil it records why the node fails.
func (s *sim) filter(t *tmpl, i int32, mins []int32, reasons map[string]int) bool {
	fail := func(r string) bool {
		if reasons != nil {
			reasons[r]++
		}
		return false
	}
	if len(t.ports) > 0 && s.portConflict(t, i) {
		return fail(reasonPorts)
	}
	// NodeResourcesFit.
	alloc := s.c.allocFlat[int(i)*s.R : int(i+1)*s.R]
	row := s.req[int(i)*s.R : int(i+1)*s.R]
	ok := true
	if row[rPods]+1 > alloc[rPods] {
		ok = fail(ReasonTooManyPods)
		if reasons == nil {
			return false
		}
	}
	for _, r := range t.requested {
		if want := t.req[r]; want > alloc[r]-row[r] {
			ok = fail("Insufficient " + string(s.c.resources[r]))
			if reasons == nil {
				return false
			}
		}
	}
	for _, m := range t.missing {
		ok = fail("Insufficient " + string(m))
	}
	if !ok {
		return false
	}
	// PodTopologySpread.
	for j, sp := range t.hard {
		d := sp.dom.of[i]
		if d < 0 {
			return fail(reasonSpreadLabel)
		}
		self := int32(0)
		if sp.self {
			self = 1
		}
		if sp.dom.count[d]+self-mins[j] > sp.maxSkew {
			return fail(reasonSpread)
		}
	}
	// InterPodAffinity: the pod's affinity, its anti-affinity, then
	// existing pods' anti-affinity.
	if len(t.affinity) > 0 {
		exist := true
		for _, pt := range t.affinity {
			d := pt.dom.of[i]
			if d < 0 {
				return fail(reasonAffinityRules)
			}
			if pt.dom.count[d] <= 0 {
				exist = false
			}
		}
		if !exist {
			selfAll := true
			for _, pt := range t.affinity {
				selfAll = selfAll && pt.self
			}
			if t.affTotal != 0 || !selfAll {
				return fail(reasonAffinityRules)
			}
		}
	}
	for _, pt := range t.anti {
		if d := pt.dom.of[i]; d >= 0 && pt.dom.count[d] > 0 {
			return fail(reasonAntiAffinity)
		}
	}
	if len(t.exAnti) > 0 {
		node := s.c.nodes[i].node
		for key, m := range t.exAnti {
			if v, ok := node.Labels[key]; ok && m[v] > 0 {
				return fail(reasonExistingAnti)
			}
		}
	}
	return true
}

func (s *sim) portConflict(t *tmpl, i int32) bool {
	check := func(ports []hostPort) bool {
		for _, a := range t.ports {
			for _, b := range ports {
				if a.conflicts(b) {
					return true
				}
			}
		}
		return false
	}
	for _, pi := range s.c.podsOn[i] {
		if !s.removed.has(pi) && check(s.c.pods[pi].ports) {
			return true
		}
	}
	for _, pl := range s.placed {
		if !pl.gone && pl.node == i && check(pl.t.ports) {
			return true
		}
	}
	return false
}

// pick scores the feasible nodes with the default profile's score plugins
// and returns the best, breaking ties as the scheduler does (heapPick).
func (s *sim) pick(t *tmpl) int32 {
	f := s.feasible
	total := s.scores[:0]
	for range f {
		total = append(total, 0)
	}
	s.scores = total
	raw := s.buf(0, len(f))

	// TaintToleration: untolerated PreferNoSchedule taints, fewer is
	// better; NodeAffinity: preferred terms' weights. Both are fixed per
	// node, normalized over the feasible ones; where no node varies they add
	// the same to every node and are left out.
	if t.taintRaw != nil {
		for k, i := range f {
			raw[k] = t.taintRaw[i]
		}
		normalize(raw, true)
		addWeighted(total, raw, weightTaint)
	}
	if t.affinityRaw != nil {
		for k, i := range f {
			raw[k] = t.affinityRaw[i]
		}
		normalize(raw, false)
		addWeighted(total, raw, weightAffinity)
	}
	// NodeResourcesFit (LeastAllocated) and BalancedAllocation depend on the
	// node alone: kept per node until a pod lands on it or leaves it.
	for k, i := range f {
		if !t.resValid[i] {
			t.resScore[i] = s.resourceScore(t, i)
			t.resValid[i] = true
		}
		total[k] += t.resScore[i]
	}

	// PodTopologySpread: fewer matching pods in the node's domains is better.
	if len(t.soft) > 0 {
		s.spreadScore(t, raw)
		addWeighted(total, raw, weightSpread)
	}

	// The best score; among equals, the one the scheduler's heap puts first.
	best, bestScore, ties := 0, total[0], 1
	pools := false
	poolID := s.c.poolID
	for k := 1; k < len(f); k++ {
		switch {
		case total[k] > bestScore:
			best, bestScore, ties, pools = k, total[k], 1, false
		case total[k] == bestScore:
			ties++
			pools = pools || poolID[f[k]] != poolID[f[best]]
		}
	}
	if pools {
		s.tiesAcrossPools = true
	}
	if ties > 1 {
		return f[s.heapPick(total)]
	}
	return f[best]
}

// heapPick is the feasible node kube-scheduler (1.35 on, OpportunisticBatching)
// binds to when several share the best score. schedulePod builds a
// container/heap of the scored nodes (NewSortedScoredNodes) and pops its
// top; the heap breaks equal TotalScores by a Randomizer that
// prioritizeNodes sets only when extenders score (schedule_one.go), so
// without them the tie goes by heap position: by the order in which the
// parallel Filter goroutines appended the feasible nodes, not at random
// among the tied. That order is the walk's, chunk by chunk, with the chunks
// that filterStreams goroutines run at once interleaved: a seed other than
// 0 draws the interleaving. Seed 0 takes the walk's order, as a scheduler of
// parallelism 1 does, and as a parallel one does when its first goroutine
// drains the chunk queue before the runtime starts a second on another CPU:
// on the test stack, with up to a few dozen nodes, every time (docs/gate.md).
func (s *sim) heapPick(total []int64) int {
	f := s.feasible
	par := s.c.opts.Parallelism
	if par <= 0 {
		par = defaultParallelism
	}
	streams := min(par, filterStreams)
	if !s.interleave {
		streams = 1
	}
	chunk := chunkSizeFor(len(s.c.nodes), par)
	next := 0 // first feasible node of the next chunk no goroutine took yet
	take := func() [2]int {
		lo := next
		if lo < len(f) {
			c := s.walk[lo] / int32(chunk)
			for next < len(f) && s.walk[next]/int32(chunk) == c {
				next++
			}
		}
		return [2]int{lo, next}
	}
	var run [filterStreams][2]int
	active := 0
	for active < streams && next < len(f) {
		run[active] = take()
		active++
	}
	ord := s.ties.ord[:0]
	for active > 0 {
		g := 0
		if active > 1 {
			g = s.rng.IntN(active)
		}
		ord = append(ord, int32(run[g][0]))
		run[g][0]++
		if run[g][0] == run[g][1] {
			if next < len(f) {
				run[g] = take()
			} else {
				active--
				run[g] = run[active]
			}
		}
	}
	s.ties = scoreHeap{ord: ord, total: total}
	heap.Init(&s.ties)
	return int(s.ties.ord[0])
}

// chunkSizeFor is the scheduler's Parallelizer chunk size for n pieces.
func chunkSizeFor(n, parallelism int) int {
	c := int(math.Sqrt(float64(n)))
	if r := n/parallelism + 1; c > r {
		c = r
	} else if c < 1 {
		c = 1
	}
	return c
}

// scoreHeap orders feasible nodes (indices into total) as the scheduler's
// nodeScoreHeap does with every Randomizer 0: higher score first.
type scoreHeap struct {
	ord   []int32
	total []int64
}

func (h *scoreHeap) Len() int           { return len(h.ord) }
func (h *scoreHeap) Less(i, j int) bool { return h.total[h.ord[i]] > h.total[h.ord[j]] }
func (h *scoreHeap) Swap(i, j int)      { h.ord[i], h.ord[j] = h.ord[j], h.ord[i] }
func (h *scoreHeap) Push(x any)         { h.ord = append(h.ord, x.(int32)) }
func (h *scoreHeap) Pop() any {
	x := h.ord[len(h.ord)-1]
	h.ord = h.ord[:len(h.ord)-1]
	return x
}

// resourceScore is LeastAllocated plus BalancedAllocation, weighted, for a
// pod of t on node i.
func (s *sim) resourceScore(t *tmpl, i int32) int64 {
	alloc := s.c.allocFlat[int(i)*s.R : int(i+1)*s.R]
	row := s.req[int(i)*s.R : int(i+1)*s.R]
	var sum, w, total int64
	for r := range 2 {
		a := alloc[r]
		if a == 0 {
			continue
		}
		req := s.nz[i][r] + t.nz[r]
		if req <= a {
			sum += (a - req) * maxNodeScore / a
		}
		w++
	}
	if w > 0 {
		total += weightFit * (sum / w)
	}
	if !t.bestEffort {
		with := balanced(row[rCPU]+t.req[rCPU], row[rMemory]+t.req[rMemory], alloc[rCPU], alloc[rMemory])
		without := balanced(row[rCPU], row[rMemory], alloc[rCPU], alloc[rMemory])
		total += weightBalanced * (maxNodeScore/2 + (maxNodeScore/2+with-without)/2)
	}
	return total
}

// changed invalidates what tracked templates keep about node n.
func (s *sim) changed(n int32) {
	for _, u := range s.tracked {
		u.resValid[n] = false
	}
}

func (s *sim) buf(i, n int) []int64 {
	if cap(s.raw[i]) < n {
		s.raw[i] = make([]int64, n)
	}
	return s.raw[i][:n]
}

// spreadScore is PodTopologySpread's score, normalized, into out.
func (s *sim) spreadScore(t *tmpl, out []int64) {
	f := s.feasible
	// With the system's default constraints a node without a key's label
	// is scored on the others; with the pod's own, it is ignored (scored 0).
	requireAll := !t.softDefault
	var ignored []int64
	live := len(f)
	if requireAll {
		ignored = s.buf(1, len(f))
		live = 0
		for k, i := range f {
			ignored[k] = 0
			for _, sp := range t.soft {
				if sp.dom.of[i] < 0 {
					ignored[k] = 1
					break
				}
			}
			if ignored[k] == 0 {
				live++
			}
		}
	}
	skip := func(k int) bool { return ignored != nil && ignored[k] != 0 }
	if cap(s.fbuf) < len(f) {
		s.fbuf = make([]float64, len(f))
	}
	sum := s.fbuf[:len(f)]
	clear(sum)
	for _, sp := range t.soft {
		of, count := sp.dom.of, sp.dom.count
		size := live
		if sp.key != corev1.LabelHostname {
			// The scheduler sizes the topology by the values of the key on
			// the feasible nodes, an absent label counting as the value "".
			seen := s.buf(2, len(sp.dom.values)+1)
			clear(seen)
			size = 0
			for k, i := range f {
				d := of[i] + 1 // 0 for the absent label
				if seen[d] == 0 && !skip(k) {
					seen[d] = 1
					size++
				}
			}
		}
		w := math.Log(float64(size + 2))
		skew := float64(sp.maxSkew - 1)
		for k, i := range f {
			if d := of[i]; d >= 0 && !skip(k) {
				sum[k] += float64(count[d])*w + skew
			}
		}
	}
	minS, maxS := int64(math.MaxInt64), int64(0)
	for k := range f {
		if skip(k) {
			continue
		}
		v := int64(math.Round(sum[k]))
		out[k] = v
		minS = min(minS, v)
		maxS = max(maxS, v)
	}
	for k := range f {
		switch {
		case skip(k):
			out[k] = 0
		case maxS == 0:
			out[k] = maxNodeScore
		default:
			out[k] = maxNodeScore * (maxS + minS - out[k]) / maxS
		}
	}
}

func balanced(cpu, mem, allocCPU, allocMem int64) int64 {
	if allocCPU == 0 || allocMem == 0 {
		return maxNodeScore // one fraction or none: no deviation
	}
	fc := min(float64(cpu)/float64(allocCPU), 1)
	fm := min(float64(mem)/float64(allocMem), 1)
	std := math.Abs((fc - fm) / 2)
	return int64((1 - std) * maxNodeScore)
}

// normalize is the scheduler's DefaultNormalizeScore.
func normalize(scores []int64, reverse bool) {
	var top int64
	for _, v := range scores {
		top = max(top, v)
	}
	for k, v := range scores {
		switch {
		case top == 0 && reverse:
			scores[k] = maxNodeScore
		case top == 0:
		default:
			v = maxNodeScore * v / top
			if reverse {
				v = maxNodeScore - v
			}
			scores[k] = v
		}
	}
}

func addWeighted(total, scores []int64, w int64) {
	for k, v := range scores {
		total[k] += v * w
	}
}

// bitset marks pods by index; a sim copies it per run, so it is kept small.
type bitset []uint64

func newBitset(n int) bitset { return make(bitset, (n+63)/64) }

func (b bitset) has(i int32) bool { return b[i>>6]&(1<<(uint(i)&63)) != 0 }

func (b bitset) set(i int32) { b[i>>6] |= 1 << (uint(i) & 63) }
