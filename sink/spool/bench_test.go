package spool_test

import (
	"path/filepath"
	"testing"

	"github.com/headroomhq/headroom/sink/spool"
)

// BenchmarkAppend1MiBRecord measures the durable path: one Append of a 1 MiB
// record, fsynced, as the collector does once per cycle. The bound keeps the
// file small; past it each Append also evicts the oldest record, as in a
// long outage.
func BenchmarkAppend1MiBRecord(b *testing.B) {
	const size = 1 << 20
	s, err := spool.Open(spool.Options{
		Path:     filepath.Join(b.TempDir(), "spool.db"),
		MaxBytes: 64 * size,
	})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	data := payload(0, size)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Append(5000, data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendPeekAck measures the spool's own cost of one record's round
// trip, Append then Peek then Ack, for 100 KB records without fsync.
func BenchmarkAppendPeekAck(b *testing.B) {
	const size = 100_000
	s, err := spool.Open(spool.Options{
		Path:   filepath.Join(b.TempDir(), "spool.db"),
		NoSync: true,
	})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	data := payload(0, size)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Append(500, data); err != nil {
			b.Fatal(err)
		}
		recs, err := s.Peek(1, 0)
		if err != nil || len(recs) != 1 {
			b.Fatalf("Peek: %d records, %v", len(recs), err)
		}
		if err := s.Ack(recs[0].Seq); err != nil {
			b.Fatal(err)
		}
	}
}
