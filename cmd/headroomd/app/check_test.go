package app

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/headroomhq/headroom/capacity"
	"github.com/headroomhq/headroom/config"
	"github.com/headroomhq/headroom/internal/cpus"
)

// fakeSource is a cluster's caches: fixed objects, synced or not.
type fakeSource struct {
	nodes  []*corev1.Node
	pods   []*corev1.Pod
	synced bool
}

func (f fakeSource) Objects() ([]*corev1.Node, []*corev1.Pod, bool) {
	if !f.synced {
		return nil, nil, false
	}
	return f.nodes, f.pods, true
}

func testNodes() []*corev1.Node {
	var out []*corev1.Node
	for _, z := range []string{"a", "b", "c"} {
		out = append(out, &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: "n-" + z, Labels: map[string]string{
				"headroom.local/pool": "general", "topology.kubernetes.io/zone": z, "kubernetes.io/hostname": "n-" + z}},
			Status: corev1.NodeStatus{
				Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"),
					corev1.ResourceMemory: resource.MustParse("16Gi"), corev1.ResourcePods: resource.MustParse("110")},
				Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
			},
		})
	}
	return out
}

const testManifest = `apiVersion: v1
kind: Service
metadata: {name: web}
spec: {ports: [{port: 80}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: web:1, resources: {requests: {cpu: 500m, memory: 1Gi}}}]
`

func newTestCheckHandler(t *testing.T, policy capacity.Policy) (*checkHandler, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	h := newCheckHandler(map[string]gateCluster{
		"osl2": {source: fakeSource{nodes: testNodes(), synced: true}, poolLabels: []string{"headroom.local/pool"}},
		"osl3": {source: fakeSource{}},
	}, policy, nil, reg, slog.New(slog.DiscardHandler))
	return h, reg
}

func post(h http.Handler, body string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/api/v1/check", strings.NewReader(body)))
	return rec
}

func jsonBody(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCheckAnswers(t *testing.T) {
	h, reg := newTestCheckHandler(t, capacity.Policy{})
	tests := []struct {
		name string
		body string
	}{
		{"plain replicas", `{"cluster": "osl2", "replicas": 3, "cpu": "500m", "memory": "1Gi", "namespace": "shop"}`},
		{"a manifest", jsonBody(t, map[string]any{"cluster": "osl2", "manifest": testManifest})},
		{"a manifest in a namespace", jsonBody(t, map[string]any{"cluster": "osl2", "manifest": testManifest, "namespace": "shop"})},
		{"with a policy", `{"cluster": "osl2", "replicas": 1, "cpu": "1", "memory": "0", "policy": {"nPlusOne": "zone", "maxShare": {"cpu": 0.9}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := post(h, tt.body)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			dec := json.NewDecoder(rec.Body)
			dec.DisallowUnknownFields()
			var res capacity.Result
			if err := dec.Decode(&res); err != nil {
				t.Fatalf("body is not a capacity.Result: %v", err)
			}
			if res.Verdict != capacity.Pass && res.Verdict != capacity.Fail && res.Verdict != capacity.Unknown {
				t.Errorf("verdict %q", res.Verdict)
			}
			if res.Cluster != "osl2" {
				t.Errorf("cluster %q, want osl2", res.Cluster)
			}
		})
	}
	if n := testutil.CollectAndCount(reg, "headroom_gate_checks_total"); n == 0 {
		t.Error("no headroom_gate_checks_total series after checks")
	}
}

// TestCheckPolicyFromConfig checks that the configured policy applies when
// the request gives none, and that a request's policy, even {}, replaces it.
func TestCheckPolicyFromConfig(t *testing.T) {
	h, _ := newTestCheckHandler(t, capacity.Policy{NPlusOne: "zone", MaxShare: map[corev1.ResourceName]float64{"cpu": 0.9}})
	for _, tt := range []struct {
		name   string
		body   string
		checks int
	}{
		{"none in the request: the configured two", `{"cluster": "osl2", "replicas": 1, "cpu": "1", "memory": "1Gi"}`, 2},
		{"{} in the request: none", `{"cluster": "osl2", "replicas": 1, "cpu": "1", "memory": "1Gi", "policy": {}}`, 0},
		{"the request's own", `{"cluster": "osl2", "replicas": 1, "cpu": "1", "memory": "1Gi", "policy": {"nPlusOne": "node"}}`, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := post(h, tt.body)
			var res capacity.Result
			if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil || rec.Code != http.StatusOK {
				t.Fatalf("status %d, %v: %s", rec.Code, err, rec.Body)
			}
			if len(res.Policy) != tt.checks {
				t.Errorf("%d policy checks, want %d: %+v", len(res.Policy), tt.checks, res.Policy)
			}
		})
	}
}

func TestCheckRejects(t *testing.T) {
	h, _ := newTestCheckHandler(t, capacity.Policy{})
	badManifest := strings.Replace(testManifest, "resources:", "resource:", 1)
	tests := []struct {
		name   string
		body   string
		status int
		want   string // part of the error
	}{
		{"not JSON", `cluster: osl2`, 400, "request body: invalid character"},
		{"an unknown field", `{"cluster": "osl2", "replica": 3}`, 400, `unknown field "replica"`},
		{"a field of the wrong type", `{"cluster": "osl2", "replicas": "3"}`, 400, "checkRequest.replicas"},
		{"two JSON values", `{"cluster": "osl2"} {}`, 400, "more than one JSON value"},
		{"no cluster", `{"replicas": 3, "cpu": "1", "memory": "1Gi"}`, 400, "cluster: required"},
		{"an unknown cluster", `{"cluster": "osl9", "replicas": 3, "cpu": "1", "memory": "1Gi"}`, 404, `cluster "osl9" is not configured`},
		{"a cluster not synced", `{"cluster": "osl3", "replicas": 3, "cpu": "1", "memory": "1Gi"}`, 503, "cluster osl3: informers have not synced yet"},
		{"nothing to check", `{"cluster": "osl2"}`, 400, "nothing to check"},
		{"manifest and replicas", jsonBody(t, map[string]any{"cluster": "osl2", "manifest": testManifest, "replicas": 2}), 400, "manifest and replicas: give one"},
		{"cpu with a manifest", jsonBody(t, map[string]any{"cluster": "osl2", "manifest": testManifest, "cpu": "1"}), 400, "apply to replicas"},
		{"zero replicas", `{"cluster": "osl2", "replicas": 0, "cpu": "1", "memory": "1Gi"}`, 400, "replicas: 0, must be at least 1"},
		{"no memory", `{"cluster": "osl2", "replicas": 1, "cpu": "1"}`, 400, "memory: required"},
		{"a bad quantity", `{"cluster": "osl2", "replicas": 1, "cpu": "half", "memory": "1Gi"}`, 400, `cpu: "half" is not a quantity`},
		{"a negative quantity", `{"cluster": "osl2", "replicas": 1, "cpu": "1", "memory": "-1Gi"}`, 400, `memory: "-1Gi" must not be negative`},
		{"a manifest with an unknown field", jsonBody(t, map[string]any{"cluster": "osl2", "manifest": badManifest}), 400,
			`manifest:15: document 2 (Deployment web): strict decoding error: unknown field "spec.template.spec.containers[0].resource"`},
		{"a manifest without a workload", jsonBody(t, map[string]any{"cluster": "osl2", "manifest": "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n"}), 400,
			"manifest: no Deployment or StatefulSet"},
		{"a manifest in another namespace", jsonBody(t, map[string]any{"cluster": "osl2", "namespace": "prod",
			"manifest": strings.Replace(testManifest, "metadata: {name: web}\nspec:\n  replicas", "metadata: {name: web, namespace: shop}\nspec:\n  replicas", 1)}),
			400, `namespace: the workload's namespace "shop" does not match`},
		{"an unknown n+1", `{"cluster": "osl2", "replicas": 1, "cpu": "1", "memory": "1Gi", "policy": {"nPlusOne": "rack"}}`, 400, `policy.nPlusOne: "rack"`},
		{"a share above 1", `{"cluster": "osl2", "replicas": 1, "cpu": "1", "memory": "1Gi", "policy": {"maxShare": {"cpu": 1.5}}}`, 400, "policy.maxShare.cpu: 1.5"},
		{"an unknown policy field", `{"cluster": "osl2", "replicas": 1, "cpu": "1", "memory": "1Gi", "policy": {"nPlusTwo": "zone"}}`, 400, `unknown field "nPlusTwo"`},
		{"a body over 1 MiB", `{"cluster": "osl2", "manifest": "` + strings.Repeat("x", maxCheckBody) + `"}`, 413, "request body larger than 1048576 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := post(h, tt.body)
			if rec.Code != tt.status {
				t.Errorf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			var e struct {
				Error string `json:"error"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
				t.Fatalf("body is not {\"error\": ...}: %v: %s", err, rec.Body)
			}
			if !strings.Contains(e.Error, tt.want) {
				t.Errorf("error\n  %s\nlacks\n  %s", e.Error, tt.want)
			}
		})
	}
	if got := testutil.ToFloat64(h.metrics.rejected.WithLabelValues("bad_request")); got == 0 {
		t.Error("bad requests not counted")
	}
}

// TestCheckTimeoutBusyAndPanic drives the handler with stand-in checks: one
// that blocks until released, one that panics.
func TestCheckTimeoutBusyAndPanic(t *testing.T) {
	h, _ := newTestCheckHandler(t, capacity.Policy{})
	h.timeout = 50 * time.Millisecond
	h.slots = make(chan struct{}, 1)
	release := make(chan struct{})
	h.check = func([]*corev1.Node, []*corev1.Pod, capacity.Options, *capacity.Workload, capacity.Policy) *capacity.Result {
		<-release
		return &capacity.Result{Verdict: capacity.Pass}
	}
	body := `{"cluster": "osl2", "replicas": 1, "cpu": "1", "memory": "1Gi"}`

	rec := post(h, body)
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "did not finish within 50ms") {
		t.Errorf("a slow check: %d %s", rec.Code, rec.Body)
	}
	// The slow check still holds the only slot.
	rec = post(h, body)
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "no check slot free") {
		t.Errorf("no slot: %d %s", rec.Code, rec.Body)
	}
	close(release)
	deadline := time.Now().Add(5 * time.Second)
	for len(h.slots) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the released check never gave its slot back")
		}
		time.Sleep(time.Millisecond)
	}
	if rec = post(h, body); rec.Code != http.StatusOK {
		t.Errorf("after release: %d %s", rec.Code, rec.Body)
	}

	h.check = func([]*corev1.Node, []*corev1.Pod, capacity.Options, *capacity.Workload, capacity.Policy) *capacity.Result {
		panic("engine bug")
	}
	rec = post(h, body)
	if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), "the check failed") {
		t.Errorf("a panicking check: %d %s", rec.Code, rec.Body)
	}
	if len(h.slots) != 0 {
		t.Error("a panicking check kept its slot")
	}
}

// TestCheckModelsTheClusterScheduler checks that a cluster's scheduler
// settings from the config reach the model.
func TestCheckModelsTheClusterScheduler(t *testing.T) {
	h, _ := newTestCheckHandler(t, capacity.Policy{})
	gc := h.clusters["osl2"]
	gc.scheduler = config.Scheduler{PercentageOfNodesToScore: 100, Parallelism: 1}
	h.clusters["osl2"] = gc
	var got capacity.Options
	h.check = func(_ []*corev1.Node, _ []*corev1.Pod, opts capacity.Options, _ *capacity.Workload, _ capacity.Policy) *capacity.Result {
		got = opts
		return &capacity.Result{Verdict: capacity.Pass}
	}
	if rec := post(h, `{"cluster": "osl2", "replicas": 1, "cpu": "1", "memory": "1Gi"}`); rec.Code != http.StatusOK {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if got.PercentageOfNodesToScore != 100 || got.Parallelism != 1 || got.Name != "osl2" {
		t.Errorf("the model got %+v; want the cluster's scheduler settings", got)
	}
}

// TestCheckRoute checks the route as Run mounts it: POST only.
func TestCheckRoute(t *testing.T) {
	h, reg := newTestCheckHandler(t, capacity.Policy{})
	srv := httptest.NewServer(handler(reg, nil, h, time.Now(), time.Minute))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/v1/check")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d, want 405", resp.StatusCode)
	}
	resp, err = http.Post(srv.URL+"/api/v1/check", "application/json",
		strings.NewReader(`{"cluster": "osl2", "replicas": 2, "cpu": "1", "memory": "1Gi"}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("POST: %d %s", resp.StatusCode, b)
	}
}

// TestCheckBorrowsEveryCPU checks that a check runs with the lender's busy
// Ps and gives them back, answered or refused.
func TestCheckBorrowsEveryCPU(t *testing.T) {
	before := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(before) })
	h, _ := newTestCheckHandler(t, capacity.Policy{})
	h.cpus = cpus.New(1, 3)
	var during int
	h.check = func([]*corev1.Node, []*corev1.Pod, capacity.Options, *capacity.Workload, capacity.Policy) *capacity.Result {
		during = runtime.GOMAXPROCS(0)
		return &capacity.Result{Verdict: capacity.Pass}
	}
	if rec := post(h, `{"cluster": "osl2", "replicas": 1, "cpu": "1", "memory": "1Gi"}`); rec.Code != http.StatusOK {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if during != 3 {
		t.Errorf("the check ran with %d Ps, want the lender's 3", during)
	}
	// The check's goroutine gives them back after it answers.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.GOMAXPROCS(0) != 1 || len(h.slots) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("after the check: %d Ps, want 1", runtime.GOMAXPROCS(0))
		}
		time.Sleep(time.Millisecond)
	}
	// A cluster whose informers have not synced is refused at once.
	if rec := post(h, `{"cluster": "osl3", "replicas": 1, "cpu": "1", "memory": "1Gi"}`); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("unsynced cluster: %d %s", rec.Code, rec.Body)
	}
	if n := runtime.GOMAXPROCS(0); n != 1 {
		t.Errorf("after a refused check: %d Ps, want 1", n)
	}
}
