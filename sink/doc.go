// Package sink stores points: a durable on-disk spool between the collector
// and the writer, and the InfluxDB writer that drains it (sink/spool,
// sink/influx).
//
// It must never know about Kubernetes: it sees measurements, tags, fields and
// timestamps only.
package sink
