package capacity

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/headroomhq/headroom/test/fixtures"
	"github.com/headroomhq/headroom/test/openb"
)

// TestReplayOpenB replays the 8,152 real pod requests of the openb trace on
// its 1,523 real nodes. The real scheduler's outcome is compared in
// test/e2e; here the model must account for every pod, and runs with
// different tie-breaking must leave nearly the same pods pending: of nodes
// that score alike (the same cpu and memory, different GPUs) the scheduler
// binds the one its parallel Filter goroutines found first, an order that
// varies with their timing, so a few pods' fate is random. With the
// scheduler's parallelism at 1 it is not: every seed places every pod on
// the same node.
func TestReplayOpenB(t *testing.T) {
	nodes, pods := openbTrace(t)
	if len(nodes) != 1523 || len(pods) != 8152 {
		t.Fatalf("%d nodes, %d pods; want 1523 and 8152", len(nodes), len(pods))
	}
	c := NewCluster(nodes, nil, Options{PoolLabels: testPools, PercentageOfNodesToScore: 100})
	got := c.Replay(pods, 0)
	pending := 0
	for _, n := range got {
		if n == "" {
			pending++
		}
	}
	t.Logf("openb replay: %d of %d pods bound, %d pending", len(pods)-pending, len(pods), pending)
	again := c.Replay(pods, 1)
	differ := 0
	for i := range got {
		if (got[i] == "") != (again[i] == "") {
			differ++
		}
	}
	t.Logf("pods pending under one tie-break and bound under another: %d", differ)
	if differ > pending/10 {
		t.Errorf("%d of %d pending pods depend on tie-breaking; the replay is not stable", differ, pending)
	}
}

func TestReplayOpenBParallelism1IsDeterministic(t *testing.T) {
	nodes, pods := openbTrace(t)
	c := NewCluster(nodes, nil, Options{PoolLabels: testPools, PercentageOfNodesToScore: 100, Parallelism: 1})
	got := c.Replay(pods, 0)
	for _, seed := range []uint64{1, 7} {
		again := c.Replay(pods, seed)
		for i := range got {
			if got[i] != again[i] {
				t.Fatalf("parallelism 1, seed %d: pod %s on %q, seed 0 put it on %q", seed, pods[i].Name, again[i], got[i])
			}
		}
	}
}

// openbTrace reads the openb fixture's nodes and pods.
func openbTrace(t *testing.T) ([]*corev1.Node, []*corev1.Pod) {
	t.Helper()
	nodes, err := openb.Nodes(fixtures.Path(t, "openb/openb_node_list_all_node.csv"))
	if err != nil {
		t.Fatal(err)
	}
	pods, err := openb.Pods(fixtures.Path(t, "openb/openb_pod_list_default.csv"), "openb")
	if err != nil {
		t.Fatal(err)
	}
	return nodes, pods
}
