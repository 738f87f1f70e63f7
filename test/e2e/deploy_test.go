package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/headroomhq/headroom/test/localstack"
)

// deployRC is the workload template of the test app: 3 replicas in pool
// general, a short progress deadline so that a rollout that cannot finish
// fails in seconds.
const deployRC = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: APP
  labels: {app: APP}
spec:
  replicas: ${REPLICAS}
  progressDeadlineSeconds: 15
  selector: {matchLabels: {app: APP}}
  template:
    metadata: {labels: {app: APP}}
    spec:
      nodeSelector: {headroom.local/pool: general}
      containers:
      - name: APP
        image: ${IMAGE}
        envFrom: [{configMapRef: {name: config}}]
        resources: {requests: {cpu: 100m, memory: "${MEMORY}"}}
`

const deploySvc = `apiVersion: v1
kind: Service
metadata: {name: APP}
spec:
  selector: {app: APP}
  ports: [{port: 80, targetPort: 8080}]
`

// TestDeploy runs `headroom deploy` and `headroom reconfigure`, the built
// CLI, against osl2, osl3 and ksd1 (production) and osl2 as the snapshot
// cluster: first deploy, snapshot environment, upgrade with write-back,
// dry run, a configuration change that never lowers the ready pods, bad
// input that changes nothing anywhere, a failed rollout rolled back in the
// first cluster with the others untouched, and the gate stopping the
// deploy before ksd1.
func TestDeploy(t *testing.T) {
	ctx := t.Context()
	clusters := map[string]kubernetes.Interface{}
	var prod []string
	for _, c := range stack.PooledClusters() {
		cs, err := kubernetes.NewForConfig(c.RESTConfig())
		if err != nil {
			t.Fatal(err)
		}
		clusters[c.Context] = cs
		prod = append(prod, c.Context)
	}
	if len(prod) < 3 {
		t.Skipf("the stack has %d pooled clusters; the deploy test wants 3", len(prod))
	}
	prod = prod[:3]
	snapshot := prod[0]
	headroomCLI(t)

	app := "dpl" + rand.String(5)
	dir := t.TempDir()
	repo := filepath.Join(dir, "files")
	appDir := filepath.Join(repo, app)
	if err := os.MkdirAll(appDir, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(appDir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	read := func(name string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(appDir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	write(app+"-rc.yaml", strings.ReplaceAll(deployRC, "APP", app))
	write(app+"-svc.yaml", strings.ReplaceAll(deploySvc, "APP", app))
	write("production.properties", "# shop settings\ngreeting=hello\ndb.url=jdbc:postgresql://db/shop\n")
	write("production.resources", "# the image deployed last\nIMAGE = registry.local/apps/"+app+":1.0\nREPLICAS=3\nMEMORY=1Gi\n")
	write("snap3.properties", "greeting=snapshot\n")
	write("snap3.resources", "IMAGE=registry.local/apps/"+app+":1.0\nREPLICAS=3\nMEMORY=1Gi\n")
	var recMu sync.Mutex
	var records []map[string]any
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var rec map[string]any
		if err := json.NewDecoder(r.Body).Decode(&rec); err != nil {
			t.Errorf("deploy webhook: %v", err)
		}
		recMu.Lock()
		records = append(records, rec)
		recMu.Unlock()
	}))
	defer hook.Close()
	cfgPath := filepath.Join(dir, "deploy.yaml")
	cfg := fmt.Sprintf(`files: %s
webhook: %s
registry: registry.local/apps
kubeconfig: %s
aliases: {prod: production}
environments:
- {name: production, clusters: [%s]}
- {name: "snap*", clusters: [%s], namespace: "{app}-{env}", replicas: 1}
timeout: 90s
`, repo, hook.URL, stack.Kubeconfig, strings.Join(prod, ", "), snapshot)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, c := range clusters {
			for _, ns := range []string{app, app + "-snap3", app + "-filler"} {
				_ = c.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
			}
		}
	}()
	deploy := func(args ...string) (string, string, int) {
		t.Helper()
		out, errOut, code := runCLI(ctx, t, append(args, "--config", cfgPath)...)
		t.Logf("headroom %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
		return out, errOut, code
	}
	type state struct {
		image      string
		replicas   int32
		generation int64
		memory     string
		config     map[string]string
	}
	stateOf := func(cluster, ns string) state {
		t.Helper()
		d, err := clusters[cluster].AppsV1().Deployments(ns).Get(ctx, app, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("%s: %v", cluster, err)
		}
		cm, err := clusters[cluster].CoreV1().ConfigMaps(ns).Get(ctx, "config", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("%s: %v", cluster, err)
		}
		c := d.Spec.Template.Spec.Containers[0]
		return state{image: c.Image, replicas: *d.Spec.Replicas, generation: d.Generation,
			memory: c.Resources.Requests.Memory().String(), config: cm.Data}
	}
	img := func(v string) string { return "registry.local/apps/" + app + ":" + v }

	// First deploy: namespace, ConfigMap, Service and Deployment in each
	// production cluster; without a version, the resources file's image.
	if _, _, code := deploy("deploy", app, "prod"); code != 0 {
		t.Fatalf("first deploy: exit %d", code)
	}
	for _, c := range prod {
		s := stateOf(c, app)
		if s.image != img("1.0") || s.replicas != 3 || s.config["greeting"] != "hello" {
			t.Errorf("%s after the first deploy: %+v", c, s)
		}
		if _, err := clusters[c].CoreV1().Services(app).Get(ctx, app, metav1.GetOptions{}); err != nil {
			t.Errorf("%s: service: %v", c, err)
		}
		evs, err := clusters[c].CoreV1().Events(app).List(ctx, metav1.ListOptions{FieldSelector: "reason=Deployed"})
		if err != nil || len(evs.Items) == 0 {
			t.Errorf("%s: no Deployed event (%v)", c, err)
		}
	}

	// The snapshot environment: namespace APP-snap3, one replica.
	if _, _, code := deploy("deploy", app, "snap3"); code != 0 {
		t.Fatalf("snapshot deploy: exit %d", code)
	}
	if s := stateOf(snapshot, app+"-snap3"); s.replicas != 1 || s.config["greeting"] != "snapshot" {
		t.Errorf("snapshot environment: %+v", s)
	}

	// An upgrade: every cluster at 1.1, the image written back to the
	// resources file with its comment and order kept.
	if _, _, code := deploy("deploy", app, "prod", "1.1"); code != 0 {
		t.Fatalf("upgrade: exit %d", code)
	}
	for _, c := range prod {
		d, err := clusters[c].AppsV1().Deployments(app).Get(ctx, app, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var last map[string]any
		_ = json.Unmarshal([]byte(d.Annotations["headroom.io/last-deploy"]), &last)
		if got := d.Spec.Template.Spec.Containers[0].Image; got != img("1.1") || last["version"] != "1.1" || last["env"] != "production" {
			t.Errorf("%s after the upgrade: image %s, last deploy %v", c, got, last)
		}
		if d.Status.AvailableReplicas != 3 {
			t.Errorf("%s: %d available replicas after the upgrade", c, d.Status.AvailableReplicas)
		}
	}
	if got, want := read("production.resources"), "# the image deployed last\nIMAGE = "+img("1.1")+"\nREPLICAS=3\nMEMORY=1Gi\n"; got != want {
		t.Errorf("resources file after the upgrade:\n%s\nwant\n%s", got, want)
	}
	recMu.Lock()
	if n := len(records); n != 3 || records[2]["version"] != "1.1" || len(records[2]["clusters"].([]any)) != 3 {
		t.Errorf("webhook records: %d, last %v", n, records[n-1])
	}
	recMu.Unlock()

	// A dry run changes nothing and says what would.
	write("production.properties", "# shop settings\ngreeting=hej\ndb.url=jdbc:postgresql://db/shop\nfeature.x=on\n")
	before := stateOf(prod[0], app)
	out, _, code := deploy("reconfigure", app, "prod", "--dry-run")
	if code != 0 || !strings.Contains(out, "configmap/config: added feature.x; changed greeting; pods roll for it") {
		t.Errorf("dry run: exit %d, output:\n%s", code, out)
	}
	if after := stateOf(prod[0], app); after.generation != before.generation || after.config["greeting"] != "hello" {
		t.Errorf("the dry run changed %s: %+v", prod[0], after)
	}

	// A configuration change rolls the pods, never lowering the ready ones
	// below replicas - maxUnavailable (3 - 0), and keeps the image.
	minReady, created := watchReady(ctx, t, clusters[prod[0]], app)
	if _, _, code := deploy("reconfigure", app, "prod"); code != 0 {
		t.Fatalf("reconfigure: exit %d", code)
	}
	low, rolled := minReady(), created()
	if low < 3 {
		t.Errorf("ready pods fell to %d during the reconfigure of %s; want at least 3 at every observation", low, prod[0])
	}
	if rolled < 3 {
		t.Errorf("%d new pods during the reconfigure; the configuration change did not roll them", rolled)
	}
	t.Logf("reconfigure of %s: %d new pods, at least %d ready at every observation", prod[0], rolled, low)
	for _, c := range prod {
		if s := stateOf(c, app); s.image != img("1.1") || s.config["greeting"] != "hej" || s.config["feature.x"] != "on" {
			t.Errorf("%s after the reconfigure: %+v", c, s)
		}
	}

	// Bad input: an error naming file and line, nothing changed anywhere.
	generations := map[string]int64{}
	for _, c := range prod {
		generations[c] = stateOf(c, app).generation
	}
	good := read(app + "-rc.yaml")
	for _, bad := range []struct {
		file, text, want string
	}{
		{"production.properties", "greeting=hej\ndb.url=x\ngreeting=again\n",
			"production.properties:3: key \"greeting\" is also set on line 1"},
		{"production.resources", "IMAGE=" + img("1.1") + "\nREPLICAS=3\nMEMORY=1Gi\nCPU=1\n",
			"production.resources:4: CPU is used by no template"},
		{app + "-rc.yaml", strings.Replace(good, "  replicas: ${REPLICAS}", "  replica: ${REPLICAS}", 1),
			app + "-rc.yaml:7: Deployment " + app + ": strict decoding error: unknown field \"spec.replica\""},
		{app + "-rc.yaml", strings.Replace(good, "labels: {app: "+app+"}\nspec", "labels: {app: \""+app+"!\"}\nspec", 1),
			app + "-rc.yaml:5: deployment/" + app + ": Deployment.apps \"" + app + "\" is invalid: metadata.labels"},
	} {
		keep := read(bad.file)
		write(bad.file, bad.text)
		_, errOut, code := deploy("deploy", app, "prod", "1.2")
		write(bad.file, keep)
		if code != 2 || !strings.Contains(errOut, bad.want) {
			t.Errorf("bad %s: exit %d, stderr %q; want 2 and %q", bad.file, code, errOut, bad.want)
		}
	}
	for _, c := range prod {
		if s := stateOf(c, app); s.generation != generations[c] || s.image != img("1.1") {
			t.Errorf("bad input changed %s: %+v", c, s)
		}
	}

	// A version whose pods never become ready fails in the first cluster:
	// rolled back there and healthy, the others untouched.
	out, _, code = deploy("deploy", app, "prod", "never-ready")
	if code != 1 || !regexp.MustCompile(`(?m)^`+prod[0]+`\s+failed, rolled back`).MatchString(out) {
		t.Errorf("never-ready deploy: exit %d, output:\n%s", code, out)
	}
	d, err := clusters[prod[0]].AppsV1().Deployments(app).Get(ctx, app, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Spec.Template.Spec.Containers[0].Image; got != img("1.1") || d.Status.AvailableReplicas != 3 || d.Status.UpdatedReplicas != 3 {
		t.Errorf("%s after the rollback: image %s, %d available, %d updated", prod[0], got, d.Status.AvailableReplicas, d.Status.UpdatedReplicas)
	}
	for _, c := range prod[1:] {
		if s := stateOf(c, app); s.generation != generations[c] || s.image != img("1.1") {
			t.Errorf("%s was touched by the failed deploy: %+v", c, s)
		}
	}
	if !strings.Contains(read("production.resources"), img("1.1")) {
		t.Error("a failed deploy wrote its image back")
	}

	// The gate: ksd1's pool general is nearly full, so a version asking
	// 6 GiB per replica stops before ksd1 is touched; the clusters before
	// it are deployed.
	last := prod[2]
	fill(ctx, t, clusters[last], app+"-filler")
	lastBefore := stateOf(last, app)
	write("production.resources", "IMAGE = "+img("1.1")+"\nREPLICAS=3\nMEMORY=6Gi\n")
	out, _, code = deploy("deploy", app, "prod", "1.2")
	if code != 1 || !strings.Contains(out, "FAIL") || !strings.Contains(out, "Insufficient memory") ||
		!regexp.MustCompile(`(?m)^`+last+`\s+stopped at the gate`).MatchString(out) {
		t.Errorf("deploy too big for %s: exit %d, output:\n%s", last, code, out)
	}
	for _, c := range prod[:2] {
		if s := stateOf(c, app); s.image != img("1.2") || s.memory != "6Gi" {
			t.Errorf("%s should be deployed before the gate stopped at %s: %+v", c, last, s)
		}
	}
	if s := stateOf(last, app); s.generation != lastBefore.generation || s.image != img("1.1") {
		t.Errorf("%s was touched although the gate failed: %+v", last, s)
	}

	// --force deploys past the gate, recording why; the new pods still
	// cannot be placed, so the rollout fails and is rolled back.
	if _, errOut, code := deploy("deploy", app, "prod", "1.2", "--force"); code != 2 || !strings.Contains(errOut, "--force needs --reason") {
		t.Errorf("--force without --reason: exit %d, %s", code, errOut)
	}
	out, _, code = deploy("deploy", app, "prod", "1.2", "--force", "--reason", "INC-42: nodes arrive tonight")
	if code != 1 || !regexp.MustCompile(`(?m)^`+last+`\s+failed, rolled back`).MatchString(out) {
		t.Errorf("forced deploy: exit %d, output:\n%s", code, out)
	}
	evs, err := clusters[last].CoreV1().Events(app).List(ctx, metav1.ListOptions{FieldSelector: "reason=CapacityCheckOverridden"})
	if err != nil || len(evs.Items) != 1 || !strings.Contains(evs.Items[0].Message, "INC-42: nodes arrive tonight") {
		t.Errorf("the override is not recorded as an event: %v %v", err, evs)
	}
	if s := stateOf(last, app); s.image != img("1.1") || s.memory != "1Gi" {
		t.Errorf("%s after the forced deploy failed: %+v", last, s)
	}
}

// watchReady watches the pods of namespace ns and returns functions
// giving the fewest ready, not terminating, pods seen at any event, and
// how many pods were created, since the watch began.
func watchReady(ctx context.Context, t *testing.T, cs kubernetes.Interface, ns string) (minReady, created func() int) {
	t.Helper()
	list, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := cs.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	pods := map[string]*corev1.Pod{}
	for i := range list.Items {
		pods[list.Items[i].Name] = &list.Items[i]
	}
	ready := func() int {
		n := 0
		for _, p := range pods {
			if p.DeletionTimestamp != nil {
				continue
			}
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
					n++
				}
			}
		}
		return n
	}
	low, added := ready(), 0
	go func() {
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			mu.Lock()
			switch ev.Type {
			case watch.Added:
				added++
				pods[p.Name] = p
			case watch.Modified:
				pods[p.Name] = p
			case watch.Deleted:
				delete(pods, p.Name)
			}
			low = min(low, ready())
			mu.Unlock()
		}
	}()
	t.Cleanup(w.Stop)
	return func() int {
			time.Sleep(500 * time.Millisecond) // let the last events arrive
			mu.Lock()
			defer mu.Unlock()
			return low
		}, func() int {
			mu.Lock()
			defer mu.Unlock()
			return added
		}
}

// fill takes 12 GiB on each node of pool general, one pod per node, and
// waits until the pods are placed.
func fill(ctx context.Context, t *testing.T, cs kubernetes.Interface, ns string) {
	t.Helper()
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: localstack.PoolLabel + "=general"})
	if err != nil || len(nodes.Items) == 0 {
		t.Fatalf("pool general: %d nodes, %v", len(nodes.Items), err)
	}
	n := int32(len(nodes.Items))
	labels := map[string]string{"app": "filler"}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "filler"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &n,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					NodeSelector: map[string]string{localstack.PoolLabel: "general"},
					Affinity: &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
						RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
							LabelSelector: &metav1.LabelSelector{MatchLabels: labels}, TopologyKey: corev1.LabelHostname}}}},
					Containers: []corev1.Container{{Name: "filler", Image: "registry.local/filler:1",
						Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
							corev1.ResourceMemory: resource.MustParse("12Gi")}}}},
				},
			},
		},
	}
	eventually(t, 30*time.Second, 200*time.Millisecond, "default service account", func(ctx context.Context) error {
		_, err := cs.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		return err
	})
	if _, err := cs.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, 500*time.Millisecond, "filler pods placed", func(ctx context.Context) error {
		pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		placed := 0
		for _, p := range pods.Items {
			if p.Spec.NodeName != "" {
				placed++
			}
		}
		if placed < int(n) {
			return fmt.Errorf("%d of %d filler pods placed", placed, n)
		}
		return nil
	})
}

// TestDeployStatefulSet: a StatefulSet rolls out, and one whose new pod
// never becomes ready is rolled back: its template restored and the stuck
// pod replaced, which the StatefulSet controller does not do by itself.
func TestDeployStatefulSet(t *testing.T) {
	ctx := t.Context()
	cs := stack.PooledClusters()
	if len(cs) == 0 {
		t.Skip("the stack has no pooled cluster")
	}
	cluster := cs[0].Context
	client, err := kubernetes.NewForConfig(cs[0].RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	headroomCLI(t)
	app := "sts" + rand.String(5)
	dir := t.TempDir()
	appDir := filepath.Join(dir, "files", app)
	if err := os.MkdirAll(appDir, 0o755); err != nil {
		t.Fatal(err)
	}
	rc := strings.ReplaceAll(`apiVersion: apps/v1
kind: StatefulSet
metadata: {name: APP}
spec:
  replicas: 3
  serviceName: APP
  selector: {matchLabels: {app: APP}}
  template:
    metadata: {labels: {app: APP}}
    spec:
      nodeSelector: {headroom.local/pool: general}
      containers:
      - {name: APP, image: "${IMAGE}", resources: {requests: {cpu: 100m, memory: 256Mi}}}
`, "APP", app)
	for name, text := range map[string]string{
		app + "-rc.yaml": rc, "production.properties": "greeting=hello\n",
		"production.resources": "IMAGE=registry.local/apps/" + app + ":1.0\n",
	} {
		if err := os.WriteFile(filepath.Join(appDir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfgPath := filepath.Join(dir, "deploy.yaml")
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf(`files: %s
registry: registry.local/apps
kubeconfig: %s
environments: [{name: production, clusters: [%s]}]
timeout: 20s
`, filepath.Join(dir, "files"), stack.Kubeconfig, cluster)), 0o644); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = client.CoreV1().Namespaces().Delete(context.Background(), app, metav1.DeleteOptions{}) }()
	deploy := func(args ...string) (string, int) {
		out, errOut, code := runCLI(ctx, t, append(args, "--config", cfgPath)...)
		t.Logf("headroom %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
		return out, code
	}
	if _, code := deploy("deploy", app, "production", "1.0"); code != 0 {
		t.Fatalf("first deploy: exit %d", code)
	}
	out, code := deploy("deploy", app, "production", "never-ready")
	if code != 1 || !regexp.MustCompile(`(?m)^`+cluster+`\s+failed, rolled back`).MatchString(out) {
		t.Fatalf("never-ready: exit %d", code)
	}
	s, err := client.AppsV1().StatefulSets(app).Get(ctx, app, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if img := s.Spec.Template.Spec.Containers[0].Image; img != "registry.local/apps/"+app+":1.0" ||
		s.Status.ReadyReplicas != 3 || s.Status.CurrentRevision != s.Status.UpdateRevision {
		t.Errorf("after the rollback: image %s, %d ready, revisions %s / %s", img, s.Status.ReadyReplicas,
			s.Status.CurrentRevision, s.Status.UpdateRevision)
	}
}

// TestDeployGateThroughHeadroomd: with gate.headroomd set, the deploy asks
// a running headroomd (POST /api/v1/check, from its informer caches): a
// deploy that fits passes, one whose replicas fit no node stops with
// headroomd's report, the cluster untouched.
func TestDeployGateThroughHeadroomd(t *testing.T) {
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
	dir := t.TempDir()
	text := fmt.Sprintf(`collection: {interval: 5s, timeout: 2s}
clusters:
- {name: %s, kubeconfig: %s, context: %s, source: kubelet, kubeletInsecureSkipVerify: true}
influx: {url: %s, bucket: %s/autogen, timeout: 5s, maxRetryBackoff: 2s}
spool: {path: %s}
server: {listen: "127.0.0.1:0"}
schedules: {report: ""}
`, cluster.Name, stack.Kubeconfig, cluster.Context, stack.InfluxURL, stack.InfluxDatabase, filepath.Join(dir, "spool.db"))
	_, base, _ := runHeadroomd(t, text, "gate-e2e.yaml")
	eventually(t, time.Minute, 500*time.Millisecond, "headroomd ready", func(ctx context.Context) error {
		return getOK(ctx, base+"/readyz")
	})

	name := "gate" + rand.String(5)
	appDir := filepath.Join(dir, "files", name)
	if err := os.MkdirAll(appDir, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(file, text string) {
		if err := os.WriteFile(filepath.Join(appDir, file), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(name+"-rc.yaml", strings.ReplaceAll(deployRC, "APP", name))
	write("production.properties", "greeting=hello\n")
	write("production.resources", "IMAGE=registry.local/apps/"+name+":1.0\nREPLICAS=2\nMEMORY=1Gi\n")
	cfgPath := filepath.Join(dir, "deploy.yaml")
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf(`files: %s
registry: registry.local/apps
kubeconfig: %s
environments: [{name: production, clusters: [%s]}]
gate: {headroomd: %s}
timeout: 60s
`, filepath.Join(dir, "files"), stack.Kubeconfig, cluster.Context, base)), 0o644); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = client.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{}) }()
	deploy := func(args ...string) (string, int) {
		out, errOut, code := runCLI(ctx, t, append(args, "--config", cfgPath)...)
		t.Logf("headroom %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
		return out, code
	}
	if out, code := deploy("deploy", name, "production", "1.0"); code != 0 || !strings.Contains(out, "gate: pass") {
		t.Fatalf("a deploy that fits: exit %d", code)
	}
	// 40 GiB per replica fits no node of pool general (16 GiB each).
	write("production.resources", "IMAGE=registry.local/apps/"+name+":1.0\nREPLICAS=2\nMEMORY=40Gi\n")
	out, code := deploy("deploy", name, "production", "1.1")
	if code != 1 || !strings.Contains(out, "Insufficient memory") ||
		!regexp.MustCompile(`(?m)^`+cluster.Context+`\s+stopped at the gate`).MatchString(out) {
		t.Errorf("a deploy that does not fit: exit %d", code)
	}
	d, err := client.AppsV1().Deployments(name).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if img := d.Spec.Template.Spec.Containers[0].Image; img != "registry.local/apps/"+name+":1.0" {
		t.Errorf("the cluster was touched although the gate failed: image %s", img)
	}
}
