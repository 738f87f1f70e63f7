// Command demo shows headroomd at work on the local stack: it deploys a few
// apps with known usage into every cluster, runs bin/headroomd against all
// of them (one cluster per source: kubelet, metrics-server, kubelet-proxy),
// and prints what arrives in InfluxDB as it arrives. `make demo` runs it.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/headroomhq/headroom/test/localstack"
)

type app struct {
	name             string
	replicas         int32
	cpuReq, memReq   string
	cpuUsed, memUsed string
	memGrowth        string // per second: a leak
}

var apps = []app{
	{name: "web", replicas: 3, cpuReq: "200m", memReq: "256Mi", cpuUsed: "150m", memUsed: "200Mi"},
	{name: "api", replicas: 2, cpuReq: "500m", memReq: "1Gi", cpuUsed: "400m", memUsed: "700Mi"},
	{name: "worker", replicas: 1, cpuReq: "1", memReq: "2Gi", cpuUsed: "900m", memUsed: "1Gi", memGrowth: "1Mi"},
}

var sources = map[string]string{"osl2": "kubelet", "osl3": "metrics-server", "ksd1": "kubelet-proxy"}

func main() {
	duration := flag.Duration("for", 50*time.Second, "how long to watch data arrive")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *duration); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, watch time.Duration) error {
	root, err := localstack.RepoRoot()
	if err != nil {
		return err
	}
	st, err := localstack.LoadState(localstack.DefaultDir(root))
	if err != nil {
		return fmt.Errorf("%w (run make stack-up first)", err)
	}
	for _, c := range st.PooledClusters() {
		cs, err := st.Clientset(c.Name)
		if err != nil {
			return err
		}
		if err := deploy(ctx, cs); err != nil {
			return fmt.Errorf("%s: %w", c.Name, err)
		}
	}
	fmt.Printf("deployed %d apps into namespace demo of %d clusters\n", len(apps), len(st.PooledClusters()))

	cfgPath := filepath.Join(st.Dir, "headroomd.yaml")
	if err := os.WriteFile(cfgPath, []byte(config(st)), 0o600); err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(root, "bin", "headroomd"), "--config", cfgPath, "--log-level", "warn")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	fmt.Printf("headroomd running (config %s, metrics at http://127.0.0.1:9108/metrics)\n", cfgPath)
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		fmt.Println("headroomd stopped; the data stays in InfluxDB, database", st.InfluxDatabase)
		fmt.Printf("  curl -G %s/query --data-urlencode db=%s --data-urlencode \"q=SELECT * FROM app WHERE namespace='demo' ORDER BY time DESC LIMIT 5\"\n",
			st.InfluxURL, st.InfluxDatabase)
	}()

	deadline := time.After(watch)
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-deadline:
			return show(ctx, st)
		case <-tick.C:
			if err := show(ctx, st); err != nil {
				fmt.Println("  (InfluxDB:", err, ")")
			}
		}
	}
}

func config(st *localstack.State) string {
	var b strings.Builder
	b.WriteString("collection:\n  interval: 5s\n  timeout: 2s\nclusters:\n")
	for _, c := range st.PooledClusters() {
		src := sources[c.Name]
		if src == "" {
			src = "kubelet"
		}
		fmt.Fprintf(&b, "- name: %s\n  kubeconfig: %s\n  context: %s\n  source: %s\n", c.Name, st.Kubeconfig, c.Context, src)
		if src == "kubelet" {
			b.WriteString("  kubeletInsecureSkipVerify: true  # kwok's kubelets\n")
		}
	}
	fmt.Fprintf(&b, "influx:\n  url: %s\n  bucket: %s/autogen\n", st.InfluxURL, st.InfluxDatabase)
	fmt.Fprintf(&b, "spool:\n  path: %s\n", filepath.Join(st.Dir, "headroomd-spool.db"))
	b.WriteString("server:\n  listen: 127.0.0.1:9108\n")
	return b.String()
}

func deploy(ctx context.Context, cs kubernetes.Interface) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "demo"}}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	for _, a := range apps {
		labels := map[string]string{"app.kubernetes.io/name": a.name}
		ann := map[string]string{localstack.AnnotationUsageCPU: a.cpuUsed, localstack.AnnotationUsageMemory: a.memUsed}
		if a.memGrowth != "" {
			ann[localstack.AnnotationMemGrowthPerSec] = a.memGrowth
		}
		d := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: a.name, Namespace: "demo"},
			Spec: appsv1.DeploymentSpec{
				Replicas: &a.replicas,
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: ann},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{
						Name: a.name, Image: "registry.local/" + a.name + ":1",
						Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
							corev1.ResourceCPU: resource.MustParse(a.cpuReq), corev1.ResourceMemory: resource.MustParse(a.memReq)}},
					}}},
				},
			},
		}
		// The namespace's service account comes from the controller-manager a
		// moment after the namespace; retry until it is there.
		for attempt := 0; ; attempt++ {
			_, err := cs.AppsV1().Deployments("demo").Create(ctx, d, metav1.CreateOptions{})
			if err == nil || apierrors.IsAlreadyExists(err) {
				break
			}
			if attempt == 20 {
				return err
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(250 * time.Millisecond):
			}
		}
	}
	return nil
}

// show prints the latest app points of the demo namespace per cluster.
func show(ctx context.Context, st *localstack.State) error {
	q := `SELECT last(replicas) AS replicas, last(cpu_usage_cores_sum) AS cpu, last(memory_working_set_bytes_sum) AS mem, last(cpu_request_cores_sum) AS cpu_req, last(memory_request_bytes_sum) AS mem_req FROM app WHERE namespace = 'demo' AND time > now() - 1m GROUP BY cluster, app`
	u := st.InfluxURL + "/query?" + url.Values{"db": {st.InfluxDatabase}, "q": {q}}.Encode()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var out struct {
		Results []struct {
			Series []struct {
				Tags    map[string]string `json:"tags"`
				Columns []string          `json:"columns"`
				Values  [][]any           `json:"values"`
			} `json:"series"`
			Error string `json:"error"`
		} `json:"results"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return err
	}
	if len(out.Results) == 0 {
		return errors.New("empty answer")
	}
	if out.Results[0].Error != "" {
		return errors.New(out.Results[0].Error)
	}
	fmt.Printf("\n%s  InfluxDB, measurement app, namespace demo (latest point per cluster and app):\n", time.Now().Format("15:04:05"))
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLUSTER\tAPP\tREPLICAS\tCPU USED/REQ\tMEMORY USED/REQ")
	rows := out.Results[0].Series
	sort.Slice(rows, func(i, j int) bool {
		return rows[i].Tags["cluster"]+rows[i].Tags["app"] < rows[j].Tags["cluster"]+rows[j].Tags["app"]
	})
	for _, s := range rows {
		v := s.Values[0]
		fmt.Fprintf(tw, "%s\t%s\t%v\t%s/%s\t%s/%s\n", s.Tags["cluster"], s.Tags["app"], num(v[1]),
			cores(v[2]), cores(v[4]), mib(v[3]), mib(v[5]))
	}
	if len(rows) == 0 {
		fmt.Fprintln(tw, "(nothing yet: the first cycles are on their way)")
	}
	return tw.Flush()
}

func num(v any) string {
	if f, ok := v.(float64); ok {
		return fmt.Sprintf("%.0f", f)
	}
	return "-"
}

func cores(v any) string {
	if f, ok := v.(float64); ok {
		return fmt.Sprintf("%.2f", f)
	}
	return "-"
}

func mib(v any) string {
	if f, ok := v.(float64); ok {
		return fmt.Sprintf("%.0fMi", f/(1<<20))
	}
	return "-"
}
