package deployer

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/headroomhq/headroom/capacity"
	"github.com/headroomhq/headroom/config"
	"github.com/headroomhq/headroom/deployer/files"
	"github.com/headroomhq/headroom/sink/webhook"
)

// Options configure one deploy (or reconfigure) of one app to one
// environment.
type Options struct {
	Config *config.Deploy
	App    string
	Env    string
	// Version, for a deploy, is the version to roll out: the image
	// REGISTRY/APP:VERSION, written back to ENV.resources on success.
	// Empty deploys the image ENV.resources names.
	Version string
	// Reconfigure keeps each cluster's running images and rolls the new
	// configuration out (`headroom reconfigure`).
	Reconfigure bool
	// DryRun validates everywhere and prints what would change.
	DryRun bool
	// Force deploys past a failing gate; Reason says why and is recorded.
	Force  bool
	Reason string
	// Connect returns the cluster of a kubeconfig context.
	Connect func(name string) (*Cluster, error)
	// Gate checks capacity before each cluster; nil skips it.
	Gate Gate
	// GateReport prints a gate's result for the operator.
	GateReport func(w io.Writer, r *capacity.Result)
	// Out receives progress lines and the summary.
	Out io.Writer
	// User is who deploys, recorded with the deploy.
	User   string
	Now    func() time.Time
	Logger *slog.Logger
}

// Outcomes of one cluster.
const (
	OutcomeDeployed   = "deployed"
	OutcomeValidated  = "validated (dry run)"
	OutcomeGateFailed = "stopped at the gate"
	OutcomeRolledBack = "failed, rolled back"
	OutcomeFailed     = "failed"
	OutcomeNotStarted = "not started"
)

// ClusterResult is what happened in one cluster.
type ClusterResult struct {
	Cluster     string           `json:"cluster"`
	Outcome     string           `json:"outcome"`
	Duration    time.Duration    `json:"duration_ns"`
	ImageBefore string           `json:"image_before"`
	ImageAfter  string           `json:"image_after"`
	Error       string           `json:"error,omitempty"`
	Gate        *capacity.Result `json:"gate,omitempty"`
}

// Summary is a deploy's outcome.
type Summary struct {
	App       string          `json:"app"`
	Env       string          `json:"env"`
	Namespace string          `json:"namespace"`
	Version   string          `json:"version,omitempty"`
	User      string          `json:"user,omitempty"`
	Forced    bool            `json:"forced,omitempty"`
	Reason    string          `json:"reason,omitempty"`
	Clusters  []ClusterResult `json:"clusters"`
	// WroteBack names the resources file the image was written back to.
	WroteBack string `json:"wrote_back,omitempty"`
}

// ErrInput marks errors in what was asked or in the deploy files: nothing
// was applied anywhere.
var ErrInput = errors.New("invalid input")

// Run deploys. Everything is read and validated on every cluster first
// (server-side dry run): bad input applies nothing anywhere. Then one
// cluster at a time: the gate, apply, wait for the rollout; a rollout
// that fails is rolled back and the later clusters are left untouched.
// The Summary is returned also with an error.
func Run(ctx context.Context, o Options) (*Summary, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	cfg := o.Config
	target, err := cfg.Resolve(o.App, o.Env)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInput, err)
	}
	o.Env = target.Env // the name, not the alias, is recorded
	sum := &Summary{App: o.App, Env: target.Env, Namespace: target.Namespace, Version: o.Version,
		User: o.User, Forced: o.Force, Reason: o.Reason}
	for _, c := range target.Clusters {
		sum.Clusters = append(sum.Clusters, ClusterResult{Cluster: c, Outcome: OutcomeNotStarted})
	}

	if cfg.GitPull {
		if err := files.Pull(ctx, cfg.Files); err != nil {
			return sum, err
		}
	}
	app, err := files.Load(cfg.Files, o.App, target.Env)
	if err != nil {
		return sum, fmt.Errorf("%w: %w", ErrInput, err)
	}
	override := map[string]string{}
	if o.Version != "" {
		override[cfg.ImageKey] = Image(cfg.Registry, o.App, o.Version)
	}
	manifests, err := app.Expand(override)
	if err != nil {
		return sum, fmt.Errorf("%w: %w", ErrInput, err)
	}
	objs, err := Build(app, manifests, target.Namespace, target.Replicas)
	if err != nil {
		return sum, fmt.Errorf("%w: %w", ErrInput, err)
	}

	// Validate everywhere before touching anything.
	clusters := make([]*Cluster, len(target.Clusters))
	lives := make([]*Live, len(target.Clusters))
	plans := make([]*Objects, len(target.Clusters))
	var failed clusterErrors
	for i, name := range target.Clusters {
		c, err := o.Connect(name)
		if err != nil {
			failed.add(name, err)
			continue
		}
		clusters[i] = c
		plan, live, err := validate(ctx, c, objs, o.Reconfigure)
		if err != nil {
			failed.add(name, err)
			continue
		}
		plans[i], lives[i] = plan, live
		sum.Clusters[i].ImageBefore = mainImage(live.Images(), plan)
		sum.Clusters[i].ImageAfter = mainImage(plan.Images(), plan)
	}
	if err := failed.err(); err != nil {
		return sum, fmt.Errorf("%w: nothing was applied: %w", ErrInput, err)
	}
	if o.DryRun {
		for i, c := range clusters {
			fmt.Fprintf(o.Out, "%s: %s\n", c.Name, describePlan(plans[i], lives[i]))
			sum.Clusters[i].Outcome = OutcomeValidated
		}
		return sum, nil
	}

	for i, c := range clusters {
		start := o.Now()
		res := &sum.Clusters[i]
		err := o.deployOne(ctx, c, plans[i], lives[i], res)
		res.Duration = o.Now().Sub(start)
		if err != nil {
			res.Error = err.Error()
			o.record(ctx, sum)
			return sum, fmt.Errorf("cluster %s: %s: %w", c.Name, res.Outcome, err)
		}
	}
	if o.Version != "" {
		path := files.ResourcesPath(cfg.Files, o.App, target.Env)
		if err := writeBack(path, cfg.ImageKey, override[cfg.ImageKey]); err != nil {
			o.record(ctx, sum)
			return sum, fmt.Errorf("deployed everywhere, but the image was not written back: %w", err)
		}
		sum.WroteBack = path
	}
	o.record(ctx, sum)
	return sum, nil
}

// clusterErrors collects the clusters' errors, naming together the
// clusters that failed alike (a bad manifest fails the same everywhere).
type clusterErrors struct {
	order    []string
	clusters map[string][]string
}

func (e *clusterErrors) add(cluster string, err error) {
	if e.clusters == nil {
		e.clusters = map[string][]string{}
	}
	msg := err.Error()
	if _, ok := e.clusters[msg]; !ok {
		e.order = append(e.order, msg)
	}
	e.clusters[msg] = append(e.clusters[msg], cluster)
}

func (e *clusterErrors) err() error {
	var errs []error
	for _, msg := range e.order {
		cs := e.clusters[msg]
		word := "cluster"
		if len(cs) > 1 {
			word = "clusters"
		}
		errs = append(errs, fmt.Errorf("%s %s: %s", word, strings.Join(cs, ", "), msg))
	}
	return errors.Join(errs...)
}

// Image is the image of a version: REGISTRY/APP:VERSION.
func Image(registry, app, version string) string {
	if registry == "" {
		return app + ":" + version
	}
	return registry + "/" + app + ":" + version
}

// validate reads what serves in c and dry-runs every object there. For a
// reconfigure it keeps the running images. A namespace that does not exist
// yet would make the dry run of its objects fail, so they are dry-run in
// namespace default instead: the schema and admission checks are the same.
func validate(ctx context.Context, c *Cluster, objs *Objects, reconfigure bool) (*Objects, *Live, error) {
	live, err := c.live(ctx, objs)
	if err != nil {
		return nil, nil, err
	}
	plan := objs.copy()
	if reconfigure {
		if live.Workload == nil {
			return nil, nil, fmt.Errorf("%s is not deployed in namespace %s; reconfigure changes a running app, deploy it first",
				describe(objs.Workload), objs.Workload.GetNamespace())
		}
		if err := plan.SetImages(live.Images()); err != nil {
			return nil, nil, err
		}
	}
	var errs []error
	for _, u := range plan.All() {
		probe := u
		if !live.NamespaceExists && u.GetNamespace() != "" {
			probe = u.DeepCopy()
			probe.SetNamespace("default")
		}
		if _, err := c.apply(ctx, probe, true); err != nil {
			errs = append(errs, plan.explain(u, err))
		}
	}
	if len(errs) > 0 {
		return nil, nil, errors.Join(errs...)
	}
	return plan, live, nil
}

// deployOne runs the gate, applies and waits in one cluster, and rolls
// back a rollout that fails.
func (o *Options) deployOne(ctx context.Context, c *Cluster, plan *Objects, live *Live, res *ClusterResult) error {
	progress := func(msg string) { fmt.Fprintf(o.Out, "%s: %s\n", c.Name, msg) }
	if o.Gate != nil {
		typed, err := plan.Typed()
		if err != nil {
			res.Outcome = OutcomeFailed
			return err
		}
		gr, err := o.Gate.Check(ctx, c, typed)
		if err != nil {
			gr = &capacity.Result{Verdict: capacity.Unknown, Reasons: []string{"the gate could not check: " + err.Error()}}
		}
		res.Gate = gr
		if gr.Verdict != capacity.Pass {
			if o.GateReport != nil {
				o.GateReport(o.Out, gr)
			}
			if !o.Force {
				res.Outcome = OutcomeGateFailed
				return fmt.Errorf("the capacity check says %s (--force --reason TEXT deploys anyway)", gr.Verdict)
			}
			progress(fmt.Sprintf("gate says %s; deploying anyway (--force: %s)", gr.Verdict, o.Reason))
		} else {
			progress("gate: pass")
		}
	}
	for _, u := range plan.All() {
		if _, err := c.apply(ctx, u, false); err != nil {
			res.Outcome = OutcomeFailed
			return err
		}
	}
	if res.Gate != nil && res.Gate.Verdict != capacity.Pass { // forced
		_ = c.event(ctx, plan.Workload, corev1.EventTypeWarning, "CapacityCheckOverridden",
			fmt.Sprintf("headroom deploy of %s past a capacity check that says %s, by %s: %s",
				res.ImageAfter, res.Gate.Verdict, cmp.Or(o.User, "unknown"), o.Reason), o.Now())
	}
	progress("applied; waiting for the rollout")
	werr := c.wait(ctx, plan.Workload, o.Config.Timeout.Duration(), progress)
	if werr == nil {
		res.Outcome = OutcomeDeployed
		o.markDeployed(ctx, c, plan)
		return nil
	}
	progress("rollout failed: " + werr.Error() + "; rolling back")
	_ = c.event(ctx, plan.Workload, corev1.EventTypeWarning, "DeployFailed",
		fmt.Sprintf("headroom deploy of %s failed: %v; rolling back", res.ImageAfter, werr), o.Now())
	if err := c.rollback(ctx, plan, live); err != nil {
		res.Outcome = OutcomeFailed
		return fmt.Errorf("%w; rollback: %w; inspect with kubectl --context %s -n %s rollout status %s",
			werr, err, c.Name, plan.Workload.GetNamespace(), describe(plan.Workload))
	}
	if err := c.wait(ctx, plan.Workload, o.Config.Timeout.Duration(), progress); err != nil {
		res.Outcome = OutcomeFailed
		return fmt.Errorf("%w; rolled back, but the old revision is not healthy either: %w; inspect with kubectl --context %s -n %s get pods",
			werr, err, c.Name, plan.Workload.GetNamespace())
	}
	res.Outcome = OutcomeRolledBack
	_ = c.event(ctx, plan.Workload, corev1.EventTypeNormal, "RolledBack",
		fmt.Sprintf("headroom rolled back to %s after a failed deploy", res.ImageBefore), o.Now())
	return fmt.Errorf("%w; rolled back to %s and healthy; inspect with kubectl --context %s -n %s describe %s",
		werr, res.ImageBefore, c.Name, plan.Workload.GetNamespace(), describe(plan.Workload))
}

// markDeployed records the deploy on the workload: an annotation and an
// Event. Failing to record does not fail the deploy.
func (o *Options) markDeployed(ctx context.Context, c *Cluster, plan *Objects) {
	rec := map[string]any{"at": o.Now().UTC().Format(time.RFC3339), "env": o.Env, "images": plan.Images()}
	if o.Version != "" {
		rec["version"] = o.Version
	}
	if o.User != "" {
		rec["by"] = o.User
	}
	if o.Force {
		rec["forced"], rec["reason"] = true, o.Reason
	}
	if o.Reconfigure {
		rec["reconfigure"] = true
	}
	b, _ := json.Marshal(rec)
	if err := c.annotate(ctx, plan.Workload, AnnotationLastDeploy, string(b)); err != nil {
		o.Logger.Warn("deploy not recorded on the workload", "cluster", c.Name, "err", err)
	}
	what := "deployed " + strings.Join(slices.Sorted(maps.Values(plan.Images())), ", ")
	if o.Reconfigure {
		what = "reconfigured (config " + plan.ConfigHash + ")"
	}
	msg := fmt.Sprintf("headroom %s", what)
	if o.User != "" {
		msg += " by " + o.User
	}
	if o.Force {
		msg += " past a failing capacity check: " + o.Reason
	}
	reason := "Deployed"
	if o.Reconfigure {
		reason = "Reconfigured"
	}
	if err := c.event(ctx, plan.Workload, corev1.EventTypeNormal, reason, msg, o.Now()); err != nil {
		o.Logger.Warn("deploy event not recorded", "cluster", c.Name, "err", err)
	}
}

// record posts the summary to the configured webhook.
func (o *Options) record(ctx context.Context, sum *Summary) {
	if o.Config.Webhook == "" || o.DryRun {
		return
	}
	if err := webhook.Post(ctx, nil, o.Config.Webhook, sum); err != nil {
		fmt.Fprintf(o.Out, "warning: the deploy record was not posted to the webhook: %v\n", err)
	}
}

// mainImage is the image of the workload's first container (by the
// template's order).
func mainImage(images map[string]string, plan *Objects) string {
	list, _, _ := unstructured.NestedSlice(plan.Workload.Object, "spec", "template", "spec", "containers")
	for _, c := range list {
		if m, ok := c.(map[string]any); ok {
			name, _ := m["name"].(string)
			if img, ok := images[name]; ok {
				return img
			}
		}
	}
	return ""
}

// writeBack writes the deployed image into the resources file, keeping
// the rest of it byte for byte, atomically.
func writeBack(path, key, image string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	out, err := files.SetProperty(b, path, key, image)
	if err != nil {
		return err
	}
	return files.WriteAtomic(path, out)
}

// WriteSummary prints the summary table.
func WriteSummary(w io.Writer, s *Summary) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CLUSTER\tRESULT\tDURATION\tIMAGE BEFORE\tIMAGE AFTER")
	for _, c := range s.Clusters {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.Cluster, c.Outcome, c.Duration.Round(100*time.Millisecond),
			cmp.Or(c.ImageBefore, "-"), cmp.Or(c.ImageAfter, "-"))
	}
	tw.Flush()
	if s.WroteBack != "" {
		fmt.Fprintf(w, "image written back to %s\n", s.WroteBack)
	}
}
