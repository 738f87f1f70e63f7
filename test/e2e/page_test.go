package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/chromedp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"

	"github.com/headroomhq/headroom/test/localstack"
)

// chromium finds Debian's chromium, which `make stack-binaries` installs.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("HEADROOM_CHROMIUM"); p != "" {
		return p
	}
	p, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("no chromium on PATH (set HEADROOM_CHROMIUM, or run `make stack-binaries`, which installs Debian's chromium): %v", err)
	}
	return p
}

// TestCapacityPage loads headroomd's capacity page in headless Chromium
// against headroomd watching every pooled cluster of the stack: the page
// loads without a console error or an uncaught exception, shows every
// cluster with a chart per pool and resource, a forecast with its ETA, the
// top apps with an app of this test, and the gate decisions just made. A
// screenshot is written to bin/capacity-page.png.
func TestCapacityPage(t *testing.T) {
	ctx := t.Context()
	cs := stack.PooledClusters()
	if len(cs) == 0 {
		t.Skip("the stack has no pooled cluster")
	}
	browser := chromium(t)
	client, err := kubernetes.NewForConfig(cs[0].RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	ns := "page-" + rand.String(5)
	createNamespace(t, client, ns)
	d := deployment("storefront", 2, "300m", "1Gi")
	d.Spec.Template.Annotations = map[string]string{localstack.AnnotationUsageCPU: "150m", localstack.AnnotationUsageMemory: "400Mi"}
	if _, err := client.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	var clusters strings.Builder
	for _, c := range cs {
		fmt.Fprintf(&clusters, "- {name: %s, kubeconfig: %s, context: %s, source: kubelet, kubeletInsecureSkipVerify: true}\n", c.Name, stack.Kubeconfig, c.Context)
	}
	_, base, _ := runHeadroomd(t, fmt.Sprintf(`collection: {interval: 2s, timeout: 1s, jitter: 200ms}
clusters:
%sinflux: {url: %s, bucket: %s/autogen, timeout: 5s, maxRetryBackoff: 2s}
spool: {path: %s}
server: {listen: "127.0.0.1:0"}
history: {step: 2s}
forecast: {step: 2s, minHistory: 20s, reselect: 1m}
schedules: {evaluation: "@every 2s", report: ""}
`, clusters.String(), stack.InfluxURL, stack.InfluxDatabase, filepath.Join(dir, "spool.db")), "page-e2e.yaml")

	// Two gate decisions: one that fits and one that cannot.
	for _, replicas := range []int{1, 500} {
		body, _ := json.Marshal(map[string]any{"cluster": cs[0].Name, "replicas": replicas, "cpu": "1", "memory": "1Gi"})
		eventually(t, time.Minute, time.Second, "a gate decision", func(ctx context.Context) error {
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/check", bytes.NewReader(body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("check: %s", resp.Status)
			}
			return nil
		})
	}
	// Forecasts of the first cluster exist (minHistory 20 s of 2 s steps),
	// and its app shows with usage.
	eventually(t, 2*time.Minute, time.Second, "a forecast and the app's usage", func(ctx context.Context) error {
		var series struct {
			Forecasts map[string]struct {
				Mean []*float64 `json:"mean"`
			} `json:"forecasts"`
		}
		if err := getJSON(ctx, base+"/api/v1/series?range=10m&resource=memory&cluster="+cs[0].Name, &series); err != nil {
			return err
		}
		if f, ok := series.Forecasts["requested"]; !ok || len(f.Mean) == 0 {
			return fmt.Errorf("no forecast of requested memory yet: %+v", series)
		}
		var top struct {
			Rows []struct {
				Name string
				CPU  struct{ Usage *float64 }
			}
		}
		if err := getJSON(ctx, base+"/api/v1/top?by=app&cluster="+cs[0].Name, &top); err != nil {
			return err
		}
		for _, r := range top.Rows {
			if r.Name == ns+"/storefront" && r.CPU.Usage != nil {
				return nil
			}
		}
		return fmt.Errorf("no usage of %s/storefront in top yet", ns)
	})

	// `headroom top` reads the same rows from headroomd: with --server,
	// and with $HEADROOM_SERVER.
	out, errOut, code := runCLI(ctx, t, "top", "app", "--server", base, "--cluster", cs[0].Name, "-o", "json")
	var rows []struct {
		Cluster, Name string
		Pods          int
		CPU           struct {
			Requests float64
			Usage    *float64
		}
	}
	if err := json.Unmarshal([]byte(out), &rows); code != 0 || err != nil {
		t.Fatalf("headroom top --server: exit %d, %v\n%s%s", code, err, out, errOut)
	}
	found := false
	for _, r := range rows {
		if r.Cluster != cs[0].Name {
			t.Errorf("headroom top --cluster %s: row of cluster %s", cs[0].Name, r.Cluster)
		}
		if r.Name == ns+"/storefront" {
			found = true
			if r.Pods != 2 || r.CPU.Requests != 0.6 || r.CPU.Usage == nil || *r.CPU.Usage < 0.25 || *r.CPU.Usage > 0.35 {
				t.Errorf("headroom top --server: %+v, want 2 pods requesting 0.6 cores and using about 0.3", r)
			}
		}
	}
	if !found {
		t.Errorf("headroom top --server: no row %s/storefront in\n%s", ns, out)
	}
	t.Setenv("HEADROOM_SERVER", base)
	out, errOut, code = runCLI(ctx, t, "top", "pool")
	for _, c := range cs {
		if code != 0 || !strings.Contains(out, c.Name) || !strings.Contains(out, "general") {
			t.Errorf("headroom top pool with $HEADROOM_SERVER: exit %d, no cluster %s or pool general:\n%s%s", code, c.Name, out, errOut)
		}
	}
	if _, errOut, code := runCLI(ctx, t, "top", "--server", base, "--context", "osl2"); code != 2 || !strings.Contains(errOut, "--server reads from headroomd") {
		t.Errorf("headroom top --server --context: exit %d, %s", code, errOut)
	}

	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(filepath.Join(dir, "chromium")), chromedp.WindowSize(1400, 1000))...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	defer cancelBrowser()
	bctx, cancelTimeout := context.WithTimeout(bctx, 2*time.Minute)
	defer cancelTimeout()

	// Every console message, exception and browser log entry is collected
	// from before the page loads until the end.
	if err := chromedp.Do(bctx); err != nil { // starts the browser
		t.Fatalf("chromium: %v", err)
	}
	if _, err := chromedp.Call(bctx, log.Enable, cdp.Empty{}); err != nil {
		t.Fatalf("chromium: Log.enable: %v", err)
	}
	listen, stopListening := context.WithCancel(bctx)
	var (
		mu       sync.Mutex
		problems []string
		heard    = make(chan struct{})
	)
	messages := chromedp.Console(listen)
	go func() {
		defer close(heard)
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.IsException() || m.Type == "error" || m.Type == "warning" || m.Type == "assert" {
				mu.Lock()
				problems = append(problems, fmt.Sprintf("%s: %s (%s:%d)", m.Type, m.Text, m.URL, m.Line))
				mu.Unlock()
			}
		}
	}()
	eval := func(expr string, v any) {
		t.Helper()
		raw, err := chromedp.Run(bctx, chromedp.Evaluate[json.RawMessage](expr))
		if err != nil {
			t.Fatalf("chromium: %s: %v", expr, err)
		}
		if err := json.Unmarshal(raw, v); err != nil {
			t.Fatalf("chromium: %s: %v", expr, err)
		}
	}
	if err := chromedp.Do(bctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible(`body[data-ready="1"]`)); err != nil {
		t.Fatalf("chromium: the page did not become ready: %v", err)
	}
	var (
		sectionClusters, etas, appRows, verdicts []string
		charts, chartErrors                      int
		errorHidden                              bool
	)
	eval(`[...document.querySelectorAll("section.cluster")].map(s => s.dataset.cluster)`, &sectionClusters)
	eval(`document.querySelectorAll(".chart svg path.req").length`, &charts)
	eval(`[...document.querySelectorAll(".chart [data-forecast]")].map(e => e.textContent)`, &etas)
	eval(`[...document.querySelectorAll("table.top td:first-child:not([colspan])")].map(td => td.textContent)`, &appRows)
	eval(`[...document.querySelectorAll("#checks tbody tr")].map(tr => tr.dataset.verdict)`, &verdicts)
	eval(`document.getElementById("error").hidden`, &errorHidden)
	eval(`document.querySelectorAll("main .error").length`, &chartErrors)
	screenshot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("chromium: screenshot: %v", err)
	}
	stopListening()
	<-heard
	shot, _ := filepath.Abs("../../bin/capacity-page.png") // the tests run in test/e2e
	if err := os.MkdirAll(filepath.Dir(shot), 0o755); err == nil {
		if err := os.WriteFile(shot, screenshot, 0o644); err == nil {
			t.Logf("screenshot: %s (%d bytes)", shot, len(screenshot))
		}
	}
	if len(screenshot) < 10_000 {
		t.Errorf("screenshot of %d bytes: the page did not render", len(screenshot))
	}

	mu.Lock()
	defer mu.Unlock()
	for _, p := range problems {
		t.Errorf("page: %s", p)
	}
	if !errorHidden || chartErrors > 0 {
		t.Errorf("the page shows errors: banner shown %v, %d errors in place of charts or tables", !errorHidden, chartErrors)
	}
	for _, c := range cs {
		if !slices.Contains(sectionClusters, c.Name) {
			t.Errorf("cluster %s not on the page; it shows %v", c.Name, sectionClusters)
		}
	}
	// Per cluster: the whole cluster and three pools, cpu and memory.
	if want := len(cs) * 4 * 2; charts < want {
		t.Errorf("%d charts with requests drawn, want at least %d", charts, want)
	}
	if len(etas) == 0 || !strings.Contains(etas[0], "reach") {
		t.Errorf("forecast lines on the page: %q, want one per forecast saying when its threshold is reached", etas)
	}
	if !slices.Contains(appRows, ns+"/storefront") {
		t.Errorf("app %s/storefront not among the top apps: %v", ns, appRows)
	}
	if !slices.Contains(verdicts, "pass") || !slices.Contains(verdicts, "fail") {
		t.Errorf("gate decisions on the page: %v, want a pass and a fail", verdicts)
	}
}

func getJSON(ctx context.Context, url string, v any) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
