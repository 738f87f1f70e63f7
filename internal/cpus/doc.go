// Package cpus runs a mostly waiting process on one CPU and lends it all of
// them for CPU-bound bursts.
//
// headroomd spends nearly all its time waiting on kubelets and InfluxDB.
// With more than one P, the Go scheduler wakes a second thread for almost
// every network event that readies a goroutine, only for it to find nothing
// to do and sleep again (four futex and six nanosleep calls per kubelet
// request, counted with strace). On one P there is no one to wake: the same
// 500-node collection cost about a quarter less CPU. The deploy gate's
// check, though, runs its tie-breaking simulations one per CPU, and its
// latency target assumes them all; a Lender raises GOMAXPROCS for as long
// as any check runs.
package cpus
