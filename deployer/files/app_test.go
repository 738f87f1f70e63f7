package files

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// repo writes an app folder of the deploy-files repository.
func repo(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, text := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

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
      - name: shop
        image: ${IMAGE}
        args: ["--greeting=$${NOT_A_PLACEHOLDER}"]
        resources: {requests: {memory: "${MEMORY}"}}
`

func shopRepo(t *testing.T, resources string) string {
	return repo(t, map[string]string{
		"shop/shop-rc.yaml":            shopRC,
		"shop/shop-svc.yaml":           "apiVersion: v1\nkind: Service\nmetadata: {name: shop}\nspec: {ports: [{port: ${PORT}}]}\n",
		"shop/production.properties":   "db.url=jdbc:postgresql://db/shop\n",
		"shop/production.resources":    resources,
		"shop/test.properties":         "db.url=jdbc:postgresql://test-db/shop\n",
		"shop/test.resources":          resources,
		"billing/billing-rc.yaml":      "",
		"billing/production.resources": "",
	})
}

func TestLoadAndExpand(t *testing.T) {
	root := shopRepo(t, "# deployed image\nIMAGE=registry/shop:1.0\nREPLICAS=3\nMEMORY=1Gi\nPORT=8080\n")
	a, err := Load(root, "shop", "production")
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := a.Config.Get("db.url"); v.Value != "jdbc:postgresql://db/shop" {
		t.Errorf("config: %+v", a.Config.Entries)
	}
	ms, err := a.Expand(map[string]string{"IMAGE": "registry/shop:1.1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].Workload || !ms[1].Workload {
		t.Fatalf("manifests: %+v", ms)
	}
	rc := string(ms[1].Text)
	for _, want := range []string{"replicas: 3\n", "image: registry/shop:1.1\n", `"--greeting=${NOT_A_PLACEHOLDER}"`, `memory: "1Gi"`} {
		if !strings.Contains(rc, want) {
			t.Errorf("expanded workload lacks %q:\n%s", want, rc)
		}
	}
	if strings.Count(rc, "\n") != strings.Count(shopRC, "\n") {
		t.Error("expansion changed the number of lines")
	}
	if !strings.Contains(string(ms[0].Text), "port: 8080") {
		t.Errorf("service: %s", ms[0].Text)
	}
}

func TestExpandIsStrict(t *testing.T) {
	root := shopRepo(t, "IMAGE=registry/shop:1.0\nREPLICAS=\nmemory=1Gi\nPORT=8080\nUNUSED=x\n")
	a, err := Load(root, "shop", "production")
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Expand(nil)
	if err == nil {
		t.Fatal("no error")
	}
	rc, res := filepath.Join(root, "shop", "shop-rc.yaml"), filepath.Join(root, "shop", "production.resources")
	for _, want := range []string{
		rc + ":15: ${MEMORY} has no value in the resources file (it has memory)",
		res + ":2: REPLICAS has no value",
		res + ":3: memory is used by no template (shop-svc.yaml, shop-rc.yaml); remove it or use ${memory}",
		res + ":5: UNUSED is used by no template",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}

	broken := repo(t, map[string]string{
		"a/a-rc.yaml":            "image: ${IMAGE\nname: ${bad name}\n",
		"a/test.properties":      "",
		"a/test.resources":       "IMAGE=x\n",
		"a/test2.resources":      "",
		"b/b-rc.yaml":            "",
		"b/test.properties":      "k=\\u00",
		"b/production.resources": "",
	})
	a, err = Load(broken, "a", "test")
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Expand(nil)
	for _, want := range []string{
		"a-rc.yaml:1: ${ without a closing } on the same line",
		"a-rc.yaml:2: ${bad name}: not a placeholder name",
		"test.resources:1: IMAGE is used by no template",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	_, err = Load(broken, "b", "test")
	for _, want := range []string{
		filepath.Join(broken, "b", "test.properties") + ":1: invalid unicode literal",
		filepath.Join(broken, "b", "test.resources") + ": missing (environment test; .resources files exist for production)",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if _, err := Load(broken, "c", "test"); err == nil || !strings.Contains(err.Error(), "app c: no folder") ||
		!strings.Contains(err.Error(), "it has a, b") {
		t.Errorf("unknown app: %v", err)
	}
	if _, err := Load(broken, "../etc", "test"); err == nil {
		t.Error("an app outside the repository was read")
	}
}
