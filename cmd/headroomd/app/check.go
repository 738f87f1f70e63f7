package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/headroomhq/headroom/capacity"
	"github.com/headroomhq/headroom/collector"
	"github.com/headroomhq/headroom/config"
	"github.com/headroomhq/headroom/internal/cpus"
)

// Limits of POST /api/v1/check.
const (
	maxCheckBody = 1 << 20 // bytes of a request body
	checkTimeout = 30 * time.Second
)

// objectSource gives one cluster's nodes and pods, and whether they are
// known yet: the collector's informer caches. The objects are shared, never
// modified.
type objectSource interface {
	Objects() (nodes []*corev1.Node, pods []*corev1.Pod, synced bool)
}

var _ objectSource = (*collector.Cluster)(nil)

// gateCluster is a cluster the gate checks against.
type gateCluster struct {
	source     objectSource
	poolLabels []string
	scheduler  config.Scheduler // the cluster's kube-scheduler settings
}

// checkFunc models a cluster and checks a workload on it; capacity's in
// production, a stand-in in tests that need a slow or failing check.
type checkFunc func(nodes []*corev1.Node, pods []*corev1.Pod, opts capacity.Options, w *capacity.Workload, p capacity.Policy) *capacity.Result

func capacityCheck(nodes []*corev1.Node, pods []*corev1.Pod, opts capacity.Options, w *capacity.Workload, p capacity.Policy) *capacity.Result {
	return capacity.NewCluster(nodes, pods, opts).Check(w, p)
}

// checkHandler serves POST /api/v1/check: the deploy gate against a
// cluster's cached nodes and pods. Checks are CPU-bound, so at most one per
// CPU runs at once; a request waits for a slot and for its check within
// timeout, else gets 503 (the check still finishes, holding its slot, so
// load stays bounded). A check borrows every CPU from cpus while it runs.
type checkHandler struct {
	clusters map[string]gateCluster
	policy   capacity.Policy // when the request gives none
	timeout  time.Duration
	slots    chan struct{}
	cpus     *cpus.Lender
	check    checkFunc
	metrics  *checkMetrics
	log      *slog.Logger
	recent   decisions
}

// Decision is one answered check, as the capacity page lists it.
type Decision struct {
	At                time.Time        `json:"at"`
	Cluster           string           `json:"cluster"`
	Workload          string           `json:"workload"`
	Verdict           capacity.Verdict `json:"verdict"`
	ReplicasRequested int              `json:"replicas_requested"`
	ReplicasFit       int              `json:"replicas_fit"`
	Reasons           []string         `json:"reasons"`
	Suggestions       []string         `json:"suggestions,omitempty"`
}

// decisions keeps the latest maxDecisions, newest first.
type decisions struct {
	mu   sync.Mutex
	list []Decision
}

const maxDecisions = 20

func (d *decisions) add(x Decision) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.list = append([]Decision{x}, d.list[:min(len(d.list), maxDecisions-1)]...)
}

func (d *decisions) latest() []Decision {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]Decision{}, d.list...) // [] in JSON when empty, not null
}

func newCheckHandler(clusters map[string]gateCluster, policy capacity.Policy, lender *cpus.Lender, reg prometheus.Registerer, log *slog.Logger) *checkHandler {
	return &checkHandler{
		clusters: clusters, policy: policy, timeout: checkTimeout,
		slots: make(chan struct{}, lender.Busy()), cpus: lender, check: capacityCheck,
		metrics: newCheckMetrics(reg), log: log,
	}
}

// checkRequest is the body of POST /api/v1/check: a manifest, or plain
// replicas with their requests.
type checkRequest struct {
	Cluster string `json:"cluster"`
	// Manifest is YAML or JSON holding one apps/v1 Deployment or
	// StatefulSet, possibly beside other objects.
	Manifest string `json:"manifest,omitempty"`
	Replicas *int   `json:"replicas,omitempty"`
	CPU      string `json:"cpu,omitempty"`
	Memory   string `json:"memory,omitempty"`
	// Namespace is the plain replicas' namespace, or the manifest's when it
	// names none; default "default".
	Namespace string `json:"namespace,omitempty"`
	// Policy replaces the configured gate.policy when present ({} for plain
	// fit).
	Policy *capacity.Policy `json:"policy,omitempty"`
}

type checkMetrics struct {
	checks   *prometheus.CounterVec
	duration *prometheus.HistogramVec
	rejected *prometheus.CounterVec
}

func newCheckMetrics(reg prometheus.Registerer) *checkMetrics {
	m := &checkMetrics{
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "headroom_gate_checks_total",
			Help: "Deploy gate checks answered, by cluster and verdict."}, []string{"cluster", "verdict"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "headroom_gate_check_duration_seconds",
			Help:    "Time to model a cluster and check a workload on it.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14)}, []string{"cluster"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "headroom_gate_requests_rejected_total",
			Help: "Check requests answered without a verdict, by reason: bad_request, too_large, unknown_cluster, not_synced, busy, timeout, internal."},
			[]string{"reason"}),
	}
	if reg != nil {
		reg.MustRegister(m.checks, m.duration, m.rejected)
	}
	return m
}

// ServeHTTP answers with the capacity.Result as JSON and 200 for any
// verdict; 400 for a bad request, 413 for a body over 1 MiB, 404 for an
// unknown cluster, 503 while the cluster's informers have not synced or
// when no check slot or answer came within the timeout, 500 if the check
// panicked. Errors are {"error": "..."}.
func (h *checkHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, reason string, err error) {
		h.metrics.rejected.WithLabelValues(reason).Inc()
		writeJSON(w, status, map[string]string{"error": err.Error()})
	}
	var req checkRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxCheckBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			fail(http.StatusRequestEntityTooLarge, "too_large", fmt.Errorf("request body larger than %d bytes", maxCheckBody))
			return
		}
		fail(http.StatusBadRequest, "bad_request", fmt.Errorf("request body: %w", err))
		return
	}
	if dec.More() {
		fail(http.StatusBadRequest, "bad_request", errors.New("request body: more than one JSON value"))
		return
	}
	if req.Cluster == "" {
		fail(http.StatusBadRequest, "bad_request", errors.New("cluster: required"))
		return
	}
	gc, ok := h.clusters[req.Cluster]
	if !ok {
		fail(http.StatusNotFound, "unknown_cluster", fmt.Errorf("cluster %q is not configured", req.Cluster))
		return
	}
	wl, err := requestWorkload(&req)
	if err != nil {
		fail(http.StatusBadRequest, "bad_request", err)
		return
	}
	policy := h.policy
	if req.Policy != nil {
		if err := validatePolicy(*req.Policy); err != nil {
			fail(http.StatusBadRequest, "bad_request", err)
			return
		}
		policy = *req.Policy
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.timeout)
	defer cancel()
	select {
	case h.slots <- struct{}{}:
	case <-ctx.Done():
		fail(http.StatusServiceUnavailable, "busy", fmt.Errorf("no check slot free within %s", h.timeout))
		return
	}
	// The objects are taken inside the slot: they are built for the check
	// (a datacenter's pods, tens of megabytes), so waiting requests must
	// not each hold a set. Building them is CPU-bound too.
	release := h.cpus.Borrow()
	nodes, pods, synced := gc.source.Objects()
	if !synced {
		release()
		<-h.slots
		w.Header().Set("Retry-After", "5")
		fail(http.StatusServiceUnavailable, "not_synced", fmt.Errorf("cluster %s: informers have not synced yet", req.Cluster))
		return
	}
	type outcome struct {
		res      *capacity.Result
		panicked any
	}
	done := make(chan outcome, 1)
	start := time.Now()
	go func() {
		defer func() { <-h.slots }()
		defer release()
		defer func() {
			if p := recover(); p != nil {
				done <- outcome{panicked: p}
			}
		}()
		done <- outcome{res: h.check(nodes, pods, capacity.OptionsOf(req.Cluster, gc.poolLabels, gc.scheduler), wl, policy)}
	}()
	select {
	case o := <-done:
		if o.panicked != nil || o.res == nil {
			h.log.Error("check failed", "cluster", req.Cluster, "panic", o.panicked)
			fail(http.StatusInternalServerError, "internal", errors.New("the check failed; see headroomd's log"))
			return
		}
		took := time.Since(start)
		h.metrics.duration.WithLabelValues(req.Cluster).Observe(took.Seconds())
		h.metrics.checks.WithLabelValues(req.Cluster, string(o.res.Verdict)).Inc()
		res := o.res
		h.recent.add(Decision{At: start, Cluster: req.Cluster, Workload: res.Workload, Verdict: res.Verdict,
			ReplicasRequested: res.ReplicasRequested, ReplicasFit: res.ReplicasFit,
			Reasons: res.Reasons, Suggestions: res.Suggestions})
		h.log.Info("check", "cluster", req.Cluster, "workload", o.res.Workload, "verdict", o.res.Verdict,
			"replicas", o.res.ReplicasRequested, "fit", o.res.ReplicasFit, "took", took)
		writeJSON(w, http.StatusOK, o.res)
	case <-ctx.Done():
		fail(http.StatusServiceUnavailable, "timeout", fmt.Errorf("the check did not finish within %s", h.timeout))
	}
}

// requestWorkload builds the workload a request asks for; its errors name
// the request's field.
func requestWorkload(req *checkRequest) (*capacity.Workload, error) {
	switch {
	case req.Manifest != "" && req.Replicas != nil:
		return nil, errors.New("manifest and replicas: give one")
	case req.Manifest != "":
		if req.CPU != "" || req.Memory != "" {
			return nil, errors.New("cpu and memory apply to replicas, not to a manifest")
		}
		obj, err := capacity.ReadWorkload(strings.NewReader(req.Manifest), "manifest")
		if err != nil {
			return nil, err
		}
		if err := capacity.InNamespace(obj, req.Namespace); err != nil {
			return nil, fmt.Errorf("namespace: %w", err)
		}
		w, err := capacity.WorkloadFromObject(obj)
		if err != nil {
			return nil, fmt.Errorf("manifest: %w", err)
		}
		return w, nil
	case req.Replicas == nil:
		return nil, errors.New("nothing to check: give manifest, or replicas with cpu and memory")
	}
	if *req.Replicas < 1 {
		return nil, fmt.Errorf("replicas: %d, must be at least 1", *req.Replicas)
	}
	cpu, err := requestQuantity("cpu", req.CPU)
	if err != nil {
		return nil, err
	}
	memory, err := requestQuantity("memory", req.Memory)
	if err != nil {
		return nil, err
	}
	return capacity.SimpleWorkload(req.Namespace, *req.Replicas, cpu, memory), nil
}

func requestQuantity(field, s string) (resource.Quantity, error) {
	if s == "" {
		return resource.Quantity{}, fmt.Errorf("%s: required with replicas (\"0\" for none)", field)
	}
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return q, fmt.Errorf("%s: %q is not a quantity (like 500m, 2, 1Gi)", field, s)
	}
	if q.Sign() < 0 {
		return q, fmt.Errorf("%s: %q must not be negative", field, s)
	}
	return q, nil
}

// validatePolicy checks a request's policy as config checks gate.policy.
func validatePolicy(p capacity.Policy) error {
	switch p.NPlusOne {
	case "", "node", "zone":
	default:
		return fmt.Errorf("policy.nPlusOne: %q is not node or zone (or empty for off)", p.NPlusOne)
	}
	for name, share := range p.MaxShare {
		if name == "" {
			return errors.New("policy.maxShare: an empty resource name")
		}
		if !(share > 0 && share <= 1) {
			return fmt.Errorf("policy.maxShare.%s: %v, a share must be above 0 and at most 1", name, share)
		}
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"error":"encoding the answer failed"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
