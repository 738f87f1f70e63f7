// Package decode turns kubelet (/metrics/resource, /stats/summary) and
// metrics-server (metrics.k8s.io) responses into samples. It does no I/O
// beyond reading the given reader and must never know about InfluxDB.
//
// It sits between the collector's scrapers, which fetch the bytes, and the
// collector's enrichment, which tags the samples: decoders return plain
// structs (Node, Pod, Container) with a CPU reading that is a cumulative
// counter, an instantaneous rate, or both, depending on the source. Rate and
// Rates turn cumulative counters into rates the way metrics-server's storage
// does, so that both kinds of source end up as cores.
//
// Decoders never panic on input: a malformed response yields an error that
// wraps ErrMalformed and names what was wrong; a response of a kind this
// package does not know yields ErrUnknownFormat. Absent optional sections are
// reported through the Has* flags and nil pointers, never as errors.
package decode
