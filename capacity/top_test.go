package capacity

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func topNode(name, pool, cpu, mem string) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"pool": pool}},
		Status: corev1.NodeStatus{Allocatable: corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)}}}
}

func topPod(ns, name, node, app string, phase corev1.PodPhase, req, lim string) *corev1.Pod {
	rl := func(q string) corev1.ResourceList {
		if q == "" {
			return nil
		}
		return corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(q), corev1.ResourceMemory: resource.MustParse(q + "Gi")}
	}
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app": app}},
		Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c",
			Resources: corev1.ResourceRequirements{Requests: rl(req), Limits: rl(lim)}}}},
		Status: corev1.PodStatus{Phase: phase}}
}

func usage(cpu, mem string) corev1.ResourceList {
	return corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)}
}

func TestTop(t *testing.T) {
	sidecar := topPod("shop", "cart-1", "n1", "cart", corev1.PodRunning, "1", "2")
	always := corev1.ContainerRestartPolicyAlways
	sidecar.Spec.InitContainers = []corev1.Container{{Name: "proxy", RestartPolicy: &always,
		Resources: corev1.ResourceRequirements{Requests: usage("100m", "128Mi")}}}
	in := TopInput{
		Cluster: "osl2",
		Nodes:   []*corev1.Node{topNode("n1", "general", "4", "16Gi"), topNode("n2", "general", "4", "16Gi"), topNode("n3", "db", "8", "64Gi")},
		Pods: []*corev1.Pod{
			sidecar,
			topPod("shop", "cart-2", "n2", "cart", corev1.PodRunning, "1", "2"),
			topPod("shop", "search-1", "n3", "search", corev1.PodRunning, "2", ""),
			topPod("shop", "done-1", "n1", "batch", corev1.PodSucceeded, "3", "3"),  // holds nothing
			topPod("shop", "pending-1", "", "cart", corev1.PodPending, "1", "2"),    // on no node
			topPod("kube-system", "dns-1", "n1", "dns", corev1.PodRunning, "1", ""), // another namespace
		},
		NodeUsage:  map[string]corev1.ResourceList{"n1": usage("1500m", "3Gi"), "n2": usage("500m", "1Gi")},
		PodUsage:   map[string]corev1.ResourceList{"shop/cart-1": usage("700m", "1Gi"), "shop/cart-2": usage("300m", "512Mi")},
		PoolLabels: []string{"pool"},
		AppOf:      func(p *corev1.Pod) string { return p.Labels["app"] },
	}
	gi := float64(1 << 30)

	pools := Top(in, TopPool)
	if len(pools) != 2 || pools[0].Name != "db" || pools[1].Name != "general" {
		t.Fatalf("pools: %+v", pools)
	}
	g := pools[1]
	// n1: cart-1 (1 + sidecar 0.1) and dns (1); n2: cart-2 (1).
	if g.Nodes != 2 || g.Pods != 3 || g.CPU.Requests != 3.1 || g.CPU.Limits != 4 || g.CPU.Allocatable != 8 ||
		*g.CPU.Usage != 2 || g.Memory.Requests != 3*gi+128<<20 || *g.Memory.Usage != 4*gi {
		t.Errorf("pool general: %+v cpu %+v (usage %v) memory %+v", g, g.CPU, *g.CPU.Usage, g.Memory)
	}
	if db := pools[0]; db.CPU.Usage != nil {
		t.Errorf("pool db has no node usage, got %v", *db.CPU.Usage)
	}

	apps := Top(in, TopApp)
	var cart *TopRow
	for i := range apps {
		if apps[i].Name == "shop/cart" {
			cart = &apps[i]
		}
	}
	// The pending replica requests too, as the scheduler will need it.
	if cart == nil || cart.Pods != 3 || cart.CPU.Requests != 3.1 || *cart.CPU.Usage != 1 || cart.CPU.Allocatable != 16 {
		t.Errorf("app shop/cart: %+v", cart)
	}
	ns := Top(in, TopNamespace)
	if len(ns) != 2 || ns[1].Name != "shop" || ns[1].Pods != 4 || ns[1].CPU.Requests != 5.1 {
		t.Errorf("namespaces: %+v", ns)
	}
	nodes := Top(in, TopNode)
	if len(nodes) != 3 || nodes[0].Pods != 2 || nodes[2].Pods != 1 {
		t.Errorf("nodes: %+v", nodes)
	}
	if err := SortTop(apps, "cpu.requests"); err != nil || apps[0].Name != "shop/cart" {
		t.Errorf("sorted by cpu.requests: %v %+v", err, apps)
	}
	if err := SortTop(nodes, "memory.usage"); err != nil || nodes[0].Name != "n1" || nodes[2].Name != "n3" {
		t.Errorf("sorted by memory.usage (no usage last): %+v", nodes)
	}
	if err := SortTop(nil, "cpu.util"); err == nil {
		t.Error("an unknown sort key was taken")
	}
}
