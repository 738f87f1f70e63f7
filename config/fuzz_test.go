package config

import (
	"os"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// FuzzParse checks that Parse never panics, that what it accepts validates
// and marshals, and that the secret it expands never shows in its errors or
// its output. It reads no environment and no files.
func FuzzParse(f *testing.F) {
	example, err := os.ReadFile("example.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		string(example),
		minimal,
		"",
		"collection:\n  interval: 15\n",
		"clusters:\n- name: a\n  timeout: 20s\n",
		"influx:\n  token: ${X}$$${Y\n",
		"spool:\n  maxBytes: 1.5GiB\n",
		"influx:\n  tokenFile: /token\n",
		"---\n---\n",
		"a: &a [*a]\n",
	} {
		f.Add([]byte(seed))
	}
	const secret = "fUzZ-s3cr3t"
	env := environ{
		lookupEnv: func(string) (string, bool) { return secret, true },
		readFile:  func(string) ([]byte, error) { return []byte(secret), nil },
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := parse(b, "fuzz.yaml", env)
		leaks := !strings.Contains(strings.ToLower(string(b)), strings.ToLower(secret))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yaml: ") {
				t.Errorf("error does not start with the source: %v", err)
			}
			if leaks && strings.Contains(err.Error(), secret) {
				t.Errorf("error shows the secret: %v", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Errorf("Parse accepted a config that Validate rejects: %v", err)
		}
		out, err := yaml.Marshal(c)
		if err != nil {
			t.Errorf("Marshal: %v", err)
		}
		if leaks && strings.Contains(string(out), secret) {
			t.Errorf("marshalled config shows the secret:\n%s", out)
		}
	})
}

// FuzzParseByteSize checks that ParseByteSize never panics and that what it
// accepts survives String.
func FuzzParseByteSize(f *testing.F) {
	for _, s := range []string{"0", "1GiB", "1.5Gi", "512MiB", "1K", "1.1", "99999999999999999999Ti", ".", "1..2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ParseByteSize(s)
		if err != nil {
			return
		}
		if b < 0 {
			t.Fatalf("ParseByteSize(%q) = %d, negative", s, b)
		}
		if back, err := ParseByteSize(b.String()); err != nil || back != b {
			t.Fatalf("ParseByteSize(%q) = %d; String %q reads back as %d, %v", s, b, b.String(), back, err)
		}
	})
}
