// Package localstack builds, starts and stops headroom's local test stack: one
// etcd and, per simulated cluster, a kube-apiserver, kube-controller-manager,
// kube-scheduler, kwok (simulated nodes, pod lifecycle and kubelet metrics) and
// metrics-server; plus one InfluxDB 1.8, one Alertmanager and a webhook
// recorder that Alertmanager notifies. Everything listens on 127.0.0.1 on free
// ports written to a state file that tests read.
//
// The servers are real binaries built from the Go module proxy by build.sh into
// a per-user cache. Processes are started detached, one log file each, and are
// stopped by Down, which signals exactly the PIDs it recorded.
//
// Tests get the stack through Ensure, which starts it once when it is not
// already up. This package must never be imported by non-test code of the
// daemon or the CLI.
package localstack
