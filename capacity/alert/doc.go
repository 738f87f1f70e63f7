// Package alert turns capacity history and forecasts into alerts for
// on-call: the rules (HeadroomExhaustionForecast, HeadroomNPlusOneViolated,
// HeadroomNodePressure, HeadroomCollectionDown), the state each alert goes
// through (pending, firing, resolved) and the Evaluator that runs them.
//
// The state follows Prometheus's rule manager, so that Alertmanager sees
// what it sees from Prometheus: a condition must hold for its pending
// duration before it fires; a firing alert is sent at every evaluation
// with a stable startsAt and endsAt = now + 4 × the evaluation interval, so
// that Alertmanager resolves it by itself if headroomd goes away; a
// resolved alert is sent with endsAt = the time it resolved for 15 minutes.
//
// The package decides; it never sends. A Notifier (sink/alertmanager) does.
// Time comes from the caller, so hours of evaluations run in milliseconds
// in tests.
package alert
