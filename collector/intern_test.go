package collector

import (
	"reflect"
	"runtime"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/tools/cache"
)

func containers(cpu string) []corev1.Container {
	return []corev1.Container{{Name: "app", Image: "app:1", Resources: corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse("1Gi")}}}}
}

func TestInternSharesEqualSlicesAndForgetsDeadOnes(t *testing.T) {
	var in sliceInterner[corev1.Container, *corev1.Container]
	a := in.intern(containers("1"))
	b := in.intern(containers("1000m")) // the same quantity, spelled otherwise
	c := in.intern(containers("2"))
	if &a[0] != &b[0] {
		t.Error("equal containers were not shared")
	}
	if &a[0] == &c[0] {
		t.Error("different containers were shared")
	}
	if cap(a) != len(a) {
		t.Errorf("shared slice has spare capacity %d > %d: an append by a reader would write into it", cap(a), len(a))
	}
	if got := in.len(); got != 2 {
		t.Errorf("%d entries, want 2", got)
	}
	if in.intern(nil) != nil {
		t.Error("nil slice not returned as nil")
	}
	runtime.KeepAlive(a)
	runtime.KeepAlive(c)
	a, b, c = nil, nil, nil

	// Once no one holds them, the slices are collected and their entries go.
	deadline := time.Now().Add(10 * time.Second)
	for in.len() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d entries left after their slices became unreachable", in.len())
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	// A dead entry is replaced, not resurrected.
	d := in.intern(containers("1"))
	if len(d) != 1 || d[0].Resources.Requests.Cpu().MilliValue() != 1000 {
		t.Errorf("re-interned slice = %+v", d)
	}
}

func TestReplicasShareSpecAndStatus(t *testing.T) {
	p1, p2 := gatePod("db-0", "n1"), gatePod("db-1", "n2")
	s1, s2 := NewPod(p1), NewPod(p2)
	if s1.spec != s2.spec || s1.status != s2.status {
		t.Error("two replicas' specs or statuses are not shared")
	}
	if reflect.ValueOf(s1.Labels).UnsafePointer() != reflect.ValueOf(s2.Labels).UnsafePointer() {
		t.Error("two replicas' labels are not shared")
	}
	// The node is the pod's own, never the shared spec's.
	if o1, o2 := s1.Object(), s2.Object(); o1.Spec.NodeName != "n1" || o2.Spec.NodeName != "n2" || s1.spec.NodeName != "" {
		t.Errorf("nodes %q and %q (shared spec %q), want n1 and n2", o1.Spec.NodeName, o2.Spec.NodeName, s1.spec.NodeName)
	}
	if s1.Name != "db-0" || s2.Name != "db-1" || s1.UID == s2.UID {
		t.Errorf("metadata mixed up: %s/%s %s/%s", s1.Name, s1.UID, s2.Name, s2.UID)
	}
	p3 := gatePod("db-2", "n1")
	p3.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU] = resource.MustParse("3")
	p3.Status.ContainerStatuses[0].RestartCount = 2
	s3 := NewPod(p3)
	if s3.spec == s1.spec || s3.status == s1.status {
		t.Error("a resized, restarted replica shares the others' spec or status")
	}
	if got := s3.Object().Spec.Containers[0].Resources.Requests.Cpu().String(); got != "3" || s3.restarts("db") != 2 {
		t.Errorf("resized replica: cpu %s, restarts %d; want 3 and 2", got, s3.restarts("db"))
	}
}

func TestPodIsAnInformerObject(t *testing.T) {
	p := NewPod(gatePod("db-0", "n1"))
	key, err := cache.MetaNamespaceKeyFunc(p)
	if err != nil || key != "shop/db-0" {
		t.Fatalf("key %q, %v; want shop/db-0", key, err)
	}
	cp := p.DeepCopyObject().(*Pod)
	cp.Labels["app"] = "changed"
	cp.Name = "other"
	if p.Labels["app"] != "db" || p.Name != "db-0" {
		t.Error("a deep copy's metadata is not its own")
	}
	// The store the pod informer uses keeps them as they are.
	store := cache.NewIndexer(cache.DeletionHandlingMetaNamespaceKeyFunc, cache.Indexers{})
	if err := store.Add(p); err != nil {
		t.Fatal(err)
	}
	if got, ok, _ := store.GetByKey("shop/db-0"); !ok || got != p {
		t.Errorf("store returned %v, %v", got, ok)
	}
}

func TestLabelInternerSharesEqualSetsWithinItsBound(t *testing.T) {
	in := labelInterner{max: 2}
	same := func(a, b map[string]string) bool {
		return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
	}
	a := in.intern(map[string]string{"app": "web", "pod-template-hash": "7d9f"})
	b := in.intern(map[string]string{"pod-template-hash": "7d9f", "app": "web"})
	if !same(a, b) {
		t.Error("equal label sets were not shared")
	}
	// Keys and values are length-prefixed: "a"+"bc" is not "ab"+"c".
	c := in.intern(map[string]string{"a": "bc"})
	d := in.intern(map[string]string{"ab": "c"}) // the third set: the table starts afresh
	if same(c, d) || len(d) != 1 || d["ab"] != "c" {
		t.Errorf("different label sets shared: %v %v", c, d)
	}
	if n := len(in.entries); n > in.max {
		t.Errorf("%d entries held, bound %d", n, in.max)
	}
	if got := in.intern(nil); got != nil {
		t.Error("nil labels not returned as nil")
	}
	before := len(in.entries)
	in.intern(map[string]string{"app": "db", "statefulset.kubernetes.io/pod-name": "db-0"})
	if len(in.entries) != before {
		t.Error("a StatefulSet pod's labels, unique to it, entered the table")
	}
}
