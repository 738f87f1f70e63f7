package spool

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Defaults for Options.
const (
	DefaultMaxBytes    int64 = 1 << 30 // 1 GiB of payload
	DefaultLockTimeout       = time.Second
)

// Drop reasons the spool uses itself. Callers of Drop pass their own, from a
// small fixed set: the reason becomes a metric label.
const (
	ReasonFull     = "full"      // evicted, oldest first, to make room for a new record
	ReasonTooLarge = "too_large" // a single record larger than Options.MaxBytes
)

var (
	// ErrClosed is returned by every method called after Close.
	ErrClosed = errors.New("spool: closed")
	// ErrTooLarge is returned by Append for a record larger than
	// Options.MaxBytes; the record is not stored and its points are counted
	// as dropped.
	ErrTooLarge = errors.New("spool: record larger than MaxBytes")
	// ErrLocked is returned by Open when another process, or another Spool,
	// holds the file.
	ErrLocked = errors.New("spool: file is held by another process")
	// ErrCorrupt is returned when the file holds something this package did
	// not write.
	ErrCorrupt = errors.New("spool: corrupt file")
)

// Options configure a Spool. The zero value of every field but Path is a
// usable default.
type Options struct {
	// Path is the bbolt file, created with mode 0600 if missing. Required.
	Path string
	// MaxBytes bounds the payload bytes stored (the sum of len(data) over
	// the records). An Append that would exceed it first drops the oldest
	// records. Default DefaultMaxBytes (1 GiB).
	MaxBytes int64
	// LockTimeout is how long Open waits for another process to release its
	// lock on the file before failing. Default DefaultLockTimeout (1s).
	LockTimeout time.Duration
	// Logger receives drops and recovery. Default: discard.
	Logger *slog.Logger
	// Registerer receives the headroom_spool_* metrics; nil registers none.
	Registerer prometheus.Registerer
	// NoSync skips fsync on commit, so a crash can lose records. For tests
	// and benchmarks only; default false: every Append is on disk when it
	// returns.
	NoSync bool
}

// Record is one stored record: an opaque payload and the number of points
// it carries.
type Record struct {
	Seq    uint64 // assigned by Append, increasing, never reused in one file
	Points int
	Data   []byte
}

// Stats describe a Spool. Records, Points and Bytes are what is stored now
// (recovered by Open); the others count since Open.
type Stats struct {
	Records        int64
	Points         int64
	Bytes          int64 // payload bytes; the file can be larger
	AppendedPoints int64
	AckedPoints    int64
	DroppedPoints  int64 // for any reason, including records refused by Append
}

// Spool is a durable, bounded FIFO of records in one bbolt file. One
// goroutine may Append while another Waits, Peeks, Acks and Drops.
type Spool struct {
	db       *bolt.DB
	maxBytes int64
	log      *slog.Logger
	m        *metrics

	// wmu serializes the write transactions with the updates of the
	// in-memory totals that follow them, so those totals are applied in
	// commit order. Close holds it while closing the file.
	wmu sync.Mutex

	mu     sync.Mutex // guards the fields below
	closed bool
	tot    totals
	since  Stats         // AppendedPoints, AckedPoints and DroppedPoints only
	notify chan struct{} // closed, then replaced, when a record is added
	done   chan struct{} // closed by Close
}

var (
	recordsBucket = []byte("records")
	metaBucket    = []byte("meta")

	keyFormat  = []byte("format")
	keyNext    = []byte("next")
	keyRecords = []byte("records")
	keyPoints  = []byte("points")
	keyBytes   = []byte("bytes")
)

// formatVersion is stored in the meta bucket so that a later change of the
// record encoding is detected instead of misread.
const formatVersion = 1

// Each record is a sub-bucket of the records bucket, named by its sequence
// number, holding its point count (8 bytes) under pointsKey and its payload
// under dataKey. Why not plain values: bbolt keeps two to four values of
// any size in one leaf page and rewrites the whole leaf on every change, so
// multi-megabyte values side by side would be copied again by each later
// Append and each eviction (measured: 1 MiB appends ran at a third of the
// speed). A sub-bucket larger than a page has pages of its own, the records
// bucket holds only small bucket headers, and a commit writes a new record
// once.
var (
	pointsKey = []byte("p")
	dataKey   = []byte("d")
)

// errNoop rolls back a write transaction that found nothing to do, so that
// an empty Ack or Drop costs no fsync.
var errNoop = errors.New("spool: nothing to do")

// totals are what the meta bucket stores, updated in the same transaction
// as the records they describe.
type totals struct {
	next    uint64 // sequence of the next record
	records int64
	points  int64
	bytes   int64
}

// Open opens or creates the spool at opts.Path and recovers its totals from
// the meta bucket, so it does not read the records. It fails with
// ErrLocked if another process (or Spool) holds the file longer than
// opts.LockTimeout, and with ErrCorrupt if the file was not written by this
// package.
func Open(opts Options) (*Spool, error) {
	if opts.Path == "" {
		return nil, errors.New("spool: Options.Path is required")
	}
	if opts.MaxBytes < 0 {
		return nil, fmt.Errorf("spool: Options.MaxBytes is %d, want > 0 (or 0 for the default)", opts.MaxBytes)
	}
	if opts.LockTimeout < 0 {
		return nil, fmt.Errorf("spool: Options.LockTimeout is %s, want > 0 (or 0 for the default)", opts.LockTimeout)
	}
	if opts.MaxBytes == 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.LockTimeout == 0 {
		opts.LockTimeout = DefaultLockTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}

	db, err := bolt.Open(opts.Path, 0o600, &bolt.Options{
		Timeout: opts.LockTimeout,
		NoSync:  opts.NoSync,
		// etcd's choice: the hashmap freelist finds a run of free pages
		// for a multi-page record without scanning the whole list.
		FreelistType: bolt.FreelistMapType,
	})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("spool: open %s: %w after %s", opts.Path, ErrLocked, opts.LockTimeout)
	}
	if err != nil {
		return nil, fmt.Errorf("spool: open %s: %w", opts.Path, err)
	}
	var tot totals
	if err := db.Update(func(tx *bolt.Tx) error {
		var err error
		tot, err = load(tx)
		return err
	}); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("spool: recover %s: %w", opts.Path, err)
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("spool: %w", err)
	}
	m.bytes.Set(float64(tot.bytes))
	m.points.Set(float64(tot.points))

	s := &Spool{
		db:       db,
		maxBytes: opts.MaxBytes,
		log:      opts.Logger,
		m:        m,
		tot:      tot,
		notify:   make(chan struct{}),
		done:     make(chan struct{}),
	}
	s.log.Info("spool opened", "path", opts.Path, "records", tot.records, "points", tot.points,
		"bytes", tot.bytes, "next_seq", tot.next, "max_bytes", opts.MaxBytes)
	return s, nil
}

// load creates the buckets of a new file and reads the totals of an
// existing one. A file without totals (only a new one, since totals and
// records are always written together) has them computed from its records.
func load(tx *bolt.Tx) (totals, error) {
	recs, err := tx.CreateBucketIfNotExists(recordsBucket)
	if err != nil {
		return totals{}, err
	}
	meta, err := tx.CreateBucketIfNotExists(metaBucket)
	if err != nil {
		return totals{}, err
	}
	if v := meta.Get(keyFormat); v != nil {
		if len(v) != 8 || binary.BigEndian.Uint64(v) != formatVersion {
			return totals{}, fmt.Errorf("%w: unknown format %x", ErrCorrupt, v)
		}
	} else if err := meta.Put(keyFormat, u64(formatVersion)); err != nil {
		return totals{}, err
	}

	var last uint64
	if k, _ := recs.Cursor().Last(); k != nil {
		if len(k) != 8 {
			return totals{}, fmt.Errorf("%w: record key %x", ErrCorrupt, k)
		}
		last = binary.BigEndian.Uint64(k)
	}

	tot, ok, err := readTotals(meta)
	if err != nil {
		return totals{}, err
	}
	if !ok {
		tot = totals{next: 1}
		err := recs.ForEach(func(k, _ []byte) error {
			points, data, err := decode(recs, k)
			if err != nil {
				return err
			}
			tot.records++
			tot.points += int64(points)
			tot.bytes += int64(len(data))
			return nil
		})
		if err != nil {
			return totals{}, err
		}
	}
	// Never reuse a sequence number, even if the totals lag behind the
	// records (they cannot, but a reused number would break Ack).
	tot.next = max(tot.next, last+1)
	return tot, tot.put(meta)
}

func readTotals(meta *bolt.Bucket) (totals, bool, error) {
	var vals [4]uint64
	for i, k := range [][]byte{keyNext, keyRecords, keyPoints, keyBytes} {
		v := meta.Get(k)
		if v == nil {
			return totals{}, false, nil
		}
		if len(v) != 8 {
			return totals{}, false, fmt.Errorf("%w: meta %s is %d bytes", ErrCorrupt, k, len(v))
		}
		vals[i] = binary.BigEndian.Uint64(v)
	}
	return totals{next: vals[0], records: int64(vals[1]), points: int64(vals[2]), bytes: int64(vals[3])}, true, nil
}

func (t totals) put(meta *bolt.Bucket) error {
	for _, kv := range []struct {
		k []byte
		v uint64
	}{
		{keyNext, t.next},
		{keyRecords, uint64(t.records)},
		{keyPoints, uint64(t.points)},
		{keyBytes, uint64(t.bytes)},
	} {
		if err := meta.Put(kv.k, u64(kv.v)); err != nil {
			return err
		}
	}
	return nil
}

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

// decode returns the point count and payload of record k in recs; the
// payload aliases bbolt's memory and is valid only inside the transaction.
func decode(recs *bolt.Bucket, k []byte) (points int, data []byte, err error) {
	var p []byte
	if b := recs.Bucket(k); b != nil {
		p, data = b.Get(pointsKey), b.Get(dataKey)
	}
	if len(k) != 8 || len(p) != 8 {
		return 0, nil, fmt.Errorf("%w: record %x is not a point count and a payload", ErrCorrupt, k)
	}
	return int(binary.BigEndian.Uint64(p)), data, nil
}

// removed sums the records a transaction deleted.
type removed struct {
	records     int64
	points      int64
	bytes       int64
	first, last uint64
}

// removeFirst deletes the oldest record of recs, adding it to r.
func removeFirst(recs *bolt.Bucket, r *removed) error {
	k, _ := recs.Cursor().First()
	points, data, err := decode(recs, k)
	if err != nil {
		return err
	}
	seq := binary.BigEndian.Uint64(k)
	if r.records == 0 {
		r.first = seq
	}
	r.last = seq
	r.records++
	r.points += int64(points)
	r.bytes += int64(len(data))
	return recs.DeleteBucket(u64(seq))
}

func (t totals) minus(r removed) totals {
	t.records -= r.records
	t.points -= r.points
	t.bytes -= r.bytes
	return t
}

// Append stores one record and returns its sequence number. It blocks until
// the record is on disk (one bbolt transaction, fsynced unless
// Options.NoSync), so a record Append accepted survives a crash. If the
// stored payload would exceed Options.MaxBytes, the oldest records are
// dropped in the same transaction and counted with reason "full". A record
// larger than MaxBytes is not stored: its points are counted as dropped with
// reason "too_large" and Append returns ErrTooLarge. Append does not keep
// data. After Close it returns ErrClosed.
func (s *Spool) Append(points int, data []byte) (uint64, error) {
	if points < 0 {
		return 0, fmt.Errorf("spool: append: negative point count %d", points)
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.isClosed() {
		return 0, ErrClosed
	}
	if n := int64(len(data)); n > s.maxBytes {
		s.m.droppedPoints.WithLabelValues(ReasonTooLarge).Add(float64(points))
		s.mu.Lock()
		s.since.DroppedPoints += int64(points)
		s.mu.Unlock()
		s.log.Warn("spool record too large, dropped", "bytes", n, "max_bytes", s.maxBytes, "points", points)
		return 0, fmt.Errorf("%w: %d bytes, max %d", ErrTooLarge, n, s.maxBytes)
	}

	start := time.Now()

	var (
		tot     totals
		evicted removed
	)
	err := s.db.Update(func(tx *bolt.Tx) error {
		evicted = removed{}
		recs := tx.Bucket(recordsBucket)
		for s.tot.bytes-evicted.bytes+int64(len(data)) > s.maxBytes {
			if err := removeFirst(recs, &evicted); err != nil {
				return err
			}
		}
		tot = s.tot.minus(evicted)
		seq := tot.next
		rec, err := recs.CreateBucket(u64(seq))
		if err != nil {
			return err
		}
		if err := rec.Put(pointsKey, u64(uint64(points))); err != nil {
			return err
		}
		// bbolt reads data at commit, before Update returns: no copy.
		if err := rec.Put(dataKey, data); err != nil {
			return err
		}
		tot.next++
		tot.records++
		tot.points += int64(points)
		tot.bytes += int64(len(data))
		return tot.put(tx.Bucket(metaBucket))
	})
	if err != nil {
		return 0, fmt.Errorf("spool: append: %w", err)
	}
	s.m.appendDuration.Observe(time.Since(start).Seconds())

	s.mu.Lock()
	s.tot = tot
	s.since.AppendedPoints += int64(points)
	s.since.DroppedPoints += evicted.points
	close(s.notify)
	s.notify = make(chan struct{})
	s.mu.Unlock()

	s.m.appendedPoints.Add(float64(points))
	s.setGauges(tot)
	if evicted.records > 0 {
		s.m.droppedPoints.WithLabelValues(ReasonFull).Add(float64(evicted.points))
		s.log.Warn("spool full, dropped oldest records", "records", evicted.records, "points", evicted.points,
			"bytes", evicted.bytes, "first_seq", evicted.first, "last_seq", evicted.last, "max_bytes", s.maxBytes)
	}
	return tot.next - 1, nil
}

// Peek returns the oldest records in order without removing them: at most
// maxRecords records (no limit if <= 0) whose payloads add up to at most
// maxBytes (no limit if <= 0), but always the oldest record if there is one,
// however large. It returns no records (nil) if the spool is empty. The
// returned Data are copies the caller owns. After Close it returns
// ErrClosed.
func (s *Spool) Peek(maxRecords int, maxBytes int64) ([]Record, error) {
	if s.isClosed() {
		return nil, ErrClosed
	}
	var out []Record
	err := s.db.View(func(tx *bolt.Tx) error {
		var total int64
		recs := tx.Bucket(recordsBucket)
		c := recs.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if maxRecords > 0 && len(out) >= maxRecords {
				break
			}
			points, data, err := decode(recs, k)
			if err != nil {
				return err
			}
			if len(out) > 0 && maxBytes > 0 && total+int64(len(data)) > maxBytes {
				break
			}
			total += int64(len(data))
			out = append(out, Record{
				Seq:    binary.BigEndian.Uint64(k),
				Points: points,
				Data:   bytes.Clone(data),
			})
		}
		return nil
	})
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return nil, ErrClosed
	}
	if err != nil {
		return nil, fmt.Errorf("spool: peek: %w", err)
	}
	return out, nil
}

// Ack removes every record with Seq <= upTo, durably. The writer calls it
// after storing the records; acking records that are gone already (acked,
// dropped or evicted meanwhile) is not an error. After Close it returns
// ErrClosed.
func (s *Spool) Ack(upTo uint64) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.isClosed() {
		return ErrClosed
	}
	var acked removed
	err := s.db.Update(func(tx *bolt.Tx) error {
		acked = removed{}
		recs := tx.Bucket(recordsBucket)
		c := recs.Cursor()
		for k, _ := c.First(); k != nil && binary.BigEndian.Uint64(k) <= upTo; k, _ = c.First() {
			if err := removeFirst(recs, &acked); err != nil {
				return err
			}
		}
		if acked.records == 0 {
			return errNoop
		}
		return s.tot.minus(acked).put(tx.Bucket(metaBucket))
	})
	if errors.Is(err, errNoop) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("spool: ack %d: %w", upTo, err)
	}
	tot := s.tot.minus(acked)
	s.mu.Lock()
	s.tot = tot
	s.since.AckedPoints += acked.points
	s.mu.Unlock()
	s.m.ackedPoints.Add(float64(acked.points))
	s.setGauges(tot)
	return nil
}

// Drop removes the record seq without it being written, durably, and counts
// its points as dropped for reason, which must be one of a small fixed set
// (it becomes a metric label), such as "invalid" for data the database
// rejected. Dropping a record that is gone already does nothing. After
// Close it returns ErrClosed.
func (s *Spool) Drop(seq uint64, reason string) error {
	if reason == "" {
		return errors.New("spool: drop: empty reason")
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.isClosed() {
		return ErrClosed
	}
	var dropped removed
	err := s.db.Update(func(tx *bolt.Tx) error {
		dropped = removed{}
		recs := tx.Bucket(recordsBucket)
		k := u64(seq)
		if recs.Bucket(k) == nil {
			return errNoop
		}
		points, data, err := decode(recs, k)
		if err != nil {
			return err
		}
		dropped = removed{records: 1, points: int64(points), bytes: int64(len(data)), first: seq, last: seq}
		if err := recs.DeleteBucket(k); err != nil {
			return err
		}
		return s.tot.minus(dropped).put(tx.Bucket(metaBucket))
	})
	if errors.Is(err, errNoop) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("spool: drop %d: %w", seq, err)
	}
	tot := s.tot.minus(dropped)
	s.mu.Lock()
	s.tot = tot
	s.since.DroppedPoints += dropped.points
	s.mu.Unlock()
	s.m.droppedPoints.WithLabelValues(reason).Add(float64(dropped.points))
	s.setGauges(tot)
	s.log.Warn("spool record dropped", "seq", seq, "points", dropped.points, "bytes", dropped.bytes, "reason", reason)
	return nil
}

// Wait blocks until the spool holds at least one record, and returns nil
// then (at once if it holds one already). It returns ctx.Err() when ctx
// ends first and ErrClosed when the spool is closed.
func (s *Spool) Wait(ctx context.Context) error {
	for {
		s.mu.Lock()
		closed, n, notify := s.closed, s.tot.records, s.notify
		s.mu.Unlock()
		if closed {
			return ErrClosed
		}
		if n > 0 {
			return nil
		}
		select {
		case <-notify:
		case <-s.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Stats returns the spool's current totals and its counts since Open. It
// never blocks on disk and works after Close.
func (s *Spool) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.since
	st.Records = s.tot.records
	st.Points = s.tot.points
	st.Bytes = s.tot.bytes
	return st
}

// Close waits for a write in progress, closes the file and unregisters the
// metrics, so the same file can be opened again with the same registry.
// Waiters return ErrClosed. Calling Close again does nothing.
func (s *Spool) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	s.mu.Unlock()

	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.m.unregister()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("spool: close: %w", err)
	}
	return nil
}

func (s *Spool) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *Spool) setGauges(t totals) {
	s.m.bytes.Set(float64(t.bytes))
	s.m.points.Set(float64(t.points))
}
