package collector

import (
	"encoding/binary"
	"runtime"
	"slices"
	"sync"
	"unsafe"
	"weak"
)

// A datacenter's pods are mostly replicas: thousands of pods share a few
// hundred templates, so their specs, statuses and owner references are
// equal (see Pod). The informer caches keep one copy of each distinct
// value and let every pod that carries an equal one point to it, as the
// unique package does for comparable values (these are not comparable, so
// this does the same for them by content: a value is a one-element slice).
//
// Entries hold their slice weakly: once no cached pod refers to a slice it
// is collected and its entry removed, so pods that come and go do not grow
// the tables. Shared slices are read-only, like everything an informer
// cache hands out.

// marshaler is what the Kubernetes API types generate: a deterministic
// protobuf encoding (map keys sorted, quantities in canonical form), so
// equal encodings mean equal content.
type marshaler[E any] interface {
	*E
	Size() int
	MarshalToSizedBuffer([]byte) (int, error)
}

type internEntry[E any] struct {
	first weak.Pointer[E] // the slice's first element, i.e. its backing array
	n     int
}

// sliceInterner shares equal slices of E. It is safe for concurrent use.
type sliceInterner[E any, P marshaler[E]] struct {
	mu      sync.Mutex
	entries map[string]internEntry[E]
	key     []byte // reused while building a key, under mu
}

// intern returns a slice equal to s, shared with earlier callers when one
// is still alive, else s itself (which later callers then share). A slice
// whose encoding fails is returned unshared.
func (in *sliceInterner[E, P]) intern(s []E) []E {
	if len(s) == 0 {
		return s
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	k := in.key[:0]
	for i := range s {
		// Length-prefixed, so that no two different slices share a key;
		// encoded in place, into the reused buffer.
		n := P(&s[i]).Size()
		k = binary.AppendUvarint(k, uint64(n))
		k = slices.Grow(k, n)[:len(k)+n]
		if m, err := P(&s[i]).MarshalToSizedBuffer(k[len(k)-n:]); err != nil || m != n {
			return s // unshared rather than keyed on a partial encoding
		}
	}
	in.key = k
	if e, ok := in.entries[string(k)]; ok {
		if p := e.first.Value(); p != nil {
			return unsafe.Slice(p, e.n)
		}
	}
	if in.entries == nil {
		in.entries = map[string]internEntry[E]{}
	}
	key := string(k)
	s = s[:len(s):len(s)] // an append by a reader copies, never writes into the shared array
	in.entries[key] = internEntry[E]{first: weak.Make(&s[0]), n: len(s)}
	runtime.AddCleanup(&s[0], in.forget, key)
	return s
}

// forget drops key's entry once its slice has been collected, unless a
// newer slice has taken the key since.
func (in *sliceInterner[E, P]) forget(key string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if e, ok := in.entries[key]; ok && e.first.Value() == nil {
		delete(in.entries, key)
	}
}

// len is the number of distinct slices held, for tests.
func (in *sliceInterner[E, P]) len() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return len(in.entries)
}

// labelInterner shares equal label maps. Maps cannot be held weakly, so
// the table holds them strongly and starts afresh when it reaches max
// entries: pods keep the maps they have, new pods share from the new
// table, and the table's memory stays bounded whatever the churn. It is
// safe for concurrent use.
type labelInterner struct {
	max     int
	mu      sync.Mutex
	entries map[string]map[string]string
	key     []byte   // reused while building a key, under mu
	names   []string // reused for sorting, under mu
}

// perPodLabels are labels whose value differs for every pod of a
// workload (StatefulSet and indexed Job pods): sets carrying one are never
// shared, so they are not entered, lest they crowd out the templates'.
var perPodLabels = []string{
	"statefulset.kubernetes.io/pod-name",
	"apps.kubernetes.io/pod-index",
	"batch.kubernetes.io/job-completion-index",
}

func (in *labelInterner) intern(labels map[string]string) map[string]string {
	if len(labels) == 0 {
		return labels
	}
	for _, k := range perPodLabels {
		if _, ok := labels[k]; ok {
			return labels
		}
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	in.names = in.names[:0]
	for k := range labels {
		in.names = append(in.names, k)
	}
	slices.Sort(in.names)
	k := in.key[:0]
	for _, name := range in.names {
		v := labels[name]
		// Length-prefixed, so that no two different sets share a key.
		k = binary.AppendUvarint(k, uint64(len(name)))
		k = append(k, name...)
		k = binary.AppendUvarint(k, uint64(len(v)))
		k = append(k, v...)
	}
	in.key = k
	if m, ok := in.entries[string(k)]; ok {
		return m
	}
	if in.entries == nil || len(in.entries) >= in.max {
		in.entries = make(map[string]map[string]string, min(in.max, 1024))
	}
	in.entries[string(k)] = labels
	return labels
}
