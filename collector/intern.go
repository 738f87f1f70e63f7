package collector

import (
	"runtime"
	"sync"
	"unsafe"
	"weak"
)

// A datacenter's pods are mostly replicas: thousands of pods share a few
// hundred templates, so their containers, tolerations, owner references and
// container statuses are equal slice for slice. The informer caches keep one
// copy of each distinct slice and let every pod that carries an equal one
// point to it, as the unique package does for comparable values (slices are
// not comparable, so this does the same for them by content).
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
	Marshal() ([]byte, error)
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
		b, err := P(&s[i]).Marshal()
		if err != nil {
			return s
		}
		// Length-prefixed, so that no two different slices share a key.
		k = append(k, byte(len(b)>>24), byte(len(b)>>16), byte(len(b)>>8), byte(len(b)))
		k = append(k, b...)
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
