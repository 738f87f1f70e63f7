package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"

	"github.com/headroomhq/headroom/test/localstack"
)

// hookRecorder is an Alertmanager webhook receiver: notifications by path.
type hookRecorder struct {
	mu    sync.Mutex
	notes map[string][]amNotification
}

type amNotification struct {
	Status string `json:"status"`
	Alerts []struct {
		Status      string            `json:"status"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
		StartsAt    time.Time         `json:"startsAt"`
	} `json:"alerts"`
}

func (h *hookRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var n amNotification
	if err := json.NewDecoder(r.Body).Decode(&n); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.notes[r.URL.Path] = append(h.notes[r.URL.Path], n)
}

// find returns the first notified alert at path with these labels and status.
func (h *hookRecorder) find(path, status string, labels map[string]string) (map[string]string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, n := range h.notes[path] {
	alerts:
		for _, a := range n.Alerts {
			for k, v := range labels {
				if a.Labels[k] != v {
					continue alerts
				}
			}
			if a.Status == status {
				return a.Annotations, true
			}
		}
	}
	return nil, false
}

// all lists every alert notified anywhere, as "status labels".
func (h *hookRecorder) all() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for path, ns := range h.notes {
		for _, n := range ns {
			for _, a := range n.Alerts {
				out = append(out, fmt.Sprintf("%s %s %v", path, a.Status, a.Labels))
			}
		}
	}
	return out
}

// alertmanagerProc is one Alertmanager of the test's own pair, which the
// test stops and starts.
type alertmanagerProc struct {
	name, dir, listen, hook string
	cmd                     *exec.Cmd
}

func (a *alertmanagerProc) url() string { return "http://" + a.listen }

func (a *alertmanagerProc) start(t *testing.T) {
	t.Helper()
	conf := fmt.Sprintf(`route:
  receiver: hook
  group_by: ['...']
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
- name: hook
  webhook_configs:
  - url: %s
    send_resolved: true
`, a.hook)
	if err := os.WriteFile(filepath.Join(a.dir, "am.yml"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	log, err := os.OpenFile(filepath.Join(a.dir, "am.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	a.cmd = exec.Command(stack.Binaries["alertmanager"], "--config.file="+filepath.Join(a.dir, "am.yml"),
		"--storage.path="+filepath.Join(a.dir, "data"), "--web.listen-address="+a.listen, "--cluster.listen-address=")
	a.cmd.Stdout, a.cmd.Stderr = log, log
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, 100*time.Millisecond, a.name+" ready", func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, a.url()+"/-/ready", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s", resp.Status)
		}
		return nil
	})
}

func (a *alertmanagerProc) stop() {
	if a.cmd != nil && a.cmd.Process != nil {
		_ = a.cmd.Process.Kill()
		_ = a.cmd.Wait()
		a.cmd = nil
	}
}

// holds says whether the Alertmanager holds an active alert with these labels.
func (a *alertmanagerProc) holds(ctx context.Context, labels map[string]string) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, a.url()+"/api/v2/alerts?active=true", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var alerts []struct {
		Labels map[string]string `json:"labels"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&alerts); err != nil {
		return err
	}
next:
	for _, al := range alerts {
		for k, v := range labels {
			if al.Labels[k] != v {
				continue next
			}
		}
		return nil
	}
	return fmt.Errorf("%s holds %d alerts, none with %v", a.name, len(alerts), labels)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

type forecastRow struct {
	Cluster, Scope, Pool, Resource, Kind string
	Method                               string
	Now, Threshold                       float64
	ETA                                  struct {
		Expected *float64 `json:"expected_seconds"`
	} `json:"eta"`
}

// TestExhaustionAlertReachesAlertmanager runs headroomd against osl2 with
// Alertmanager as an HA pair. Three pods in pool general leak memory
// (kwok's usage grows 100 MiB/s each), steering the pool's use towards 90 %
// of its 48 GiB. headroomd must forecast the time it gets there within
// ±20 % and have HeadroomExhaustionForecast at the webhook, with the right
// labels, before it does; the Alertmanager that was down while the alert
// began firing must still get it once back. When the leaking pods go away,
// a resolved notification follows. The pools with steady use never alert.
func TestExhaustionAlertReachesAlertmanager(t *testing.T) {
	ctx := t.Context()
	const cluster, pool = "osl2", "general"
	cs := stack.PooledClusters()
	var cst localstack.ClusterState
	for _, c := range cs {
		if c.Name == cluster {
			cst = c
		}
	}
	if cst.Name == "" {
		t.Skipf("the stack has no cluster %s", cluster)
	}

	headroomCLI(t) // built before the clock of the test starts

	hooks := &hookRecorder{notes: map[string][]amNotification{}}
	hookSrv := httptest.NewServer(hooks)
	defer hookSrv.Close()
	dir := t.TempDir()
	ams := []*alertmanagerProc{
		{name: "alertmanager-a", listen: freeAddr(t), hook: hookSrv.URL + "/a"},
		{name: "alertmanager-b", listen: freeAddr(t), hook: hookSrv.URL + "/b"},
	}
	for _, a := range ams {
		a.dir = filepath.Join(dir, a.name)
		if err := os.MkdirAll(a.dir, 0o755); err != nil {
			t.Fatal(err)
		}
		a.start(t)
		defer a.stop()
	}

	text := fmt.Sprintf(`collection: {interval: 2s, timeout: 1s, jitter: 200ms}
clusters:
- {name: %s, kubeconfig: %s, context: %s, source: kubelet, kubeletInsecureSkipVerify: true}
influx: {url: %s, bucket: %s/autogen, timeout: 5s, maxRetryBackoff: 2s}
spool: {path: %s}
server: {listen: "127.0.0.1:0"}
history: {step: 2s}
forecast: {step: 2s, minHistory: 20s, usedPercent: 90, reselect: 1m}
alerting:
  alertmanagers: [%s, %s]
  externalURL: http://headroomd.test:9108
  exhaustionFor: 4s
  timeout: 2s
schedules: {evaluation: "@every 2s", report: ""}
`, cluster, stack.Kubeconfig, cst.Context, stack.InfluxURL, stack.InfluxDatabase, filepath.Join(dir, "spool.db"),
		ams[0].url(), ams[1].url())
	cfg, base, stop := runHeadroomd(t, text, "alerts-e2e.yaml")
	// HEADROOM_E2E_KEEP=DIR keeps the history of a failed run (after
	// headroomd has stopped) for a look with the history package.
	defer func() {
		stop()
		if keep := os.Getenv("HEADROOM_E2E_KEEP"); keep != "" && t.Failed() {
			if b, err := os.ReadFile(cfg.HistoryPath()); err == nil {
				_ = os.WriteFile(filepath.Join(keep, "alerts-history.db"), b, 0o644)
			}
		}
	}()

	forecasts := func(ctx context.Context) ([]forecastRow, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/forecast?cluster="+cluster, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var out struct{ Forecasts []forecastRow }
		if err := json.Unmarshal(b, &out); err != nil {
			return nil, fmt.Errorf("%v: %s", err, b)
		}
		return out.Forecasts, nil
	}
	// Steady use first: forecasts appear, no exhaustion alert.
	eventually(t, 60*time.Second, time.Second, "forecasts of steady use", func(ctx context.Context) error {
		fs, err := forecasts(ctx)
		if err != nil {
			return err
		}
		if len(fs) == 0 {
			return fmt.Errorf("no forecasts yet")
		}
		return nil
	})
	// The operator's view of the same: `headroom forecast`.
	out, errOut, code := runCLI(ctx, t, "forecast", "--server", base, "--cluster", cluster)
	if code != 0 {
		t.Fatalf("headroom forecast: exit %d: %s", code, errOut)
	}
	t.Logf("headroom forecast --cluster %s, steady:\n%s", cluster, out)
	for _, want := range []string{"ETA [80% INTERVAL]", cluster + "  ", "(all)", pool, "memory", "used", "requested", "not within"} {
		if !strings.Contains(out, want) {
			t.Errorf("headroom forecast output lacks %q", want)
		}
	}

	// The leak: alertmanager-a goes down before it starts.
	ams[0].stop()
	clientset, err := kubernetes.NewForConfig(cst.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	ns := "leak-" + rand.String(5)
	createNamespace(t, clientset, ns)
	d := deployment("leaky", 3, "10m", "64Mi")
	d.Spec.Template.Spec.NodeSelector = map[string]string{localstack.PoolLabel: pool}
	d.Spec.Template.Annotations = map[string]string{localstack.AnnotationUsageMemory: "64Mi",
		localstack.AnnotationMemGrowthPerSec: "100Mi"}
	if _, err := clientset.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	leakStart := time.Now()

	labels := map[string]string{"alertname": "HeadroomExhaustionForecast", "cluster": cluster, "pool": pool,
		"resource": "memory", "kind": "used", "severity": "critical"}
	type prediction struct {
		at  time.Time
		eta time.Duration
	}
	var predictions []prediction
	var crossed, firedAt time.Time
	var leakView string // headroom forecast's JSON when the alert fired
	deadline := time.Now().Add(5 * time.Minute)
	for crossed.IsZero() && time.Now().Before(deadline) {
		fs, err := forecasts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fs {
			if f.Scope != "pool" || f.Pool != pool || f.Resource != "memory" || f.Kind != "used" {
				continue
			}
			if f.Now >= f.Threshold {
				crossed = time.Now()
			} else if f.ETA.Expected != nil && time.Since(leakStart) > 30*time.Second {
				predictions = append(predictions, prediction{time.Now(), time.Duration(*f.ETA.Expected * float64(time.Second))})
			}
		}
		if firedAt.IsZero() {
			if _, ok := hooks.find("/b", "firing", labels); ok {
				firedAt = time.Now()
				leakView, _, _ = runCLI(ctx, t, "forecast", "--server", base, "--cluster", cluster,
					"--pool", pool, "--resource", "memory", "--kind", "used", "-o", "json")
				if err := ams[1].holds(ctx, labels); err != nil {
					t.Errorf("alertmanager-b notified but does not hold the alert: %v", err)
				}
				ams[0].start(t) // back up: it must get the alert at the next evaluation
			}
		}
		time.Sleep(time.Second)
	}
	if crossed.IsZero() {
		t.Fatalf("pool %s never reached 90%% of its memory within 5 minutes; alerts seen: %v", pool, hooks.all())
	}
	t.Logf("90%% reached %s after the leak began; critical alert at the webhook %s before that",
		crossed.Sub(leakStart).Round(time.Second), crossed.Sub(firedAt).Round(time.Second))
	if firedAt.IsZero() || !firedAt.Before(crossed) {
		t.Fatalf("HeadroomExhaustionForecast %v did not reach the webhook before exhaustion (fired %v, crossed %v); seen: %v",
			labels, firedAt, crossed, hooks.all())
	}
	// The CLI saw the same forecast as the alert: an ETA within the critical 48 h.
	var view struct{ Forecasts []forecastRow }
	if err := json.Unmarshal([]byte(leakView), &view); err != nil || len(view.Forecasts) != 1 ||
		view.Forecasts[0].ETA.Expected == nil || *view.Forecasts[0].ETA.Expected > 48*3600 {
		t.Errorf("headroom forecast --pool %s --resource memory --kind used -o json when the alert fired (%v):\n%s", pool, err, leakView)
	}
	// Predictions made at least 60 s before the crossing are within ±20 %.
	// (Nearer, the few seconds by which the crossing is seen late, through
	// collection and the history step, weigh more than 20 %.)
	checked := 0
	for _, p := range predictions {
		want := crossed.Sub(p.at)
		if want < time.Minute {
			continue
		}
		checked++
		if off := (p.eta - want).Seconds() / want.Seconds(); off > 0.2 || off < -0.2 {
			t.Errorf("at %s into the leak, ETA %s; it took %s (%.0f%% off)", p.at.Sub(leakStart).Round(time.Second),
				p.eta.Round(time.Second), want.Round(time.Second), 100*off)
		}
	}
	if checked < 5 {
		t.Errorf("only %d predictions 60 s or more ahead of exhaustion", checked)
	}
	// The Alertmanager that was down got the alert once back, and notified.
	eventually(t, 30*time.Second, time.Second, "alertmanager-a notified after its restart", func(ctx context.Context) error {
		if _, ok := hooks.find("/a", "firing", labels); !ok {
			return fmt.Errorf("no firing notification from alertmanager-a")
		}
		return ams[0].holds(ctx, labels)
	})
	annotations, _ := hooks.find("/b", "firing", labels)
	if !strings.Contains(annotations["runbook_url"], "runbooks.md#headroomexhaustionforecast") ||
		!strings.Contains(annotations["summary"], "memory use in pool general of osl2") {
		t.Errorf("annotations: %v", annotations)
	}

	// The leak ends: the pods go away, and the alert resolves.
	if err := clientset.AppsV1().Deployments(ns).Delete(ctx, "leaky", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 4*time.Minute, 2*time.Second, "resolved notification", func(ctx context.Context) error {
		if _, ok := hooks.find("/b", "resolved", labels); ok {
			return nil
		}
		// Say why: the pool's forecast, and the leaking pods left.
		why := "not resolved yet"
		if fs, err := forecasts(ctx); err == nil {
			for _, f := range fs {
				if f.Scope == "pool" && f.Pool == pool && f.Resource == "memory" && f.Kind == "used" {
					eta := "none"
					if f.ETA.Expected != nil {
						eta = (time.Duration(*f.ETA.Expected) * time.Second).String()
					}
					why += fmt.Sprintf("; pool use %.2f GiB, threshold %.1f GiB, ETA %s by %s", f.Now/(1<<30), f.Threshold/(1<<30), eta, f.Method)
				}
			}
		}
		if pods, err := clientset.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{}); err == nil {
			why += fmt.Sprintf("; %d leaking pods left", len(pods.Items))
		}
		return fmt.Errorf("%s", why)
	})
	// Steady pools never alerted.
	for _, n := range hooks.all() {
		if strings.Contains(n, "HeadroomExhaustionForecast") && !strings.Contains(n, "pool:general") {
			t.Errorf("a pool with steady use alerted: %s", n)
		}
	}
}
