package influx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/influxdata/influxdb-client-go/v2/api"
	influxhttp "github.com/influxdata/influxdb-client-go/v2/api/http"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/headroomhq/headroom/sink/spool"
)

// Source is the spool as the writer sees it.
type Source interface {
	Wait(ctx context.Context) error
	Peek(maxRecords int, maxBytes int64) ([]spool.Record, error)
	Ack(upTo uint64) error
	Drop(seq uint64, reason string) error
}

// ErrUnauthorized is returned by Run when InfluxDB refuses the credentials
// (401/403): retrying cannot help, an operator must fix the token.
var ErrUnauthorized = errors.New("influxdb refused the credentials")

// Options configure a Writer.
type Options struct {
	URL    string
	Token  string // 1.8: "user:password" or empty; 2.x/3.x: an API token
	Org    string // 2.x/3.x
	Bucket string // 1.8: "database/retention-policy"
	// BatchPoints bounds the lines of one write request; default 5000.
	BatchPoints int
	// Timeout per write request; default 10s.
	Timeout    time.Duration
	Gzip       bool
	MinBackoff time.Duration // default 1s
	MaxBackoff time.Duration // default 5m
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Writer drains a spool into InfluxDB, oldest record first. A record is
// acknowledged only after InfluxDB accepted all of it, so delivery is at
// least once; InfluxDB keeps one point per series and timestamp, so a
// repeated write changes nothing.
type Writer struct {
	opts   Options
	src    Source
	client influxdb2.Client
	api    api.WriteAPIBlocking
	m      writerMetrics
}

type writerMetrics struct {
	written  prometheus.Counter
	requests *prometheus.CounterVec
	latency  prometheus.Histogram
	retries  prometheus.Counter
}

// New builds a Writer. It does not contact InfluxDB.
func New(src Source, opts Options) (*Writer, error) {
	if opts.URL == "" || opts.Bucket == "" {
		return nil, errors.New("influx: URL and Bucket are required")
	}
	if opts.BatchPoints <= 0 {
		opts.BatchPoints = 5000
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 5 * time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	copts := influxdb2.DefaultOptions().SetUseGZip(opts.Gzip).SetLogLevel(0).
		SetHTTPRequestTimeout(uint(opts.Timeout.Seconds() + 0.5))
	client := influxdb2.NewClientWithOptions(opts.URL, opts.Token, copts)
	w := &Writer{opts: opts, src: src, client: client, api: client.WriteAPIBlocking(opts.Org, opts.Bucket)}
	w.m = writerMetrics{
		written: prometheus.NewCounter(prometheus.CounterOpts{Name: "headroom_sink_points_written_total",
			Help: "Points InfluxDB accepted."}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "headroom_sink_write_requests_total",
			Help: "Write requests to InfluxDB by result: ok, retry, dropped, split, unauthorized."}, []string{"result"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "headroom_sink_write_duration_seconds",
			Help: "Latency of write requests to InfluxDB.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 12)}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{Name: "headroom_sink_write_retries_total",
			Help: "Write attempts that will be retried after a backoff."}),
	}
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(w.m.written, w.m.requests, w.m.latency, w.m.retries)
	}
	return w, nil
}

// Close releases the client's connections.
func (w *Writer) Close() { w.client.Close() }

// Run writes until ctx ends (returning nil) or InfluxDB refuses the
// credentials (returning an error wrapping ErrUnauthorized). Nothing is lost
// on return: what was not acknowledged stays in the spool.
func (w *Writer) Run(ctx context.Context) error {
	backoff := time.Duration(0)
	for {
		if err := w.src.Wait(ctx); err != nil {
			return nil
		}
		progressed, retryAfter, retryErr, err := w.drainOnce(ctx)
		if err != nil {
			return err
		}
		if progressed {
			backoff = 0
			continue
		}
		if ctx.Err() != nil {
			return nil
		}
		backoff = nextBackoff(backoff, w.opts.MinBackoff, w.opts.MaxBackoff)
		wait := max(backoff, retryAfter)
		w.opts.Logger.Warn("influxdb write failed; retrying", "in", wait.Round(time.Millisecond), "err", retryErr)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// Flush writes until the spool is empty, a write fails, or ctx ends: the
// last chance at shutdown. It returns the first error it met.
func (w *Writer) Flush(ctx context.Context) error {
	for ctx.Err() == nil {
		recs, err := w.src.Peek(1, 0)
		if err != nil {
			return err
		}
		if len(recs) == 0 {
			return nil
		}
		progressed, _, retryErr, err := w.drainOnce(ctx)
		if err != nil {
			return err
		}
		if !progressed {
			return fmt.Errorf("influxdb write failed during flush; the rest stays in the spool: %w", retryErr)
		}
	}
	return ctx.Err()
}

// drainOnce writes the oldest records, in order, as far as InfluxDB lets it.
// When a write must be retried later it stops there and returns the write's
// error as retryErr; err is for what retrying cannot fix.
func (w *Writer) drainOnce(ctx context.Context) (progressed bool, retryAfter time.Duration, retryErr, err error) {
	recs, err := w.src.Peek(64, maxPeekBytes)
	if err != nil {
		return false, 0, nil, fmt.Errorf("read spool: %w", err)
	}
	for _, r := range recs {
		res := w.writeLines(ctx, r.Data)
		switch res.outcome {
		case outcomeOK:
			if err := w.src.Ack(r.Seq); err != nil {
				return progressed, 0, nil, fmt.Errorf("ack spool record %d: %w", r.Seq, err)
			}
			w.m.written.Add(float64(r.Points))
			progressed = true
		case outcomeDrop:
			w.opts.Logger.Error("influxdb rejected points; dropping them", "points", r.Points, "err", res.err)
			if err := w.src.Drop(r.Seq, "rejected"); err != nil {
				return progressed, 0, nil, fmt.Errorf("drop spool record %d: %w", r.Seq, err)
			}
			progressed = true
		case outcomeFatal:
			return progressed, 0, nil, fmt.Errorf("%w: %v (check influx.token and its permissions on bucket %q)",
				ErrUnauthorized, res.err, w.opts.Bucket)
		case outcomeRetry:
			w.m.retries.Inc()
			w.opts.Logger.Debug("influxdb write to retry", "err", res.err)
			return progressed, res.retryAfter, res.err, nil
		}
	}
	return progressed, 0, nil, nil
}

type outcome int

const (
	outcomeOK outcome = iota
	outcomeRetry
	outcomeDrop
	outcomeFatal
)

type writeResult struct {
	outcome    outcome
	retryAfter time.Duration
	err        error
}

// maxPeekBytes bounds what one drain pass holds in memory.
const maxPeekBytes = 32 << 20

// writeLines writes data (whole lines) in requests of at most BatchPoints lines,
// splitting in halves when InfluxDB says a request is too large. Lines
// already written in a failed record are written again on retry; that is
// harmless (same series, same timestamp).
func (w *Writer) writeLines(ctx context.Context, data []byte) writeResult {
	for len(data) > 0 {
		chunk := firstLines(data, w.opts.BatchPoints)
		res := w.writeChunk(ctx, chunk)
		if res.outcome != outcomeOK {
			return res
		}
		data = data[len(chunk):]
	}
	return writeResult{outcome: outcomeOK}
}

func (w *Writer) writeChunk(ctx context.Context, chunk []byte) writeResult {
	rctx, cancel := context.WithTimeout(ctx, w.opts.Timeout)
	defer cancel()
	t0 := time.Now()
	err := w.api.WriteRecord(rctx, string(bytes.TrimRight(chunk, "\n")))
	w.m.latency.Observe(time.Since(t0).Seconds())
	res := classify(err)
	if res.outcome == outcomeSplit {
		half := firstLines(chunk, bytes.Count(chunk, []byte{'\n'})/2)
		if len(half) == 0 || len(half) == len(chunk) {
			w.m.requests.WithLabelValues("dropped").Inc()
			return writeResult{outcome: outcomeDrop, err: fmt.Errorf("a single line is too large for influxdb: %w", err)}
		}
		w.m.requests.WithLabelValues("split").Inc()
		if r := w.writeChunk(ctx, half); r.outcome != outcomeOK {
			return r
		}
		return w.writeChunk(ctx, chunk[len(half):])
	}
	w.m.requests.WithLabelValues(res.label()).Inc()
	return res.writeResult
}

const outcomeSplit outcome = 100

type classified struct {
	writeResult
}

func (c classified) label() string {
	switch c.outcome {
	case outcomeOK:
		return "ok"
	case outcomeRetry:
		return "retry"
	case outcomeDrop:
		return "dropped"
	default:
		return "unauthorized"
	}
}

// classify sorts a write error as Telegraf does.
func classify(err error) classified {
	if err == nil {
		return classified{writeResult{outcome: outcomeOK}}
	}
	var he *influxhttp.Error
	if !errors.As(err, &he) || he.StatusCode == 0 {
		return classified{writeResult{outcome: outcomeRetry, err: err}} // network error, timeout
	}
	r := writeResult{err: err, retryAfter: time.Duration(he.RetryAfter) * time.Second}
	switch code := he.StatusCode; {
	case code == http.StatusBadRequest || code == http.StatusUnprocessableEntity:
		r.outcome = outcomeDrop
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		r.outcome = outcomeFatal
	case code == http.StatusRequestEntityTooLarge:
		r.outcome = outcomeSplit
	default: // 429, 5xx and anything unexpected: try again later
		r.outcome = outcomeRetry
	}
	return classified{r}
}

// firstLines returns the first n lines of data (all of it when it has fewer).
func firstLines(data []byte, n int) []byte {
	if n <= 0 {
		return nil
	}
	end := 0
	for range n {
		i := bytes.IndexByte(data[end:], '\n')
		if i < 0 {
			return data
		}
		end += i + 1
	}
	return data[:end]
}

// nextBackoff doubles the previous delay within [min, max], with jitter.
func nextBackoff(prev, lo, hi time.Duration) time.Duration {
	d := prev * 2
	if d < lo {
		d = lo
	}
	if d > hi {
		d = hi
	}
	return d/2 + rand.N(d/2+1)
}
