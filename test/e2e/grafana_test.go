package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"

	"github.com/headroomhq/headroom/test/localstack"
)

// TestGrafanaDashboardQueries runs every query of deploy/grafana/headroom.json
// (its variables' and its panels') against the real InfluxDB, over what
// headroomd wrote from two clusters, as Grafana would send them: each
// must return data.
func TestGrafanaDashboardQueries(t *testing.T) {
	ctx := t.Context()
	cs := stack.PooledClusters()
	if len(cs) < 2 {
		t.Skip("the stack has fewer than two pooled clusters")
	}
	b, err := os.ReadFile(filepath.Join("..", "..", "deploy", "grafana", "headroom.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Templating struct {
			List []struct{ Name, Type, Query string }
		}
		Panels []struct {
			Title   string
			Targets []struct{ Query string }
		}
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("headroom.json: %v", err)
	}

	// An app with known usage in the first cluster.
	client, err := kubernetes.NewForConfig(cs[0].RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	ns := "grafana-" + rand.String(5)
	createNamespace(t, client, ns)
	d := deployment("shop", 2, "200m", "512Mi")
	d.Spec.Template.Annotations = map[string]string{localstack.AnnotationUsageCPU: "100m", localstack.AnnotationUsageMemory: "200Mi"}
	if _, err := client.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	db := "grafana_" + rand.String(6)
	if _, err := influxQL(ctx, stack.InfluxURL, "", "CREATE DATABASE "+db); err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = influxQL(context.Background(), stack.InfluxURL, "", "DROP DATABASE "+db) }()
	dir := t.TempDir()
	var clusters strings.Builder
	for _, c := range cs[:2] {
		fmt.Fprintf(&clusters, "- {name: %s, kubeconfig: %s, context: %s, source: kubelet, kubeletInsecureSkipVerify: true}\n",
			c.Name, stack.Kubeconfig, c.Context)
	}
	runHeadroomd(t, fmt.Sprintf(`collection: {interval: 2s, timeout: 1s, jitter: 200ms}
clusters:
%sinflux: {url: %s, bucket: %s/autogen, timeout: 5s, maxRetryBackoff: 2s}
spool: {path: %s}
server: {listen: "127.0.0.1:0"}
schedules: {report: ""}
`, clusters.String(), stack.InfluxURL, db, filepath.Join(dir, "spool.db")), "grafana-e2e.yaml")
	eventually(t, 2*time.Minute, time.Second, "the app's cpu usage in InfluxDB", func(ctx context.Context) error {
		s, err := influxQL(ctx, stack.InfluxURL, db, `SELECT count("cpu_usage_cores_sum") FROM "app" WHERE "namespace" = '`+ns+`'`)
		if err != nil {
			return err
		}
		if len(s) == 0 || len(s[0].Values) == 0 {
			return fmt.Errorf("no cpu usage of %s/shop yet", ns)
		}
		return nil
	})

	// Grafana's macros and variables, as it expands them for a 10-minute
	// range: a multi-value variable becomes (a|b).
	vars := map[string]string{}
	expand := func(q string) string {
		q = strings.ReplaceAll(q, "$timeFilter", "time > now() - 10m")
		q = strings.ReplaceAll(q, "$__interval", "10s")
		for name, v := range vars {
			q = strings.ReplaceAll(q, "$"+name, v)
		}
		return q
	}
	run := func(what, q string) []influxSeries {
		t.Helper()
		s, err := influxQL(ctx, stack.InfluxURL, db, expand(q))
		if err != nil {
			t.Errorf("%s: %v", what, err)
			return nil
		}
		return s
	}
	want := map[string]string{"namespace": ns, "app": "shop"}
	for _, v := range dash.Templating.List {
		if v.Type != "query" {
			continue
		}
		var values []string
		for _, s := range run("variable "+v.Name, v.Query) {
			for _, row := range s.Values {
				if val, ok := s.column(row, "value").(string); ok {
					values = append(values, val)
				}
			}
		}
		if len(values) == 0 {
			t.Fatalf("variable %s: no values from %s", v.Name, expand(v.Query))
		}
		if w, ok := want[v.Name]; ok {
			found := false
			for _, val := range values {
				found = found || val == w
			}
			if !found {
				t.Fatalf("variable %s: %v lacks %s", v.Name, values, w)
			}
			values = []string{w}
		}
		for i := range values {
			values[i] = regexp.QuoteMeta(values[i])
		}
		vars[v.Name] = "(" + strings.Join(values, "|") + ")"
	}
	queries := 0
	for _, p := range dash.Panels {
		for _, target := range p.Targets {
			queries++
			series := run(p.Title, target.Query)
			values := 0
			for _, s := range series {
				for _, row := range s.Values {
					for _, v := range row[1:] {
						if v != nil {
							values++
						}
					}
				}
			}
			if values == 0 {
				t.Errorf("panel %q: no data from\n  %s", p.Title, expand(target.Query))
			}
		}
	}
	if queries < 10 {
		t.Errorf("only %d panel queries", queries)
	}
	t.Logf("%d panel queries and %d variables returned data", queries, len(vars))
}
