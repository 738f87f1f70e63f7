package e2e

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-openapi/strfmt"
	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	amclient "github.com/prometheus/alertmanager/api/v2/client"
	"github.com/prometheus/alertmanager/api/v2/client/alert"
	"github.com/prometheus/alertmanager/api/v2/models"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"

	"github.com/headroomhq/headroom/test/localstack"
)

// TestStackSmoke proves, on every cluster, that the stack is real: the real
// scheduler places pods and refuses oversized ones with the scheduler's own
// words, every kubelet endpoint serves resource metrics, and metrics.k8s.io
// lists pod metrics. Then that InfluxDB and Alertmanager work end to end.
func TestStackSmoke(t *testing.T) {
	if len(stack.PooledClusters()) == 0 {
		t.Fatal("the stack has no clusters")
	}
	for _, c := range stack.PooledClusters() {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			smokeCluster(t, c)
		})
	}
	t.Run("influxdb-write-read", smokeInflux)
	t.Run("alertmanager-to-webhook", smokeAlertmanager)
}

func smokeCluster(t *testing.T, c localstack.ClusterState) {
	cs, err := kubernetes.NewForConfig(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	ns := "smoke-" + rand.String(6)
	createNamespace(t, cs, ns)

	fits := deployment("fits", 3, "500m", "512Mi")
	fits.Spec.Template.Annotations = map[string]string{
		localstack.AnnotationUsageCPU: "250m", localstack.AnnotationUsageMemory: "300Mi"}
	oversized := deployment("oversized", 1, "64", "512Gi")
	stuck := deployment("stuck", 1, "100m", "128Mi")
	stuck.Spec.Template.Spec.Containers[0].Image = "registry.local/stuck:" + localstack.NeverReadyImageMarker
	leak := deployment("leak", 1, "100m", "128Mi")
	leak.Spec.Template.Annotations = map[string]string{localstack.AnnotationUsageMemory: "100Mi",
		localstack.AnnotationMemGrowthPerSec: "10Mi"}
	for _, d := range []*appsv1.Deployment{fits, oversized, stuck, leak} {
		if _, err := cs.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	var running []corev1.Pod
	eventually(t, 60*time.Second, 250*time.Millisecond, "3 fitting pods Running and Ready", func(ctx context.Context) error {
		pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=fits"})
		if err != nil {
			return err
		}
		running = running[:0]
		for _, p := range pods.Items {
			if p.Status.Phase == corev1.PodRunning && p.Spec.NodeName != "" && podReady(p) {
				running = append(running, p)
			}
		}
		if len(running) != 3 {
			return fmt.Errorf("%d of 3 Running and Ready", len(running))
		}
		return nil
	})
	// Placed by the real scheduler: a Scheduled event from default-scheduler per pod.
	eventually(t, 30*time.Second, 250*time.Millisecond, "Scheduled events from default-scheduler", func(ctx context.Context) error {
		evs, err := cs.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "reason=Scheduled"})
		if err != nil {
			return err
		}
		scheduled := map[string]bool{}
		for _, e := range evs.Items {
			if e.Source.Component == "default-scheduler" || e.ReportingController == "default-scheduler" {
				scheduled[e.InvolvedObject.Name] = true
			}
		}
		for _, p := range running {
			if !scheduled[p.Name] {
				return fmt.Errorf("no Scheduled event for %s", p.Name)
			}
		}
		return nil
	})

	eventually(t, 60*time.Second, 250*time.Millisecond, "FailedScheduling for the oversized pod", func(ctx context.Context) error {
		pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=oversized"})
		if err != nil {
			return err
		}
		if len(pods.Items) != 1 {
			return fmt.Errorf("%d oversized pods, want 1", len(pods.Items))
		}
		p := pods.Items[0]
		if p.Status.Phase != corev1.PodPending || p.Spec.NodeName != "" {
			return fmt.Errorf("oversized pod is %s on %q, want Pending and unbound", p.Status.Phase, p.Spec.NodeName)
		}
		evs, err := cs.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "reason=FailedScheduling,involvedObject.name=" + p.Name})
		if err != nil {
			return err
		}
		for _, e := range evs.Items {
			if strings.Contains(e.Message, "Insufficient cpu") || strings.Contains(e.Message, "Insufficient memory") {
				t.Logf("%s: %s", c.Name, e.Message)
				return nil
			}
		}
		return fmt.Errorf("no FailedScheduling event naming Insufficient cpu or memory among %d events", len(evs.Items))
	})

	// An image marked never-ready runs but never becomes ready.
	eventually(t, 60*time.Second, 250*time.Millisecond, "the never-ready pod Running", func(ctx context.Context) error {
		pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=stuck"})
		if err != nil || len(pods.Items) != 1 {
			return fmt.Errorf("%v pods: %v", len(pods.Items), err)
		}
		if p := pods.Items[0]; p.Status.Phase != corev1.PodRunning || podReady(p) {
			return fmt.Errorf("phase %s ready %v, want Running and not ready", p.Status.Phase, podReady(p))
		}
		return nil
	})

	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, p := range c.Spec.Pools {
		want += p.Count
	}
	if len(nodes.Items) != want {
		t.Fatalf("%d nodes, the spec declares %d", len(nodes.Items), want)
	}
	onNode := map[string][]string{}
	for _, p := range running {
		onNode[p.Spec.NodeName] = append(onNode[p.Spec.NodeName], p.Name)
	}
	for _, n := range nodes.Items {
		body := eventuallyKubelet(t, n, onNode[n.Name])
		if !strings.Contains(body, "node_cpu_usage_seconds_total") || !strings.Contains(body, "node_memory_working_set_bytes") {
			t.Errorf("node %s: resource metrics lack node cpu or memory:\n%s", n.Name, firstLines(body, 10))
		}
		for _, pod := range onNode[n.Name] {
			if !strings.Contains(body, `pod="`+pod+`"`) {
				t.Errorf("node %s: no container metrics for its pod %s", n.Name, pod)
			}
		}
		if c.Netns != "" {
			// The apiserver's node proxy reaches kubelets in the network namespace.
			path := "/api/v1/nodes/" + n.Name + "/proxy" + n.Annotations["metrics.k8s.io/resource-metrics-path"]
			raw, err := cs.CoreV1().RESTClient().Get().AbsPath(path).DoRaw(ctx)
			if err != nil {
				t.Errorf("node %s through the apiserver proxy: %v", n.Name, err)
			} else if !strings.Contains(string(raw), "node_cpu_usage_seconds_total") {
				t.Errorf("node %s through the apiserver proxy: no node metrics", n.Name)
			}
		}
	}

	// A leak: memory grows with the pod's age, as its annotation says.
	var leakMem []float64
	eventually(t, 60*time.Second, 500*time.Millisecond, "the leaking pod's memory growing", func(ctx context.Context) error {
		pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=leak"})
		if err != nil || len(pods.Items) != 1 || pods.Items[0].Spec.NodeName == "" {
			return fmt.Errorf("leak pod not placed: %v", err)
		}
		p := pods.Items[0]
		n, err := cs.CoreV1().Nodes().Get(ctx, p.Spec.NodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		body := eventuallyKubelet(t, *n, []string{p.Name})
		v, ok := sampleValue(body, "container_memory_working_set_bytes", p.Name)
		if !ok {
			return fmt.Errorf("no working set for %s", p.Name)
		}
		leakMem = append(leakMem, v)
		if len(leakMem) < 2 || leakMem[len(leakMem)-1] <= leakMem[0] || leakMem[0] < 100<<20 {
			return fmt.Errorf("working set %v, want ≥ 100Mi and growing", leakMem)
		}
		return nil
	})

	mc, err := metricsclient.NewForConfig(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 90*time.Second, time.Second, "metrics.k8s.io pod metrics for the fitting pods", func(ctx context.Context) error {
		list, err := mc.MetricsV1beta1().PodMetricses(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=fits"})
		if err != nil {
			return err
		}
		if len(list.Items) != 3 {
			return fmt.Errorf("metrics for %d of 3 pods", len(list.Items))
		}
		for _, pm := range list.Items {
			if len(pm.Containers) != 1 {
				return fmt.Errorf("pod %s: %d containers in metrics", pm.Name, len(pm.Containers))
			}
			mem := pm.Containers[0].Usage.Memory()
			if mem.Cmp(resource.MustParse("300Mi")) != 0 {
				return fmt.Errorf("pod %s: memory %s, kwok was told 300Mi", pm.Name, mem)
			}
		}
		return nil
	})
}

// eventuallyKubelet reads a node's resource metrics the way metrics-server
// does: InternalIP, the kubelet port from node status, the path from the
// node's annotation. The first scrape after a pod starts may lack it, so the
// caller's checks are on the final body.
func eventuallyKubelet(t *testing.T, n corev1.Node, pods []string) string {
	t.Helper()
	var ip string
	for _, a := range n.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			ip = a.Address
		}
	}
	port := int(n.Status.DaemonEndpoints.KubeletEndpoint.Port)
	path := n.Annotations["metrics.k8s.io/resource-metrics-path"]
	if ip == "" || port == 0 || path == "" {
		t.Fatalf("node %s: no InternalIP (%q), kubelet port (%d) or metrics path (%q)", n.Name, ip, port, path)
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // kwok's kubelet, like --kubelet-insecure-tls
	url := "https://" + net.JoinHostPort(ip, strconv.Itoa(port)) + path
	var body string
	eventually(t, 30*time.Second, 500*time.Millisecond, "kubelet metrics of "+n.Name, func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: %s", url, resp.Status)
		}
		body = string(b)
		for _, pod := range pods {
			if !strings.Contains(body, `pod="`+pod+`"`) {
				return fmt.Errorf("no container metrics for %s yet", pod)
			}
		}
		return nil
	})
	return body
}

func smokeInflux(t *testing.T) {
	client := influxdb2.NewClientWithOptions(stack.InfluxURL, "", influxdb2.DefaultOptions().SetHTTPRequestTimeout(10))
	defer client.Close()
	ctx := t.Context()
	bucket := stack.InfluxDatabase + "/autogen"
	run := rand.String(8)
	ts := time.Now().Truncate(time.Second)
	p := influxdb2.NewPoint("smoke", map[string]string{"run": run}, map[string]any{"value": 42.5}, ts)
	if err := client.WriteAPIBlocking("", bucket).WritePoint(ctx, p); err != nil {
		t.Fatalf("write through /api/v2/write: %v", err)
	}
	flux := fmt.Sprintf(`from(bucket: %q) |> range(start: -1h) |> filter(fn: (r) => r._measurement == "smoke" and r.run == %q)`, bucket, run)
	eventually(t, 10*time.Second, 100*time.Millisecond, "the point read back through /api/v2/query", func(ctx context.Context) error {
		res, err := client.QueryAPI("").Query(ctx, flux)
		if err != nil {
			return err
		}
		defer res.Close()
		var got []string
		for res.Next() {
			r := res.Record()
			got = append(got, fmt.Sprintf("%s=%v@%s", r.Field(), r.Value(), r.Time().UTC().Format(time.RFC3339)))
		}
		if err := res.Err(); err != nil {
			return err
		}
		want := fmt.Sprintf("value=42.5@%s", ts.UTC().Format(time.RFC3339))
		if len(got) != 1 || got[0] != want {
			return fmt.Errorf("read %v, want [%s]", got, want)
		}
		return nil
	})
}

func smokeAlertmanager(t *testing.T) {
	api := amclient.NewHTTPClientWithConfig(strfmt.Default, amclient.DefaultTransportConfig().
		WithHost(strings.TrimPrefix(stack.AlertmanagerURL, "http://")).WithBasePath("/api/v2").WithSchemes([]string{"http"}))
	run := rand.String(8)
	name := "HeadroomSmoke"
	now := strfmt.DateTime(time.Now())
	params := alert.NewPostAlertsParamsWithTimeout(10 * time.Second).WithAlerts(models.PostableAlerts{{
		Alert:       models.Alert{Labels: models.LabelSet{"alertname": name, "run": run, "severity": "info"}},
		Annotations: models.LabelSet{"summary": "local stack smoke test"},
		StartsAt:    now,
	}})
	if _, err := api.Alert.PostAlerts(params); err != nil {
		t.Fatalf("post to /api/v2/alerts: %v", err)
	}
	eventually(t, 30*time.Second, 200*time.Millisecond, "the alert at the webhook receiver", func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, stack.WebhookURL+"/received", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var notes []struct {
			Status string `json:"status"`
			Alerts []struct {
				Labels map[string]string `json:"labels"`
			} `json:"alerts"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&notes); err != nil {
			return err
		}
		for _, n := range notes {
			for _, a := range n.Alerts {
				if a.Labels["run"] == run && a.Labels["alertname"] == name && n.Status == "firing" {
					return nil
				}
			}
		}
		return fmt.Errorf("not among %d notifications", len(notes))
	})
}

func deployment(name string, replicas int32, cpu, memory string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: name, Image: "registry.local/" + name + ":1",
					Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
						corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(memory)}},
				}}},
			},
		},
	}
}

// sampleValue finds the value of metric for pod in a Prometheus text page.
func sampleValue(body, metric, pod string) (float64, bool) {
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, metric+"{") && strings.Contains(line, `pod="`+pod+`"`) {
			f := strings.Fields(line[strings.LastIndexByte(line, '}')+1:])
			if len(f) == 0 {
				return 0, false
			}
			v, err := strconv.ParseFloat(f[0], 64)
			return v, err == nil
		}
	}
	return 0, false
}

func podReady(p corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}
