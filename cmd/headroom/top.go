package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"

	"github.com/headroomhq/headroom/capacity"
	"github.com/headroomhq/headroom/collector"
	"github.com/headroomhq/headroom/config"
)

type topOptions struct {
	kubeconfig string
	contexts   []string
	server     string
	clusters   []string
	sort       string
	output     string
	timeout    time.Duration
}

func newTopCommand() *cobra.Command {
	o := topOptions{}
	cmd := &cobra.Command{
		Use:   "top [node|pool|namespace|app]",
		Short: "Requests, limits and usage of cpu and memory per node, pool, namespace or app",
		Long: `Show, per node (the default), node pool, namespace or app, the cpu and
memory requested, limited and used, with their share of what is
allocatable: the node's or pool's own, the whole cluster's for a namespace
or app. Requests are counted as kube-scheduler counts them (init
containers, sidecars and pod overhead included, terminated pods left
out); usage comes from the metrics API (metrics-server), and shows as "-"
where it is not served. Apps are named as headroomd names them: the first
of the labels app.kubernetes.io/name, app, k8s-app, else the workload.

--context may be given several times, one row set per cluster.

With --server (or $HEADROOM_SERVER, when neither --kubeconfig nor
--context is given), the rows come from headroomd instead: its informer
caches and the usage of its latest collection cycle, for every cluster it
watches or those --cluster names. No kubeconfig or metrics-server is
needed then.`,
		Example: `  headroom top
  headroom top pool --context osl2 --context osl3
  headroom top app --sort memory.usage -o csv
  headroom top app --server http://headroomd.headroom:8080 --cluster osl2`,
		Args:      usageArgs(cobra.MaximumNArgs(1)),
		ValidArgs: []string{"node", "pool", "namespace", "app"},
		RunE: func(cmd *cobra.Command, args []string) error {
			by := capacity.TopNode
			if len(args) == 1 {
				by = capacity.TopBy(strings.TrimSuffix(args[0], "s"))
			}
			f := cmd.Flags()
			if o.server == "" && !f.Changed("kubeconfig") && !f.Changed("context") {
				o.server = os.Getenv(serverEnv)
			}
			if err := o.validate(by); err != nil {
				return usageError{err}
			}
			if o.server != "" {
				if f.Changed("kubeconfig") || f.Changed("context") {
					return usageError{errors.New("--server reads from headroomd: give --cluster to choose clusters, not --kubeconfig or --context")}
				}
				return runServerTop(cmd, o, by)
			}
			if len(o.clusters) > 0 {
				return usageError{errors.New("--cluster chooses among headroomd's clusters: give --server too, or --context for a kubeconfig context")}
			}
			return runTop(cmd, o, by)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
	f.StringSliceVar(&o.contexts, "context", nil, "kubeconfig context of a cluster, repeatable (default: the current context)")
	f.StringVar(&o.server, "server", "", "headroomd's URL: read from headroomd, not the clusters (default $"+serverEnv+" when no --kubeconfig or --context is given)")
	f.StringSliceVar(&o.clusters, "cluster", nil, "with --server: a cluster headroomd watches, repeatable (default: all)")
	f.StringVar(&o.sort, "sort", "name", "sort by: "+strings.Join(capacity.TopSorts, ", ")+" (numbers largest first)")
	f.StringVarP(&o.output, "output", "o", "table", "output format: table, json, yaml or csv")
	f.DurationVar(&o.timeout, "request-timeout", 30*time.Second, "timeout of each cluster's requests")
	return cmd
}

func (o topOptions) validate(by capacity.TopBy) error {
	ok := false
	for _, b := range capacity.TopBys {
		ok = ok || b == by
	}
	if !ok {
		return fmt.Errorf("%q: want node, pool, namespace or app", by)
	}
	if err := capacity.SortTop(nil, o.sort); err != nil {
		return fmt.Errorf("--sort: %w", err)
	}
	return oneOf("-o", o.output, "table", "json", "yaml", "csv")
}

func runTop(cmd *cobra.Command, o topOptions, by capacity.TopBy) error {
	raw, err := loadKubeconfig(o.kubeconfig)
	if err != nil {
		return usageError{err}
	}
	contexts := o.contexts
	if len(contexts) == 0 {
		if raw.CurrentContext == "" {
			return usageError{errors.New("the kubeconfig has no current-context; give --context")}
		}
		contexts = []string{raw.CurrentContext}
	}
	defaults := config.Default().Collection
	var rows []capacity.TopRow
	var errs []error
	for _, name := range contexts {
		rc, err := restConfig(raw, name, o.timeout)
		if err != nil {
			return usageError{err}
		}
		in, warning, err := readTopInput(cmd.Context(), rc, name, o.timeout)
		if err != nil {
			errs = append(errs, fmt.Errorf("cluster %s: %w", name, err))
			continue
		}
		if warning != "" {
			cliLogger(cmd).Warn(fmt.Sprintf("cluster %s: %s", name, warning))
		}
		in.PoolLabels = defaults.PoolLabels
		in.AppOf = func(p *corev1.Pod) string {
			return collector.AppOf(p, defaults.AppLabels, collector.WorkloadOf(p, nil))
		}
		rows = append(rows, capacity.Top(in, by)...)
	}
	if err := capacity.SortTop(rows, o.sort); err != nil {
		return usageError{err}
	}
	if err := writeTop(cmd.OutOrStdout(), o.output, by, rows); err != nil {
		return err
	}
	return errors.Join(errs...) // the clusters that could be read are shown
}

// runServerTop asks headroomd for the rows.
func runServerTop(cmd *cobra.Command, o topOptions, by capacity.TopBy) error {
	q := url.Values{"by": {string(by)}}
	for _, c := range o.clusters {
		q.Add("cluster", c)
	}
	var got struct {
		Rows     []capacity.TopRow `json:"rows"`
		Warnings []string          `json:"warnings"`
	}
	if err := getJSON(cmd.Context(), o.server, "/api/v1/top", q, o.timeout, &got); err != nil {
		return err
	}
	for _, w := range got.Warnings {
		cliLogger(cmd).Warn(w)
	}
	if err := capacity.SortTop(got.Rows, o.sort); err != nil {
		return usageError{err}
	}
	return writeTop(cmd.OutOrStdout(), o.output, by, got.Rows)
}

// readTopInput reads one cluster's nodes, pods and usage. A metrics API
// that is not served is a warning, not an error.
func readTopInput(ctx context.Context, rc *rest.Config, name string, timeout time.Duration) (capacity.TopInput, string, error) {
	in := capacity.TopInput{Cluster: name}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return in, "", err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if in.Nodes, in.Pods, err = collector.List(ctx, cs); err != nil {
		return in, "", err
	}
	mc, err := metricsclient.NewForConfig(rc)
	if err != nil {
		return in, "", err
	}
	nm, err := mc.MetricsV1beta1().NodeMetricses().List(ctx, metav1.ListOptions{})
	if err != nil {
		return in, fmt.Sprintf("no usage: the metrics API (metrics.k8s.io) answered: %v", err), nil
	}
	pm, err := mc.MetricsV1beta1().PodMetricses("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return in, fmt.Sprintf("no usage: the metrics API (metrics.k8s.io) answered: %v", err), nil
	}
	in.NodeUsage = map[string]corev1.ResourceList{}
	for _, n := range nm.Items {
		in.NodeUsage[n.Name] = n.Usage
	}
	in.PodUsage = map[string]corev1.ResourceList{}
	for _, p := range pm.Items {
		sum := corev1.ResourceList{}
		for _, c := range p.Containers {
			for r, q := range c.Usage {
				s := sum[r]
				s.Add(q)
				sum[r] = s
			}
		}
		in.PodUsage[p.Namespace+"/"+p.Name] = sum
	}
	return in, "", nil
}

func writeTop(w io.Writer, format string, by capacity.TopBy, rows []capacity.TopRow) error {
	if ok, err := writeStructured(w, format, rows); ok {
		return err
	}
	switch format {
	case "csv":
		cw := csv.NewWriter(w)
		_ = cw.Write([]string{"cluster", string(by), "nodes", "pods",
			"cpu_requests", "cpu_limits", "cpu_usage", "cpu_allocatable",
			"memory_requests", "memory_limits", "memory_usage", "memory_allocatable"})
		for _, r := range rows {
			_ = cw.Write([]string{r.Cluster, r.Name, strconv.Itoa(r.Nodes), strconv.Itoa(r.Pods),
				num(r.CPU.Requests), num(r.CPU.Limits), optNum(r.CPU.Usage), num(r.CPU.Allocatable),
				num(r.Memory.Requests), num(r.Memory.Limits), optNum(r.Memory.Usage), num(r.Memory.Allocatable)})
		}
		cw.Flush()
		return cw.Error()
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "CLUSTER\t%s\tPODS\tCPU REQUESTS\tCPU LIMITS\tCPU USAGE\tMEMORY REQUESTS\tMEMORY LIMITS\tMEMORY USAGE\n", strings.ToUpper(string(by)))
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Cluster, orDash(r.Name), r.Pods,
			share(cpuText, r.CPU.Requests, r.CPU.Allocatable), share(cpuText, r.CPU.Limits, r.CPU.Allocatable),
			optShare(cpuText, r.CPU.Usage, r.CPU.Allocatable),
			share(memText, r.Memory.Requests, r.Memory.Allocatable), share(memText, r.Memory.Limits, r.Memory.Allocatable),
			optShare(memText, r.Memory.Usage, r.Memory.Allocatable))
	}
	return tw.Flush()
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func optNum(v *float64) string {
	if v == nil {
		return ""
	}
	return num(*v)
}

func cpuText(v float64) string { return cores(int64(v*1000 + 0.5)) }
func memText(v float64) string { return bytesIEC(int64(v)) }

// share is "2350m (29%)", kube-capacity's way.
func share(text func(float64) string, v, of float64) string {
	if of <= 0 {
		return text(v)
	}
	return fmt.Sprintf("%s (%.0f%%)", text(v), 100*v/of)
}

func optShare(text func(float64) string, v *float64, of float64) string {
	if v == nil {
		return "-"
	}
	return share(text, *v, of)
}
