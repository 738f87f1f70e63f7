package main

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/headroomhq/headroom/capacity"
	"github.com/headroomhq/headroom/config"
	"github.com/headroomhq/headroom/deployer"
)

// deployConfigEnv names the deploy configuration when --config is not given.
const deployConfigEnv = "HEADROOM_DEPLOY_CONFIG"

type deployOptions struct {
	config     string
	kubeconfig string
	dryRun     bool
	force      bool
	reason     string
	timeout    time.Duration
}

func newDeployCommand() *cobra.Command {
	o := &deployOptions{}
	cmd := &cobra.Command{
		Use:   "deploy APP ENV [VERSION]",
		Short: "Roll an app out to an environment's clusters, one at a time, with the capacity gate before each",
		Long: `Deploy APP to environment ENV (an alias such as prod works) as the old
k8sdeploy did, from the deploy-files repository of the deploy config:
APP-rc.yaml and APP-svc.yaml expanded with ENV.resources, ENV.properties as
the ConfigMap named config.

First everything is read and checked, and validated on every cluster of the
environment with a server-side dry run: bad input applies nothing anywhere.
Then, one cluster at a time: the capacity gate (will the rollout fit, with
its surge, under the configured policy?), server-side apply (field manager
headroom), and a wait like kubectl rollout status. A rollout that fails is
rolled back to the revision that was serving, and the later clusters are
left untouched. With VERSION the image is REGISTRY/APP:VERSION, written back
to ENV.resources once every cluster has it.

Exit status: 0 deployed everywhere, 1 a cluster failed or the gate stopped
the deploy (the summary says where), 2 bad input: nothing was applied.`,
		Example: `  headroom deploy shop prod 1.4.2
  headroom deploy shop snap3 --dry-run
  headroom deploy shop prod 1.4.3 --force --reason "INC-1234: hotfix, capacity added tonight"`,
		Args: usageArgs(cobra.RangeArgs(2, 3)),
		RunE: func(cmd *cobra.Command, args []string) error {
			version := ""
			if len(args) == 3 {
				version = args[2]
			}
			return runDeploy(cmd, o, args[0], args[1], version, false)
		},
	}
	o.flags(cmd)
	return cmd
}

func newReconfigureCommand() *cobra.Command {
	o := &deployOptions{}
	cmd := &cobra.Command{
		Use:   "reconfigure APP ENV",
		Short: "Roll an app's new configuration out, keeping its running image, without an outage",
		Long: `Reconfigure APP in environment ENV as the old k8sconfig did, without its
outage: the ConfigMap named config is regenerated from ENV.properties and
the workload applied again with each cluster's running images; the
ConfigMap's hash on the pod template rolls the pods as kubectl rollout
restart does, never all at once. Validation, gate, rollback and exit status
are those of headroom deploy.`,
		Example: `  headroom reconfigure shop prod
  headroom reconfigure shop test --dry-run`,
		Args: usageArgs(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDeploy(cmd, o, args[0], args[1], "", true)
		},
	}
	o.flags(cmd)
	return cmd
}

func (o *deployOptions) flags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.config, "config", "", "deploy config file (default $"+deployConfigEnv+", else ~/.config/headroom/deploy.yaml)")
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig file, overriding the deploy config's (default $KUBECONFIG or ~/.kube/config)")
	f.BoolVar(&o.dryRun, "dry-run", false, "validate on every cluster and print what would change; apply nothing")
	f.BoolVar(&o.force, "force", false, "deploy past a failing capacity check (needs --reason)")
	f.StringVar(&o.reason, "reason", "", "why --force is used; recorded with the deploy")
	f.DurationVar(&o.timeout, "request-timeout", 30*time.Second, "timeout of each request to a cluster")
}

func (o *deployOptions) configPath() string {
	if o.config != "" {
		return o.config
	}
	if p := os.Getenv(deployConfigEnv); p != "" {
		return p
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "deploy.yaml"
	}
	return filepath.Join(dir, "headroom", "deploy.yaml")
}

func runDeploy(cmd *cobra.Command, o *deployOptions, appName, env, version string, reconfigure bool) error {
	switch {
	case o.force && strings.TrimSpace(o.reason) == "":
		return usageError{errors.New("--force needs --reason TEXT: why the capacity check is overridden, recorded with the deploy")}
	case !o.force && o.reason != "":
		return usageError{errors.New("--reason goes with --force")}
	}
	if version != "" {
		if msgs := validation.IsValidLabelValue(version); len(msgs) > 0 || strings.ContainsAny(version, "/:@") {
			return usageError{fmt.Errorf("VERSION %q is not an image tag", version)}
		}
	}
	cfg, err := config.LoadDeploy(o.configPath())
	if err != nil {
		return usageError{err}
	}
	raw, err := loadKubeconfig(cmp.Or(o.kubeconfig, cfg.Kubeconfig))
	if err != nil {
		return usageError{err}
	}
	out := cmd.OutOrStdout()
	opts := deployer.Options{
		Config: cfg, App: appName, Env: env, Version: version, Reconfigure: reconfigure,
		DryRun: o.dryRun, Force: o.force, Reason: o.reason, Out: out, User: whoAmI(), Logger: cliLogger(cmd),
		Connect: func(name string) (*deployer.Cluster, error) {
			rc, err := restConfig(raw, name, o.timeout)
			if err != nil {
				return nil, err
			}
			return deployer.NewCluster(name, rc)
		},
		GateReport: printCheckTable,
	}
	if !cfg.Gate.Disabled {
		policy := capacity.PolicyOf(cfg.Gate.Policy)
		if cfg.Gate.Headroomd != "" {
			opts.Gate = deployer.RemoteGate{URL: cfg.Gate.Headroomd, Policy: &policy}
		} else {
			opts.Gate = deployer.LocalGate{Policy: policy, PoolLabels: config.Default().Collection.PoolLabels, Scheduler: cfg.Gate.Scheduler}
		}
	}
	sum, err := deployer.Run(cmd.Context(), opts)
	if sum != nil && len(sum.Clusters) > 0 && !errors.Is(err, deployer.ErrInput) {
		fmt.Fprintln(out)
		deployer.WriteSummary(out, sum)
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, deployer.ErrInput):
		return usageError{err}
	}
	return err
}

// whoAmI is who deploys: $USER, else the account name.
func whoAmI() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return ""
}
