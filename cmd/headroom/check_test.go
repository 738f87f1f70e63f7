package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/headroomhq/headroom/capacity"
)

// These tests cover the command's plumbing: flags, files, exit codes and
// output formats. They assert no engine figures; capacity's own tests do.

// runHeadroom runs the CLI in-process as main would, returning what it
// printed and its exit code.
func runHeadroom(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	root := newRootCommand(&logOptions{format: "text", level: "info"})
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	if msg := errorMessage(err); msg != "" {
		fmt.Fprintln(&errOut, "headroom:", msg)
	}
	return out.String(), errOut.String(), exitCode(err)
}

// snapshotYAML is a small cluster as `kubectl get nodes,pods -A -o yaml`
// prints it: three nodes in two pools and zones, and a few pods.
const snapshotYAML = `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Node
  metadata:
    name: n1
    labels: {headroom.local/pool: general, topology.kubernetes.io/zone: a, kubernetes.io/hostname: n1}
  status:
    allocatable: {cpu: "4", memory: 16Gi, pods: "110"}
    conditions: [{type: Ready, status: "True"}]
- apiVersion: v1
  kind: Node
  metadata:
    name: n2
    labels: {headroom.local/pool: general, topology.kubernetes.io/zone: b, kubernetes.io/hostname: n2}
  status:
    allocatable: {cpu: "4", memory: 16Gi, pods: "110"}
    conditions: [{type: Ready, status: "True"}]
- apiVersion: v1
  kind: Node
  metadata:
    name: n3
    labels: {headroom.local/pool: large, topology.kubernetes.io/zone: b, kubernetes.io/hostname: n3}
  spec:
    taints: [{key: dedicated, value: batch, effect: NoSchedule}]
  status:
    allocatable: {cpu: "16", memory: 64Gi, pods: "110"}
    conditions: [{type: Ready, status: "True"}]
- apiVersion: v1
  kind: Pod
  metadata: {name: api-1, namespace: shop, labels: {app: api}}
  spec:
    nodeName: n1
    containers: [{name: api, image: api:1, resources: {requests: {cpu: "1", memory: 2Gi}}}]
  status: {phase: Running}
- apiVersion: v1
  kind: Pod
  metadata: {name: api-2, namespace: shop, labels: {app: api}}
  spec:
    nodeName: n2
    containers: [{name: api, image: api:1, resources: {requests: {cpu: "1", memory: 2Gi}}}]
  status: {phase: Running}
- apiVersion: v1
  kind: Service
  metadata: {name: api, namespace: shop}
  spec: {ports: [{port: 80}]}
`

const manifestYAML = `apiVersion: v1
kind: Service
metadata: {name: web}
spec: {ports: [{port: 80}], selector: {app: web}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: web:1
        resources: {requests: {cpu: 500m, memory: 1Gi}}
`

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCheckUsageErrors(t *testing.T) {
	dir := t.TempDir()
	snap := writeFile(t, dir, "snapshot.yaml", snapshotYAML)
	manifest := writeFile(t, dir, "web.yaml", manifestYAML)
	missing := filepath.Join(dir, "missing.yaml")
	badManifest := writeFile(t, dir, "bad.yaml", strings.Replace(manifestYAML, "resources:", "resource:", 1))
	noNodes := writeFile(t, dir, "pods.yaml", "apiVersion: v1\nkind: PodList\nitems: []\n")
	shopManifest := writeFile(t, dir, "shop.yaml", strings.Replace(manifestYAML, "metadata: {name: web}\nspec:\n  replicas",
		"metadata: {name: web, namespace: shop}\nspec:\n  replicas", 1))
	kubeconfig := writeFile(t, dir, "kubeconfig", kubeconfigFor("http://127.0.0.1:1"))
	simple := []string{"check", "--snapshot", snap, "--replicas", "2", "--cpu", "500m", "--memory", "1Gi"}

	tests := []struct {
		name string
		args []string
		want string // part of the message on standard error
	}{
		{"nothing to check", []string{"check", "--snapshot", snap}, "give -f MANIFEST, or --replicas"},
		{"both a manifest and replicas", []string{"check", "--snapshot", snap, "-f", manifest, "--replicas", "2"}, "-f and --replicas"},
		{"replicas without cpu", []string{"check", "--snapshot", snap, "--replicas", "2", "--memory", "1Gi"}, "--replicas needs --cpu"},
		{"replicas without memory", []string{"check", "--snapshot", snap, "--replicas", "2", "--cpu", "1"}, "--replicas needs --memory"},
		{"zero replicas", []string{"check", "--snapshot", snap, "--replicas", "0", "--cpu", "1", "--memory", "1Gi"}, "--replicas 0: must be at least 1"},
		{"replicas not a number", []string{"check", "--snapshot", snap, "--replicas", "three"}, "--replicas"},
		{"unparsable cpu", []string{"check", "--snapshot", snap, "--replicas", "2", "--cpu", "half", "--memory", "1Gi"}, `--cpu "half": not a quantity`},
		{"negative memory", []string{"check", "--snapshot", snap, "--replicas", "2", "--cpu", "1", "--memory", "-1Gi"}, `--memory "-1Gi": must not be negative`},
		{"cpu with a manifest", []string{"check", "--snapshot", snap, "-f", manifest, "--cpu", "1"}, "--cpu applies to --replicas"},
		{"unknown n+1 policy", append(simple, "--policy-n-plus-one", "rack"), `--policy-n-plus-one "rack": want node or zone`},
		{"max share above 1", append(simple, "--max-share", "cpu=1.5"), `--max-share "cpu=1.5": cpu=1.5: the share must be above 0 and at most 1`},
		{"max share not a number", append(simple, "--max-share", "cpu=most"), "cpu=most: not a number"},
		{"max share without a value", append(simple, "--max-share", "cpu"), `"cpu": want resource=share`},
		{"max share twice", append(simple, "--max-share", "cpu=0.5,cpu=0.6"), "cpu given twice"},
		{"unknown output format", append(simple, "-o", "xml"), `-o "xml": want table, json or yaml`},
		{"percentage above 100", append(simple, "--percentage-of-nodes-to-score", "150"), "--percentage-of-nodes-to-score 150: want 0"},
		{"negative parallelism", append(simple, "--scheduler-parallelism", "-2"), "--scheduler-parallelism -2: want 0"},
		{"an argument", append(simple, "web.yaml"), `unexpected argument "web.yaml"`},
		{"an unknown flag", append(simple, "--replica", "2"), "unknown flag: --replica"},
		{"snapshot and context", append(simple, "--context", "prod"), "--snapshot and --context"},
		{"both from standard input", []string{"check", "--snapshot", "-", "-f", "-"}, "only one can read standard input"},
		{"snapshot file missing names it", []string{"check", "--snapshot", missing, "--replicas", "1", "--cpu", "1", "--memory", "1Gi"}, missing},
		{"manifest file missing names it", []string{"check", "--snapshot", snap, "-f", missing}, missing},
		{"manifest with an unknown field names file and field", []string{"check", "--snapshot", snap, "-f", badManifest},
			badManifest + `:18: document 2 (Deployment web): strict decoding error: unknown field "spec.template.spec.containers[0].resource"`},
		{"manifest that is a snapshot", []string{"check", "--snapshot", snap, "-f", snap}, snap + ": no Deployment or StatefulSet"},
		{"snapshot without nodes", []string{"check", "--snapshot", noNodes, "-f", manifest}, noNodes + ": no Node in it"},
		{"namespace differs from the manifest's", []string{"check", "--snapshot", snap, "-f", shopManifest, "-n", "prod"},
			shopManifest + `: --namespace: the workload's namespace "shop" does not match the namespace asked for, "prod"`},
		{"context not in the kubeconfig", []string{"check", "--kubeconfig", kubeconfig, "--context", "nope", "-f", manifest},
			`context "nope" not in kubeconfig`},
		{"kubeconfig file missing", []string{"check", "--kubeconfig", missing, "-f", manifest}, missing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := runHeadroom(t, "", tt.args...)
			if code != exitUsage {
				t.Errorf("exit code %d, want %d; stderr: %s", code, exitUsage, stderr)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr\n  %s\nlacks\n  %s", stderr, tt.want)
			}
			if stdout != "" {
				t.Errorf("stdout on a usage error: %q", stdout)
			}
			if strings.Contains(stderr, "Usage:") {
				t.Errorf("usage printed on an error: %s", stderr)
			}
		})
	}
}

// TestCheckOutputs runs each way of asking against a snapshot and checks
// that JSON and YAML parse back into a capacity.Result whose verdict gives
// the exit code, and that the table leads with the verdict.
func TestCheckOutputs(t *testing.T) {
	dir := t.TempDir()
	snap := writeFile(t, dir, "snapshot.yaml", snapshotYAML)
	manifest := writeFile(t, dir, "web.yaml", manifestYAML)
	asks := []struct {
		name  string
		stdin string
		args  []string
	}{
		{"plain replicas", "", []string{"--snapshot", snap, "--replicas", "2", "--cpu", "500m", "--memory", "1Gi", "-n", "shop"}},
		{"a manifest", "", []string{"--snapshot", snap, "-f", manifest}},
		{"a manifest from standard input", manifestYAML, []string{"--snapshot", snap, "-f", "-"}},
		{"a snapshot from standard input", snapshotYAML, []string{"--snapshot", "-", "-f", manifest}},
		{"with a policy", "", []string{"--snapshot", snap, "-f", manifest, "--policy-n-plus-one", "zone", "--max-share", "cpu=0.8,memory=0.9"}},
	}
	for _, ask := range asks {
		for _, format := range []string{"json", "yaml", "table"} {
			t.Run(ask.name+"/"+format, func(t *testing.T) {
				args := append([]string{"check", "-o", format}, ask.args...)
				stdout, stderr, code := runHeadroom(t, ask.stdin, args...)
				if code == exitUsage {
					t.Fatalf("usage error: %s", stderr)
				}
				if format == "table" {
					first, _, _ := strings.Cut(stdout, "\n")
					verdict, _, _ := strings.Cut(first, " ")
					if v := capacity.Verdict(strings.ToLower(verdict)); v.ExitCode() != code ||
						(v != capacity.Pass && v != capacity.Fail && v != capacity.Unknown) {
						t.Errorf("first line %q: want the verdict, matching exit code %d", first, code)
					}
					return
				}
				var res capacity.Result
				var err error
				if format == "json" {
					dec := json.NewDecoder(strings.NewReader(stdout))
					dec.DisallowUnknownFields()
					err = dec.Decode(&res)
				} else {
					err = yaml.UnmarshalStrict([]byte(stdout), &res)
				}
				if err != nil {
					t.Fatalf("output does not parse as a capacity.Result: %v\n%s", err, stdout)
				}
				if res.Verdict != capacity.Pass && res.Verdict != capacity.Fail && res.Verdict != capacity.Unknown {
					t.Errorf("verdict %q", res.Verdict)
				}
				if got := res.Verdict.ExitCode(); got != code {
					t.Errorf("exit code %d, want %d for verdict %s; stderr: %s", code, got, res.Verdict, stderr)
				}
				if code != exitOK && stderr != "" {
					t.Errorf("a verdict printed on standard error: %q", stderr)
				}
			})
		}
	}
}

func TestCheckTable(t *testing.T) {
	res := &capacity.Result{
		Verdict: capacity.Fail, Cluster: "osl2", Workload: "Deployment shop/web",
		ReplicasRequested: 10, ReplicasFit: 7, ReplicasFitMin: 6, ReplicasFitMax: 8,
		Reasons:   []string{"0/3 nodes are available: 2 Insufficient cpu, 1 node(s) had untolerated taint {dedicated: batch}."},
		Placement: []capacity.PoolPlacement{{Pool: "general", Replicas: 7, Min: 6, Max: 8}, {Pool: "", Replicas: 0}},
		Rollout:   &capacity.Rollout{Strategy: "RollingUpdate", OldReplicas: 10, MaxSurge: 3, MaxUnavailable: 2, PeakPods: 13},
		Margin:    []capacity.Margin{{Resource: corev1.ResourceCPU, Allocatable: "24", Requested: "20500m", Free: "3500m", RequestedShare: 0.854}},
		Policy: []capacity.PolicyCheck{{Name: "n+1 zone", Pass: false, Detail: "losing zone b leaves 2 replicas unplaced"},
			{Name: "max-share cpu", Pass: true, Detail: "85.4% of allocatable, limit 90.0%"}},
		Suggestions: []string{"2 more nodes like pool=general"},
		Notes:       []string{"ties broken at random"},
	}
	var b bytes.Buffer
	printCheckTable(&b, res)
	want := `FAIL  Deployment shop/web in osl2: 7 of 10 replicas fit (6 to 8, depending on the scheduler's tie-breaking)

Reasons:
  - 0/3 nodes are available: 2 Insufficient cpu, 1 node(s) had untolerated taint {dedicated: batch}.

Placement:
  POOL     REPLICAS  RANGE
  general  7         6-8
  -        0         0

Rollout: RollingUpdate of 10 old replicas, max surge 3, max unavailable 2; at most 13 pods at once; does not complete

Margin after the deploy (nodes it may run on):
  RESOURCE  ALLOCATABLE  REQUESTED  FREE   REQUESTED %
  cpu       24           20500m     3500m  85%

Policy:
  FAIL  n+1 zone       losing zone b leaves 2 replicas unplaced
  pass  max-share cpu  85.4% of allocatable, limit 90.0%

Suggestions:
  - 2 more nodes like pool=general

Notes:
  - ties broken at random
`
	if b.String() != want {
		t.Errorf("table\n%s\nwant\n%s", b.String(), want)
	}
}

func kubeconfigFor(server string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: test
  cluster: {server: %q}
users:
- name: test
  user: {token: test}
contexts:
- name: test
  context: {cluster: test, user: test}
current-context: test
`, server)
}

// fakeAPIServer answers the node and pod lists from the snapshot, or with
// status for the pod list when not 200; it records the pod list's query.
type fakeAPIServer struct {
	mu        sync.Mutex
	podStatus int
	podQuery  string
	podLimit  string
	podPages  int
}

func (f *fakeAPIServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, err := capacity.ReadSnapshot(strings.NewReader(snapshotYAML), "snapshot")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	var body any
	switch r.URL.Path {
	case "/api/v1/nodes":
		l := corev1.NodeList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "NodeList"}}
		for _, n := range s.Nodes {
			l.Items = append(l.Items, *n)
		}
		body = l
	case "/api/v1/pods":
		f.podQuery = r.URL.Query().Get("fieldSelector")
		f.podLimit = r.URL.Query().Get("limit")
		if f.podStatus != 0 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(f.podStatus)
			json.NewEncoder(w).Encode(metav1.Status{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Status"},
				Status: metav1.StatusFailure, Reason: metav1.StatusReasonForbidden, Code: int32(f.podStatus),
				Message: `pods is forbidden: User "test" cannot list resource "pods"`})
			return
		}
		// One pod per page: the client must follow the continue tokens.
		l := corev1.PodList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "PodList"}}
		page, _ := strconv.Atoi(r.URL.Query().Get("continue"))
		if page < len(s.Pods) {
			l.Items = []corev1.Pod{*s.Pods[page]}
		}
		if page+1 < len(s.Pods) {
			l.Continue = strconv.Itoa(page + 1)
		}
		f.podPages++
		body = l
	default:
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(body)
}

func TestCheckLiveCluster(t *testing.T) {
	api := &fakeAPIServer{}
	srv := httptest.NewServer(api)
	defer srv.Close()
	dir := t.TempDir()
	kubeconfig := writeFile(t, dir, "kubeconfig", kubeconfigFor(srv.URL))
	manifest := writeFile(t, dir, "web.yaml", manifestYAML)

	stdout, stderr, code := runHeadroom(t, "", "check", "--kubeconfig", kubeconfig, "-f", manifest, "-o", "json")
	var res capacity.Result
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("output: %v\n%s\nstderr: %s", err, stdout, stderr)
	}
	if res.Verdict.ExitCode() != code {
		t.Errorf("exit code %d for verdict %s", code, res.Verdict)
	}
	if want := "status.phase!=Succeeded,status.phase!=Failed"; api.podQuery != want {
		t.Errorf("pods listed with fieldSelector %q, want %q", api.podQuery, want)
	}
	if api.podLimit != "500" || api.podPages != 2 {
		t.Errorf("pods listed in %d pages with limit %q, want 2 pages of at most 500", api.podPages, api.podLimit)
	}
	if res.ReplicasRequested != 3 {
		t.Errorf("replicas requested %d, want the manifest's 3", res.ReplicasRequested)
	}

	// A cluster that cannot be read gives no verdict: exit 3, and why.
	api.mu.Lock()
	api.podStatus = http.StatusForbidden
	api.mu.Unlock()
	stdout, stderr, code = runHeadroom(t, "", "check", "--kubeconfig", kubeconfig, "--context", "test", "-f", manifest)
	if code != capacity.Unknown.ExitCode() {
		t.Errorf("exit code %d, want %d", code, capacity.Unknown.ExitCode())
	}
	if !strings.Contains(stderr, "cluster test: list pods:") || !strings.Contains(stderr, "forbidden") || stdout != "" {
		t.Errorf("stdout %q, stderr %q", stdout, stderr)
	}
}

func TestParseMaxShare(t *testing.T) {
	got, err := parseMaxShare("cpu=0.8, memory=0.9,nvidia.com/gpu=1")
	if err != nil {
		t.Fatal(err)
	}
	want := map[corev1.ResourceName]float64{"cpu": 0.8, "memory": 0.9, "nvidia.com/gpu": 1}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("got %v, want %v", got, want)
		}
	}
	for _, bad := range []string{"cpu=0", "cpu=-0.5", "cpu=NaN", "=0.5", "cpu=0.5,", "cpu=1.01"} {
		if _, err := parseMaxShare(bad); err == nil {
			t.Errorf("parseMaxShare(%q) accepted", bad)
		}
	}
}

func TestExitCode(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		code int
		msg  string
	}{
		{"success", nil, 0, ""},
		{"a failure", fmt.Errorf("boom"), 1, "boom"},
		{"a usage error", usageError{fmt.Errorf("bad flag")}, 2, "bad flag"},
		{"a verdict, already printed", exitError{code: 3}, 3, ""},
		{"a code with a reason", exitError{code: 3, err: fmt.Errorf("cluster unreadable")}, 3, "cluster unreadable"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := exitCode(tt.err); got != tt.code {
				t.Errorf("exitCode = %d, want %d", got, tt.code)
			}
			if got := errorMessage(tt.err); got != tt.msg {
				t.Errorf("errorMessage = %q, want %q", got, tt.msg)
			}
		})
	}
}
