package capacity

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestForkCountsAsTrack: a fork of a template counted on an untouched
// simulation holds the counts a fresh count would (spreading, affinity,
// anti-affinity, existing pods' anti-affinity), and changing the fork's
// leaves the original's alone.
func TestForkCountsAsTrack(t *testing.T) {
	var nodes []*corev1.Node
	var pods []*corev1.Pod
	for i := range 12 {
		n := testNode(fmt.Sprint("n", i), "general", "8", "32Gi")
		n.Labels[corev1.LabelTopologyZone] = fmt.Sprint("z", i%3)
		nodes = append(nodes, n)
		for j := range 3 {
			app := []string{"web", "db", "cache"}[(i+j)%3]
			p := runningPod(fmt.Sprintf("p-%d-%d", i, j), "shop", n.Name, "100m", "128Mi", map[string]string{"app": app})
			if app == "db" {
				p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
					RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{TopologyKey: corev1.LabelHostname,
						LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}}}}
			}
			pods = append(pods, p)
		}
	}
	c := NewCluster(nodes, pods, Options{PoolLabels: testPools})
	w := mustWorkload(t, testDeployment(4, "100m", "128Mi", func(d *appsv1.Deployment) {
		spec := &d.Spec.Template.Spec
		spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: corev1.LabelTopologyZone,
			WhenUnsatisfiable: corev1.DoNotSchedule, LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}}
		spec.Affinity = &corev1.Affinity{
			PodAffinity: &corev1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
				TopologyKey: corev1.LabelTopologyZone, LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "cache"}}}}},
			PodAntiAffinity: &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
				TopologyKey: corev1.LabelHostname, LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}}},
		}
	}))
	counted := func(tm *tmpl) (out [][]int32) {
		for _, sp := range tm.allSpreads() {
			out = append(out, sp.dom.count)
		}
		for _, pt := range tm.terms() {
			out = append(out, pt.dom.count)
		}
		return out
	}
	base := c.newTemplate(w)
	c.newSim(0).track(base)
	fork := base.fork()
	fresh := c.newTemplate(w)
	c.newSim(0).track(fresh)
	if !slices.EqualFunc(counted(fork), counted(fresh), slices.Equal) || fork.affTotal != fresh.affTotal ||
		!maps.EqualFunc(fork.exAnti, fresh.exAnti, maps.Equal) {
		t.Fatalf("fork %v %d %v, fresh count %v %d %v", counted(fork), fork.affTotal, fork.exAnti,
			counted(fresh), fresh.affTotal, fresh.exAnti)
	}
	if len(fresh.exAnti) == 0 || fresh.affTotal == 0 || len(counted(fresh)) < 3 {
		t.Fatalf("the cluster does not exercise every count: %v %d %v", counted(fresh), fresh.affTotal, fresh.exAnti)
	}
	fork.hard[0].dom.count[0]++
	for k := range fork.exAnti {
		for v := range fork.exAnti[k] {
			fork.exAnti[k][v]++
		}
	}
	if !slices.EqualFunc(counted(base), counted(fresh), slices.Equal) || !maps.EqualFunc(base.exAnti, fresh.exAnti, maps.Equal) {
		t.Error("changing the fork's counts changed the original's")
	}
}
