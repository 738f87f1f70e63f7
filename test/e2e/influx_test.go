package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// influxSeries is one series of an InfluxQL answer.
type influxSeries struct {
	Name    string            `json:"name"`
	Tags    map[string]string `json:"tags"`
	Columns []string          `json:"columns"`
	Values  [][]any           `json:"values"`
}

// influxQL runs an InfluxQL query through the 1.x /query endpoint.
func influxQL(ctx context.Context, base, db, q string) ([]influxSeries, error) {
	u := base + "/query?" + url.Values{"db": {db}, "q": {q}, "epoch": {"s"}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out struct {
		Results []struct {
			Series []influxSeries `json:"series"`
			Error  string         `json:"error"`
		} `json:"results"`
		Error string `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("%s: %w", q, err)
	}
	if out.Error != "" {
		return nil, fmt.Errorf("%s: %s", q, out.Error)
	}
	var series []influxSeries
	for _, r := range out.Results {
		if r.Error != "" {
			return nil, fmt.Errorf("%s: %s", q, r.Error)
		}
		series = append(series, r.Series...)
	}
	return series, nil
}

// column returns the value of column name in row.
func (s influxSeries) column(row []any, name string) any {
	for i, c := range s.Columns {
		if c == name && i < len(row) {
			return row[i]
		}
	}
	return nil
}
