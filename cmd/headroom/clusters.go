package main

import (
	"fmt"
	"io"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/headroomhq/headroom/capacity"
	"github.com/headroomhq/headroom/collector"
	"github.com/headroomhq/headroom/config"
)

type clustersOptions struct {
	kubeconfig string
	contexts   []string
	output     string
	timeout    time.Duration
}

func newClustersCommand() *cobra.Command {
	o := clustersOptions{}
	cmd := &cobra.Command{
		Use:   "clusters",
		Short: "Show each cluster's nodes, pods, allocatable and requested resources",
		Long: `Show, for every context of the kubeconfig (or those named with --context),
the cluster's nodes with their pool, readiness, allocatable and requested
cpu and memory, and its pods. Requests are counted as kube-scheduler counts
them (init containers, sidecars and pod overhead included).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := oneOf("-o", o.output, "table", "json", "yaml"); err != nil {
				return usageError{err}
			}
			return runClusters(cmd, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
	f.StringSliceVar(&o.contexts, "context", nil, "kubeconfig contexts to show (default: all)")
	f.StringVarP(&o.output, "output", "o", "table", "output format: table, json or yaml")
	f.DurationVar(&o.timeout, "timeout", 20*time.Second, "time limit per cluster")
	return cmd
}

type clusterReport struct {
	Context string       `json:"context"`
	Error   string       `json:"error,omitempty"`
	Nodes   []nodeReport `json:"nodes,omitempty"`
	Pods    podCounts    `json:"pods"`
}

type nodeReport struct {
	Name           string `json:"name"`
	Pool           string `json:"pool"`
	Ready          bool   `json:"ready"`
	Pods           int    `json:"pods"`
	PodsAllocat    int64  `json:"pods_allocatable"`
	CPUAllocatable int64  `json:"cpu_allocatable_millicores"`
	CPURequested   int64  `json:"cpu_requested_millicores"`
	MemAllocatable int64  `json:"memory_allocatable_bytes"`
	MemRequested   int64  `json:"memory_requested_bytes"`
}

type podCounts struct {
	Running int `json:"running"`
	Pending int `json:"pending"`
	Other   int `json:"other"`
}

func runClusters(cmd *cobra.Command, o clustersOptions) error {
	raw, err := loadKubeconfig(o.kubeconfig)
	if err != nil {
		return err
	}
	contexts := o.contexts
	if len(contexts) == 0 {
		for name := range raw.Contexts {
			contexts = append(contexts, name)
		}
		sort.Strings(contexts)
	}
	if len(contexts) == 0 {
		return usageError{fmt.Errorf("kubeconfig has no contexts")}
	}
	var reports []clusterReport
	failed := 0
	for _, name := range contexts {
		r := clusterReport{Context: name}
		if err := fillReport(cmd, raw, name, o.timeout, &r); err != nil {
			// One unreachable cluster never hides the others.
			r.Error = err.Error()
			failed++
		}
		reports = append(reports, r)
	}
	out := cmd.OutOrStdout()
	if ok, err := writeStructured(out, o.output, reports); !ok {
		printClusters(out, reports)
	} else if err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d clusters could not be read", failed, len(reports))
	}
	return nil
}

// loadKubeconfig reads the kubeconfig at path, or where $KUBECONFIG and
// ~/.kube/config say when path is "".
func loadKubeconfig(path string) (*clientcmdapi.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if path != "" {
		rules.ExplicitPath = path
	}
	raw, err := rules.Load()
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig: %w", err)
	}
	return raw, nil
}

// restConfig is the client configuration of one kubeconfig context, each
// request bounded by timeout.
func restConfig(raw *clientcmdapi.Config, context string, timeout time.Duration) (*rest.Config, error) {
	if _, ok := raw.Contexts[context]; !ok {
		return nil, fmt.Errorf("context %q not in kubeconfig", context)
	}
	cfg, err := clientcmd.NewNonInteractiveClientConfig(*raw, context, &clientcmd.ConfigOverrides{}, nil).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("context %s: %w", context, err)
	}
	cfg.Timeout = timeout
	return cfg, nil
}

// newClientset builds the clientset of one kubeconfig context, each request
// bounded by timeout. It makes no request.
func newClientset(raw *clientcmdapi.Config, context string, timeout time.Duration) (kubernetes.Interface, error) {
	cfg, err := restConfig(raw, context, timeout)
	if err != nil {
		return nil, err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("context %s: %w", context, err)
	}
	return cs, nil
}

func fillReport(cmd *cobra.Command, raw *clientcmdapi.Config, context string, timeout time.Duration, r *clusterReport) error {
	cs, err := newClientset(raw, context, timeout)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	nodes, err := collector.ListNodes(ctx, cs)
	if err != nil {
		return err
	}
	// Every phase, terminated too: the report counts them.
	pods, err := collector.ListPods(ctx, cs, "")
	if err != nil {
		return err
	}
	snap := capacity.NewSnapshot(nodes, pods, config.Default().Collection.PoolLabels)
	for _, n := range snap.Nodes {
		cpuA, cpuR := n.Allocatable[corev1.ResourceCPU], n.Requested[corev1.ResourceCPU]
		memA, memR := n.Allocatable[corev1.ResourceMemory], n.Requested[corev1.ResourceMemory]
		podsA := n.Allocatable[corev1.ResourcePods]
		r.Nodes = append(r.Nodes, nodeReport{Name: n.Name, Pool: n.Pool, Ready: n.Ready, Pods: n.Pods,
			PodsAllocat: podsA.Value(), CPUAllocatable: cpuA.MilliValue(), CPURequested: cpuR.MilliValue(),
			MemAllocatable: memA.Value(), MemRequested: memR.Value()})
	}
	for _, p := range pods {
		switch p.Status.Phase {
		case corev1.PodRunning:
			r.Pods.Running++
		case corev1.PodPending:
			r.Pods.Pending++
		default:
			r.Pods.Other++
		}
	}
	return nil
}

func printClusters(out io.Writer, reports []clusterReport) {
	for i, r := range reports {
		if i > 0 {
			fmt.Fprintln(out)
		}
		if r.Error != "" {
			fmt.Fprintf(out, "CLUSTER %s: error: %s\n", r.Context, r.Error)
			continue
		}
		var cpuA, cpuR, memA, memR int64
		for _, n := range r.Nodes {
			cpuA, cpuR, memA, memR = cpuA+n.CPUAllocatable, cpuR+n.CPURequested, memA+n.MemAllocatable, memR+n.MemRequested
		}
		fmt.Fprintf(out, "CLUSTER %s: %d nodes, pods %d running / %d pending / %d other; cpu %s of %s requested (%s), memory %s of %s (%s)\n",
			r.Context, len(r.Nodes), r.Pods.Running, r.Pods.Pending, r.Pods.Other,
			cores(cpuR), cores(cpuA), pct(cpuR, cpuA), bytesIEC(memR), bytesIEC(memA), pct(memR, memA))
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NODE\tPOOL\tREADY\tPODS\tCPU REQ/ALLOC\t\tMEMORY REQ/ALLOC\t")
		for _, n := range r.Nodes {
			fmt.Fprintf(tw, "%s\t%s\t%v\t%d/%d\t%s/%s\t%s\t%s/%s\t%s\n", n.Name, orDash(n.Pool), n.Ready, n.Pods, n.PodsAllocat,
				cores(n.CPURequested), cores(n.CPUAllocatable), pct(n.CPURequested, n.CPUAllocatable),
				bytesIEC(n.MemRequested), bytesIEC(n.MemAllocatable), pct(n.MemRequested, n.MemAllocatable))
		}
		tw.Flush()
	}
}

func cores(milli int64) string {
	if milli%1000 == 0 {
		return fmt.Sprintf("%d", milli/1000)
	}
	return fmt.Sprintf("%.2f", float64(milli)/1000)
}

func bytesIEC(b int64) string {
	const gi, mi = 1 << 30, 1 << 20
	switch {
	case b >= gi:
		return fmt.Sprintf("%.1fGi", float64(b)/gi)
	case b >= mi:
		return fmt.Sprintf("%.0fMi", float64(b)/mi)
	}
	return fmt.Sprintf("%d", b)
}

func pct(part, whole int64) string {
	if whole == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", 100*float64(part)/float64(whole))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
