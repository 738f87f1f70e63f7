package config

import (
	"strings"
	"testing"
)

const deployExample = `
files: /srv/deploy-files
gitPull: true
registry: registry.example.com/apps
aliases: {prod: production}
environments:
- {name: production, clusters: [osl2, osl3, ksd1]}
- {name: test, clusters: [test], replicas: 1}
- {name: "snap*", clusters: [snapshot], namespace: "{app}-{env}", replicas: 1}
gate:
  headroomd: http://headroomd.headroom:8080
  policy: {nPlusOne: node}
`

func TestParseDeployAndResolve(t *testing.T) {
	d, err := ParseDeploy([]byte(deployExample), "deploy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if d.ImageKey != "IMAGE" || d.Timeout.Duration().Minutes() != 10 {
		t.Errorf("defaults: imageKey %q, timeout %v", d.ImageKey, d.Timeout)
	}
	for _, tt := range []struct {
		env, wantEnv, wantNS string
		clusters             string
		replicas             int32 // -1: not overridden
	}{
		{"prod", "production", "shop", "osl2,osl3,ksd1", -1},
		{"production", "production", "shop", "osl2,osl3,ksd1", -1},
		{"test", "test", "shop", "test", 1},
		{"snap3", "snap3", "shop-snap3", "snapshot", 1},
	} {
		got, err := d.Resolve("shop", tt.env)
		if err != nil {
			t.Errorf("%s: %v", tt.env, err)
			continue
		}
		r := int32(-1)
		if got.Replicas != nil {
			r = *got.Replicas
		}
		if got.Env != tt.wantEnv || got.Namespace != tt.wantNS || strings.Join(got.Clusters, ",") != tt.clusters || r != tt.replicas {
			t.Errorf("%s: %+v (replicas %d)", tt.env, got, r)
		}
	}
	if _, err := d.Resolve("shop", "staging"); err == nil ||
		!strings.Contains(err.Error(), `unknown environment "staging"; the deploy config knows production, test, snap*, prod (production)`) {
		t.Errorf("unknown environment: %v", err)
	}
	if _, err := d.Resolve("Shop_Web", "test"); err == nil || !strings.Contains(err.Error(), `namespace "Shop_Web"`) {
		t.Errorf("an app name that makes no namespace: %v", err)
	}
}

func TestParseDeployErrorsNameTheField(t *testing.T) {
	for _, tt := range []struct{ text, want string }{
		{"environments: [{name: test, clusters: [t]}]", "files: required"},
		{"files: x\nenvironments: []", "environments: at least one"},
		{"files: x\nenvironments: [{name: test}]", "environments[0].clusters: at least one cluster"},
		{"files: x\nenvironments: [{name: test, clusters: [a, a]}]", `environments[0].clusters[1]: "a" is listed twice`},
		{"files: x\nenvironments: [{name: test, clusters: [a]}, {name: test, clusters: [b]}]", `environments[1].name: "test" is also environments[0]`},
		{"files: x\nenvironments: [{name: 'snap[', clusters: [a]}]", `environments[0].name: "snap[" is not a valid pattern`},
		{"files: x\nenvironments: [{name: t, clusters: [a], namespace: '{team}-{app}'}]", "environments[0].namespace: \"{team}-{app}\": only {app} and {env}"},
		{"files: x\nenvironments: [{name: t, clusters: [a], replicas: -1}]", "environments[0].replicas: must not be negative"},
		{"files: x\nregistry: https://r.example.com/\nenvironments: [{name: t, clusters: [a]}]", "registry: "},
		{"files: x\nimageKey: 'my image'\nenvironments: [{name: t, clusters: [a]}]", `imageKey: "my image" is not a placeholder name`},
		{"files: x\ngate: {policy: {nPlusOne: rack}}\nenvironments: [{name: t, clusters: [a]}]", `gate.policy.nPlusOne: "rack"`},
		{"files: x\ngate: {headroomd: 'headroomd:8080'}\nenvironments: [{name: t, clusters: [a]}]", "gate.headroomd"},
		{"files: x\ngate: {scheduler: {parallelism: -1}}\nenvironments: [{name: t, clusters: [a]}]", "gate.scheduler.parallelism: -1 is negative"},
		{"files: x\ngate: {scheduler: {percentageOfNodesToScore: 101}}\nenvironments: [{name: t, clusters: [a]}]", "gate.scheduler.percentageOfNodesToScore: 101 is not a percentage"},
		{"files: x\ngate: {headroomd: 'http://h:8080', scheduler: {parallelism: 1}}\nenvironments: [{name: t, clusters: [a]}]", "gate.scheduler: set together with gate.headroomd"},
		{"files: x\nenvironment: []", "line 2: field environment not found"},
		{"files: x\ntimeout: 0s\nenvironments: [{name: t, clusters: [a]}]", "timeout: must be positive"},
	} {
		_, err := ParseDeploy([]byte(tt.text), "deploy.yaml")
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "deploy.yaml") {
			t.Errorf("%q: error %v, want one naming deploy.yaml and %q", tt.text, err, tt.want)
		}
	}
}

func TestDeployExampleLoads(t *testing.T) {
	d, err := LoadDeploy("deploy-example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if d.Gate.Scheduler != (Scheduler{}) {
		t.Errorf("the example's gate.scheduler is %+v, want the scheduler's defaults", d.Gate.Scheduler)
	}
	if tg, err := d.Resolve("shop", "snap7"); err != nil || tg.Namespace != "shop-snap7" || tg.Clusters[0] != "snapshot" {
		t.Errorf("snap7: %+v %v", tg, err)
	}
}
