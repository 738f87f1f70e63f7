// Package openb turns the Alibaba "openb" trace (1,523 real nodes, 8,152
// real pod requests; see ../shared/fixtures/openb/README.md) into Kubernetes
// Nodes and Pods, for replaying it against kube-scheduler and the gate.
package openb

import (
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// GPU is the extended resource the trace's GPUs become.
const GPU corev1.ResourceName = "nvidia.com/gpu"

// PodsPerNode is the allocatable pod count given to every node (the
// kubelet's default); the trace does not say.
const PodsPerNode = 110

// Nodes reads openb_node_list_all_node.csv. Nodes keep the trace's order,
// which is also their names' order.
func Nodes(path string) ([]*corev1.Node, error) {
	rows, err := readCSV(path, "sn", "cpu_milli", "memory_mib", "gpu")
	if err != nil {
		return nil, err
	}
	var out []*corev1.Node
	for i, r := range rows {
		cpu, mem, gpu, err := ints(r, "cpu_milli", "memory_mib", "gpu")
		if err != nil {
			return nil, fmt.Errorf("%s: row %d: %w", path, i+2, err)
		}
		alloc := corev1.ResourceList{
			corev1.ResourceCPU:    *resource.NewMilliQuantity(cpu, resource.DecimalSI),
			corev1.ResourceMemory: *resource.NewQuantity(mem<<20, resource.BinarySI),
			corev1.ResourcePods:   *resource.NewQuantity(PodsPerNode, resource.DecimalSI),
		}
		if gpu > 0 {
			alloc[GPU] = *resource.NewQuantity(gpu, resource.DecimalSI)
		}
		out = append(out, &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: r["sn"], Labels: map[string]string{
				corev1.LabelHostname: r["sn"], "headroom.local/pool": poolOf(r)}},
			Status: corev1.NodeStatus{Capacity: alloc, Allocatable: alloc},
		})
	}
	return out, nil
}

func poolOf(r map[string]string) string {
	if r["model"] != "" {
		return "gpu-" + r["model"]
	}
	return "cpu"
}

// Tolerations let the replayed pods ignore node readiness: the replay's
// nodes have no kubelet, and what is compared is the scheduler's choice.
var Tolerations = []corev1.Toleration{
	{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists},
	{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists},
}

// Pods reads openb_pod_list_default.csv in creation order (ties keep the
// file's order), as bare pods in namespace ns. A fractional GPU share asks
// for one whole GPU: Kubernetes has no smaller unit.
func Pods(path, ns string) ([]*corev1.Pod, error) {
	rows, err := readCSV(path, "name", "cpu_milli", "memory_mib", "num_gpu", "creation_time")
	if err != nil {
		return nil, err
	}
	type item struct {
		created int64
		pod     *corev1.Pod
	}
	var items []item
	for i, r := range rows {
		cpu, mem, gpu, err := ints(r, "cpu_milli", "memory_mib", "num_gpu")
		if err != nil {
			return nil, fmt.Errorf("%s: row %d: %w", path, i+2, err)
		}
		created, err := strconv.ParseInt(r["creation_time"], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: row %d: creation_time: %w", path, i+2, err)
		}
		req := corev1.ResourceList{
			corev1.ResourceCPU:    *resource.NewMilliQuantity(cpu, resource.DecimalSI),
			corev1.ResourceMemory: *resource.NewQuantity(mem<<20, resource.BinarySI),
		}
		if gpu > 0 {
			req[GPU] = *resource.NewQuantity(gpu, resource.DecimalSI)
		}
		items = append(items, item{created: created, pod: &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: r["name"], Namespace: ns},
			Spec: corev1.PodSpec{
				Tolerations: Tolerations,
				Containers: []corev1.Container{{Name: "main", Image: "openb",
					Resources: corev1.ResourceRequirements{Requests: req, Limits: limitsFor(req)}}},
			},
		}})
	}
	slices.SortStableFunc(items, func(a, b item) int { return int(a.created - b.created) })
	out := make([]*corev1.Pod, len(items))
	for i, it := range items {
		out[i] = it.pod
	}
	return out, nil
}

// limitsFor sets limits only for extended resources, which must have them.
func limitsFor(req corev1.ResourceList) corev1.ResourceList {
	if q, ok := req[GPU]; ok {
		return corev1.ResourceList{GPU: q}
	}
	return nil
}

func readCSV(path string, want ...string) ([]map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: header: %w", path, err)
	}
	for _, w := range want {
		if !slices.Contains(header, w) {
			return nil, fmt.Errorf("%s: no column %q", path, w)
		}
	}
	var rows []map[string]string
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		m := make(map[string]string, len(header))
		for i, h := range header {
			m[h] = rec[i]
		}
		rows = append(rows, m)
	}
}

func ints(r map[string]string, cols ...string) (a, b, c int64, err error) {
	var v [3]int64
	for i, col := range cols {
		if v[i], err = strconv.ParseInt(r[col], 10, 64); err != nil {
			return 0, 0, 0, fmt.Errorf("%s: %w", col, err)
		}
	}
	return v[0], v[1], v[2], nil
}
