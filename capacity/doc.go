// Package capacity models what a cluster can still hold: snapshots of nodes
// and pods, effective requests as kube-scheduler computes them, fit and
// verdicts for the deploy gate, usage history, forecasts and alert rules.
//
// It must never talk to a cluster except through a snapshot's source.
package capacity
