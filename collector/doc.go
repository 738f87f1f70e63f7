// Package collector reads clusters: per cluster it keeps node and pod
// informers, scrapes kubelets (/metrics/resource, /stats/summary, directly or
// through the apiserver's node proxy) or metrics-server with bounded fan-out
// and per-node deadlines, turns cumulative counters into rates, and enriches
// each container with cluster, namespace, app and owning workload.
//
// It hands samples to a consumer it declares itself; it must never know about
// InfluxDB or any other store.
package collector
