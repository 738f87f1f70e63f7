package localstack

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"
)

// Influx is an influxd the stack or a test started. A test that needs an
// outage starts its own with StartInflux, then stops and starts it again:
// same port, same data.
type Influx struct {
	URL                string
	bin, dir, logDir   string
	httpPort, bindPort int
	proc               Process
}

// StartInflux starts a private influxd on free ports with its data in dir.
func (s *State) StartInflux(ctx context.Context, dir string) (*Influx, error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	in := &Influx{bin: s.Binaries["influxd"], dir: dir, logDir: dir, httpPort: ports[0], bindPort: ports[1],
		URL: "http://" + hostPort(ports[0])}
	if err := in.Start(ctx); err != nil {
		return nil, err
	}
	return in, nil
}

// Start runs influxd and waits until it answers /ping.
func (in *Influx) Start(ctx context.Context) error {
	if err := os.MkdirAll(in.dir, 0o755); err != nil {
		return err
	}
	conf := filepath.Join(in.dir, "influxdb.conf")
	body := fmt.Appendf(nil, influxConfigTemplate, hostPort(in.bindPort), in.dir, hostPort(in.httpPort))
	if err := os.WriteFile(conf, body, 0o644); err != nil {
		return err
	}
	p, err := startProcess(in.logDir, "influxd", in.bin, []string{"run", "-config", conf}, nil)
	if err != nil {
		return err
	}
	in.proc = p
	c := &http.Client{Timeout: 5 * time.Second}
	return pollUntil(ctx, "influxd", &in.proc, 100*time.Millisecond, httpOK(c, in.URL+"/ping", ""))
}

// Stop stops influxd (SIGTERM, then SIGKILL after 10 s).
func (in *Influx) Stop() error { return stopProcess(in.proc, 10*time.Second) }

// CreateDatabase creates a database (idempotent).
func (in *Influx) CreateDatabase(ctx context.Context, name string) error {
	return createDatabase(ctx, in.URL, name)
}

func createDatabase(ctx context.Context, base, name string) error {
	q := url.Values{"q": {fmt.Sprintf("CREATE DATABASE %q", name)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/query", nil)
	if err != nil {
		return err
	}
	req.URL.RawQuery = q.Encode()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("create influx database %s: %w", name, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("create influx database %s: %s", name, resp.Status)
	}
	return nil
}

// CreateInfluxDatabase creates a database in the stack's InfluxDB, so that
// each test can write where no other test does.
func (s *State) CreateInfluxDatabase(ctx context.Context, name string) error {
	return createDatabase(ctx, s.InfluxURL, name)
}
