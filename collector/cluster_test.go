package collector

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestStartOrderSpreadsNodesWithinJitterInOrder(t *testing.T) {
	nodes := make([]*corev1.Node, 200)
	for i := range nodes {
		nodes[i] = &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("n%d", i)}}
	}
	const jitter = 2 * time.Second
	order := startOrder(nodes, jitter)
	if len(order) != len(nodes) {
		t.Fatalf("%d starts for %d nodes", len(order), len(nodes))
	}
	seen := map[string]bool{}
	distinct := map[time.Duration]bool{}
	for i, s := range order {
		if s.offset < 0 || s.offset >= jitter {
			t.Errorf("node %s starts at %s, outside [0, %s)", s.node.Name, s.offset, jitter)
		}
		if i > 0 && s.offset < order[i-1].offset {
			t.Errorf("start %d (%s) before start %d (%s)", i, s.offset, i-1, order[i-1].offset)
		}
		seen[s.node.Name] = true
		distinct[s.offset] = true
	}
	if len(seen) != len(nodes) {
		t.Errorf("%d distinct nodes in the order, want %d", len(seen), len(nodes))
	}
	if len(distinct) < len(nodes)/2 {
		t.Errorf("only %d distinct offsets for %d nodes: not spread", len(distinct), len(nodes))
	}
	for _, s := range startOrder(nodes, 0) {
		if s.offset != 0 {
			t.Fatalf("no jitter, yet node %s starts at %s", s.node.Name, s.offset)
		}
	}
}
