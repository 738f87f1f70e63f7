package spool_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	bolt "go.etcd.io/bbolt"

	"github.com/headroomhq/headroom/sink/spool"
)

// open opens a spool in a fresh directory with its own registry and closes
// it at the end of the test.
func open(t *testing.T, opts spool.Options) (*spool.Spool, *prometheus.Registry) {
	t.Helper()
	if opts.Path == "" {
		opts.Path = filepath.Join(t.TempDir(), "spool.db")
	}
	reg := prometheus.NewRegistry()
	if opts.Registerer == nil {
		opts.Registerer = reg
	}
	s, err := spool.Open(opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s, reg
}

// payload is the deterministic content of record i, n bytes long, so a
// reader can tell a record was stored whole.
func payload(i uint64, n int) []byte {
	line := fmt.Sprintf("cpu,record=%d usage=%d %d\n", i, i*7, i*1e9)
	return bytes.Repeat([]byte(line), n/len(line)+1)[:n]
}

func mustAppend(t *testing.T, s *spool.Spool, points int, data []byte) uint64 {
	t.Helper()
	seq, err := s.Append(points, data)
	if err != nil {
		t.Fatalf("Append(%d points, %d bytes): %v", points, len(data), err)
	}
	return seq
}

func mustPeek(t *testing.T, s *spool.Spool, maxRecords int, maxBytes int64) []spool.Record {
	t.Helper()
	recs, err := s.Peek(maxRecords, maxBytes)
	if err != nil {
		t.Fatalf("Peek(%d, %d): %v", maxRecords, maxBytes, err)
	}
	return recs
}

func seqs(recs []spool.Record) []uint64 {
	out := make([]uint64, len(recs))
	for i, r := range recs {
		out[i] = r.Seq
	}
	return out
}

// counter reads one sample of a metric from reg: a counter, or a gauge.
func counter(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue metric
				}
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("metric %s%v not found", name, labels)
	return 0
}

func TestAppendPeekAckKeepsOrder(t *testing.T) {
	s, reg := open(t, spool.Options{NoSync: true})
	for i := range uint64(10) {
		if got := mustAppend(t, s, int(i+1), payload(i, 100)); got != i+1 {
			t.Fatalf("Append %d returned seq %d, want %d", i, got, i+1)
		}
	}
	recs := mustPeek(t, s, 0, 0)
	if want := []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}; !slices.Equal(seqs(recs), want) {
		t.Fatalf("Peek seqs = %v, want %v", seqs(recs), want)
	}
	for _, r := range recs {
		if r.Points != int(r.Seq) || !bytes.Equal(r.Data, payload(r.Seq-1, 100)) {
			t.Fatalf("record %d: points %d, data %q: not what was appended", r.Seq, r.Points, r.Data)
		}
	}
	// Peek does not remove.
	if again := mustPeek(t, s, 0, 0); len(again) != 10 {
		t.Fatalf("second Peek returned %d records, want 10", len(again))
	}

	if err := s.Ack(4); err != nil {
		t.Fatalf("Ack(4): %v", err)
	}
	if got, want := seqs(mustPeek(t, s, 0, 0)), []uint64{5, 6, 7, 8, 9, 10}; !slices.Equal(got, want) {
		t.Fatalf("after Ack(4): seqs = %v, want %v", got, want)
	}
	// Acking what is gone already is a no-op.
	if err := s.Ack(2); err != nil {
		t.Fatalf("Ack(2) after Ack(4): %v", err)
	}
	st := s.Stats()
	want := spool.Stats{Records: 6, Points: 5 + 6 + 7 + 8 + 9 + 10, Bytes: 600, AppendedPoints: 55, AckedPoints: 10}
	if st != want {
		t.Fatalf("Stats = %+v, want %+v", st, want)
	}
	if got := counter(t, reg, "headroom_spool_acked_points_total"); got != 10 {
		t.Errorf("acked_points_total = %v, want 10", got)
	}
	if got := counter(t, reg, "headroom_spool_appended_points_total"); got != 55 {
		t.Errorf("appended_points_total = %v, want 55", got)
	}
	if got := counter(t, reg, "headroom_spool_points"); got != 45 {
		t.Errorf("spool_points = %v, want 45", got)
	}
	if got := counter(t, reg, "headroom_spool_bytes"); got != 600 {
		t.Errorf("spool_bytes = %v, want 600", got)
	}

	if err := s.Ack(100); err != nil {
		t.Fatalf("Ack(100): %v", err)
	}
	if recs := mustPeek(t, s, 0, 0); len(recs) != 0 {
		t.Fatalf("after Ack(100): %d records left", len(recs))
	}
	if st := s.Stats(); st.Records != 0 || st.Points != 0 || st.Bytes != 0 {
		t.Fatalf("after Ack(100): Stats = %+v, want empty", st)
	}
}

func TestPeekLimits(t *testing.T) {
	s, _ := open(t, spool.Options{NoSync: true})
	// Records 1..5 of 100, 200, 300, 400, 500 bytes.
	for i := range 5 {
		mustAppend(t, s, 1, payload(uint64(i), 100*(i+1)))
	}
	tests := []struct {
		name       string
		maxRecords int
		maxBytes   int64
		want       []uint64
	}{
		{"no limits returns all", 0, 0, []uint64{1, 2, 3, 4, 5}},
		{"record limit", 2, 0, []uint64{1, 2}},
		{"byte limit exact", 0, 600, []uint64{1, 2, 3}},
		{"byte limit between records", 0, 599, []uint64{1, 2}},
		{"both limits, records bind", 2, 10000, []uint64{1, 2}},
		{"both limits, bytes bind", 4, 300, []uint64{1, 2}},
		{"first record alone exceeds maxBytes", 0, 50, []uint64{1}},
		{"limit above count", 99, 0, []uint64{1, 2, 3, 4, 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := seqs(mustPeek(t, s, tt.maxRecords, tt.maxBytes)); !slices.Equal(got, tt.want) {
				t.Errorf("Peek(%d, %d) = %v, want %v", tt.maxRecords, tt.maxBytes, got, tt.want)
			}
		})
	}
}

func TestPeekEmptySpoolReturnsNothing(t *testing.T) {
	s, _ := open(t, spool.Options{NoSync: true})
	if recs := mustPeek(t, s, 1, 1); len(recs) != 0 {
		t.Fatalf("Peek on empty spool = %v", seqs(recs))
	}
}

func TestPeekReturnsCopies(t *testing.T) {
	s, _ := open(t, spool.Options{NoSync: true})
	data := payload(0, 64)
	mustAppend(t, s, 1, data)
	data[0] = '!' // Append must not keep the caller's slice.
	r := mustPeek(t, s, 1, 0)[0]
	r.Data[1] = '!' // Nor Peek hand out bbolt's memory.
	if got := mustPeek(t, s, 1, 0)[0].Data; !bytes.Equal(got, payload(0, 64)) {
		t.Fatalf("stored data changed: %q", got)
	}
}

func TestReopenKeepsRecordsTotalsAndSequence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "spool.db")
	reg := prometheus.NewRegistry()
	s, err := spool.Open(spool.Options{Path: path, Registerer: reg})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	for i := range uint64(5) {
		mustAppend(t, s, 10, payload(i, 1000))
	}
	if err := s.Ack(2); err != nil {
		t.Fatalf("Ack: %v", err)
	}
	before := mustPeek(t, s, 0, 0)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	// The same registry: Close unregistered the metrics.
	s, err = spool.Open(spool.Options{Path: path, Registerer: reg})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	after := mustPeek(t, s, 0, 0)
	if !slices.EqualFunc(before, after, func(a, b spool.Record) bool {
		return a.Seq == b.Seq && a.Points == b.Points && bytes.Equal(a.Data, b.Data)
	}) {
		t.Fatalf("records after reopen %v, want %v", seqs(after), seqs(before))
	}
	if got, want := s.Stats(), (spool.Stats{Records: 3, Points: 30, Bytes: 3000}); got != want {
		t.Fatalf("Stats after reopen = %+v, want %+v", got, want)
	}
	if got := counter(t, reg, "headroom_spool_bytes"); got != 3000 {
		t.Errorf("spool_bytes after reopen = %v, want 3000", got)
	}
	// Acking everything then reopening must still not reuse sequences.
	if err := s.Ack(5); err != nil {
		t.Fatalf("Ack: %v", err)
	}
	if seq := mustAppend(t, s, 1, []byte("x")); seq != 6 {
		t.Fatalf("first Append after reopen got seq %d, want 6", seq)
	}
	if err := s.Ack(6); err != nil {
		t.Fatalf("Ack: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s, err = spool.Open(spool.Options{Path: path})
	if err != nil {
		t.Fatalf("reopen empty: %v", err)
	}
	defer s.Close()
	if seq := mustAppend(t, s, 1, []byte("y")); seq != 7 {
		t.Fatalf("Append after reopening an emptied spool got seq %d, want 7", seq)
	}
}

func TestPayloadSizesSurviveReopen(t *testing.T) {
	tests := []struct {
		name string
		data []byte
	}{
		{"nil payload", nil},
		{"empty payload", []byte{}},
		{"one byte", []byte("x")},
		{"below a page, stored inline", payload(1, 900)},
		{"a few pages", payload(2, 20_000)},
		{"several MiB", payload(3, 5<<20)},
	}
	path := filepath.Join(t.TempDir(), "spool.db")
	s, err := spool.Open(spool.Options{Path: path, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	for i, tt := range tests {
		mustAppend(t, s, i, tt.data)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = spool.Open(spool.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	recs := mustPeek(t, s, 0, 0)
	if len(recs) != len(tests) {
		t.Fatalf("%d records after reopen, want %d", len(recs), len(tests))
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if r := recs[i]; r.Seq != uint64(i+1) || r.Points != i || !bytes.Equal(r.Data, tt.data) {
				t.Errorf("record %d: seq %d, %d points, %d bytes; want seq %d, %d points, %d bytes",
					i, r.Seq, r.Points, len(r.Data), i+1, i, len(tt.data))
			}
		})
	}
}

func TestClosedSpoolReturnsErrClosed(t *testing.T) {
	s, err := spool.Open(spool.Options{Path: filepath.Join(t.TempDir(), "spool.db"), NoSync: true})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	mustAppend(t, s, 1, []byte("a"))
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	calls := []struct {
		name string
		call func() error
	}{
		{"Append", func() error { _, err := s.Append(1, []byte("b")); return err }},
		{"Peek", func() error { _, err := s.Peek(1, 0); return err }},
		{"Ack", func() error { return s.Ack(1) }},
		{"Drop", func() error { return s.Drop(1, "invalid") }},
		{"Wait", func() error { return s.Wait(context.Background()) }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			if err := c.call(); !errors.Is(err, spool.ErrClosed) {
				t.Errorf("%s after Close = %v, want ErrClosed", c.name, err)
			}
		})
	}
}

func TestOpenRejectsBadOptions(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		opts spool.Options
	}{
		{"missing path", spool.Options{}},
		{"negative MaxBytes", spool.Options{Path: filepath.Join(dir, "a.db"), MaxBytes: -1}},
		{"negative LockTimeout", spool.Options{Path: filepath.Join(dir, "b.db"), LockTimeout: -1}},
		{"path is a directory", spool.Options{Path: dir}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if s, err := spool.Open(tt.opts); err == nil {
				s.Close()
				t.Fatalf("Open(%+v) succeeded", tt.opts)
			}
		})
	}
}

func TestOpenFailsWhileAnotherSpoolHoldsTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "spool.db")
	open(t, spool.Options{Path: path})
	s, err := spool.Open(spool.Options{Path: path, LockTimeout: 50 * time.Millisecond})
	if err == nil {
		s.Close()
	}
	if !errors.Is(err, spool.ErrLocked) {
		t.Fatalf("second Open of a held file = %v, want ErrLocked", err)
	}
}

func TestOpenRejectsForeignBoltFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "other.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("meta"))
		if err != nil {
			return err
		}
		return b.Put([]byte("format"), []byte("v9"))
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := spool.Open(spool.Options{Path: path}); !errors.Is(err, spool.ErrCorrupt) {
		t.Fatalf("Open of a foreign file = %v, want ErrCorrupt", err)
	}
}

func TestBoundedSizeDropsOldestAndCounts(t *testing.T) {
	tests := []struct {
		name        string
		maxBytes    int64
		sizes       []int // payload bytes of each record; record i carries i+1 points
		wantSeqs    []uint64
		wantDropped float64
	}{
		{
			name:     "within bound drops nothing",
			maxBytes: 1000, sizes: []int{300, 300, 400},
			wantSeqs: []uint64{1, 2, 3}, wantDropped: 0,
		},
		{
			name:     "one over drops the oldest",
			maxBytes: 1000, sizes: []int{300, 300, 400, 1},
			wantSeqs: []uint64{2, 3, 4}, wantDropped: 1,
		},
		{
			name:     "big record drops several",
			maxBytes: 1000, sizes: []int{200, 200, 200, 200, 700},
			wantSeqs: []uint64{4, 5}, wantDropped: 1 + 2 + 3,
		},
		{
			name:     "record of exactly MaxBytes empties the rest",
			maxBytes: 1000, sizes: []int{10, 20, 1000},
			wantSeqs: []uint64{3}, wantDropped: 1 + 2,
		},
		{
			name:     "steady stream keeps the newest",
			maxBytes: 1000, sizes: slices.Repeat([]int{100}, 25),
			wantSeqs: []uint64{16, 17, 18, 19, 20, 21, 22, 23, 24, 25}, wantDropped: 15 * 16 / 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, reg := open(t, spool.Options{MaxBytes: tt.maxBytes, NoSync: true})
			for i, n := range tt.sizes {
				mustAppend(t, s, i+1, payload(uint64(i), n))
			}
			recs := mustPeek(t, s, 0, 0)
			if got := seqs(recs); !slices.Equal(got, tt.wantSeqs) {
				t.Fatalf("kept %v, want %v", got, tt.wantSeqs)
			}
			for _, r := range recs {
				if !bytes.Equal(r.Data, payload(r.Seq-1, tt.sizes[r.Seq-1])) {
					t.Fatalf("record %d corrupted", r.Seq)
				}
			}
			if got := counter(t, reg, "headroom_spool_dropped_points_total", "reason", "full"); got != tt.wantDropped {
				t.Errorf("dropped_points_total{reason=full} = %v, want %v", got, tt.wantDropped)
			}
			st := s.Stats()
			if st.Bytes > tt.maxBytes {
				t.Errorf("Stats.Bytes = %d exceeds MaxBytes %d", st.Bytes, tt.maxBytes)
			}
			if float64(st.DroppedPoints) != tt.wantDropped {
				t.Errorf("Stats.DroppedPoints = %d, want %v", st.DroppedPoints, tt.wantDropped)
			}
			var points int64
			for _, r := range recs {
				points += int64(r.Points)
			}
			if st.Points != points || st.Records != int64(len(recs)) {
				t.Errorf("Stats = %+v, but records hold %d points in %d records", st, points, len(recs))
			}
		})
	}
}

func TestTooLargeRecordRejectedAndCounted(t *testing.T) {
	s, reg := open(t, spool.Options{MaxBytes: 1000, NoSync: true})
	mustAppend(t, s, 3, payload(0, 500))
	_, err := s.Append(42, payload(1, 1001))
	if !errors.Is(err, spool.ErrTooLarge) {
		t.Fatalf("Append of 1001 bytes with MaxBytes 1000 = %v, want ErrTooLarge", err)
	}
	if got := counter(t, reg, "headroom_spool_dropped_points_total", "reason", "too_large"); got != 42 {
		t.Errorf("dropped_points_total{reason=too_large} = %v, want 42", got)
	}
	if got := counter(t, reg, "headroom_spool_dropped_points_total", "reason", "full"); got != 0 {
		t.Errorf("dropped_points_total{reason=full} = %v, want 0: a refused record must not evict", got)
	}
	if got := seqs(mustPeek(t, s, 0, 0)); !slices.Equal(got, []uint64{1}) {
		t.Errorf("records after refusal = %v, want [1]", got)
	}
	if st := s.Stats(); st.DroppedPoints != 42 || st.AppendedPoints != 3 {
		t.Errorf("Stats = %+v, want 42 dropped and 3 appended points", st)
	}
	// The refused record used no sequence number.
	if seq := mustAppend(t, s, 1, []byte("x")); seq != 2 {
		t.Errorf("next Append got seq %d, want 2", seq)
	}
}

func TestDropCountsReason(t *testing.T) {
	s, reg := open(t, spool.Options{NoSync: true})
	for i := range uint64(3) {
		mustAppend(t, s, 5, payload(i, 10))
	}
	if err := s.Drop(2, "invalid"); err != nil {
		t.Fatalf("Drop: %v", err)
	}
	if err := s.Drop(2, "invalid"); err != nil {
		t.Fatalf("Drop of a dropped record: %v", err)
	}
	if err := s.Drop(99, "invalid"); err != nil {
		t.Fatalf("Drop of an unknown record: %v", err)
	}
	if err := s.Drop(1, ""); err == nil {
		t.Fatal("Drop with an empty reason succeeded")
	}
	if got := seqs(mustPeek(t, s, 0, 0)); !slices.Equal(got, []uint64{1, 3}) {
		t.Fatalf("records after Drop(2) = %v, want [1 3]", got)
	}
	if got := counter(t, reg, "headroom_spool_dropped_points_total", "reason", "invalid"); got != 5 {
		t.Errorf("dropped_points_total{reason=invalid} = %v, want 5", got)
	}
	if got := counter(t, reg, "headroom_spool_dropped_points_total", "reason", "full"); got != 0 {
		t.Errorf("dropped_points_total{reason=full} = %v, want 0", got)
	}
	if st := s.Stats(); st.Records != 2 || st.Points != 10 || st.DroppedPoints != 5 {
		t.Errorf("Stats = %+v, want 2 records, 10 points, 5 dropped", st)
	}
}

func TestMetricsLint(t *testing.T) {
	s, reg := open(t, spool.Options{NoSync: true})
	mustAppend(t, s, 1, []byte("x"))
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("metric %s: %s", p.Metric, p.Text)
	}
	if n := testutil.CollectAndCount(reg); n != 7 {
		// appended, acked, dropped{full}, dropped{too_large}, bytes, points, duration
		t.Errorf("registry holds %d series, want 7", n)
	}
}

func TestWaitReturnsWhenDataArrives(t *testing.T) {
	s, _ := open(t, spool.Options{NoSync: true})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	waiting := make(chan error, 1)
	go func() { waiting <- s.Wait(ctx) }()
	go func() {
		if _, err := s.Append(1, []byte("x")); err != nil {
			t.Errorf("Append: %v", err)
		}
	}()
	if err := <-waiting; err != nil {
		t.Fatalf("Wait = %v, want nil once a record is appended", err)
	}
	// Non-empty: returns at once.
	if err := s.Wait(ctx); err != nil {
		t.Fatalf("Wait on a non-empty spool = %v", err)
	}
}

func TestWaitReturnsCtxErrOnCancel(t *testing.T) {
	s, _ := open(t, spool.Options{NoSync: true})
	ctx, cancel := context.WithCancel(context.Background())
	waiting := make(chan error, 1)
	go func() { waiting <- s.Wait(ctx) }()
	cancel()
	select {
	case err := <-waiting:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Wait after cancel = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Wait did not return within 10s of cancel")
	}

	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := s.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait past deadline = %v, want context.DeadlineExceeded", err)
	}
}

func TestWaitReturnsErrClosedOnClose(t *testing.T) {
	s, err := spool.Open(spool.Options{Path: filepath.Join(t.TempDir(), "spool.db")})
	if err != nil {
		t.Fatal(err)
	}
	waiting := make(chan error, 1)
	go func() { waiting <- s.Wait(context.Background()) }()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-waiting:
		if !errors.Is(err, spool.ErrClosed) {
			t.Fatalf("Wait after Close = %v, want ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Wait did not return within 10s of Close")
	}
}

// TestAppenderAndWriterConcurrently runs the intended pair, one collector
// appending and one writer draining, and checks that every record arrives
// once, in order, with the totals agreeing. Run it with -race.
func TestAppenderAndWriterConcurrently(t *testing.T) {
	const n = 300
	s, reg := open(t, spool.Options{NoSync: true})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range uint64(n) {
			if _, err := s.Append(2, payload(i, 512)); err != nil {
				t.Errorf("Append: %v", err)
				return
			}
		}
	})
	var got []uint64
	for len(got) < n {
		if err := s.Wait(ctx); err != nil {
			t.Fatalf("Wait after %d records: %v", len(got), err)
		}
		recs, err := s.Peek(7, 2048)
		if err != nil {
			t.Fatalf("Peek: %v", err)
		}
		for _, r := range recs {
			if !bytes.Equal(r.Data, payload(r.Seq-1, 512)) {
				t.Fatalf("record %d corrupted", r.Seq)
			}
			got = append(got, r.Seq)
		}
		_ = s.Stats()
		if err := s.Ack(recs[len(recs)-1].Seq); err != nil {
			t.Fatalf("Ack: %v", err)
		}
	}
	wg.Wait()
	for i, seq := range got {
		if seq != uint64(i+1) {
			t.Fatalf("record %d has seq %d: order or uniqueness broken", i, seq)
		}
	}
	if st := s.Stats(); st.Records != 0 || st.AckedPoints != 2*n || st.AppendedPoints != 2*n {
		t.Fatalf("Stats = %+v, want empty with %d points appended and acked", st, 2*n)
	}
	if got := counter(t, reg, "headroom_spool_acked_points_total"); got != 2*n {
		t.Errorf("acked_points_total = %v, want %d", got, 2*n)
	}
}

// TestCloseWhileInUse closes the spool under a running appender and
// writer: each call either succeeds or returns ErrClosed, nothing panics,
// and what was appended is in the file.
func TestCloseWhileInUse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "spool.db")
	s, err := spool.Open(spool.Options{Path: path, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{}, 2)
	var wg sync.WaitGroup
	var appended uint64
	wg.Go(func() {
		for i := uint64(0); ; i++ {
			seq, err := s.Append(1, payload(i, 4096))
			if errors.Is(err, spool.ErrClosed) {
				return
			}
			if err != nil {
				t.Errorf("Append: %v", err)
				return
			}
			appended = seq
			if i == 10 {
				started <- struct{}{}
			}
		}
	})
	wg.Go(func() {
		for i := 0; ; i++ {
			if err := s.Wait(context.Background()); errors.Is(err, spool.ErrClosed) {
				return
			}
			_, err := s.Peek(3, 0)
			if errors.Is(err, spool.ErrClosed) {
				return
			}
			if err != nil {
				t.Errorf("Peek: %v", err)
				return
			}
			if i == 10 {
				started <- struct{}{}
			}
		}
	})
	<-started
	<-started
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	wg.Wait()

	s, err = spool.Open(spool.Options{Path: path})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if st := s.Stats(); st.Records != int64(appended) {
		t.Fatalf("reopened spool holds %d records, appender got seq %d", st.Records, appended)
	}
}

// crashEnv names the spool file for the child of TestCrashKeepsAppendedRecords.
const crashEnv = "HEADROOM_SPOOL_CRASH_CHILD"

// TestCrashChild is not a test: it is the child process of
// TestCrashKeepsAppendedRecords, which kills it with SIGKILL while it
// appends. It prints each sequence number once Append has returned.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		return
	}
	s, err := spool.Open(spool.Options{Path: path})
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(2)
	}
	// Bounded in case the parent dies without killing us.
	deadline := time.Now().Add(60 * time.Second)
	for i := uint64(0); time.Now().Before(deadline); i++ {
		seq, err := s.Append(int(i%100), payload(i, crashSize(i)))
		if err != nil {
			fmt.Fprintln(os.Stderr, "append:", err)
			os.Exit(2)
		}
		fmt.Println(seq) // unbuffered: a write(2) per line
	}
	os.Exit(3)
}

// crashSize varies record sizes between inline values and multi-page
// overflow values so that the crash hits bbolt in different places.
func crashSize(i uint64) int { return []int{200, 5000, 70_000, 300_000}[i%4] }

func TestCrashKeepsAppendedRecords(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	tests := []struct {
		name      string
		killAfter int // records the child reports before it is killed
	}{
		{"killed early", 3},
		{"killed after many appends", 60},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "spool.db")
			reported := runAndKill(t, path, tt.killAfter)
			if len(reported) < tt.killAfter {
				t.Fatalf("child reported %d appends before dying, want %d", len(reported), tt.killAfter)
			}
			checkBolt(t, path)

			s, err := spool.Open(spool.Options{Path: path, Registerer: prometheus.NewRegistry()})
			if err != nil {
				t.Fatalf("Open after kill: %v", err)
			}
			defer s.Close()
			recs := mustPeek(t, s, 0, 0)
			var points int64
			var bytesTotal int64
			for i, r := range recs {
				// Contiguous from 1: nothing lost or reordered. Records
				// past the last reported one may have been committed
				// before the child could print them.
				if r.Seq != uint64(i+1) {
					t.Fatalf("record %d has seq %d", i, r.Seq)
				}
				if r.Points != i%100 || !bytes.Equal(r.Data, payload(uint64(i), crashSize(uint64(i)))) {
					t.Fatalf("record %d has wrong content (%d points, %d bytes)", r.Seq, r.Points, len(r.Data))
				}
				points += int64(r.Points)
				bytesTotal += int64(len(r.Data))
			}
			last := reported[len(reported)-1]
			if uint64(len(recs)) < last {
				t.Fatalf("child reported seq %d appended, but only %d records survived", last, len(recs))
			}
			for i, seq := range reported {
				if seq != uint64(i+1) {
					t.Fatalf("child reported seq %d as its append %d", seq, i+1)
				}
			}
			st := s.Stats()
			if st.Records != int64(len(recs)) || st.Points != points || st.Bytes != bytesTotal {
				t.Fatalf("recovered Stats %+v disagree with records: %d records, %d points, %d bytes",
					st, len(recs), points, bytesTotal)
			}
			if seq := mustAppend(t, s, 1, []byte("after crash")); seq != uint64(len(recs))+1 {
				t.Fatalf("Append after crash got seq %d, want %d", seq, len(recs)+1)
			}
			t.Logf("child reported %d appends, %d records survived", len(reported), len(recs))
		})
	}
}

// runAndKill starts the crash child on path, kills it with SIGKILL once it
// has reported killAfter appends, and returns every sequence number it
// reported.
func runAndKill(t *testing.T, path string, killAfter int) []uint64 {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Whatever happens, the child does not outlive the test.
	timer := time.AfterFunc(60*time.Second, func() { cmd.Process.Kill() })
	defer timer.Stop()

	var reported []uint64
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		seq, err := strconv.ParseUint(sc.Text(), 10, 64)
		if err != nil {
			continue // not a sequence number: testing's own output
		}
		reported = append(reported, seq)
		if len(reported) == killAfter {
			if err := cmd.Process.Kill(); err != nil { // SIGKILL on Unix
				t.Fatalf("kill: %v", err)
			}
		}
	}
	err = cmd.Wait() // the lock on the file is released once it is reaped
	if len(reported) < killAfter {
		t.Fatalf("child exited (%v) after %d appends; stderr:\n%s", err, len(reported), stderr.String())
	}
	if ee := (*exec.ExitError)(nil); !errors.As(err, &ee) || ee.ExitCode() != -1 {
		t.Fatalf("child did not die by signal: %v; stderr:\n%s", err, stderr.String())
	}
	return reported
}

// checkBolt runs bbolt's own consistency check on the file.
func checkBolt(t *testing.T, path string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("bbolt open after kill: %v", err)
	}
	defer db.Close()
	if err := db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return err
		}
		return nil
	}); err != nil {
		t.Fatalf("bbolt check after kill: %v", err)
	}
}
