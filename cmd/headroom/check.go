package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/headroomhq/headroom/capacity"
	"github.com/headroomhq/headroom/collector"
	"github.com/headroomhq/headroom/config"
)

type checkOptions struct {
	kubeconfig string
	context    string
	snapshot   string
	manifest   string
	replicas   int
	cpu        string
	memory     string
	namespace  string
	nPlusOne   string
	maxShare   string
	output     string
	timeout    time.Duration
	// The cluster's kube-scheduler settings (capacity.Options).
	percentageOfNodesToScore int
	parallelism              int
}

func newCheckCommand() *cobra.Command {
	o := checkOptions{}
	cmd := &cobra.Command{
		Use:   "check (-f MANIFEST | --replicas N --cpu Q --memory Q) [--context C | --snapshot FILE]",
		Short: "Tell whether a workload fits a cluster, as kube-scheduler would place it",
		Long: `Tell whether N replicas of a workload fit a cluster, placing them as
kube-scheduler would: its filters (taints, node affinity and selectors, host
ports, resources, hard topology spreading, required pod anti-affinity) and
its default scoring, through the rolling update of a running workload, and
optionally with headroom left (N+1, a cap on the share requested).

The workload is the one Deployment or StatefulSet (apps/v1) of a manifest
(-f, which may hold other objects too; "-" reads standard input), or plain
replicas requesting --cpu and --memory. The cluster is the kubeconfig
context's (--context, default the current one), read live, or a snapshot
saved with "kubectl get nodes,pods -A -o yaml" (--snapshot; "-" reads
standard input).

Exit codes: 0 pass, 1 fail, 2 usage error (bad flags, unreadable or invalid
files), 3 unknown (the workload uses a constraint the model does not
evaluate, or the cluster could not be read). See docs/gate.md.`,
		Example: `  headroom check -f web.yaml --context prod-osl2
  headroom check --replicas 3 --cpu 500m --memory 1Gi --snapshot cluster.yaml -o json
  kubectl get nodes,pods -A -o yaml | headroom check --snapshot - -f web.yaml --policy-n-plus-one zone`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError{fmt.Errorf("unexpected argument %q; the manifest is given with -f", args[0])}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			req, err := o.request(cmd)
			if err != nil {
				return err
			}
			return runCheck(cmd, o, req)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
	f.StringVar(&o.context, "context", "", "kubeconfig context of the cluster (default: the current context)")
	f.StringVar(&o.snapshot, "snapshot", "", `saved nodes and pods (kubectl get nodes,pods -A -o yaml) instead of a live cluster; "-" for standard input`)
	f.StringVarP(&o.manifest, "filename", "f", "", `manifest holding one Deployment or StatefulSet; "-" for standard input`)
	f.IntVar(&o.replicas, "replicas", 0, "check this many plain replicas instead of a manifest (with --cpu and --memory)")
	f.StringVar(&o.cpu, "cpu", "", "cpu request of each plain replica (500m, 2)")
	f.StringVar(&o.memory, "memory", "", "memory request of each plain replica (1Gi, 512Mi)")
	f.StringVarP(&o.namespace, "namespace", "n", "", `namespace of the workload (default: the manifest's, else "default")`)
	f.StringVar(&o.nPlusOne, "policy-n-plus-one", "", "also require that everything still fits after losing one node or one zone: node or zone")
	f.StringVar(&o.maxShare, "max-share", "", "cap the share of allocatable requested after the deploy, per resource (cpu=0.8,memory=0.9)")
	f.IntVar(&o.percentageOfNodesToScore, "percentage-of-nodes-to-score", 0, "the cluster's kube-scheduler percentageOfNodesToScore (0: its adaptive default; 100: every node)")
	f.IntVar(&o.parallelism, "scheduler-parallelism", 0, "the cluster's kube-scheduler parallelism (0: its default, 16; with 1 the answer is exact, not a range)")
	f.StringVarP(&o.output, "output", "o", "table", "output format: table, json or yaml")
	f.DurationVar(&o.timeout, "timeout", 30*time.Second, "time limit for reading the live cluster")
	return cmd
}

// checkRequest is what the flags ask, validated.
type checkRequest struct {
	policy capacity.Policy
	// Exactly one of manifest and replicas is set.
	manifest string
	replicas int
	cpu      resource.Quantity
	memory   resource.Quantity
}

// request checks the flags, alone and together, before any file or cluster
// is read; every error is a usage error naming the flag.
func (o checkOptions) request(cmd *cobra.Command) (checkRequest, error) {
	var r checkRequest
	set := cmd.Flags().Changed
	usage := func(format string, args ...any) (checkRequest, error) {
		return checkRequest{}, usageError{fmt.Errorf(format, args...)}
	}
	if !slices.Contains([]string{"table", "json", "yaml"}, o.output) {
		return usage("-o %q: want table, json or yaml", o.output)
	}
	if n := o.percentageOfNodesToScore; n < 0 || n > 100 {
		return usage("--percentage-of-nodes-to-score %d: want 0 (the scheduler's adaptive default) to 100", n)
	}
	if n := o.parallelism; n < 0 {
		return usage("--scheduler-parallelism %d: want 0 (the scheduler's default, 16) or more", n)
	}
	switch {
	case set("filename") && set("replicas"):
		return usage("-f and --replicas: give one, a manifest or plain replicas")
	case !set("filename") && !set("replicas"):
		return usage("nothing to check: give -f MANIFEST, or --replicas N --cpu Q --memory Q")
	case set("filename"):
		if o.manifest == "" {
			return usage("-f: empty file name")
		}
		for _, name := range []string{"cpu", "memory"} {
			if set(name) {
				return usage("--%s applies to --replicas, not to -f; the manifest gives the requests", name)
			}
		}
		r.manifest = o.manifest
	default:
		if o.replicas < 1 {
			return usage("--replicas %d: must be at least 1", o.replicas)
		}
		r.replicas = o.replicas
		var err error
		if r.cpu, err = quantityFlag("cpu", o.cpu, set("cpu")); err != nil {
			return checkRequest{}, err
		}
		if r.memory, err = quantityFlag("memory", o.memory, set("memory")); err != nil {
			return checkRequest{}, err
		}
	}
	if set("snapshot") {
		if o.snapshot == "" {
			return usage("--snapshot: empty file name")
		}
		for _, name := range []string{"context", "kubeconfig", "timeout"} {
			if set(name) {
				return usage("--snapshot and --%s: a snapshot is read instead of a cluster; give one", name)
			}
		}
		if o.snapshot == "-" && o.manifest == "-" {
			return usage(`--snapshot - and -f -: only one can read standard input`)
		}
	}
	if o.timeout <= 0 {
		return usage("--timeout %s: must be greater than 0", o.timeout)
	}
	switch o.nPlusOne {
	case "", "node", "zone":
		r.policy.NPlusOne = o.nPlusOne
	default:
		return usage("--policy-n-plus-one %q: want node or zone", o.nPlusOne)
	}
	share, err := parseMaxShare(o.maxShare)
	if err != nil {
		return checkRequest{}, usageError{fmt.Errorf("--max-share %q: %w", o.maxShare, err)}
	}
	r.policy.MaxShare = share
	return r, nil
}

// quantityFlag parses a request flag: required, a non-negative quantity.
func quantityFlag(name, value string, set bool) (resource.Quantity, error) {
	if !set {
		return resource.Quantity{}, usageError{fmt.Errorf("--replicas needs --%s (0 for none)", name)}
	}
	q, err := resource.ParseQuantity(value)
	if err != nil {
		return q, usageError{fmt.Errorf("--%s %q: not a quantity (like 500m, 2, 1Gi)", name, value)}
	}
	if q.Sign() < 0 {
		return q, usageError{fmt.Errorf("--%s %q: must not be negative", name, value)}
	}
	return q, nil
}

// parseMaxShare reads "cpu=0.8,memory=0.9": resource names, each with a
// share above 0 and at most 1. "" is no cap.
func parseMaxShare(s string) (map[corev1.ResourceName]float64, error) {
	if s == "" {
		return nil, nil
	}
	out := map[corev1.ResourceName]float64{}
	for part := range strings.SplitSeq(s, ",") {
		name, value, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("%q: want resource=share, like cpu=0.8", part)
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return nil, fmt.Errorf("%s=%s: not a number", name, value)
		}
		if !(v > 0 && v <= 1) {
			return nil, fmt.Errorf("%s=%s: the share must be above 0 and at most 1", name, value)
		}
		if _, dup := out[corev1.ResourceName(name)]; dup {
			return nil, fmt.Errorf("%s given twice", name)
		}
		out[corev1.ResourceName(name)] = v
	}
	return out, nil
}

func runCheck(cmd *cobra.Command, o checkOptions, req checkRequest) error {
	w, err := checkWorkload(cmd, o, req)
	if err != nil {
		return err
	}
	var (
		name         string
		nodes        []*corev1.Node
		pods         []*corev1.Pod
		poolLabels   = config.Default().Collection.PoolLabels
		unknownError = func(err error) error { return exitError{code: capacity.Unknown.ExitCode(), err: err} }
	)
	if o.snapshot != "" {
		in, fileName, closeIn, err := openArg(cmd, o.snapshot)
		if err != nil {
			return usageError{fmt.Errorf("--snapshot: %w", err)}
		}
		s, err := capacity.ReadSnapshot(in, fileName)
		closeIn()
		if err != nil {
			return usageError{err}
		}
		for _, warning := range s.Warnings {
			cliLogger(cmd).Warn(warning)
		}
		if len(s.Nodes) == 0 {
			return usageError{fmt.Errorf("%s: no Node in it%s; save one with kubectl get nodes,pods -A -o yaml",
				fileName, skippedNote(s.Skipped))}
		}
		name, nodes, pods = snapshotName(o.snapshot), s.Nodes, s.Pods
	} else {
		raw, err := loadKubeconfig(o.kubeconfig)
		if err != nil {
			return usageError{err}
		}
		name = o.context
		if name == "" {
			if name = raw.CurrentContext; name == "" {
				return usageError{errors.New("the kubeconfig has no current-context; give --context or --snapshot")}
			}
		}
		cs, err := newClientset(raw, name, o.timeout)
		if err != nil {
			return usageError{err} // the kubeconfig's, found before any request
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), o.timeout)
		defer cancel()
		nodes, pods, err = collector.List(ctx, cs)
		if err != nil {
			return unknownError(fmt.Errorf("cluster %s: %w", name, err))
		}
	}

	sched := config.Scheduler{PercentageOfNodesToScore: o.percentageOfNodesToScore, Parallelism: o.parallelism}
	res := capacity.NewCluster(nodes, pods, capacity.OptionsOf(name, poolLabels, sched)).Check(w, req.policy)
	if err := printResult(cmd.OutOrStdout(), o.output, res); err != nil {
		return err
	}
	if code := res.Verdict.ExitCode(); code != exitOK {
		return exitError{code: code} // the output says why
	}
	return nil
}

// checkWorkload builds the workload the flags ask for: the manifest's, in
// --namespace when it names none, or plain replicas.
func checkWorkload(cmd *cobra.Command, o checkOptions, req checkRequest) (*capacity.Workload, error) {
	if req.manifest == "" {
		return capacity.SimpleWorkload(o.namespace, req.replicas, req.cpu, req.memory), nil
	}
	in, fileName, closeIn, err := openArg(cmd, req.manifest)
	if err != nil {
		return nil, usageError{fmt.Errorf("-f: %w", err)}
	}
	obj, err := capacity.ReadWorkload(in, fileName)
	closeIn()
	if err != nil {
		return nil, usageError{err}
	}
	if err := capacity.InNamespace(obj, o.namespace); err != nil {
		return nil, usageError{fmt.Errorf("%s: --namespace: %w", fileName, err)}
	}
	w, err := capacity.WorkloadFromObject(obj)
	if err != nil {
		return nil, usageError{fmt.Errorf("%s: %w", fileName, err)}
	}
	return w, nil
}

// openArg opens a file argument, "-" being the command's standard input.
func openArg(cmd *cobra.Command, path string) (io.Reader, string, func(), error) {
	if path == "-" {
		return cmd.InOrStdin(), "<stdin>", func() {}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, "", nil, err
	}
	return f, path, func() { f.Close() }, nil
}

// snapshotName names the cluster of a snapshot in results: the file's
// name without its extension.
func snapshotName(path string) string {
	if path == "-" {
		return "snapshot"
	}
	name := baseName(path)
	return strings.TrimSuffix(name, filepath.Ext(name))
}

func skippedNote(skipped map[string]int) string {
	if len(skipped) == 0 {
		return ""
	}
	var parts []string
	for kind, n := range skipped {
		parts = append(parts, fmt.Sprintf("%d %s", n, kind))
	}
	slices.Sort(parts)
	return " (only " + strings.Join(parts, ", ") + ")"
}

// printResult writes res as a table for people, or as the JSON or YAML of
// capacity.Result, whose field names are the contract (docs/gate.md).
func printResult(out io.Writer, format string, res *capacity.Result) error {
	if ok, err := writeStructured(out, format, res); ok {
		return err
	}
	printCheckTable(out, res)
	return nil
}

func printCheckTable(out io.Writer, r *capacity.Result) {
	workload := r.Workload
	if workload == "" {
		workload = "the workload"
	}
	where := ""
	if r.Cluster != "" {
		where = " in " + r.Cluster
	}
	fits := fmt.Sprintf("%d of %d replicas fit", r.ReplicasFit, r.ReplicasRequested)
	if r.ReplicasFitMin != r.ReplicasFitMax {
		fits += fmt.Sprintf(" (%d to %d, depending on the scheduler's tie-breaking)", r.ReplicasFitMin, r.ReplicasFitMax)
	}
	fmt.Fprintf(out, "%s  %s%s: %s\n", strings.ToUpper(string(r.Verdict)), workload, where, fits)

	list := func(title string, items []string) {
		if len(items) == 0 {
			return
		}
		fmt.Fprintf(out, "\n%s:\n", title)
		for _, s := range items {
			fmt.Fprintf(out, "  - %s\n", s)
		}
	}
	list("Reasons", r.Reasons)
	if len(r.Placement) > 0 {
		fmt.Fprintln(out, "\nPlacement:")
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  POOL\tREPLICAS\tRANGE")
		for _, p := range r.Placement {
			rng := strconv.Itoa(p.Replicas)
			if p.Min != p.Max {
				rng = fmt.Sprintf("%d-%d", p.Min, p.Max)
			}
			fmt.Fprintf(tw, "  %s\t%d\t%s\n", orDash(p.Pool), p.Replicas, rng)
		}
		tw.Flush()
	}
	if ro := r.Rollout; ro != nil {
		done := "completes"
		if !ro.Completed {
			done = "does not complete"
		}
		fmt.Fprintf(out, "\nRollout: %s of %d old replicas, max surge %d, max unavailable %d; at most %d pods at once; %s\n",
			orDash(ro.Strategy), ro.OldReplicas, ro.MaxSurge, ro.MaxUnavailable, ro.PeakPods, done)
	}
	if len(r.Margin) > 0 {
		fmt.Fprintln(out, "\nMargin after the deploy (nodes it may run on):")
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  RESOURCE\tALLOCATABLE\tREQUESTED\tFREE\tREQUESTED %")
		for _, m := range r.Margin {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%.0f%%\n", m.Resource, m.Allocatable, m.Requested, m.Free, 100*m.RequestedShare)
		}
		tw.Flush()
	}
	if len(r.Policy) > 0 {
		fmt.Fprintln(out, "\nPolicy:")
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		for _, p := range r.Policy {
			mark := "pass"
			if !p.Pass {
				mark = "FAIL"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", mark, p.Name, p.Detail)
		}
		tw.Flush()
	}
	list("Suggestions", r.Suggestions)
	list("Notes", r.Notes)
}
