package deployer

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/headroomhq/headroom/deployer/files"
)

const shopRC = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
spec:
  replicas: ${REPLICAS}
  selector: {matchLabels: {app: shop}}
  template:
    metadata: {labels: {app: shop}}
    spec:
      containers:
      - {name: shop, image: "${IMAGE}"}
      - {name: envoy, image: envoy:1.30}
`

// loadShop writes an app folder and returns its expanded manifests.
func loadShop(t *testing.T, rc, svc, properties string) (*files.App, []files.Manifest) {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, "shop")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{"shop-rc.yaml": rc, "shop-svc.yaml": svc,
		"production.properties": properties, "production.resources": "IMAGE=shop:1\nREPLICAS=3\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	a, err := files.Load(root, "shop", "production")
	if err != nil {
		t.Fatal(err)
	}
	ms, err := a.Expand(map[string]string{"IMAGE": "shop:2"})
	if err != nil {
		t.Fatal(err)
	}
	return a, ms
}

func TestBuild(t *testing.T) {
	svc := "apiVersion: v1\nkind: Service\nmetadata: {name: shop}\nspec: {ports: [{port: 80}]}\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: shop}\n"
	a, ms := loadShop(t, shopRC, svc, "greeting=hello\ndb.url=x\n")
	one := int32(1)
	o, err := Build(a, ms, "shop-snap3", &one)
	if err != nil {
		t.Fatal(err)
	}
	if o.Namespace.GetName() != "shop-snap3" || o.ConfigMap.GetNamespace() != "shop-snap3" || o.Workload.GetNamespace() != "shop-snap3" {
		t.Errorf("namespaces: %s %s %s", o.Namespace.GetName(), o.ConfigMap.GetNamespace(), o.Workload.GetNamespace())
	}
	if len(o.Others) != 2 || describe(o.Others[0]) != "service/shop" || describe(o.Others[1]) != "serviceaccount/shop" {
		t.Errorf("others: %v", o.Others)
	}
	if r, _, _ := unstructured.NestedInt64(o.Workload.Object, "spec", "replicas"); r != 1 {
		t.Errorf("replicas %d, want the environment's 1", r)
	}
	hash, _, _ := unstructured.NestedString(o.Workload.Object, "spec", "template", "metadata", "annotations", AnnotationConfigHash)
	if hash == "" || hash != o.ConfigHash {
		t.Errorf("config hash on the template %q, objects %q", hash, o.ConfigHash)
	}
	if imgs := o.Images(); imgs["shop"] != "shop:2" || imgs["envoy"] != "envoy:1.30" {
		t.Errorf("images %v", imgs)
	}
	if _, err := o.Typed(); err != nil {
		t.Error(err)
	}
	if err := o.SetImages(map[string]string{"shop": "shop:running"}); err != nil || o.Images()["shop"] != "shop:running" || o.Images()["envoy"] != "envoy:1.30" {
		t.Errorf("SetImages: %v %v", err, o.Images())
	}

	// Another configuration, another hash; the same one, the same hash.
	a2, ms2 := loadShop(t, shopRC, svc, "db.url=x\ngreeting=hej\n")
	o2, err := Build(a2, ms2, "shop", nil)
	if err != nil {
		t.Fatal(err)
	}
	a3, ms3 := loadShop(t, shopRC, svc, "db.url=x\ngreeting=hello\n")
	o3, err := Build(a3, ms3, "shop", nil)
	if err != nil {
		t.Fatal(err)
	}
	if o2.ConfigHash == o.ConfigHash || o3.ConfigHash != o.ConfigHash {
		t.Errorf("hashes: %s, changed %s, reordered %s", o.ConfigHash, o2.ConfigHash, o3.ConfigHash)
	}
	if r, ok, _ := unstructured.NestedInt64(o2.Workload.Object, "spec", "replicas"); !ok || r != 3 {
		t.Errorf("replicas %d without an override, want the template's 3", r)
	}
}

func TestBuildErrors(t *testing.T) {
	svc := "apiVersion: v1\nkind: Service\nmetadata: {name: shop, namespace: other}\n"
	a, ms := loadShop(t, strings.Replace(shopRC, "apiVersion: apps/v1\nkind: Deployment", "apiVersion: v1\nkind: ReplicationController", 1), svc, "bad key!=1\n")
	_, err := Build(a, ms, "shop", nil)
	for _, want := range []string{
		"shop-rc.yaml: ReplicationController shop: a ReplicationController is not supported; convert it to a Deployment",
		`shop-svc.yaml: service/shop names namespace "other"; leave it out, the environment chooses (shop)`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	a, ms = loadShop(t, shopRC, "apiVersion: v1\nkind: Service\nmetadata: {name: shop}\n", "ok=1\nbad!key=1\n")
	if _, err := Build(a, ms, "shop", nil); err == nil || !strings.Contains(err.Error(), `production.properties:2: "bad!key" cannot be a ConfigMap key`) {
		t.Errorf("bad ConfigMap key: %v", err)
	}
}

func TestDescribePlan(t *testing.T) {
	a, ms := loadShop(t, shopRC, "apiVersion: v1\nkind: Service\nmetadata: {name: shop}\n", "greeting=hej\nnew=1\n")
	o, err := Build(a, ms, "shop", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := describePlan(o, &Live{}); got != "first deploy: creates namespace shop, configmap/config (2 keys), service/shop, deployment/shop (3 replicas of envoy:1.30, shop:2)" {
		t.Errorf("first deploy: %s", got)
	}
	live := o.Workload.DeepCopy()
	_ = unstructured.SetNestedField(live.Object, int64(5), "spec", "replicas")
	old := &Objects{Workload: live}
	_ = old.SetImages(map[string]string{"shop": "shop:1"})
	got := describePlan(o, &Live{NamespaceExists: true, Workload: live, ConfigData: map[string]string{"greeting": "hello", "gone": "x"}})
	want := "deployment/shop: container shop: image shop:1 → shop:2; replicas 5 → 3; configmap/config: added new; changed greeting; removed gone; pods roll for it"
	if got != want {
		t.Errorf("update:\n got %s\nwant %s", got, want)
	}
	if got := describePlan(o, &Live{NamespaceExists: true, Workload: o.Workload, ConfigData: map[string]string{"greeting": "hej", "new": "1"}}); got != "deployment/shop: no change in images, replicas or configuration" {
		t.Errorf("no change: %s", got)
	}
}

func TestClusterErrorsGroupAlikeFailures(t *testing.T) {
	var e clusterErrors
	e.add("osl2", errors.New("web-rc.yaml:5: invalid"))
	e.add("osl3", errors.New("connection refused"))
	e.add("ksd1", errors.New("web-rc.yaml:5: invalid"))
	if got, want := e.err().Error(), "clusters osl2, ksd1: web-rc.yaml:5: invalid\ncluster osl3: connection refused"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if (&clusterErrors{}).err() != nil {
		t.Error("no errors made an error")
	}
}
