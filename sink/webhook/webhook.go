package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// Timeout bounds one post, connection and answer included.
const Timeout = 30 * time.Second

// Post posts v as JSON to u with client (http.DefaultClient when nil)
// within Timeout. Any answer but 2xx is an error.
func Post(ctx context.Context, client *http.Client, u string, v any) error {
	if client == nil {
		client = http.DefaultClient
	}
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return errors.New("webhook: the URL is not valid") // the parse error would quote it
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL
		}
		return fmt.Errorf("webhook at %s: %w", req.URL.Host, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook at %s answered %s", req.URL.Host, resp.Status)
	}
	return nil
}
