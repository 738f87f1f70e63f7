// Package alertmanager sends alerts to Prometheus Alertmanager through its
// v2 API (POST /api/v2/alerts), to every URL configured: an HA pair of
// Alertmanagers each receives every alert and they deduplicate the
// notifications between them, as they do for Prometheus.
//
// It does not retry within a send: the alert rules re-send every firing
// alert at each evaluation (endsAt a few intervals ahead), so an
// Alertmanager that was down or restarted gets the alerts again at the
// next evaluation. It never decides what to alert on (capacity/alert does).
package alertmanager
