// Package history keeps capacity history: per cluster, node pool and
// namespace, the requested, used and allocatable cpu, memory and pods, one
// value per step (default one minute), in an embedded bbolt file in the data
// directory, for a retention (default 35 days). It is what the forecasts and
// the alert rules read.
//
// A Recorder sits beside the spool as a second collector sink: it turns each
// collection cycle's points into Samples, averages the cycles that fall in
// one step and appends a step's means to the Store once the step is over. It
// also keeps each cluster's latest cycle (nodes and apps) for the rules that
// look at the present: N+1, node pressure, the daily report.
//
// A Store answers Series for a Key over a time range, with NaN where no
// value was recorded, so a forecaster sees gaps as gaps.
//
// The package never talks to a cluster, to InfluxDB or to Alertmanager:
// points come in, series go out.
package history
