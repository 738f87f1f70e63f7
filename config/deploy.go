package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Deploy configures `headroom deploy` and `headroom reconfigure`: where the
// deploy files are, which clusters each environment means, and the gate.
// It is a file of its own (deploy.yaml), apart from headroomd's.
type Deploy struct {
	// Files is the deploy-files repository: one folder per app holding
	// APP-rc.yaml, APP-svc.yaml, ENV.properties and ENV.resources.
	Files string `yaml:"files"`
	// GitPull runs `git pull --ff-only` in Files before reading it.
	GitPull bool `yaml:"gitPull"`
	// Registry is the image repository prefix a version is deployed from:
	// REGISTRY/APP:VERSION.
	Registry string `yaml:"registry"`
	// ImageKey is the key of ENV.resources holding the image, written back
	// after a deploy of a version. Default IMAGE.
	ImageKey string `yaml:"imageKey"`
	// Kubeconfig holds the clusters' contexts; empty means $KUBECONFIG or
	// ~/.kube/config, as kubectl reads.
	Kubeconfig string `yaml:"kubeconfig"`
	// Aliases map a short environment name to its name: prod: production.
	Aliases map[string]string `yaml:"aliases"`
	// Environments, matched in order by name (a path.Match pattern such
	// as snap* may stand for several).
	Environments []Environment `yaml:"environments"`
	// Gate is the capacity check before each cluster.
	Gate DeployGate `yaml:"gate"`
	// Timeout is how long one cluster's rollout may take. Default 10m.
	Timeout Duration `yaml:"timeout"`
	// Webhook, when set, is posted a JSON record of each deploy.
	Webhook string `yaml:"webhook"`
}

// Environment is where one environment deploys.
type Environment struct {
	// Name is the environment's name, or a path.Match pattern (snap*).
	Name string `yaml:"name"`
	// Clusters are kubeconfig contexts, deployed one at a time in order.
	Clusters []string `yaml:"clusters"`
	// Namespace is the namespace, where {app} and {env} stand for the app
	// and the environment's name. Default "{app}".
	Namespace string `yaml:"namespace"`
	// Replicas, when set, replaces the workload's replicas (1 outside
	// production, as the old scripts did).
	Replicas *int32 `yaml:"replicas"`
}

// DeployGate configures the capacity check before each cluster.
type DeployGate struct {
	// Headroomd is headroomd's URL: the check is asked of it (POST
	// /api/v1/check). Empty: the cluster is read and checked directly.
	Headroomd string `yaml:"headroomd"`
	// Policy is the headroom the deploy must leave; empty asks plain fit.
	Policy GatePolicy `yaml:"policy"`
	// Scheduler describes the clusters' kube-scheduler where it is not
	// configured with the defaults, as headroomd's clusters[].scheduler
	// does; with Headroomd set, headroomd's own config applies instead.
	Scheduler Scheduler `yaml:"scheduler"`
	// Disabled skips the gate altogether.
	Disabled bool `yaml:"disabled"`
}

// DefaultImageKey is the resources key holding the image.
const DefaultImageKey = "IMAGE"

// LoadDeploy reads and validates a deploy configuration file.
func LoadDeploy(path string) (*Deploy, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read deploy config: %w", err)
	}
	return ParseDeploy(b, path)
}

// ParseDeploy decodes b strictly, applies the defaults and validates.
// Errors are a *FileError naming source, as Parse's.
func ParseDeploy(b []byte, source string) (*Deploy, error) {
	d := &Deploy{ImageKey: DefaultImageKey, Timeout: Duration(10 * time.Minute)}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(d); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &FileError{Source: source, Err: errors.New("no YAML document")}
		}
		return nil, &FileError{Source: source, Err: yamlError(err)}
	}
	for i := range d.Environments {
		if d.Environments[i].Namespace == "" {
			d.Environments[i].Namespace = "{app}"
		}
	}
	if err := d.Validate(); err != nil {
		return nil, &FileError{Source: source, Err: err}
	}
	return d, nil
}

// Validate checks every field; errors are *FieldError joined.
func (d *Deploy) Validate() error {
	v := &validator{}
	if d.Files == "" {
		v.add("files", "required: the deploy-files repository, one folder per app")
	}
	if strings.HasSuffix(d.Registry, "/") || strings.Contains(d.Registry, ":/") {
		v.add("registry", "%q: want a repository prefix like registry.example.com/apps, without a scheme or a trailing /", d.Registry)
	}
	if !IsPlaceholderName(d.ImageKey) {
		v.add("imageKey", "%q is not a placeholder name (letters, digits, _ . -)", d.ImageKey)
	}
	if d.Timeout <= 0 {
		v.add("timeout", "must be positive")
	}
	if d.Webhook != "" {
		v.httpURL("webhook", d.Webhook)
	}
	if d.Gate.Headroomd != "" {
		v.httpURL("gate.headroomd", d.Gate.Headroomd)
	}
	v.gatePolicy("gate.policy", d.Gate.Policy)
	v.scheduler("gate.scheduler", d.Gate.Scheduler)
	if d.Gate.Headroomd != "" && d.Gate.Scheduler != (Scheduler{}) {
		v.add("gate.scheduler", "set together with gate.headroomd, which checks with its own config's clusters[].scheduler; drop one")
	}
	if len(d.Environments) == 0 {
		v.add("environments", "at least one environment is required")
	}
	names := map[string]int{}
	for i, e := range d.Environments {
		p := fmt.Sprintf("environments[%d]", i)
		if e.Name == "" {
			v.add(p+".name", "required")
		} else if _, err := path.Match(e.Name, ""); err != nil {
			v.add(p+".name", "%q is not a valid pattern: %v", e.Name, err)
		} else if j, ok := names[e.Name]; ok {
			v.add(p+".name", "%q is also environments[%d]", e.Name, j)
		} else {
			names[e.Name] = i
		}
		if len(e.Clusters) == 0 {
			v.add(p+".clusters", "at least one cluster (kubeconfig context) is required")
		}
		seen := map[string]bool{}
		for j, c := range e.Clusters {
			if c == "" {
				v.add(fmt.Sprintf("%s.clusters[%d]", p, j), "empty")
			} else if seen[c] {
				v.add(fmt.Sprintf("%s.clusters[%d]", p, j), "%q is listed twice", c)
			}
			seen[c] = true
		}
		if ns, err := expandNamespace(e.Namespace, "app", "env"); err != nil {
			v.add(p+".namespace", "%v", err)
		} else if msgs := validation.IsDNS1123Label(strings.ToLower(ns)); len(msgs) > 0 {
			v.add(p+".namespace", "%q does not make a namespace name: %s", e.Namespace, strings.Join(msgs, "; "))
		}
		if e.Replicas != nil && *e.Replicas < 0 {
			v.add(p+".replicas", "must not be negative")
		}
	}
	for _, short := range slices.Sorted(maps.Keys(d.Aliases)) {
		if d.Aliases[short] == "" {
			v.add("aliases."+short, "empty")
		}
	}
	return errors.Join(v.errs...)
}

// Target is where one app goes in one environment.
type Target struct {
	// Env is the environment's name, after aliases.
	Env       string
	Clusters  []string
	Namespace string
	// Replicas replaces the workload's replicas when not nil.
	Replicas *int32
}

// Resolve finds where app deploys in env (an alias or a name).
func (d *Deploy) Resolve(app, env string) (Target, error) {
	if to, ok := d.Aliases[env]; ok {
		env = to
	}
	for _, e := range d.Environments {
		if ok, _ := path.Match(e.Name, env); !ok {
			continue
		}
		ns, err := expandNamespace(e.Namespace, app, env)
		if err != nil {
			return Target{}, err
		}
		if msgs := validation.IsDNS1123Label(ns); len(msgs) > 0 {
			return Target{}, fmt.Errorf("environment %s: namespace %q (from %q) is not a valid name: %s",
				env, ns, e.Namespace, strings.Join(msgs, "; "))
		}
		return Target{Env: env, Clusters: slices.Clone(e.Clusters), Namespace: ns, Replicas: e.Replicas}, nil
	}
	var known []string
	for _, e := range d.Environments {
		known = append(known, e.Name)
	}
	for _, a := range slices.Sorted(maps.Keys(d.Aliases)) {
		known = append(known, a+" ("+d.Aliases[a]+")")
	}
	return Target{}, fmt.Errorf("unknown environment %q; the deploy config knows %s", env, strings.Join(known, ", "))
}

// expandNamespace replaces {app} and {env}; any other {…} is an error.
func expandNamespace(tmpl, app, env string) (string, error) {
	out := strings.NewReplacer("{app}", app, "{env}", env).Replace(tmpl)
	if i := strings.IndexAny(out, "{}"); i >= 0 {
		return "", fmt.Errorf("%q: only {app} and {env} may be used", tmpl)
	}
	return out, nil
}

// IsPlaceholderName says whether s may name a ${placeholder} of a deploy
// template: a letter or _,
// then letters, digits, _, . or -.
func IsPlaceholderName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z':
		case i > 0 && (r >= '0' && r <= '9' || r == '.' || r == '-'):
		default:
			return false
		}
	}
	return true
}
