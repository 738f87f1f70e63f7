package localstack

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// pollUntil calls check every interval until it returns nil, ctx ends, or
// p (when given) dies. The last check error is returned with ctx's.
func pollUntil(ctx context.Context, what string, p *Process, interval time.Duration, check func(context.Context) error) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	var last error
	for {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		last = check(cctx)
		cancel()
		if last == nil {
			return nil
		}
		if p != nil && !p.alive() {
			return exitedError(*p)
		}
		select {
		case <-ctx.Done():
			msg := fmt.Sprintf("waiting for %s: %v (last: %v)", what, ctx.Err(), last)
			if p != nil {
				msg += fmt.Sprintf("; last lines of %s:\n%s", p.Log, tailLog(p.Log, 15))
			}
			return fmt.Errorf("%s", msg)
		case <-t.C:
		}
	}
}

// httpClient trusts caFile (or skips verification when caFile is empty: the
// kube components' self-served health endpoints) and sends token if set.
func httpClient(caFile string) (*http.Client, error) {
	tlsCfg := &tls.Config{InsecureSkipVerify: caFile == ""} //nolint:gosec // local health checks only
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("read CA: %w", err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		tlsCfg.RootCAs = pool
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: tlsCfg}, Timeout: 5 * time.Second}, nil
}

// httpOK returns a check that wants a 2xx answer from url.
func httpOK(c *http.Client, url, token string) func(context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("%s: %s: %s", url, resp.Status, body)
		}
		return nil
	}
}
