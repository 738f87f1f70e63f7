package capacity

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/headroomhq/headroom/test/fixtures"
)

type fitAmounts struct {
	CPUm      int64 `json:"cpu_m"`
	MemBytes  int64 `json:"mem_bytes"`
	Pods      int64 `json:"pods"`
	Ephemeral int64 `json:"ephemeral_bytes"`
}

func (a fitAmounts) list(withPods bool) corev1.ResourceList {
	rl := corev1.ResourceList{}
	if a.CPUm != 0 {
		rl[corev1.ResourceCPU] = *resource.NewMilliQuantity(a.CPUm, resource.DecimalSI)
	}
	if a.MemBytes != 0 {
		rl[corev1.ResourceMemory] = *resource.NewQuantity(a.MemBytes, resource.BinarySI)
	}
	if a.Ephemeral != 0 {
		rl[corev1.ResourceEphemeralStorage] = *resource.NewQuantity(a.Ephemeral, resource.BinarySI)
	}
	if withPods {
		rl[corev1.ResourcePods] = *resource.NewQuantity(a.Pods, resource.DecimalSI)
	}
	return rl
}

func containers(as []fitAmounts) []corev1.Container {
	var out []corev1.Container
	for _, a := range as {
		out = append(out, corev1.Container{Resources: corev1.ResourceRequirements{Requests: a.list(false)}})
	}
	return out
}

// TestFitsMatchesKubeSchedulerCases runs the 22 NodeResourcesFit cases from
// kube-scheduler's own tests: effective requests (init containers, overhead),
// the equality edge, the pod count, ephemeral storage.
func TestFitsMatchesKubeSchedulerCases(t *testing.T) {
	b := fixtures.Read(t, "fit/scheduler-noderesources-fit.json")
	var doc struct {
		Cases []struct {
			Name        string     `json:"name"`
			Allocatable fitAmounts `json:"node_allocatable"`
			Existing    fitAmounts `json:"existing_pod_requests"`
			Count       int        `json:"existing_pod_count"`
			NewPod      struct {
				Containers     []fitAmounts `json:"containers"`
				InitContainers []fitAmounts `json:"initContainers"`
				Overhead       *fitAmounts  `json:"overhead"`
			} `json:"new_pod"`
			ExpectFit          bool   `json:"expect_fit"`
			ExpectReason       string `json:"expect_reason"`
			ExpectInsufficient []struct {
				Resource  string `json:"resource"`
				Requested int64  `json:"requested"`
				Used      int64  `json:"used"`
				Capacity  int64  `json:"capacity"`
			} `json:"expect_insufficient"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Cases) != 22 {
		t.Fatalf("%d cases, want 22", len(doc.Cases))
	}
	for _, c := range doc.Cases {
		t.Run(c.Name, func(t *testing.T) {
			pod := &corev1.Pod{Spec: corev1.PodSpec{
				Containers: containers(c.NewPod.Containers), InitContainers: containers(c.NewPod.InitContainers)}}
			if c.NewPod.Overhead != nil {
				pod.Spec.Overhead = c.NewPod.Overhead.list(false)
			}
			node := &Node{Allocatable: c.Allocatable.list(true), Requested: c.Existing.list(false), Pods: c.Count}
			reasons, insufficient := Fits(node, PodRequests(pod))
			if fit := len(reasons) == 0; fit != c.ExpectFit {
				t.Fatalf("fit = %v (%v), want %v", fit, reasons, c.ExpectFit)
			}
			if c.ExpectReason != "" && !slices.Contains(reasons, c.ExpectReason) {
				t.Errorf("reasons %v lack %q", reasons, c.ExpectReason)
			}
			if len(c.ExpectInsufficient) > 0 && len(insufficient) != len(c.ExpectInsufficient) {
				t.Fatalf("insufficient %v, want %+v", insufficient, c.ExpectInsufficient)
			}
			for i, want := range c.ExpectInsufficient {
				got := insufficient[i]
				value := func(q resource.Quantity) int64 {
					if got.Resource == corev1.ResourceCPU {
						return q.MilliValue()
					}
					return q.Value()
				}
				if string(got.Resource) != want.Resource || value(got.Requested) != want.Requested ||
					value(got.Used) != want.Used || value(got.Capacity) != want.Capacity {
					t.Errorf("insufficient[%d] = %s, want %+v", i, got, want)
				}
			}

			// The gate's own filter must decide the same: the node with its
			// pods, one replica of the new pod.
			n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n"}, Status: corev1.NodeStatus{Allocatable: c.Allocatable.list(true)}}
			var existing []*corev1.Pod
			for i := range c.Count {
				p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("e%d", i), Namespace: "ns"}, Spec: corev1.PodSpec{NodeName: "n"}}
				if i == 0 {
					p.Spec.Containers = containers([]fitAmounts{c.Existing})
				}
				existing = append(existing, p)
			}
			pod.Namespace = "ns"
			res := NewCluster([]*corev1.Node{n}, existing, Options{}).Check(&Workload{Namespace: "ns", Name: "new", Replicas: 1, Template: pod}, Policy{})
			if fit := res.ReplicasFit == 1; fit != c.ExpectFit {
				t.Fatalf("gate: fit = %v (%v), want %v", fit, res.Reasons, c.ExpectFit)
			}
			for _, r := range reasons {
				if !strings.Contains(res.Reasons[0], "1 "+r) {
					t.Errorf("gate: %q lacks %q", res.Reasons[0], r)
				}
			}
		})
	}
}
