// Package spool is the durable queue between the collector and the InfluxDB
// writer: a point counts as collected once it is on disk here; records are
// replayed in order after an outage or a crash; the size is bounded and what
// is dropped is counted. It stores opaque bytes and must never know about
// Kubernetes or InfluxDB.
//
// A spool is one bbolt file. Each record (in practice the line-protocol text
// of one collection cycle) is stored under its sequence number together with
// the number of points it carries; running totals (next sequence, records,
// points, payload bytes) live in a meta bucket and are updated in the same
// transaction as the records, so Open is fast however many records the file
// holds and the totals never disagree with the records after a crash.
//
// The collector calls Append; the writer loops on Wait, Peek, then Ack after
// a successful write or Drop for data the database rejects as invalid. One
// appending goroutine and one writing goroutine may use a Spool at the same
// time.
//
// Options.MaxBytes bounds the payload bytes stored, not the file: bbolt
// reuses freed pages but never shrinks its file, which can grow to about
// twice MaxBytes (copy-on-write pages plus free pages left by acked records).
package spool
