package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/headroomhq/headroom/config"
)

// TestInstallManifests builds deploy/kustomize/overlays/osl2 with kustomize,
// applies it to osl2 with server-side apply, and asks the API server
// (SubjectAccessReview) what headroomd's service account may do: all that
// headroomd needs, and not read secrets or change workloads. The
// configurations in the manifests are valid headroomd configurations.
func TestInstallManifests(t *testing.T) {
	ctx := t.Context()
	cs := stack.PooledClusters()
	if len(cs) == 0 {
		t.Skip("the stack has no pooled cluster")
	}
	root := filepath.Join("..", "..", "deploy", "kustomize")
	t.Setenv("INFLUX_TOKEN", "headroom:secret")
	for _, p := range []string{"base/headroomd.yaml", "overlays/osl2/headroomd.yaml"} {
		b, err := os.ReadFile(filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := config.Parse(b, p); err != nil {
			t.Errorf("%s is not a valid headroomd configuration: %v", p, err)
		}
	}

	res, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), filepath.Join(root, "overlays", "osl2"))
	if err != nil {
		t.Fatalf("kustomize build: %v", err)
	}
	rc := cs[0].RESTConfig()
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(client.Discovery()))
	defer func() {
		_ = client.CoreV1().Namespaces().Delete(context.Background(), "headroom", metav1.DeleteOptions{})
		_ = client.RbacV1().ClusterRoles().Delete(context.Background(), "headroomd", metav1.DeleteOptions{})
		_ = client.RbacV1().ClusterRoleBindings().Delete(context.Background(), "headroomd", metav1.DeleteOptions{})
	}()
	kinds := map[string]int{}
	for _, r := range res.Resources() {
		m, err := r.Map()
		if err != nil {
			t.Fatal(err)
		}
		u := &unstructured.Unstructured{Object: m}
		gvk := u.GroupVersionKind()
		mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			t.Fatalf("%s: %v", gvk, err)
		}
		var ri dynamic.ResourceInterface = dyn.Resource(mapping.Resource)
		if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
			ri = dyn.Resource(mapping.Resource).Namespace(u.GetNamespace())
		}
		if _, err := ri.Apply(ctx, u.GetName(), u, metav1.ApplyOptions{FieldManager: "headroom-e2e", Force: true}); err != nil {
			t.Fatalf("apply %s %s: %v", u.GetKind(), u.GetName(), err)
		}
		kinds[u.GetKind()]++
	}
	for _, k := range []string{"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding",
		"ConfigMap", "Deployment", "Service", "PodDisruptionBudget"} {
		if kinds[k] != 1 {
			t.Errorf("%d %s objects in the overlay, want 1", kinds[k], k)
		}
	}
	d, err := client.AppsV1().Deployments("headroom").Get(ctx, "headroomd", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *d.Spec.Replicas != 2 || !strings.HasSuffix(d.Spec.Template.Spec.Containers[0].Image, ":v0.1.0") {
		t.Errorf("deployment: %d replicas, image %s", *d.Spec.Replicas, d.Spec.Template.Spec.Containers[0].Image)
	}

	sa := "system:serviceaccount:headroom:headroomd"
	can := func(ns, group, resource, sub, verb string) (bool, error) {
		r, err := client.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
			Spec: authorizationv1.SubjectAccessReviewSpec{User: sa, Groups: []string{"system:serviceaccounts", "system:serviceaccounts:headroom"},
				ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: ns, Group: group, Resource: resource, Subresource: sub, Verb: verb}},
		}, metav1.CreateOptions{})
		if err != nil {
			return false, err
		}
		return r.Status.Allowed, nil
	}
	for _, c := range []struct {
		ns, group, resource, sub, verb string
		allowed                        bool
	}{
		{"", "", "nodes", "", "list", true},
		{"", "", "nodes", "", "watch", true},
		{"", "", "pods", "", "list", true},
		{"", "", "nodes", "proxy", "get", true},
		{"", "", "nodes", "metrics", "get", true},
		{"", "", "nodes", "stats", "get", true},
		{"", "apps", "replicasets", "", "watch", true},
		{"", "batch", "jobs", "", "list", true},
		{"", "metrics.k8s.io", "pods", "", "list", true},
		{"", "metrics.k8s.io", "nodes", "", "list", true},
		{"headroom", "coordination.k8s.io", "leases", "", "update", true},
		// Never:
		{"", "", "secrets", "", "get", false},
		{"headroom", "", "secrets", "", "list", false},
		{"", "", "configmaps", "", "list", false},
		{"", "", "pods", "", "delete", false},
		{"", "", "nodes", "", "update", false},
		{"", "apps", "deployments", "", "patch", false},
		{"kube-system", "coordination.k8s.io", "leases", "", "update", false},
		{"", "", "pods", "exec", "create", false},
	} {
		ok, err := can(c.ns, c.group, c.resource, c.sub, c.verb)
		if err != nil {
			t.Fatal(err)
		}
		if ok != c.allowed {
			what := c.resource
			if c.sub != "" {
				what += "/" + c.sub
			}
			t.Errorf("%s %s.%s in %q: allowed %v, want %v", c.verb, what, c.group, c.ns, ok, c.allowed)
		}
	}
	// And the server agrees when the account really asks.
	imp := *rc
	imp.Impersonate.UserName = sa
	impClient, err := kubernetes.NewForConfig(&imp)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := impClient.CoreV1().Nodes().List(ctx, metav1.ListOptions{Limit: 1}); err != nil {
		t.Errorf("headroomd's account cannot list nodes: %v", err)
	}
	if _, err := impClient.CoreV1().Secrets("headroom").List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("headroomd's account listing secrets: %v, want Forbidden", err)
	}
}
