package deployer

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/util/retry"
)

// Cluster is one cluster's API as the deployer uses it.
type Cluster struct {
	// Name is the cluster's name in the deploy config: a kubeconfig
	// context.
	Name    string
	Client  kubernetes.Interface
	Dynamic dynamic.Interface
	Mapper  meta.RESTMapper
}

// NewCluster connects to a cluster (nothing is requested until used).
func NewCluster(name string, cfg *rest.Config) (*Cluster, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.UserAgent = "headroom-deploy"
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", name, err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", name, err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(cs.Discovery()))
	return &Cluster{Name: name, Client: cs, Dynamic: dyn, Mapper: mapper}, nil
}

// resource is the dynamic client of u's kind, namespaced when it is.
func (c *Cluster) resource(u *unstructured.Unstructured) (dynamic.ResourceInterface, error) {
	gvk := u.GroupVersionKind()
	m, err := c.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, fmt.Errorf("%s: %s is not served by cluster %s: %w", describe(u), gvk, c.Name, err)
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return c.Dynamic.Resource(m.Resource).Namespace(u.GetNamespace()), nil
	}
	return c.Dynamic.Resource(m.Resource), nil
}

// apply applies u with server-side apply as field manager headroom, taking
// over fields other managers (kubectl create, replace) set. With dryRun the
// server validates and answers what it would store, and stores nothing.
func (c *Cluster) apply(ctx context.Context, u *unstructured.Unstructured, dryRun bool) (*unstructured.Unstructured, error) {
	ri, err := c.resource(u)
	if err != nil {
		return nil, err
	}
	opts := metav1.ApplyOptions{FieldManager: FieldManager, Force: true}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	out, err := ri.Apply(ctx, u.GetName(), u, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", describe(u), err)
	}
	return out, nil
}

// get returns the live object of u, or nil when there is none.
func (c *Cluster) get(ctx context.Context, u *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	ri, err := c.resource(u)
	if err != nil {
		return nil, err
	}
	live, err := ri.Get(ctx, u.GetName(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", describe(u), err)
	}
	return live, nil
}

// Live is what serves in a cluster before a deploy: what a rollback
// restores.
type Live struct {
	NamespaceExists bool
	// Workload is the live workload; nil on a first deploy.
	Workload *unstructured.Unstructured
	// ConfigData is the live ConfigMap's data; nil when there is none.
	ConfigData map[string]string
}

// Images returns the live workload's container images by container name.
func (l *Live) Images() map[string]string {
	if l.Workload == nil {
		return nil
	}
	return (&Objects{Workload: l.Workload}).Images()
}

func (c *Cluster) live(ctx context.Context, o *Objects) (*Live, error) {
	l := &Live{}
	ns, err := c.get(ctx, o.Namespace)
	if err != nil {
		return nil, err
	}
	l.NamespaceExists = ns != nil
	if !l.NamespaceExists {
		return l, nil
	}
	if l.Workload, err = c.get(ctx, o.Workload); err != nil {
		return nil, err
	}
	cm, err := c.Client.CoreV1().ConfigMaps(o.ConfigMap.GetNamespace()).Get(ctx, ConfigMapName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return nil, fmt.Errorf("configmap/%s: %w", ConfigMapName, err)
	default:
		l.ConfigData = cm.Data
		if l.ConfigData == nil {
			l.ConfigData = map[string]string{}
		}
	}
	return l, nil
}

// wait polls the workload's rollout status until it is done, fails, or
// timeout passes; progress is told each new message.
func (c *Cluster) wait(ctx context.Context, w *unstructured.Unstructured, timeout time.Duration, progress func(string)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	last := ""
	var st Status
	err := wait.PollUntilContextCancel(ctx, time.Second, true, func(ctx context.Context) (bool, error) {
		var err error
		st, err = c.status(ctx, w)
		if err != nil {
			if ctx.Err() != nil {
				return false, nil
			}
			return false, err
		}
		if st.Message != last {
			progress(st.Message)
			last = st.Message
		}
		if st.Failed {
			return false, errors.New(st.Message)
		}
		return st.Done, nil
	})
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("not done within %s: %s", timeout, st.Message)
	}
	return err
}

func (c *Cluster) status(ctx context.Context, w *unstructured.Unstructured) (Status, error) {
	ns, name := w.GetNamespace(), w.GetName()
	if w.GetKind() == "StatefulSet" {
		s, err := c.Client.AppsV1().StatefulSets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return Status{}, err
		}
		return StatefulSetStatus(s), nil
	}
	d, err := c.Client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return Status{}, err
	}
	return DeploymentStatus(d), nil
}

// rollback restores what served before: the ConfigMap's data and the
// workload's pod template, as `kubectl rollout undo` restores the template.
// A StatefulSet's pods of the failed revision that are not ready are
// deleted, as its controller does not replace them itself.
func (c *Cluster) rollback(ctx context.Context, o *Objects, l *Live) error {
	if l.Workload == nil {
		return errors.New("a first deploy has nothing to roll back to; the workload is left as it is for inspection")
	}
	ns := o.Workload.GetNamespace()
	if l.ConfigData != nil {
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			cm, err := c.Client.CoreV1().ConfigMaps(ns).Get(ctx, ConfigMapName, metav1.GetOptions{})
			if err != nil {
				return err
			}
			cm.Data = maps.Clone(l.ConfigData)
			_, err = c.Client.CoreV1().ConfigMaps(ns).Update(ctx, cm, metav1.UpdateOptions{FieldManager: FieldManager})
			return err
		})
		if err != nil {
			return fmt.Errorf("restore configmap/%s: %w", ConfigMapName, err)
		}
	}
	template, _, err := unstructured.NestedMap(l.Workload.Object, "spec", "template")
	if err != nil {
		return err
	}
	var failedRevision string
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		ri, err := c.resource(o.Workload)
		if err != nil {
			return err
		}
		cur, err := ri.Get(ctx, o.Workload.GetName(), metav1.GetOptions{})
		if err != nil {
			return err
		}
		failedRevision, _, _ = unstructured.NestedString(cur.Object, "status", "updateRevision")
		if err := unstructured.SetNestedMap(cur.Object, template, "spec", "template"); err != nil {
			return err
		}
		_, err = ri.Update(ctx, cur, metav1.UpdateOptions{FieldManager: FieldManager})
		return err
	})
	if err != nil {
		return fmt.Errorf("restore the template of %s: %w", describe(o.Workload), err)
	}
	if o.Workload.GetKind() == "StatefulSet" && failedRevision != "" {
		return c.deleteUnready(ctx, ns, failedRevision)
	}
	return nil
}

// deleteUnready deletes the pods of a StatefulSet revision that are not
// ready.
func (c *Cluster) deleteUnready(ctx context.Context, ns, revision string) error {
	sel := labels.Set{appsv1.ControllerRevisionHashLabelKey: revision}.String()
	pods, err := c.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return err
	}
	for i := range pods.Items {
		p := &pods.Items[i]
		if podReady(p) || p.DeletionTimestamp != nil {
			continue
		}
		err := c.Client.CoreV1().Pods(ns).Delete(ctx, p.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete pod %s of the failed revision: %w", p.Name, err)
		}
	}
	return nil
}

// event records a Kubernetes Event on the workload, as controllers do.
func (c *Cluster) event(ctx context.Context, w *unstructured.Unstructured, typ, reason, message string, now time.Time) error {
	live, err := c.get(ctx, w)
	if err != nil || live == nil {
		return err
	}
	t := metav1.NewTime(now)
	ev := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{GenerateName: w.GetName() + "-", Namespace: w.GetNamespace()},
		InvolvedObject: corev1.ObjectReference{APIVersion: w.GetAPIVersion(), Kind: w.GetKind(),
			Namespace: w.GetNamespace(), Name: w.GetName(), UID: live.GetUID(), ResourceVersion: live.GetResourceVersion()},
		Reason: reason, Message: message, Type: typ, Count: 1,
		FirstTimestamp: t, LastTimestamp: t,
		Source:              corev1.EventSource{Component: FieldManager},
		ReportingController: "headroom.io/deploy", ReportingInstance: "headroom",
	}
	_, err = c.Client.CoreV1().Events(w.GetNamespace()).Create(ctx, ev, metav1.CreateOptions{})
	return err
}

// annotate sets an annotation of the live workload (a merge patch, so no
// field of the applied configuration changes hands).
func (c *Cluster) annotate(ctx context.Context, w *unstructured.Unstructured, key, value string) error {
	ri, err := c.resource(w)
	if err != nil {
		return err
	}
	patch := map[string]any{"metadata": map[string]any{"annotations": map[string]any{key: value}}}
	b, err := (&unstructured.Unstructured{Object: patch}).MarshalJSON()
	if err != nil {
		return err
	}
	_, err = ri.Patch(ctx, w.GetName(), types.MergePatchType, b, metav1.PatchOptions{FieldManager: FieldManager})
	return err
}
