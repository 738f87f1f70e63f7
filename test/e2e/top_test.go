package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"

	"github.com/headroomhq/headroom/test/localstack"
)

// TestTop runs the built `headroom top` against osl2: a namespace's app of
// two replicas shows its requests and limits, and its usage from
// metrics-server as kwok simulates it (250m and 300Mi a replica).
func TestTop(t *testing.T) {
	ctx := t.Context()
	cs := stack.PooledClusters()
	if len(cs) == 0 {
		t.Skip("the stack has no pooled cluster")
	}
	cluster := cs[0]
	client, err := kubernetes.NewForConfig(cluster.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	headroomCLI(t)
	ns := "top-" + rand.String(5)
	createNamespace(t, client, ns)
	d := deployment("shop", 2, "500m", "1Gi")
	c := &d.Spec.Template.Spec.Containers[0]
	c.Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("2Gi")}
	d.Spec.Template.Spec.NodeSelector = map[string]string{localstack.PoolLabel: "general"}
	d.Spec.Template.Annotations = map[string]string{localstack.AnnotationUsageCPU: "250m", localstack.AnnotationUsageMemory: "300Mi"}
	if _, err := client.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	type used struct {
		Requests, Limits, Allocatable float64
		Usage                         *float64
	}
	type row struct {
		Cluster, Name string
		Pods          int
		CPU, Memory   used
	}
	top := func(ctx context.Context, args ...string) ([]row, error) {
		out, errOut, code := runCLI(ctx, t, append([]string{"top", "--kubeconfig", stack.Kubeconfig, "--context", cluster.Context, "-o", "json"}, args...)...)
		if code != 0 {
			return nil, fmt.Errorf("exit %d: %s", code, errOut)
		}
		var rows []row
		if err := json.Unmarshal([]byte(out), &rows); err != nil {
			return nil, fmt.Errorf("%v: %s", err, out)
		}
		return rows, nil
	}
	near := func(got *float64, want float64) bool { return got != nil && math.Abs(*got-want) <= 0.05*want }
	const mi = 1 << 20
	eventually(t, 2*time.Minute, 2*time.Second, "the app's usage in headroom top", func(ctx context.Context) error {
		rows, err := top(ctx, "app")
		if err != nil {
			return err
		}
		for _, r := range rows {
			if r.Name != ns+"/shop" {
				continue
			}
			if r.Pods != 2 || r.CPU.Requests != 1 || r.CPU.Limits != 2 || r.Memory.Requests != 2<<30 || r.Memory.Limits != 4<<30 {
				return fmt.Errorf("requests and limits: %+v", r)
			}
			if !near(r.CPU.Usage, 0.5) || !near(r.Memory.Usage, 600*mi) {
				return fmt.Errorf("usage: cpu %v, memory %v; want 0.5 and 600Mi", r.CPU.Usage, r.Memory.Usage)
			}
			return nil
		}
		return fmt.Errorf("no row %s/shop in %+v", ns, rows)
	})
	rows, err := top(ctx, "pool", "--sort", "cpu.requests")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for i, r := range rows {
		if i > 0 && r.CPU.Requests > rows[i-1].CPU.Requests {
			t.Errorf("pools not sorted by cpu requests, largest first: %+v", rows)
		}
		if r.Name == "general" {
			found = true
			if r.Pods < 2 || r.CPU.Requests < 1 || r.CPU.Allocatable != 12 || r.CPU.Usage == nil {
				t.Errorf("pool general: %+v", r)
			}
		}
	}
	if !found {
		t.Errorf("no pool general: %+v", rows)
	}
	out, _, code := runCLI(ctx, t, "top", "namespace", "--kubeconfig", stack.Kubeconfig, "--context", cluster.Context)
	if code != 0 || !strings.Contains(out, "CPU REQUESTS") || !strings.Contains(out, ns) || !strings.Contains(out, "1 (") {
		t.Errorf("table: exit %d\n%s", code, out)
	}
	if _, errOut, code := runCLI(ctx, t, "top", "--kubeconfig", stack.Kubeconfig, "--sort", "cpu.util"); code != 2 ||
		!strings.Contains(errOut, `--sort: sort key "cpu.util"`) {
		t.Errorf("bad sort key: exit %d, %s", code, errOut)
	}
}
