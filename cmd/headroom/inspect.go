package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/headroomhq/headroom/collector"
	"github.com/headroomhq/headroom/collector/decode"
	"github.com/headroomhq/headroom/config"
	"github.com/headroomhq/headroom/sink"
)

type inspectOptions struct {
	output  string
	node    string
	cluster string
	pods    string
	at      string
}

func newInspectCommand() *cobra.Command {
	o := inspectOptions{}
	cmd := &cobra.Command{
		Use:   "inspect FILE",
		Short: "Decode a saved kubelet or metrics-server response and show what headroom would write",
		Long: `Decode a saved kubelet /stats/summary or /metrics/resource response, or a
metrics.k8s.io PodMetricsList/NodeMetricsList (the format is detected), and
print what headroom sees in it and the InfluxDB line protocol it would write.

Without --pods, each pod's app is guessed from its name (a Deployment's pod
"web-5d4f8-x2x9z" belongs to app "web"); with --pods, a PodList (kubelet
/pods or kubectl get pods -o json|yaml) gives the real labels, owners and
requests. CPU usage from /metrics/resource is a cumulative counter: one
capture gives no rate, so cpu usage fields are absent from its points.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := oneOf("-o", o.output, "table", "json", "yaml"); err != nil {
				return usageError{err}
			}
			return runInspect(cmd.OutOrStdout(), args[0], o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.output, "output", "o", "table", "output format: table, json or yaml")
	f.StringVar(&o.node, "node", "", "node name for /metrics/resource captures, which do not name their node (default: the file name)")
	f.StringVar(&o.cluster, "cluster", "inspect", "cluster tag of the points")
	f.StringVar(&o.pods, "pods", "", "a PodList (JSON or YAML) for labels, owners and requests")
	f.StringVar(&o.at, "time", "", "timestamp for samples without one, RFC 3339 (default: now)")
	return cmd
}

type inspectReport struct {
	File                      string   `json:"file"`
	Format                    string   `json:"format"`
	Nodes                     int      `json:"nodes"`
	Pods                      int      `json:"pods"`
	Containers                int      `json:"containers"`
	NodeCPUCores              *float64 `json:"node_cpu_cores"`
	NodeCPUSecondsTotal       *float64 `json:"node_cpu_seconds_total,omitempty"`
	NodeMemoryWorkingSetBytes *uint64  `json:"node_memory_working_set_bytes"`
	Points                    []string `json:"points"`
}

func runInspect(out io.Writer, path string, o inspectOptions) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	now := time.Now()
	if o.at != "" {
		if now, err = time.Parse(time.RFC3339, o.at); err != nil {
			return usageError{fmt.Errorf("--time: %w", err)}
		}
	}
	node := o.node
	if node == "" {
		node = strings.TrimSuffix(baseName(path), ".txt")
	}
	res, err := decode.Decode(b, node, now)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	var podList []corev1.Pod
	if o.pods != "" {
		if podList, err = readPods(o.pods); err != nil {
			return err
		}
	}
	r := inspectReport{File: path, Format: string(res.Format), Nodes: len(res.Nodes), Containers: len(res.Containers)}
	podSet := map[string]bool{}
	for _, c := range res.Containers {
		podSet[c.Namespace+"/"+c.Pod] = true
	}
	for _, p := range res.Pods {
		podSet[p.Namespace+"/"+p.Name] = true
	}
	r.Pods = len(podSet)
	var cpu, cpuTotal float64
	var mem uint64
	var haveCPU, haveTotal, haveMem bool
	for _, n := range res.Nodes {
		if n.CPU.HasCores {
			cpu, haveCPU = cpu+n.CPU.Cores, true
		}
		if n.CPU.HasCumulative {
			cpuTotal, haveTotal = cpuTotal+n.CPU.CumulativeSeconds, true
		}
		if n.HasMemory {
			mem, haveMem = mem+n.MemoryWorkingSetBytes, true
		}
	}
	if haveCPU {
		r.NodeCPUCores = &cpu
	}
	if haveTotal {
		r.NodeCPUSecondsTotal = &cpuTotal
	}
	if haveMem {
		r.NodeMemoryWorkingSetBytes = &mem
	}
	cycle := inspectCycle(o.cluster, now, res, podList)
	defaults := config.Default().Collection
	points := collector.Aggregation{AppLabels: defaults.AppLabels, PoolLabels: defaults.PoolLabels}.Points(cycle)
	var enc sink.Encoder
	lp, _, err := enc.Encode(nil, points)
	if err != nil {
		return err
	}
	for _, line := range bytes.Split(bytes.TrimSpace(lp), []byte("\n")) {
		if len(line) > 0 {
			r.Points = append(r.Points, string(line))
		}
	}
	if ok, err := writeStructured(out, o.output, r); ok {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "file\t%s\n", r.File)
	fmt.Fprintf(tw, "format\t%s\n", r.Format)
	fmt.Fprintf(tw, "nodes / pods / containers\t%d / %d / %d\n", r.Nodes, r.Pods, r.Containers)
	if r.NodeCPUCores != nil {
		fmt.Fprintf(tw, "node cpu\t%.3f cores\n", *r.NodeCPUCores)
	}
	if r.NodeCPUSecondsTotal != nil {
		fmt.Fprintf(tw, "node cpu counter\t%.3f core-seconds (one capture gives no rate)\n", *r.NodeCPUSecondsTotal)
	}
	if r.NodeMemoryWorkingSetBytes != nil {
		fmt.Fprintf(tw, "node memory working set\t%s\n", bytesIEC(int64(*r.NodeMemoryWorkingSetBytes)))
	}
	tw.Flush()
	fmt.Fprintf(out, "\n%d points (InfluxDB line protocol):\n", len(r.Points))
	for _, p := range r.Points {
		fmt.Fprintln(out, p)
	}
	return nil
}

// inspectCycle builds the cycle a live collection would have seen: the
// capture's usage, and pods either from --pods or synthesized from the
// capture (Running, on the capture's node, no labels).
func inspectCycle(cluster string, now time.Time, res *decode.Result, pods []corev1.Pod) collector.Cycle {
	c := collector.Cycle{Cluster: cluster, Time: now.Truncate(time.Second),
		NodeUsage: map[string]collector.Usage{}, ContainerUsage: map[string]collector.Usage{},
		Scraped: map[string]bool{}}
	nodeName := ""
	for _, n := range res.Nodes {
		nodeName = n.Name
		c.Nodes = append(c.Nodes, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n.Name}})
		c.NodeUsage[n.Name] = collector.Usage{CPUCores: n.CPU.Cores, HasCPU: n.CPU.HasCores,
			MemoryBytes: n.MemoryWorkingSetBytes, HasMemory: n.HasMemory}
		c.Scraped[n.Name] = true
	}
	containers := map[string][]string{}
	for _, ctr := range res.Containers {
		c.ContainerUsage[ctr.ID] = collector.Usage{CPUCores: ctr.CPU.Cores, HasCPU: ctr.CPU.HasCores,
			MemoryBytes: ctr.MemoryWorkingSetBytes, HasMemory: ctr.HasMemory}
		id := ctr.Namespace + "/" + ctr.Pod
		containers[id] = append(containers[id], ctr.Container)
	}
	if len(pods) > 0 {
		for i := range pods {
			p := &pods[i]
			if p.Spec.NodeName == "" {
				p.Spec.NodeName = nodeName
			}
			c.Pods = append(c.Pods, collector.NewPod(p))
		}
		return c
	}
	ids := make([]string, 0, len(containers))
	for id := range containers {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		ns, name, _ := strings.Cut(id, "/")
		node := nodeName
		if node == "" {
			node = "unknown" // metrics.k8s.io pod lists do not say where pods run
		}
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: corev1.PodSpec{NodeName: node}, Status: corev1.PodStatus{Phase: corev1.PodRunning}}
		if kind, workload := guessWorkload(name); kind != "" {
			yes := true
			p.OwnerReferences = []metav1.OwnerReference{{Kind: kind, Name: workload, Controller: &yes}}
		}
		for _, ctr := range containers[id] {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: ctr})
		}
		c.Pods = append(c.Pods, collector.NewPod(p))
	}
	return c
}

// Generated name suffixes use Kubernetes' safe alphabet (no vowels).
const safe = "[bcdfghjklmnpqrstvwxz2456789]"

var (
	deploymentPod  = regexp.MustCompile(`^(.+)-` + safe + `{6,10}-` + safe + `{5}$`)
	statefulsetPod = regexp.MustCompile(`^(.+)-[0-9]+$`)
	generatedPod   = regexp.MustCompile(`^(.+)-` + safe + `{5}$`)
)

// guessWorkload names a pod's controller from its generated name, as far as
// a name can tell: a Deployment's pods are NAME-HASH-XXXXX, a StatefulSet's
// NAME-N, a DaemonSet's (or a Job's) NAME-XXXXX. It returns "" when the name
// looks hand-made.
func guessWorkload(pod string) (kind, name string) {
	if m := deploymentPod.FindStringSubmatch(pod); m != nil {
		return "Deployment", m[1]
	}
	if m := statefulsetPod.FindStringSubmatch(pod); m != nil {
		return "StatefulSet", m[1]
	}
	if m := generatedPod.FindStringSubmatch(pod); m != nil {
		return "DaemonSet", m[1]
	}
	return "", ""
}

func readPods(path string) ([]corev1.Pod, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var list corev1.PodList
	if err := yaml.Unmarshal(b, &list); err != nil {
		return nil, fmt.Errorf("%s: not a PodList: %w", path, err)
	}
	return list.Items, nil
}

func baseName(path string) string {
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		return path[i+1:]
	}
	return path
}
