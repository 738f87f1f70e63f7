package capacity

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestPlainRequestsMatchPodRequests: for pods made of random containers,
// the sums plainVector and nonZero take equal component-helpers'
// PodRequests (what kube-scheduler calls), whatever the quantities' units
// and precision, with requests missing, zero or for resources no node
// offers.
func TestPlainRequestsMatchPodRequests(t *testing.T) {
	nodes := []*corev1.Node{testNode("n1", "general", "8", "32Gi")}
	nodes[0].Status.Allocatable["nvidia.com/gpu"] = resource.MustParse("4")
	c := NewCluster(nodes, nil, Options{PoolLabels: testPools})
	values := map[corev1.ResourceName][]string{
		corev1.ResourceCPU:              {"0", "1m", "100u", "250m", "1", "1.5", "0.0005", "3333m"},
		corev1.ResourceMemory:           {"0", "1", "0.5", "100M", "1Gi", "1.5Gi", "128974848", "129e6", "1m"},
		corev1.ResourceEphemeralStorage: {"0", "1Gi", "500M"},
		"nvidia.com/gpu":                {"0", "1", "2"},
		"example.com/unoffered":         {"0", "1"},
	}
	names := []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage, "nvidia.com/gpu", "example.com/unoffered"}
	rng := rand.New(rand.NewPCG(1, 2))
	plain := 0
	for k := range 20000 {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: fmt.Sprint("p", k)}}
		for j := range rng.IntN(4) {
			req := corev1.ResourceList{}
			for _, n := range names {
				if rng.IntN(3) > 0 {
					vs := values[n]
					req[n] = resource.MustParse(vs[rng.IntN(len(vs))])
				}
			}
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: fmt.Sprint("c", j), Resources: corev1.ResourceRequirements{Requests: req}})
		}
		if k%10 == 0 {
			p.Spec.InitContainers = []corev1.Container{{Name: "init"}}
		}
		if got, want := nonZero(p), helperNonZero(p); got != want {
			t.Fatalf("pod %d %+v: nonZero %v, PodRequests %v", k, p.Spec.Containers, got, want)
		}
		v, ok := c.plainVector(p)
		if !ok {
			continue
		}
		plain++
		want, missing := c.helperVector(p)
		if !slices.Equal(v, want) || len(missing) > 0 {
			t.Fatalf("pod %d %+v: plainVector %v, PodRequests %v (missing %v)", k, p.Spec.Containers, v, want, missing)
		}
	}
	if plain < 10000 {
		t.Errorf("only %d of 20000 pods took the plain path", plain)
	}
}
