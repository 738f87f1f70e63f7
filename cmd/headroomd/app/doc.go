// Package app is headroomd itself, importable so that tests start it
// in-process: Run wires the configuration into collectors (one per cluster),
// the durable spool, the InfluxDB writer and the HTTP server (/metrics,
// /livez, /readyz, and the deploy gate's POST /api/v1/check, answered from
// the collectors' informer caches), runs them as one group, and shuts them
// down in reverse order within a deadline. main only parses flags and calls
// Run.
package app
