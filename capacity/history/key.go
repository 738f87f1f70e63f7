package history

import (
	"fmt"
	"slices"
	"strings"
)

// Scope is what a series sums over.
type Scope string

// Scopes.
const (
	ScopeCluster   Scope = "cluster"   // every node of the cluster
	ScopePool      Scope = "pool"      // the nodes of one pool (Key.Name)
	ScopeNamespace Scope = "namespace" // the pods of one namespace (Key.Name)
)

// Resource is a resource a series measures.
type Resource string

// Resources, in the units of the series: cores, bytes, pods.
const (
	CPU    Resource = "cpu"
	Memory Resource = "memory"
	Pods   Resource = "pods"
)

// Resources lists every Resource.
var Resources = []Resource{CPU, Memory, Pods}

// Kind is what of a resource a series measures.
type Kind string

// Kinds. Namespaces have no allocatable.
const (
	Requested   Kind = "requested"   // as kube-scheduler counts requests
	Used        Kind = "used"        // cpu usage, memory working set, running pods
	Allocatable Kind = "allocatable" // of the nodes in scope
)

// Key names one series.
type Key struct {
	Cluster  string
	Scope    Scope
	Name     string // the pool or namespace; "" for ScopeCluster
	Resource Resource
	Kind     Kind
}

// String is the key as stored and as ParseKey reads it:
// cluster/scope[=name]/resource/kind, e.g. "osl2/pool=general/memory/used".
func (k Key) String() string {
	scope := string(k.Scope)
	if k.Scope != ScopeCluster {
		scope += "=" + k.Name
	}
	return k.Cluster + "/" + scope + "/" + string(k.Resource) + "/" + string(k.Kind)
}

// With returns k for another kind.
func (k Key) With(kind Kind) Key { k.Kind = kind; return k }

// ParseKey reads what String writes.
func ParseKey(s string) (Key, error) {
	parts := strings.Split(s, "/")
	if len(parts) != 4 || parts[0] == "" {
		return Key{}, fmt.Errorf("series key %q: want cluster/scope[=name]/resource/kind", s)
	}
	k := Key{Cluster: parts[0], Resource: Resource(parts[2]), Kind: Kind(parts[3])}
	scope, name, hasName := strings.Cut(parts[1], "=")
	k.Scope, k.Name = Scope(scope), name
	switch {
	case k.Scope == ScopeCluster && !hasName:
	case (k.Scope == ScopePool || k.Scope == ScopeNamespace) && hasName:
	default:
		return Key{}, fmt.Errorf("series key %q: scope %q: want cluster, pool=NAME or namespace=NAME", s, parts[1])
	}
	if !slices.Contains(Resources, k.Resource) {
		return Key{}, fmt.Errorf("series key %q: resource %q: want cpu, memory or pods", s, k.Resource)
	}
	if k.Kind != Requested && k.Kind != Used && k.Kind != Allocatable {
		return Key{}, fmt.Errorf("series key %q: kind %q: want requested, used or allocatable", s, k.Kind)
	}
	return k, nil
}

// Sample is one value of one series.
type Sample struct {
	Key   Key
	Value float64
}
