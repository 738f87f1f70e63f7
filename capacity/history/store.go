package history

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/headroomhq/headroom/capacity/forecast"
)

// DefaultRetention is how long a Store keeps values unless told otherwise.
const DefaultRetention = 35 * 24 * time.Hour

// pruneEvery is how often, in data time, Append drops expired values.
const pruneEvery = time.Hour

var (
	bucketSeries = []byte("series")
	bucketMeta   = []byte("meta")
	keyVersion   = []byte("version")
	formatV1     = []byte{1}
)

// ErrLocked is returned by Open when another process holds the file.
var ErrLocked = errors.New("history: file is held by another process")

// Options configure a Store.
type Options struct {
	// Path is the bbolt file, created with mode 0600 if missing. Required.
	Path string
	// Retention is how long values are kept, counted back from the newest
	// value appended. Default DefaultRetention (35 days).
	Retention time.Duration
	// LockTimeout is how long Open waits for another process's lock.
	// Default 1s.
	LockTimeout time.Duration
	// NoSync skips fsync on commit: tests and benchmarks only.
	NoSync bool
}

// Store is the history file: per series key, values by time. Safe for
// concurrent use.
type Store struct {
	db        *bolt.DB
	retention time.Duration
	lastPrune time.Time // data time of the last prune; guarded by bbolt's writer lock
}

// Open opens or creates the history file.
func Open(o Options) (*Store, error) {
	if o.Path == "" {
		return nil, errors.New("history: Path is required")
	}
	if o.Retention <= 0 {
		o.Retention = DefaultRetention
	}
	if o.LockTimeout <= 0 {
		o.LockTimeout = time.Second
	}
	db, err := bolt.Open(o.Path, 0o600, &bolt.Options{Timeout: o.LockTimeout, NoSync: o.NoSync})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("%w: %s", ErrLocked, o.Path)
		}
		return nil, fmt.Errorf("history: open %s: %w", o.Path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		switch v := meta.Get(keyVersion); {
		case v == nil:
			if err := meta.Put(keyVersion, formatV1); err != nil {
				return err
			}
		case string(v) != string(formatV1):
			return fmt.Errorf("format version %v, this headroomd reads version %v", v, formatV1)
		}
		_, err = tx.CreateBucketIfNotExists(bucketSeries)
		return err
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("history: %s: %w", o.Path, err)
	}
	return &Store{db: db, retention: o.Retention}, nil
}

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }

// Append stores samples at t (to the second), in one transaction: all or
// none. A value already stored for a key at t is replaced. Once an hour of
// data time, values older than the retention before t are dropped.
func (s *Store) Append(t time.Time, samples []Sample) error {
	ts := encodeTime(t)
	err := s.db.Update(func(tx *bolt.Tx) error {
		root := tx.Bucket(bucketSeries)
		for _, smp := range samples {
			if math.IsNaN(smp.Value) || math.IsInf(smp.Value, 0) {
				continue
			}
			b, err := root.CreateBucketIfNotExists([]byte(smp.Key.String()))
			if err != nil {
				return err
			}
			var v [8]byte
			binary.BigEndian.PutUint64(v[:], math.Float64bits(smp.Value))
			if err := b.Put(ts, v[:]); err != nil {
				return err
			}
		}
		if t.Sub(s.lastPrune) >= pruneEvery {
			if err := prune(root, t.Add(-s.retention)); err != nil {
				return err
			}
			s.lastPrune = t
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("history: append: %w", err)
	}
	return nil
}

// prune deletes values before cutoff and series left empty.
func prune(root *bolt.Bucket, cutoff time.Time) error {
	end := encodeTime(cutoff)
	var empty [][]byte
	err := root.ForEachBucket(func(name []byte) error {
		b := root.Bucket(name)
		c := b.Cursor()
		for k, _ := c.First(); k != nil && string(k) < string(end); k, _ = c.First() {
			if err := c.Delete(); err != nil {
				return err
			}
		}
		if k, _ := c.First(); k == nil {
			empty = append(empty, append([]byte(nil), name...))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, name := range empty {
		if err := root.DeleteBucket(name); err != nil {
			return err
		}
	}
	return nil
}

// Keys lists the series stored, in key order.
func (s *Store) Keys() ([]Key, error) {
	var keys []Key
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSeries).ForEachBucket(func(name []byte) error {
			k, err := ParseKey(string(name))
			if err != nil {
				return err // not written by this package
			}
			keys = append(keys, k)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("history: keys: %w", err)
	}
	return keys, nil
}

// Empty says whether nothing is stored (a first start).
func (s *Store) Empty() (bool, error) {
	empty := true
	err := s.db.View(func(tx *bolt.Tx) error {
		k, _ := tx.Bucket(bucketSeries).Cursor().First()
		empty = k == nil
		return nil
	})
	return empty, err
}

// Series returns k's values in [from, to) at step: each step's value is the
// mean of the values stored in it, NaN where there are none. The series
// starts at from truncated to step.
func (s *Store) Series(k Key, from, to time.Time, step time.Duration) (forecast.Series, error) {
	if step <= 0 {
		return forecast.Series{}, fmt.Errorf("history: step %v: must be positive", step)
	}
	from = from.Truncate(step)
	n := 0
	if to.After(from) {
		n = int((to.Sub(from) + step - 1) / step)
	}
	sums := make([]float64, n)
	counts := make([]int, n)
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSeries).Bucket([]byte(k.String()))
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for tk, v := c.Seek(encodeTime(from)); tk != nil; tk, v = c.Next() {
			t := decodeTime(tk)
			if !t.Before(to) {
				break
			}
			if len(v) != 8 {
				return fmt.Errorf("series %s at %v: value of %d bytes", k, t, len(v))
			}
			i := int(t.Sub(from) / step)
			if i < 0 || i >= n {
				continue
			}
			sums[i] += math.Float64frombits(binary.BigEndian.Uint64(v))
			counts[i]++
		}
		return nil
	})
	if err != nil {
		return forecast.Series{}, fmt.Errorf("history: %w", err)
	}
	for i := range sums {
		if counts[i] == 0 {
			sums[i] = math.NaN()
		} else {
			sums[i] /= float64(counts[i])
		}
	}
	return forecast.Series{Start: from, Step: step, Values: sums}, nil
}

// Last returns k's newest value and its time; ok is false when k has none.
func (s *Store) Last(k Key) (t time.Time, v float64, ok bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSeries).Bucket([]byte(k.String()))
		if b == nil {
			return nil
		}
		tk, vb := b.Cursor().Last()
		if tk == nil || len(vb) != 8 {
			return nil
		}
		t, v, ok = decodeTime(tk), math.Float64frombits(binary.BigEndian.Uint64(vb)), true
		return nil
	})
	return t, v, ok, err
}

// Times are stored as big-endian seconds since 1970 offset by 2^63, so that
// byte order is time order, before 1970 too.
func encodeTime(t time.Time) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(t.Unix())^(1<<63))
	return b[:]
}

func decodeTime(b []byte) time.Time {
	return time.Unix(int64(binary.BigEndian.Uint64(b)^(1<<63)), 0).UTC()
}
