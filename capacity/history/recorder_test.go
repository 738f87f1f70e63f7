package history

import (
	"math"
	"testing"
	"time"

	"github.com/headroomhq/headroom"
)

func nodePoint(t time.Time, node, pool string, cpuAlloc, cpuReq float64, cpuUsed any, memAlloc, memReq int64, memUsed any, pods int64) headroom.Point {
	fields := []headroom.Field{
		{Key: "cpu_allocatable_cores", Value: cpuAlloc}, {Key: "cpu_requested_cores", Value: cpuReq},
		{Key: "memory_allocatable_bytes", Value: memAlloc}, {Key: "memory_requested_bytes", Value: memReq},
		{Key: "pods_allocatable", Value: int64(110)}, {Key: "pods", Value: pods},
		{Key: "ready", Value: true}, {Key: "scraped", Value: cpuUsed != nil}, {Key: "memory_pressure", Value: node == "n3"},
	}
	if cpuUsed != nil {
		fields = append(fields, headroom.Field{Key: "cpu_usage_cores", Value: cpuUsed})
	}
	if memUsed != nil {
		fields = append(fields, headroom.Field{Key: "memory_working_set_bytes", Value: memUsed})
	}
	return headroom.Point{Measurement: "node", Time: t, Fields: fields,
		Tags: []headroom.Tag{{Key: "cluster", Value: "osl2"}, {Key: "node", Value: node}, {Key: "pool", Value: pool}}}
}

func appPoint(t time.Time, ns, app, container string, replicas, usageReplicas int64, cpuReq, cpuUsed float64, memUsed int64) headroom.Point {
	return headroom.Point{Measurement: "app", Time: t,
		Tags: []headroom.Tag{{Key: "app", Value: app}, {Key: "cluster", Value: "osl2"}, {Key: "container", Value: container},
			{Key: "namespace", Value: ns}, {Key: "workload", Value: app}},
		Fields: []headroom.Field{{Key: "replicas", Value: replicas}, {Key: "cpu_usage_replicas", Value: usageReplicas},
			{Key: "memory_usage_replicas", Value: replicas}, {Key: "cpu_request_cores_sum", Value: cpuReq},
			{Key: "cpu_usage_cores_sum", Value: cpuUsed}, {Key: "memory_working_set_bytes_sum", Value: memUsed},
			{Key: "memory_request_bytes_sum", Value: int64(1 << 30)}}}
}

func cycle(t time.Time, n1Used float64, withN2Usage bool) []headroom.Point {
	var n2cpu, n2mem any
	if withN2Usage {
		n2cpu, n2mem = 1.0, int64(2<<30)
	}
	return []headroom.Point{
		nodePoint(t, "n1", "general", 4, 2, n1Used, 16<<30, 8<<30, int64(4<<30), 10),
		nodePoint(t, "n2", "general", 4, 1, n2cpu, 16<<30, 4<<30, n2mem, 5),
		nodePoint(t, "n3", "highmem", 8, 0.5, 0.25, 64<<30, 1<<30, int64(1<<30), 1),
		appPoint(t, "shop", "cart", "app", 3, 3, 1.5, 0.6, 3<<30),
		appPoint(t, "shop", "cart", "envoy", 3, 3, 0.3, 0.1, 1<<30),
		appPoint(t, "shop", "search", "app", 2, 1, 1, 0.5, 1<<30), // one replica without a cpu rate yet
		{Measurement: "cluster", Time: t, Tags: []headroom.Tag{{Key: "cluster", Value: "osl2"}}},
	}
}

type memStore struct {
	steps []time.Time
	by    map[time.Time]map[Key]float64
}

func (m *memStore) Append(t time.Time, samples []Sample) error {
	if m.by == nil {
		m.by = map[time.Time]map[Key]float64{}
	}
	m.steps = append(m.steps, t)
	m.by[t] = map[Key]float64{}
	for _, s := range samples {
		m.by[t][s.Key] = s.Value
	}
	return nil
}

func TestRecorderAveragesCyclesPerStepAndSkipsPartialUsage(t *testing.T) {
	st := &memStore{}
	r := NewRecorder(RecorderOptions{Store: st})
	// Three cycles in the first minute, one in the next: the first minute
	// is appended when the second begins.
	r.Record(cycle(t0.Add(5*time.Second), 1, true))
	r.Record(cycle(t0.Add(20*time.Second), 2, true))
	r.Record(cycle(t0.Add(35*time.Second), 3, false)) // n2 not read: pool usage left out
	if len(st.steps) != 0 {
		t.Fatalf("appended before the step ended: %v", st.steps)
	}
	r.Record(cycle(t0.Add(65*time.Second), 9, true))
	if len(st.steps) != 1 || !st.steps[0].Equal(t0) {
		t.Fatalf("steps appended = %v, want [%v]", st.steps, t0)
	}
	got := st.by[t0]
	pool := Key{Cluster: "osl2", Scope: ScopePool, Name: "general"}
	cluster := Key{Cluster: "osl2", Scope: ScopeCluster}
	ns := Key{Cluster: "osl2", Scope: ScopeNamespace, Name: "shop"}
	k := func(base Key, r Resource, kind Kind) Key { base.Resource, base.Kind = r, kind; return base }
	for _, c := range []struct {
		key  Key
		want float64
	}{
		{k(pool, CPU, Allocatable), 8},
		{k(pool, CPU, Requested), 3},
		{k(pool, CPU, Used), (1 + 1 + 2 + 1) / 2.0}, // the third cycle is not in the mean
		{k(pool, Memory, Used), (4<<30 + 2<<30)},
		{k(pool, Pods, Used), 15},
		{k(pool, Pods, Allocatable), 220},
		{k(cluster, CPU, Allocatable), 16},
		{k(cluster, Memory, Allocatable), 96 << 30},
		{k(cluster, CPU, Used), (1.25 + 1 + 2.25 + 1) / 2.0},
		{k(ns, CPU, Requested), 2.8},
		{k(ns, Memory, Used), 5 << 30},
		{k(ns, Pods, Requested), 5}, // cart's 3 (not 6: two containers) and search's 2
	} {
		if v, ok := got[c.key]; !ok || math.Abs(v-c.want) > 1e-9 {
			t.Errorf("%s = %v (stored %v), want %v", c.key, v, ok, c.want)
		}
	}
	// search has a replica without a cpu rate: the namespace's cpu use is
	// not a sum over all replicas and is left out; its memory is complete.
	if v, ok := got[k(ns, CPU, Used)]; ok {
		t.Errorf("%s stored (%v) though a replica had no cpu rate", k(ns, CPU, Used), v)
	}
	if _, ok := got[Key{Cluster: "osl2", Scope: ScopeNamespace, Name: "shop", Resource: CPU, Kind: Allocatable}]; ok {
		t.Error("a namespace has no allocatable")
	}

	l, ok := r.Latest("osl2")
	if !ok || !l.Time.Equal(t0.Add(65*time.Second)) || len(l.Nodes) != 3 || len(l.Apps) != 2 {
		t.Fatalf("Latest = %+v, %v", l, ok)
	}
	if !l.Nodes[2].MemoryPressure || l.Apps[0].Replicas != 3 || math.Abs(l.Apps[0].Requested.CPU-1.8) > 1e-9 {
		t.Errorf("Latest nodes/apps wrong: %+v %+v", l.Nodes[2], l.Apps[0])
	}
	if got := l.Pools(); len(got) != 2 || got[0] != "general" || got[1] != "highmem" {
		t.Errorf("Pools = %v", got)
	}

	// A cycle from before the step in progress (the clock went back) is
	// not mixed in; Flush appends the step in progress.
	r.Record(cycle(t0.Add(10*time.Second), 100, true))
	r.Flush()
	if len(st.steps) != 2 || st.by[st.steps[1]][k(pool, CPU, Used)] != 10 {
		t.Fatalf("after Flush: steps %v, pool cpu used %v", st.steps, st.by[st.steps[len(st.steps)-1]][k(pool, CPU, Used)])
	}
}
