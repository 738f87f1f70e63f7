package sink

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/headroomhq/headroom"
)

// Appender stores one record durably: a spool.
type Appender interface {
	Append(points int, data []byte) (uint64, error)
}

// Queue is the collector's sink: it encodes a cycle's points as line
// protocol and appends them to the spool as one record. When Write returns
// nil the points are on disk; points that cannot be encoded are logged and
// left out, never the whole cycle.
type Queue struct {
	spool  Appender
	logger *slog.Logger
	mu     sync.Mutex
	enc    Encoder
	buf    []byte
}

// NewQueue returns a Queue appending to spool.
func NewQueue(spool Appender, logger *slog.Logger) *Queue {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Queue{spool: spool, logger: logger}
}

// Write encodes and appends points. It is safe for concurrent use (one
// collector per cluster calls it).
func (q *Queue) Write(_ context.Context, points []headroom.Point) error {
	if len(points) == 0 {
		return nil
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	out, n, err := q.enc.Encode(q.buf[:0], points)
	q.buf = out[:0]
	if err != nil {
		q.logger.Warn("points left out", "err", err)
	}
	if n == 0 {
		return nil
	}
	if _, err := q.spool.Append(n, out); err != nil {
		return fmt.Errorf("spool %d points: %w", n, err)
	}
	return nil
}
