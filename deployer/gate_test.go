package deployer

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"

	"github.com/headroomhq/headroom/capacity"
	"github.com/headroomhq/headroom/config"
)

// TestLocalGateTellsCapacityTheScheduler checks that the deploy config's
// gate.scheduler reaches the model: on identical nodes of twelve pools, a
// scheduler of parallelism 1 leaves one answer, the default a range.
func TestLocalGateTellsCapacityTheScheduler(t *testing.T) {
	var objs []runtime.Object
	for i := range 12 {
		name := string(rune('a' + i))
		objs = append(objs, &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"pool": name, corev1.LabelHostname: name}},
			Status: corev1.NodeStatus{Allocatable: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("16Gi"),
				corev1.ResourcePods: resource.MustParse("110")}},
		})
	}
	c := &Cluster{Name: "osl2", Client: fake.NewClientset(objs...)}
	lbl := map[string]string{"app": "web"}
	d := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](7),
			Selector: &metav1.LabelSelector{MatchLabels: lbl},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: lbl},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("1Gi")}}}}},
			},
		},
	}
	ranged := func(res *capacity.Result) int {
		n := 0
		for _, p := range res.Placement {
			if p.Min != p.Max {
				n++
			}
		}
		return n
	}
	for _, tc := range []struct {
		scheduler config.Scheduler
		ranged    bool
	}{
		{config.Scheduler{}, true},
		{config.Scheduler{Parallelism: 1}, false},
	} {
		g := LocalGate{PoolLabels: []string{"pool"}, Scheduler: tc.scheduler}
		res, err := g.Check(t.Context(), c, d)
		if err != nil {
			t.Fatal(err)
		}
		if res.Verdict != capacity.Pass || res.ReplicasFit != 7 {
			t.Fatalf("%+v: verdict %s, fit %d", tc.scheduler, res.Verdict, res.ReplicasFit)
		}
		if got := ranged(res) > 0; got != tc.ranged {
			t.Errorf("%+v: placement %+v, want a range %v", tc.scheduler, res.Placement, tc.ranged)
		}
	}
}
