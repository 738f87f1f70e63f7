package collector

import (
	"encoding/json"
	"reflect"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/headroomhq/headroom/capacity"
)

// gatePod is a placed pod using every field kube-scheduler reads of the
// pods already on a node, plus bulk the caches need not hold.
func gatePod(name, node string) *corev1.Pod {
	always := corev1.ContainerRestartPolicyAlways
	preempt := corev1.PreemptLowerPriority
	priority := int32(1000)
	req := func(cpu, mem string) corev1.ResourceRequirements {
		return corev1.ResourceRequirements{Requests: corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)}}
	}
	spreadSel := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", UID: "u-" + types.UID(name),
			Labels:      map[string]string{"app": "db", "tier": "data"},
			Annotations: map[string]string{"big": "x"},
		},
		Spec: corev1.PodSpec{
			NodeName:      node,
			SchedulerName: "default-scheduler",
			NodeSelector:  map[string]string{"disk": "ssd"},
			Tolerations:   []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "db", Effect: corev1.TaintEffectNoSchedule}},
			Affinity: &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
				RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
					LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
					TopologyKey:   "kubernetes.io/hostname"}}}},
			TopologySpreadConstraints: []corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: "topology.kubernetes.io/zone",
				WhenUnsatisfiable: corev1.DoNotSchedule, LabelSelector: spreadSel}},
			PriorityClassName: "high", Priority: &priority, PreemptionPolicy: &preempt,
			Overhead:  corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m")},
			Resources: &corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("3Gi")}},
			InitContainers: []corev1.Container{
				{Name: "migrate", Image: "db:1", Resources: req("2", "1Gi")},
				{Name: "proxy", Image: "proxy:1", Resources: req("100m", "64Mi"), RestartPolicy: &always,
					Ports: []corev1.ContainerPort{{ContainerPort: 15000, HostPort: 15000, Protocol: corev1.ProtocolTCP}}},
			},
			Containers: []corev1.Container{{Name: "db", Image: "db:1", Resources: req("1", "2Gi"),
				Ports: []corev1.ContainerPort{{ContainerPort: 5432, HostPort: 5432, HostIP: "0.0.0.0", Protocol: corev1.ProtocolTCP}},
				Env:   []corev1.EnvVar{{Name: "A", Value: "b"}}}},
			Volumes: []corev1.Volume{{Name: "data"}},
		},
		Status: corev1.PodStatus{
			Phase: corev1.PodRunning, NominatedNodeName: "",
			ContainerStatuses: []corev1.ContainerStatus{{Name: "db", Ready: true, Image: "db:1", ImageID: "sha256:x",
				AllocatedResources: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")},
				Resources:          &corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}}}},
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
		},
	}
}

// TestSlimPodKeepsWhatTheGateReads names each field of a placed pod the
// scheduler (and so the gate) reads, and checks slimming keeps it.
func TestSlimPodKeepsWhatTheGateReads(t *testing.T) {
	full := gatePod("db-0", "n1")
	slim := NewPod(full.DeepCopy()).Object()
	for _, f := range []struct {
		name       string
		full, slim any
	}{
		{"namespace", full.Namespace, slim.Namespace},
		{"labels", full.Labels, slim.Labels},
		{"spec.nodeName", full.Spec.NodeName, slim.Spec.NodeName},
		{"spec.schedulerName", full.Spec.SchedulerName, slim.Spec.SchedulerName},
		{"spec.nodeSelector", full.Spec.NodeSelector, slim.Spec.NodeSelector},
		{"spec.tolerations", full.Spec.Tolerations, slim.Spec.Tolerations},
		{"spec.affinity", full.Spec.Affinity, slim.Spec.Affinity},
		{"spec.topologySpreadConstraints", full.Spec.TopologySpreadConstraints, slim.Spec.TopologySpreadConstraints},
		{"spec.priorityClassName", full.Spec.PriorityClassName, slim.Spec.PriorityClassName},
		{"spec.priority", full.Spec.Priority, slim.Spec.Priority},
		{"spec.preemptionPolicy", full.Spec.PreemptionPolicy, slim.Spec.PreemptionPolicy},
		{"spec.overhead", full.Spec.Overhead, slim.Spec.Overhead},
		{"spec.resources", full.Spec.Resources, slim.Spec.Resources},
		{"spec.containers[0].resources", full.Spec.Containers[0].Resources, slim.Spec.Containers[0].Resources},
		{"spec.containers[0].ports", full.Spec.Containers[0].Ports, slim.Spec.Containers[0].Ports},
		{"spec.initContainers[0].resources", full.Spec.InitContainers[0].Resources, slim.Spec.InitContainers[0].Resources},
		{"spec.initContainers[1].restartPolicy", full.Spec.InitContainers[1].RestartPolicy, slim.Spec.InitContainers[1].RestartPolicy},
		{"spec.initContainers[1].ports", full.Spec.InitContainers[1].Ports, slim.Spec.InitContainers[1].Ports},
		{"status.phase", full.Status.Phase, slim.Status.Phase},
		{"status.containerStatuses[0].resources", full.Status.ContainerStatuses[0].Resources, slim.Status.ContainerStatuses[0].Resources},
		{"status.containerStatuses[0].allocatedResources", full.Status.ContainerStatuses[0].AllocatedResources, slim.Status.ContainerStatuses[0].AllocatedResources},
	} {
		if !reflect.DeepEqual(f.full, f.slim) {
			t.Errorf("%s: slimming changed %v to %v", f.name, f.full, f.slim)
		}
	}
	if slim.Annotations != nil || slim.Spec.Volumes != nil || slim.Spec.Containers[0].Env != nil || slim.Status.Conditions != nil {
		t.Errorf("slim pod keeps annotations, volumes, env or conditions: %+v", slim)
	}
}

// TestSlimObjectsGateAnswersTheSame checks the whole way: the gate gives the
// same result on slimmed nodes and pods as on the full objects.
func TestSlimObjectsGateAnswersTheSame(t *testing.T) {
	nodes := func() []*corev1.Node {
		var out []*corev1.Node
		for i, zone := range []string{"a", "b", "b"} {
			n := testNode([]string{"n1", "n2", "n3"}[i], "general")
			n.Labels["topology.kubernetes.io/zone"] = zone
			n.Labels["kubernetes.io/hostname"] = n.Name
			n.Labels["disk"] = "ssd"
			n.Spec.Taints = []corev1.Taint{{Key: "dedicated", Value: "db", Effect: corev1.TaintEffectNoSchedule}}
			n.Status.Images = []corev1.ContainerImage{{Names: []string{"db:1"}, SizeBytes: 1 << 30}}
			out = append(out, n)
		}
		return out
	}
	pods := func() []*corev1.Pod { return []*corev1.Pod{gatePod("db-0", "n1"), gatePod("db-1", "n2")} }
	replicas := int32(3)
	d := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "shop"},
		Spec: appsv1.DeploymentSpec{Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "db"}},
				Spec: *gatePod("", "").Spec.DeepCopy()}},
	}
	d.Spec.Template.Spec.NodeName = ""
	d.Spec.Template.Spec.Volumes = nil
	d.Spec.Template.Spec.PriorityClassName, d.Spec.Template.Spec.Priority, d.Spec.Template.Spec.PreemptionPolicy = "", nil, nil
	check := func(ns []*corev1.Node, ps []*corev1.Pod) string {
		w, err := capacity.WorkloadFromObject(d.DeepCopy())
		if err != nil {
			t.Fatal(err)
		}
		res := capacity.NewCluster(ns, ps, capacity.Options{Name: "c", PoolLabels: []string{"headroom.local/pool"}}).
			Check(w, capacity.Policy{NPlusOne: "zone"})
		b, err := json.Marshal(res)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	want := check(nodes(), pods())
	var slimNodes []*corev1.Node
	for _, n := range nodes() {
		o, _ := slimObjects(n)
		slimNodes = append(slimNodes, o.(*corev1.Node))
	}
	var slimPods []*corev1.Pod
	for _, p := range pods() {
		o, _ := slimObjects(p)
		slimPods = append(slimPods, o.(*Pod).Object())
	}
	if got := check(slimNodes, slimPods); got != want {
		t.Errorf("the gate answers differently on slimmed objects:\nfull %s\nslim %s", want, got)
	}
}
