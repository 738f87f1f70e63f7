package collector

import (
	"reflect"
	"runtime"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
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

func TestSlimmedReplicasShareTheirSlices(t *testing.T) {
	p1, p2 := gatePod("db-0", "n1"), gatePod("db-1", "n2")
	s1, s2 := slimPod(p1), slimPod(p2)
	for _, f := range []struct {
		name string
		a, b any
	}{
		{"containers", &s1.Spec.Containers[0], &s2.Spec.Containers[0]},
		{"init containers", &s1.Spec.InitContainers[0], &s2.Spec.InitContainers[0]},
		{"tolerations", &s1.Spec.Tolerations[0], &s2.Spec.Tolerations[0]},
		{"container statuses", &s1.Status.ContainerStatuses[0], &s2.Status.ContainerStatuses[0]},
	} {
		if f.a != f.b {
			t.Errorf("%s of two replicas are not shared", f.name)
		}
	}
	p2.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU] = resource.MustParse("3")
	if s3 := slimPod(p2); &s3.Spec.Containers[0] == &s1.Spec.Containers[0] {
		t.Error("a resized replica shares the others' containers")
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
