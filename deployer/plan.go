package deployer

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// copy returns a deep copy of o.
func (o *Objects) copy() *Objects {
	c := &Objects{Namespace: o.Namespace.DeepCopy(), ConfigMap: o.ConfigMap.DeepCopy(),
		Workload: o.Workload.DeepCopy(), ConfigHash: o.ConfigHash, sources: o.sources}
	for _, u := range o.Others {
		c.Others = append(c.Others, u.DeepCopy())
	}
	return c
}

// describePlan says what applying plan over live changes, for --dry-run.
func describePlan(plan *Objects, live *Live) string {
	w := describe(plan.Workload)
	replicas, hasReplicas, _ := unstructured.NestedInt64(plan.Workload.Object, "spec", "replicas")
	if !hasReplicas {
		replicas = 1
	}
	if live.Workload == nil {
		var what []string
		if !live.NamespaceExists {
			what = append(what, "namespace "+plan.Namespace.GetName())
		}
		what = append(what, fmt.Sprintf("configmap/%s (%d keys)", ConfigMapName, len(plan.ConfigMap.Object["data"].(map[string]any))))
		for _, u := range plan.Others {
			what = append(what, describe(u))
		}
		what = append(what, fmt.Sprintf("%s (%d replicas of %s)", w, replicas, strings.Join(sortedValues(plan.Images()), ", ")))
		return "first deploy: creates " + strings.Join(what, ", ")
	}
	var what []string
	before, after := live.Images(), plan.Images()
	for _, name := range slices.Sorted(maps.Keys(after)) {
		if before[name] != after[name] {
			what = append(what, fmt.Sprintf("container %s: image %s → %s", name, orNone(before[name]), after[name]))
		}
	}
	if old, ok, _ := unstructured.NestedInt64(live.Workload.Object, "spec", "replicas"); ok && old != replicas {
		what = append(what, fmt.Sprintf("replicas %d → %d", old, replicas))
	}
	if d := configDiff(live.ConfigData, plan.ConfigMap); d != "" {
		what = append(what, "configmap/"+ConfigMapName+": "+d+"; pods roll for it")
	}
	if len(what) == 0 {
		return w + ": no change in images, replicas or configuration"
	}
	return w + ": " + strings.Join(what, "; ")
}

func configDiff(old map[string]string, cm *unstructured.Unstructured) string {
	data, _, _ := unstructured.NestedStringMap(cm.Object, "data")
	var added, changed, removed []string
	for k, v := range data {
		ov, ok := old[k]
		switch {
		case !ok:
			added = append(added, k)
		case ov != v:
			changed = append(changed, k)
		}
	}
	for k := range old {
		if _, ok := data[k]; !ok {
			removed = append(removed, k)
		}
	}
	var parts []string
	for _, p := range []struct {
		what string
		keys []string
	}{{"added", added}, {"changed", changed}, {"removed", removed}} {
		if len(p.keys) > 0 {
			slices.Sort(p.keys)
			parts = append(parts, p.what+" "+strings.Join(p.keys, ", "))
		}
	}
	return strings.Join(parts, "; ")
}

func sortedValues(m map[string]string) []string { return slices.Sorted(maps.Values(m)) }

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
