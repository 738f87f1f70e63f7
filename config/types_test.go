package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestParseByteSize(t *testing.T) {
	tests := []struct {
		in      string
		want    ByteSize
		wantErr string
	}{
		{in: "0", want: 0},
		{in: "1073741824", want: GiB},
		{in: "100B", want: 100},
		{in: "1GiB", want: GiB},
		{in: "1Gi", want: GiB},
		{in: "512MiB", want: 512 * MiB},
		{in: "512Mi", want: 512 * MiB},
		{in: "4KiB", want: 4 * KiB},
		{in: "2Ti", want: 2 * TiB},
		{in: "1.5GiB", want: 3 * GiB / 2},
		{in: "1k", want: 1000},
		{in: "1K", want: 1000},
		{in: "1KB", want: 1000},
		{in: "2M", want: 2_000_000},
		{in: "3G", want: 3_000_000_000},
		{in: "1TB", want: 1_000_000_000_000},
		{in: "0.5K", want: 500},
		{in: "8388607Ti", want: 8388607 * TiB},
		{in: "", wantErr: "empty"},
		{in: "GiB", wantErr: "want digits"},
		{in: "1.", wantErr: "want digits"},
		{in: ".5Gi", wantErr: "want digits"},
		{in: "1.2.3", wantErr: "want digits"},
		{in: "-1Gi", wantErr: "want digits"},
		{in: "+1Gi", wantErr: "want digits"},
		{in: "1 GiB", wantErr: "unknown unit"},
		{in: "1gib", wantErr: "unknown unit"},
		{in: "1e3", wantErr: "unknown unit"},
		{in: "1Gb", wantErr: "unknown unit"},
		{in: "0x10", wantErr: "unknown unit"},
		{in: "1.1", wantErr: "not a whole number of bytes"},
		{in: "8388608Ti", wantErr: "too large"},
		{in: "99999999999999999999", wantErr: "too large"},
		{in: strings.Repeat("1", 65), wantErr: "too long"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseByteSize(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), fmt.Sprintf("%q", tt.in)) {
					t.Fatalf("ParseByteSize(%q) = %d, %v; want an error quoting the input and saying %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseByteSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestByteSizeStringRoundTrips(t *testing.T) {
	for _, b := range []ByteSize{0, 1, 1000, 1500, KiB, 3 * GiB / 2, 512 * MiB, GiB, 5 * TiB} {
		s := b.String()
		back, err := ParseByteSize(s)
		if err != nil || back != b {
			t.Errorf("ParseByteSize(%d.String() = %q) = %d, %v", b, s, back, err)
		}
	}
	if got := (512 * MiB).String(); got != "512MiB" {
		t.Errorf("String() = %q, want 512MiB", got)
	}
	if got := (3 * GiB / 2).String(); got != "1536MiB" {
		t.Errorf("String() = %q, want 1536MiB", got)
	}
}

func TestDurationYAML(t *testing.T) {
	var v struct {
		A, B, C Duration
	}
	if err := yaml.Unmarshal([]byte("a: 15s\nb: 0\nc: 1h30m\n"), &v); err != nil {
		t.Fatal(err)
	}
	if v.A != Duration(15*time.Second) || v.B != 0 || v.C != Duration(90*time.Minute) {
		t.Errorf("decoded %+v", v)
	}
	out, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if want := "a: 15s\nb: 0s\nc: 1h30m0s\n"; string(out) != want {
		t.Errorf("Marshal = %q, want %q", out, want)
	}
}

func TestSecretNeverPrinted(t *testing.T) {
	const secret = "s3cr3t-t0ken"
	t.Setenv("INFLUX_TOKEN", secret)
	c, err := Load("example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Influx.Token.Reveal() != secret {
		t.Fatal("token not expanded")
	}
	out, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "influx", c.Influx, "token", c.Influx.Token)
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "influx", c.Influx, "token", c.Influx.Token)

	for name, s := range map[string]string{
		"%v":          fmt.Sprintf("%v", c),
		"%+v":         fmt.Sprintf("%+v", c),
		"%#v":         fmt.Sprintf("%#v", c),
		"%s on token": fmt.Sprintf("%s", c.Influx.Token),
		"%q on token": fmt.Sprintf("%q", c.Influx.Token),
		"%x on token": fmt.Sprintf("%x", c.Influx.Token),
		"yaml":        string(out),
		"json":        string(js),
		"slog":        logged.String(),
	} {
		if strings.Contains(s, secret) || strings.Contains(s, fmt.Sprintf("%x", secret)) {
			t.Errorf("%s shows the secret: %s", name, s)
		}
		if !strings.Contains(s, "REDACTED") && !strings.Contains(s, fmt.Sprintf("%x", "REDACTED")) {
			t.Errorf("%s does not show REDACTED: %s", name, s)
		}
	}
	if !strings.Contains(string(out), "token: REDACTED") {
		t.Errorf("yaml has no redacted token:\n%s", out)
	}
	if got := Secret("").String(); got != "" {
		t.Errorf("empty secret prints %q, want empty", got)
	}
}

func TestExpand(t *testing.T) {
	env := map[string]string{"A": "x", "B_2": "y$z", "EMPTY": ""}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	tests := []struct {
		in, want, wantErr string
	}{
		{in: "", want: ""},
		{in: "plain", want: "plain"},
		{in: "${A}", want: "x"},
		{in: "pre-${A}-${B_2}-post", want: "pre-x-y$z-post"},
		{in: "${EMPTY}", want: ""},
		{in: "$$", want: "$"},
		{in: "$${A}", want: "${A}"},
		{in: "a$$$${A}", want: "a$${A}"},
		{in: "$$${A}", want: "$x"},
		{in: "${MISSING}", wantErr: "environment variable MISSING is not set"},
		{in: "$A", wantErr: `a "$" must start ${VAR}`},
		{in: "x$", wantErr: `a "$" must start ${VAR}`},
		{in: "${A", wantErr: "unterminated ${ at byte 0"},
		{in: "${}", wantErr: "invalid variable name"},
		{in: "${9A}", wantErr: "invalid variable name"},
		{in: "${A-B}", wantErr: "invalid variable name"},
		{in: "${A:-default}", wantErr: "invalid variable name"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := expand(tt.in, lookup)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("expand(%q) = %q, %v; want error %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("expand(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}
