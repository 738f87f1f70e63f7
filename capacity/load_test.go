package capacity

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/headroomhq/headroom/test/fixtures"
)

// snapshotList is what `kubectl get nodes,pods,svc -A -o yaml` prints,
// trimmed: a v1 List of two nodes, two pods and a Service.
const snapshotList = `apiVersion: v1
kind: List
metadata:
  resourceVersion: ""
items:
- apiVersion: v1
  kind: Node
  metadata:
    name: n1
    labels: {headroom.local/pool: general, topology.kubernetes.io/zone: a}
  spec:
    taints:
    - {key: dedicated, value: db, effect: NoSchedule}
  status:
    allocatable: {cpu: "4", memory: 16Gi, pods: "110"}
    conditions:
    - {type: Ready, status: "True"}
- apiVersion: v1
  kind: Node
  metadata: {name: n2}
  spec: {unschedulable: true}
  status:
    allocatable: {cpu: "8", memory: 32Gi, pods: "110"}
- apiVersion: v1
  kind: Pod
  metadata: {name: web-1, namespace: shop, labels: {app: web}}
  spec:
    nodeName: n1
    containers:
    - name: web
      image: web:1
      resources: {requests: {cpu: 500m, memory: 1Gi}}
      ports: [{containerPort: 8080, hostPort: 80}]
    topologySpreadConstraints:
    - {maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: DoNotSchedule, labelSelector: {matchLabels: {app: web}}}
  status: {phase: Running}
- apiVersion: v1
  kind: Service
  metadata: {name: web, namespace: shop}
  spec:
    ports: [{port: 80}]
- apiVersion: v1
  kind: Pod
  metadata: {name: web-2, namespace: shop}
  spec:
    containers: [{name: web, image: web:1}]
  status: {phase: Pending}
`

func TestReadSnapshot(t *testing.T) {
	asJSON, err := yaml.YAMLToJSON([]byte(snapshotList))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		in          string
		nodes, pods int
		skipped     map[string]int
	}{
		{"kubectl -o yaml List with another kind skipped", snapshotList, 2, 2, map[string]int{"Service": 1}},
		{"kubectl -o json List", string(asJSON), 2, 2, map[string]int{"Service": 1}},
		{"NodeList and PodList as two YAML documents, items without kind", `apiVersion: v1
kind: NodeList
items:
- metadata: {name: n1}
  status: {allocatable: {cpu: "4"}}
---
# the pods
apiVersion: v1
kind: PodList
items:
- metadata: {name: a, namespace: default}
- metadata: {name: b, namespace: default}
- metadata: {name: c, namespace: default}
`, 1, 3, map[string]int{}},
		{"single objects as documents, a ConfigMap skipped, empty documents passed over", `---
apiVersion: v1
kind: Node
metadata: {name: n1}
---
# nothing here
---
apiVersion: v1
kind: ConfigMap
metadata: {name: x}
---
apiVersion: v1
kind: Pod
metadata: {name: p}
`, 1, 1, map[string]int{"ConfigMap": 1}},
		{"items of other groups and versions skipped by kind", `apiVersion: v1
kind: List
items:
- {apiVersion: apps/v1, kind: Deployment, metadata: {name: web}}
- {apiVersion: example.com/v1, kind: Widget, metadata: {name: w}}
- {apiVersion: v1, kind: Node, metadata: {name: n1}}
`, 1, 0, map[string]int{"Deployment": 1, "Widget": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ReadSnapshot(strings.NewReader(tt.in), "snapshot.yaml")
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Nodes) != tt.nodes || len(s.Pods) != tt.pods {
				t.Errorf("got %d nodes, %d pods; want %d, %d", len(s.Nodes), len(s.Pods), tt.nodes, tt.pods)
			}
			if len(s.Skipped) != len(tt.skipped) {
				t.Errorf("skipped %v, want %v", s.Skipped, tt.skipped)
			}
			for k, n := range tt.skipped {
				if s.Skipped[k] != n {
					t.Errorf("skipped %v, want %v", s.Skipped, tt.skipped)
				}
			}
			if len(s.Warnings) > 0 {
				t.Errorf("warnings: %q", s.Warnings)
			}
		})
	}
}

// TestReadSnapshotKeepsWhatTheGateReads checks that decoding keeps the
// fields scheduling depends on (typed, not dropped).
func TestReadSnapshotKeepsWhatTheGateReads(t *testing.T) {
	s, err := ReadSnapshot(strings.NewReader(snapshotList), "snapshot.yaml")
	if err != nil {
		t.Fatal(err)
	}
	n1, n2, web := s.Nodes[0], s.Nodes[1], s.Pods[0]
	if n1.Labels["headroom.local/pool"] != "general" || len(n1.Spec.Taints) != 1 || n1.Spec.Taints[0].Effect != corev1.TaintEffectNoSchedule {
		t.Errorf("node n1 = %+v", n1)
	}
	if cpu := n1.Status.Allocatable[corev1.ResourceCPU]; cpu.MilliValue() != 4000 {
		t.Errorf("n1 allocatable cpu = %s", &cpu)
	}
	if !n2.Spec.Unschedulable {
		t.Error("n2 lost spec.unschedulable")
	}
	if web.Namespace != "shop" || web.Spec.NodeName != "n1" || web.Status.Phase != corev1.PodRunning ||
		len(web.Spec.TopologySpreadConstraints) != 1 || web.Spec.Containers[0].Ports[0].HostPort != 80 {
		t.Errorf("pod web-1 = %+v", web)
	}
	if mem := web.Spec.Containers[0].Resources.Requests[corev1.ResourceMemory]; mem.Value() != 1<<30 {
		t.Errorf("web-1 memory request = %s", &mem)
	}
}

func TestReadSnapshotUnknownFieldsWarn(t *testing.T) {
	in := `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata: {name: web-1, namespace: default}
  spec:
    futureField: true
    containers: [{name: c, image: i}]
`
	s, err := ReadSnapshot(strings.NewReader(in), "snapshot.yaml")
	if err != nil {
		t.Fatalf("an unknown field must not fail a snapshot: %v", err)
	}
	if len(s.Pods) != 1 || s.Pods[0].Name != "web-1" {
		t.Fatalf("pods = %v, want web-1 decoded despite the unknown field", s.Pods)
	}
	want := `snapshot.yaml: items[0] (Pod default/web-1): ignored unknown field "spec.futureField"`
	if len(s.Warnings) != 1 || s.Warnings[0] != want {
		t.Errorf("warnings = %q, want [%q]", s.Warnings, want)
	}
}

func TestReadSnapshotWarningsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: PodList\nitems:\n")
	for range 25 {
		b.WriteString("- {metadata: {name: p}, extra: 1}\n")
	}
	s, err := ReadSnapshot(strings.NewReader(b.String()), "s")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Pods) != 25 || len(s.Warnings) != maxSnapshotWarnings+1 {
		t.Fatalf("%d pods, %d warnings; want 25 and %d", len(s.Pods), len(s.Warnings), maxSnapshotWarnings+1)
	}
	if last := s.Warnings[maxSnapshotWarnings]; last != "s: 15 more items with unknown fields" {
		t.Errorf("last warning = %q", last)
	}
}

func TestReadSnapshotErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // the whole message
	}{
		{"a field of the wrong type names the item", `apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: Node, metadata: {name: n1}}
- apiVersion: v1
  kind: Pod
  metadata: {name: web-1, namespace: default}
  spec: {containers: {name: c}}
`, `snapshot.yaml: items[1] (Pod default/web-1): json: cannot unmarshal object into Go struct field PodSpec.spec.containers of type []v1.Container`},
		{"a bad quantity names the item", `apiVersion: v1
kind: NodeList
items:
- metadata: {name: n1}
  status: {allocatable: {cpu: lots}}
`, `snapshot.yaml: items[0] (Node n1): quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`},
		{"an item without kind", `apiVersion: v1
kind: List
items:
- {metadata: {name: n1}}
`, `snapshot.yaml: items[0]: no kind: every item of a List names its apiVersion and kind`},
		{"a document without kind, numbered when there are several", `apiVersion: v1
kind: Node
metadata: {name: n1}
---
name: x
`, `snapshot.yaml: document 2: no kind: not a Kubernetes object or list`},
		{"an empty file", "# nothing\n", `snapshot.yaml: empty: no YAML or JSON document`},
		{"not YAML", "apiVersion: v1\nkind: [\n", `snapshot.yaml: yaml: line 2: did not find expected node content`},
		{"not YAML in a later document says where it starts", "apiVersion: v1\nkind: Node\n---\n# pods\napiVersion: v1\nkind: [\n",
			`snapshot.yaml: document 2 (from line 4): yaml: line 3: did not find expected node content`},
		{"a list that is not an object", "- a\n- b\n", `snapshot.yaml: not an object: json: cannot unmarshal array into Go value of type capacity.typeMeta`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadSnapshot(strings.NewReader(tt.in), "snapshot.yaml")
			if err == nil {
				t.Fatal("no error")
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got: %s\nwant: %s", err, tt.want)
			}
		})
	}
}

func TestLoadSnapshotFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "snap.yaml")
	if err := os.WriteFile(path, []byte(snapshotList), 0o600); err != nil {
		t.Fatal(err)
	}
	nodes, pods, err := LoadSnapshot(path)
	if err != nil || len(nodes) != 2 || len(pods) != 2 {
		t.Fatalf("LoadSnapshot = %d nodes, %d pods, %v", len(nodes), len(pods), err)
	}
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	if _, _, err := LoadSnapshot(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("LoadSnapshot(missing) = %v, want an error naming the file", err)
	}
}

// TestReadSnapshotRealCaptures reads what real clusters printed: a v1 List of
// nodes (kubectl -o yaml) and a kubelet PodList (JSON).
func TestReadSnapshotRealCaptures(t *testing.T) {
	for _, tt := range []struct {
		file string
		list any
	}{
		{"kubelet-summary/nri-1.31/nodes.yaml", &corev1.NodeList{}},
		{"kubelet-summary/nri-1.31/kubelet_pods.json", &corev1.PodList{}},
	} {
		t.Run(tt.file, func(t *testing.T) {
			b := fixtures.Read(t, tt.file)
			s, err := ReadSnapshot(strings.NewReader(string(b)), tt.file)
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Warnings) > 0 {
				t.Errorf("warnings on a real capture: %q", s.Warnings)
			}
			// What a plain decode of the same file finds.
			if err := yaml.Unmarshal(b, tt.list); err != nil {
				t.Fatal(err)
			}
			switch l := tt.list.(type) {
			case *corev1.NodeList:
				if len(s.Nodes) != len(l.Items) || len(s.Nodes) == 0 || len(s.Pods) != 0 {
					t.Fatalf("%d nodes, %d pods; want %d nodes", len(s.Nodes), len(s.Pods), len(l.Items))
				}
				for i, n := range s.Nodes {
					if n.Name != l.Items[i].Name || !n.Status.Allocatable.Cpu().Equal(*l.Items[i].Status.Allocatable.Cpu()) {
						t.Errorf("node %d: %s, want %s", i, n.Name, l.Items[i].Name)
					}
				}
			case *corev1.PodList:
				if len(s.Pods) != len(l.Items) || len(s.Pods) == 0 || len(s.Nodes) != 0 {
					t.Fatalf("%d pods, %d nodes; want %d pods", len(s.Pods), len(s.Nodes), len(l.Items))
				}
				for i, p := range s.Pods {
					if p.Namespace != l.Items[i].Namespace || p.Name != l.Items[i].Name ||
						!requestsEqual(PodRequests(p), PodRequests(&l.Items[i])) {
						t.Errorf("pod %d: %s/%s, want %s/%s", i, p.Namespace, p.Name, l.Items[i].Namespace, l.Items[i].Name)
					}
				}
			}
		})
	}
}

func requestsEqual(a, b corev1.ResourceList) bool {
	if len(a) != len(b) {
		return false
	}
	for k, q := range a {
		if !q.Equal(b[k]) {
			return false
		}
	}
	return true
}

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
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

const service = `apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {ports: [{port: 80}], selector: {app: web}}
`

const statefulSet = `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: db, image: db:1}]}
`

func TestReadWorkload(t *testing.T) {
	deploymentJSON, err := yaml.YAMLToJSON([]byte(deployment))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   string
		kind string // "Deployment" or "StatefulSet"
		obj  string // its name
	}{
		{"a Deployment alone", deployment, "Deployment", "web"},
		{"a Deployment in JSON", string(deploymentJSON), "Deployment", "web"},
		{"a StatefulSet alone", statefulSet, "StatefulSet", "db"},
		{"a Service then a Deployment", service + "---\n" + deployment, "Deployment", "web"},
		{"helm template output: comments, empty documents, a custom resource", "---\n# Source: web/templates/svc.yaml\n" + service +
			"---\n# Source: web/templates/none.yaml\n---\n" + deployment +
			"---\napiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: {name: web}\nspec: {endpoints: [{port: http}]}\n",
			"Deployment", "web"},
		{"a v1 List holding a Service and a StatefulSet", "apiVersion: v1\nkind: List\nitems:\n- " +
			strings.ReplaceAll(strings.TrimSpace(service), "\n", "\n  ") + "\n- " +
			strings.ReplaceAll(strings.TrimSpace(statefulSet), "\n", "\n  ") + "\n", "StatefulSet", "db"},
		{"a live object with status and managed fields", deployment + `  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 25%, maxUnavailable: 0}
status:
  replicas: 3
  readyReplicas: 3
`, "Deployment", "web"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj, err := ReadWorkload(strings.NewReader(tt.in), "web.yaml")
			if err != nil {
				t.Fatal(err)
			}
			switch o := obj.(type) {
			case *appsv1.Deployment:
				if tt.kind != "Deployment" || o.Name != tt.obj {
					t.Errorf("got Deployment %s, want %s %s", o.Name, tt.kind, tt.obj)
				}
				if o.Spec.Replicas == nil || *o.Spec.Replicas != 3 {
					t.Errorf("replicas = %v, want 3", o.Spec.Replicas)
				}
				if cpu := o.Spec.Template.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU]; cpu.MilliValue() != 500 {
					t.Errorf("cpu request = %s", &cpu)
				}
			case *appsv1.StatefulSet:
				if tt.kind != "StatefulSet" || o.Name != tt.obj {
					t.Errorf("got StatefulSet %s, want %s %s", o.Name, tt.kind, tt.obj)
				}
			default:
				t.Fatalf("got %T", obj)
			}
		})
	}
}

func TestReadWorkloadErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string // parts of the message
	}{
		{"no workload lists what there is", service + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
			[]string{"web.yaml: no Deployment or StatefulSet (apiVersion apps/v1) among its objects (Service, ConfigMap)"}},
		{"two workloads name both documents", service + "---\n" + deployment + "---\n" + statefulSet,
			[]string{"web.yaml: 2 workloads, in document 2 (Deployment shop/web), document 3 (StatefulSet db); the gate checks one at a time"}},
		{"a ReplicationController says how to convert it", service + "---\n" + `apiVersion: v1
kind: ReplicationController
metadata: {name: old}
spec:
  replicas: 2
  selector: {app: old}
  template:
    metadata: {labels: {app: old}}
    spec: {containers: [{name: c, image: i}]}
`, []string{"web.yaml: document 2 (ReplicationController old): a ReplicationController is not supported; convert it to a Deployment",
			"apiVersion: apps/v1", "kind: Deployment", "spec.selector.matchLabels"}},
		{"a retired apiVersion", strings.Replace(deployment, "apps/v1", "extensions/v1beta1", 1),
			[]string{"web.yaml: Deployment shop/web: apiVersion extensions/v1beta1 is no longer served; use apiVersion: apps/v1"}},
		{"an unknown field is named with its path and line", strings.Replace(deployment, "resources:", "resource:", 1),
			[]string{`web.yaml:13: Deployment shop/web: strict decoding error: unknown field "spec.template.spec.containers[0].resource"`}},
		{"an unknown field in the second document names the document", service + "---\n" + strings.Replace(deployment, "replicas:", "replica:", 1),
			[]string{`web.yaml:10: document 2 (Deployment shop/web): strict decoding error: unknown field "spec.replica"`}},
		{"a repeated key", deployment + "metadata: {name: again}\n",
			[]string{"web.yaml: yaml: unmarshal errors:", `key "metadata" already set in map`}},
		{"a document that is not an object", deployment + "---\njust text\n",
			[]string{"web.yaml: document 2: not an object"}},
		{"a document without kind", deployment + "---\nname: x\n",
			[]string{"web.yaml: document 2: no kind: not a Kubernetes object"}},
		{"an empty file", "\n", []string{"web.yaml: empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj, err := ReadWorkload(strings.NewReader(tt.in), "web.yaml")
			if err == nil {
				t.Fatalf("no error; got %T", obj)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n  %s\nlacks\n  %s", err, w)
				}
			}
		})
	}
}

func TestLoadWorkloadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "web.yaml")
	if err := os.WriteFile(path, []byte(service+"---\n"+deployment), 0o600); err != nil {
		t.Fatal(err)
	}
	obj, err := LoadWorkload(path)
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := obj.(*appsv1.Deployment); !ok || d.Name != "web" {
		t.Fatalf("LoadWorkload = %#v", obj)
	}
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	if _, err := LoadWorkload(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("LoadWorkload(missing) = %v, want an error naming the file", err)
	}
}

// FuzzReadSnapshot checks that no input panics and that what is returned
// is usable: every node and pod non-nil.
func FuzzReadSnapshot(f *testing.F) {
	f.Add(snapshotList)
	asJSON, _ := yaml.YAMLToJSON([]byte(snapshotList))
	f.Add(string(asJSON))
	f.Add("apiVersion: v1\nkind: PodList\nitems:\n- {metadata: {name: a}}\n---\napiVersion: v1\nkind: Node\n")
	f.Add("apiVersion: v1\nkind: List\nitems: [1, {kind: Pod}, null]\n")
	f.Add(`{"apiVersion":"v1","kind":"List","items":{}}`)
	f.Fuzz(func(t *testing.T, in string) {
		s, err := ReadSnapshot(strings.NewReader(in), "f")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f: ") {
				t.Errorf("error does not name the input: %v", err)
			}
			return
		}
		for _, n := range s.Nodes {
			if n == nil {
				t.Fatal("nil node")
			}
		}
		for _, p := range s.Pods {
			if p == nil {
				t.Fatal("nil pod")
			}
		}
	})
}

// FuzzReadWorkload checks that no input panics and that a success is
// exactly one Deployment or StatefulSet.
func FuzzReadWorkload(f *testing.F) {
	f.Add(deployment)
	f.Add(service + "---\n" + deployment + "---\n" + statefulSet)
	f.Add("apiVersion: v1\nkind: List\nitems:\n- {apiVersion: apps/v1, kind: StatefulSet}\n")
	f.Add(`{"apiVersion":"apps/v1","kind":"Deployment","spec":{"replicas":"x"}}`)
	f.Fuzz(func(t *testing.T, in string) {
		obj, err := ReadWorkload(strings.NewReader(in), "f")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f: ") {
				t.Errorf("error does not name the input: %v", err)
			}
			return
		}
		switch obj.(type) {
		case *appsv1.Deployment, *appsv1.StatefulSet:
		default:
			b, _ := json.Marshal(obj)
			t.Fatalf("got %T: %s", obj, b)
		}
	})
}

func TestSplitYAML(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		docs  []string
		lines []int
	}{
		{"one document", "a: 1\nb: 2\n", []string{"a: 1\nb: 2\n"}, []int{1}},
		{"a leading separator opens no document", "---\na: 1\n", []string{"a: 1\n"}, []int{2}},
		{"separators with comments and CRLF", "a: 1\r\n--- # next\r\nb: 2\r\n---\r\n", []string{"a: 1\r\n", "b: 2\r\n"}, []int{1, 3}},
		{"four dashes or text after them is content", "a: |\n  ----\n  --- x\n", []string{"a: |\n  ----\n  --- x\n"}, []int{1}},
		{"no final newline", "a: 1\n---\nb: 2", []string{"a: 1\n", "b: 2"}, []int{1, 3}},
		{"empty documents between separators are dropped", "a: 1\n---\n---\nb: 2\n", []string{"a: 1\n", "b: 2\n"}, []int{1, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs, lines := splitYAML([]byte(tt.in))
			var got []string
			for _, d := range docs {
				got = append(got, string(d))
			}
			if strings.Join(got, "|") != strings.Join(tt.docs, "|") || len(lines) != len(tt.lines) {
				t.Fatalf("docs %q at lines %v, want %q at %v", got, lines, tt.docs, tt.lines)
			}
			for i := range lines {
				if lines[i] != tt.lines[i] {
					t.Errorf("lines %v, want %v", lines, tt.lines)
				}
			}
		})
	}
}

func TestInNamespace(t *testing.T) {
	tests := []struct {
		name, manifestNS, ns, want, err string
	}{
		{"none anywhere: default", "", "", "default", ""},
		{"none in the manifest: the one asked for", "", "shop", "shop", ""},
		{"the manifest's when none is asked for", "shop", "", "shop", ""},
		{"the same in both", "shop", "shop", "shop", ""},
		{"different: an error", "shop", "prod", "", `the workload's namespace "shop" does not match the namespace asked for, "prod"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &appsv1.Deployment{}
			d.Namespace = tt.manifestNS
			err := InNamespace(d, tt.ns)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || d.Namespace != tt.want {
				t.Errorf("namespace %q, error %v; want %q", d.Namespace, err, tt.want)
			}
		})
	}
}
