package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// minimal is the smallest valid file; tests append to or edit it.
const minimal = `clusters:
- name: a
influx:
  url: http://127.0.0.1:8086
  bucket: b
spool:
  path: /tmp/spool.db
`

func TestLoadExample(t *testing.T) {
	t.Setenv("INFLUX_TOKEN", "example-token")
	c, err := Load("example.yaml")
	if err != nil {
		t.Fatalf("Load(example.yaml): %v", err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate after Load: %v", err)
	}
	if got := c.Influx.Token.Reveal(); got != "example-token" {
		t.Errorf("influx.token = %q, want the expanded $INFLUX_TOKEN", got)
	}
	if len(c.Clusters) != 2 {
		t.Fatalf("got %d clusters, want 2", len(c.Clusters))
	}

	// The example writes every default out: it must agree with Default.
	want := Default()
	if !reflect.DeepEqual(c.Collection, want.Collection) {
		t.Errorf("example collection = %+v, want the defaults %+v", c.Collection, want.Collection)
	}
	first := c.Clusters[0]
	if first.Name != "osl2" || first.Kubeconfig != "/etc/headroom/kubeconfig" || first.Context != "osl2" ||
		first.Source != SourceKubelet || first.Endpoint != EndpointResource {
		t.Errorf("clusters[0] = %+v", first)
	}
	if first.Overrides != (Overrides{}) {
		t.Errorf("clusters[0] overrides = %+v, want none", first.Overrides)
	}
	second := c.Clusters[1].Effective(c.Collection)
	wantSecond := Collection{
		Interval:       Duration(30 * time.Second),
		Timeout:        Duration(10 * time.Second),
		Concurrency:    5,
		Jitter:         Duration(2 * time.Second),
		AppLabels:      []string{"app.kubernetes.io/name"},
		PoolLabels:     []string{"node.kubernetes.io/instance-type"},
		PodMeasurement: true,
	}
	if !reflect.DeepEqual(second, wantSecond) {
		t.Errorf("clusters[1] effective = %+v, want %+v", second, wantSecond)
	}
	in := c.Influx
	if in.URL != "http://127.0.0.1:8086" || in.Bucket != "headroom/autogen" || in.BatchPoints != 5000 ||
		in.Timeout != Duration(10*time.Second) || !in.Gzip || in.MaxRetryBackoff != Duration(5*time.Minute) {
		t.Errorf("influx = %+v", in)
	}
	if c.Spool != (Spool{Path: "/var/lib/headroom/spool.db", MaxBytes: GiB}) {
		t.Errorf("spool = %+v", c.Spool)
	}
	if c.Server != (Server{Listen: "127.0.0.1:9108"}) {
		t.Errorf("server = %+v", c.Server)
	}
	if c.Gate.Policy.NPlusOne != "" || len(c.Gate.Policy.MaxShare) != 0 {
		t.Errorf("gate = %+v, want the default: no policy", c.Gate)
	}
	if got, want := c.LivenessStaleAfter(), 90*time.Second; got != want {
		t.Errorf("LivenessStaleAfter() = %s, want 3 × the longest interval (30s) = %s", got, want)
	}
}

func TestParseAppliesDefaultsToOmittedFields(t *testing.T) {
	c, err := Parse([]byte(minimal), "minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	d := Default()
	if !reflect.DeepEqual(c.Collection, d.Collection) {
		t.Errorf("collection = %+v, want %+v", c.Collection, d.Collection)
	}
	cl := c.Clusters[0]
	if cl.Source != SourceKubelet || cl.Endpoint != EndpointResource || cl.KubeletPort != 0 {
		t.Errorf("cluster = %+v, want source kubelet, endpoint resource, port 0", cl)
	}
	if !reflect.DeepEqual(cl.Effective(c.Collection), d.Collection) {
		t.Errorf("a cluster without overrides should inherit the collection")
	}
	d.Influx.URL, d.Influx.Bucket = "http://127.0.0.1:8086", "b"
	if c.Influx != d.Influx {
		t.Errorf("influx = %+v, want %+v", c.Influx, d.Influx)
	}
	if c.Spool.MaxBytes != GiB {
		t.Errorf("spool.maxBytes = %s, want 1GiB", c.Spool.MaxBytes)
	}
	if c.Server != d.Server {
		t.Errorf("server = %+v, want %+v", c.Server, d.Server)
	}
	if got := c.LivenessStaleAfter(); got != 45*time.Second {
		t.Errorf("LivenessStaleAfter() = %s, want 45s", got)
	}
}

func TestParseKeepsExplicitValuesThatEqualZero(t *testing.T) {
	in := `collection:
  appLabels: []
  podMeasurement: true
clusters:
- name: a
  poolLabels: []
  podMeasurement: false
influx:
  url: https://influx.example:8086
  bucket: b
  gzip: false
spool:
  path: /tmp/s.db
  maxBytes: 512MiB
server:
  livenessStaleAfter: 2m
`
	c, err := Parse([]byte(in), "x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Collection.AppLabels == nil || len(c.Collection.AppLabels) != 0 {
		t.Errorf("appLabels = %#v, want empty", c.Collection.AppLabels)
	}
	e := c.Clusters[0].Effective(c.Collection)
	if len(e.PoolLabels) != 0 || e.PodMeasurement || len(e.AppLabels) != 0 {
		t.Errorf("effective = %+v, want no pool labels and no pod measurement", e)
	}
	if c.Influx.Gzip {
		t.Error("influx.gzip: false was replaced by the default")
	}
	if c.Spool.MaxBytes != 512*MiB {
		t.Errorf("spool.maxBytes = %s", c.Spool.MaxBytes)
	}
	if got := c.LivenessStaleAfter(); got != 2*time.Minute {
		t.Errorf("LivenessStaleAfter() = %s, want 2m", got)
	}
}

func TestEffectiveSharesNoMemory(t *testing.T) {
	labels := []string{"x"}
	cl := Cluster{Overrides: Overrides{AppLabels: &labels}}
	d := Default().Collection
	e := cl.Effective(d)
	e.AppLabels[0] = "changed"
	e.PoolLabels[0] = "changed"
	if labels[0] != "x" || d.PoolLabels[0] == "changed" {
		t.Error("Effective returned slices shared with its inputs")
	}
}

// TestParseYAMLErrors checks that problems found while decoding name the
// file and the line.
func TestParseYAMLErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"unknown top-level field", minimal + "sinks: {}\n", []string{"line 8", "field sinks not found"}},
		{"unknown field in influx on line 7", `clusters:
- name: a
influx:
  url: http://127.0.0.1:8086
  bucket: b
  gzip: true
  tokne: x
spool:
  path: /tmp/s.db
`, []string{"line 7", "field tokne not found"}},
		{"unknown field in a cluster", "clusters:\n- name: a\n  sorce: kubelet\n", []string{"line 3", "field sorce not found"}},
		{"unknown field in collection", "collection:\n  intervall: 15s\n", []string{"line 2", "field intervall not found"}},
		{"duration without unit", "collection:\n  interval: 15\n", []string{"line 2", "missing unit"}},
		{"duration with a bad unit", "clusters:\n- name: a\n  timeout: 5x\n", []string{"line 3", `unknown unit "x"`}},
		{"duration not a scalar", "collection:\n  jitter: [1s]\n", []string{"line 2", "a duration must be"}},
		{"byte size with a bad unit", "spool:\n  maxBytes: 1GB2\n", []string{"line 2", "invalid byte size"}},
		{"integer field given text", "collection:\n  concurrency: many\n", []string{"line 2", "cannot unmarshal"}},
		{"token not a scalar", "influx:\n  token: {a: b}\n", []string{"line 2", "a secret must be a string"}},
		{"syntax error", "clusters:\n- name: a\n  bad\n  x: y\n", []string{"line 3", "could not find expected ':'"}},
		{"duplicate key", "spool:\n  path: a\nspool:\n  path: b\n", []string{"line 3", `"spool" already defined at line 1`}},
		{"second document", minimal + "---\nclusters: []\n", []string{"line 8", "second YAML document"}},
		{"empty file", "", []string{"no YAML document"}},
		{"every problem reported", "collection:\n  interval: 15\n  timeout: 5\n", []string{"line 2", "line 3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in), "headroom.yaml")
			if err == nil {
				t.Fatal("Parse succeeded, want an error")
			}
			var fe *FileError
			if !errors.As(err, &fe) || fe.Source != "headroom.yaml" {
				t.Errorf("error %T is not a *FileError for headroom.yaml", err)
			}
			msg := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q", msg, w)
				}
			}
			for _, line := range strings.Split(msg, "\n") {
				if !strings.HasPrefix(line, "headroom.yaml: ") {
					t.Errorf("error line %q does not start with the file name", line)
				}
			}
		})
	}
}

func TestParseReportsValidationErrorsWithFileAndField(t *testing.T) {
	in := strings.Replace(minimal, "- name: a\n", "- name: a\n- name: b\n  timeout: 20s\n", 1)
	_, err := Parse([]byte(in), "headroom.yaml")
	want := "headroom.yaml: clusters[1].timeout: timeout 20s must be less than interval 15s"
	if err == nil || err.Error() != want {
		t.Fatalf("Parse error = %v, want %q", err, want)
	}
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "clusters[1].timeout" {
		t.Errorf("errors.As(*FieldError) = %v, want field clusters[1].timeout", fe)
	}
}

func TestLoadMissingFileNamesIt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.yaml")
	_, err := Load(path)
	if err == nil || !strings.Contains(err.Error(), path) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want an os.ErrNotExist naming %s", err, path)
	}
}

func TestLoadNamesPathInErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "headroom.yaml")
	if err := os.WriteFile(path, []byte("collection:\n  bogus: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if err == nil || !strings.HasPrefix(err.Error(), path+": line 2: ") {
		t.Errorf("Load error = %v, want it to start %q", err, path+": line 2: ")
	}
}

func TestTokenExpansion(t *testing.T) {
	base := strings.Replace(minimal, "  bucket: b\n", "  bucket: b\n  token: 'TOKEN'\n", 1)
	tests := []struct {
		name    string
		token   string
		env     map[string]string
		want    string // the expanded token, when no error
		wantErr string
	}{
		{name: "variable", token: "${HR_TEST_TOKEN}", env: map[string]string{"HR_TEST_TOKEN": "abc"}, want: "abc"},
		{name: "user and password around variables", token: "${HR_TEST_USER}:${HR_TEST_PASS}", env: map[string]string{"HR_TEST_USER": "u", "HR_TEST_PASS": "p"}, want: "u:p"},
		{name: "set but empty", token: "${HR_TEST_TOKEN}", env: map[string]string{"HR_TEST_TOKEN": ""}, want: ""},
		{name: "double dollar is a dollar", token: "pa$$word", want: "pa$word"},
		{name: "no expansion in the value", token: "${HR_TEST_TOKEN}", env: map[string]string{"HR_TEST_TOKEN": "$HOME"}, want: "$HOME"},
		{name: "literal", token: "plain", want: "plain"},
		{name: "unset variable", token: "${HR_TEST_UNSET}", wantErr: "influx.token: environment variable HR_TEST_UNSET is not set"},
		{name: "lone dollar", token: "pa$word", wantErr: `influx.token: a "$" must start ${VAR}`},
		{name: "unterminated", token: "${HR_TEST", wantErr: "influx.token: unterminated ${"},
		{name: "invalid name", token: "${1A}", wantErr: "influx.token: invalid variable name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c, err := Parse([]byte(strings.Replace(base, "TOKEN", tt.token, 1)), "headroom.yaml")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), "headroom.yaml: "+tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Influx.Token.Reveal(); got != tt.want {
				t.Errorf("token = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestExpansionOnlyInToken(t *testing.T) {
	// A $ anywhere else is taken literally: no blanket expansion.
	in := strings.Replace(minimal, "  path: /tmp/spool.db", "  path: /tmp/$HOME/${NOT_SET}.db", 1)
	c, err := Parse([]byte(in), "x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Spool.Path != "/tmp/$HOME/${NOT_SET}.db" {
		t.Errorf("spool.path = %q, want it unexpanded", c.Spool.Path)
	}
}

func TestTokenFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "token")
	if err := os.WriteFile(file, []byte("  file-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	withFile := func(p string) []byte {
		return []byte(strings.Replace(minimal, "  bucket: b\n", "  bucket: b\n  tokenFile: "+p+"\n", 1))
	}

	c, err := Parse(withFile(file), "x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := c.Influx.AuthToken()
	if err != nil || tok.Reveal() != "file-token" {
		t.Errorf("AuthToken() = %q, %v; want the trimmed file contents", tok.Reveal(), err)
	}
	if c.Influx.Token != "" {
		t.Error("tokenFile should not be copied into token")
	}

	for name, p := range map[string]string{"missing": filepath.Join(dir, "missing"), "empty": empty} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(withFile(p), "x.yaml")
			if err == nil || !strings.Contains(err.Error(), "x.yaml: influx.tokenFile: ") {
				t.Errorf("error = %v, want it to name influx.tokenFile", err)
			}
		})
	}

	t.Run("token given too", func(t *testing.T) {
		in := strings.Replace(string(withFile(file)), "  bucket: b\n", "  bucket: b\n  token: t\n", 1)
		_, err := Parse([]byte(in), "x.yaml")
		if err == nil || !strings.Contains(err.Error(), "influx.tokenFile: set together with influx.token") {
			t.Errorf("error = %v, want the token/tokenFile conflict", err)
		}
	})
}

func TestLivenessStaleAfterWithoutClusters(t *testing.T) {
	c := Default()
	if got := c.LivenessStaleAfter(); got != 45*time.Second {
		t.Errorf("LivenessStaleAfter() = %s, want 3 × collection.interval", got)
	}
}

func TestParseGatePolicy(t *testing.T) {
	c, err := Parse([]byte(minimal+"gate:\n  policy:\n    nPlusOne: zone\n    maxShare: {cpu: 0.8, nvidia.com/gpu: 1}\n"), "g.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := GatePolicy{NPlusOne: "zone", MaxShare: map[string]float64{"cpu": 0.8, "nvidia.com/gpu": 1}}
	if !reflect.DeepEqual(c.Gate.Policy, want) {
		t.Errorf("gate.policy = %+v, want %+v", c.Gate.Policy, want)
	}
	_, err = Parse([]byte(minimal+"gate:\n  policy:\n    nPlusOne: zone\n    maxShare: {cpu: 1.5}\n    spare: 1\n"), "g.yaml")
	if err == nil || !strings.Contains(err.Error(), "field spare not found") {
		t.Errorf("an unknown gate field: %v", err)
	}
}
