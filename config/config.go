package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is headroomd's configuration file. Build one with Default (then
// Validate it) or with Load or Parse, which apply the defaults and validate.
//
// Relative paths in it (kubeconfig, kubeletCAFile, tokenFile, spool.path) are
// relative to the process's working directory, not to the file.
type Config struct {
	// Collection holds the defaults every cluster inherits; see
	// Cluster.Effective.
	Collection Collection `yaml:"collection"`
	// Clusters are scraped independently; at least one.
	Clusters []Cluster `yaml:"clusters"`
	Influx   Influx    `yaml:"influx"`
	Spool    Spool     `yaml:"spool"`
	Server   Server    `yaml:"server"`
	Gate     Gate      `yaml:"gate"`
	History  History   `yaml:"history"`
	Forecast Forecast  `yaml:"forecast"`
	Alerting Alerting  `yaml:"alerting"`
	// Schedules say when the alert rules run and the report is written.
	Schedules Schedules `yaml:"schedules"`
	Report    Report    `yaml:"report"`
	// LeaderElection shares a datacenter between replicas.
	LeaderElection LeaderElection `yaml:"leaderElection"`
}

// Collection says how and how often a cluster is scraped.
type Collection struct {
	// Interval is how often each cluster is scraped. Default 15s.
	Interval Duration `yaml:"interval"`
	// Timeout bounds the scrape of one node (or one metrics-server call);
	// it must be less than Interval. Default 5s.
	Timeout Duration `yaml:"timeout"`
	// Concurrency bounds how many nodes of one cluster are scraped at once.
	// Default 20.
	Concurrency int `yaml:"concurrency"`
	// Jitter is the largest random delay before a node's scrape within a
	// cycle; Jitter+Timeout must be less than Interval. Default 1s.
	Jitter Duration `yaml:"jitter"`
	// AppLabels are pod labels tried in order; the first present names the
	// app, else the owning workload's name does. Default
	// app.kubernetes.io/name, app, k8s-app.
	AppLabels []string `yaml:"appLabels"`
	// PoolLabels are node labels tried in order; the first present names
	// the node's pool. Default: headroom.local/pool then the GKE, EKS, AKS
	// and Karpenter pool labels, then the instance type.
	PoolLabels []string `yaml:"poolLabels"`
	// PodMeasurement also writes per-pod series (tag pod). Off by default:
	// it multiplies the series count and is meant for short retention.
	PodMeasurement bool `yaml:"podMeasurement"`
}

// Source says how a cluster's usage is read.
type Source string

// Sources.
const (
	// SourceKubelet reads each node's kubelet directly, as metrics-server does.
	SourceKubelet Source = "kubelet"
	// SourceKubeletProxy reads each kubelet through the apiserver's node proxy.
	SourceKubeletProxy Source = "kubelet-proxy"
	// SourceMetricsServer reads metrics.k8s.io.
	SourceMetricsServer Source = "metrics-server"
)

var sources = []Source{SourceKubelet, SourceKubeletProxy, SourceMetricsServer}

// Endpoint is the kubelet endpoint read by the kubelet sources.
type Endpoint string

// Endpoints.
const (
	// EndpointResource is /metrics/resource: CPU and memory.
	EndpointResource Endpoint = "resource"
	// EndpointSummary is /stats/summary: adds network and filesystem.
	EndpointSummary Endpoint = "summary"
)

var endpoints = []Endpoint{EndpointResource, EndpointSummary}

// Cluster is one Kubernetes cluster to scrape.
type Cluster struct {
	// Name is the cluster tag on every point: a DNS label, unique.
	Name string `yaml:"name"`
	// Kubeconfig is a kubeconfig file. With Kubeconfig and Context both
	// empty the in-cluster config is used; with only Context set, the
	// default kubeconfig loading rules ($KUBECONFIG, ~/.kube/config).
	Kubeconfig string `yaml:"kubeconfig"`
	// Context is the kubeconfig context; empty means its current-context.
	Context string `yaml:"context"`
	// Source defaults to SourceKubelet.
	Source Source `yaml:"source"`
	// Endpoint applies to the kubelet sources; defaults to EndpointResource.
	Endpoint Endpoint `yaml:"endpoint"`
	// KubeletPort overrides the port in each node's status
	// (daemonEndpoints.kubeletEndpoint.Port) when not 0; kubelet sources.
	KubeletPort int `yaml:"kubeletPort"`
	// KubeletInsecureSkipVerify skips verifying the kubelets' serving
	// certificates; source kubelet only, not with KubeletCAFile.
	KubeletInsecureSkipVerify bool `yaml:"kubeletInsecureSkipVerify"`
	// KubeletCAFile verifies the kubelets' serving certificates; empty means
	// the kubeconfig's CA; source kubelet only.
	KubeletCAFile string `yaml:"kubeletCAFile"`
	// Scheduler is how the cluster's kube-scheduler is configured where it
	// departs from the defaults, so that the deploy gate answers as it
	// would.
	Scheduler Scheduler `yaml:"scheduler"`
	// Overrides are written inline beside the fields above.
	Overrides Overrides `yaml:",inline"`
}

// Scheduler holds the settings of a KubeSchedulerConfiguration the deploy
// gate models; zero values are kube-scheduler's defaults.
type Scheduler struct {
	// PercentageOfNodesToScore: 0 adapts to the cluster's size (the
	// default), 100 filters and scores every node.
	PercentageOfNodesToScore int `yaml:"percentageOfNodesToScore"`
	// Parallelism is how many goroutines filter and score nodes: 0 means
	// the default, 16. It decides which of equally scored nodes a pod gets;
	// with 1 that no longer depends on timing and the gate gives one answer.
	Parallelism int `yaml:"parallelism"`
}

// Overrides are a cluster's own Collection settings. A nil field inherits
// the top-level collection's.
type Overrides struct {
	Interval       *Duration `yaml:"interval,omitempty"`
	Timeout        *Duration `yaml:"timeout,omitempty"`
	Concurrency    *int      `yaml:"concurrency,omitempty"`
	Jitter         *Duration `yaml:"jitter,omitempty"`
	AppLabels      *[]string `yaml:"appLabels,omitempty"`
	PoolLabels     *[]string `yaml:"poolLabels,omitempty"`
	PodMeasurement *bool     `yaml:"podMeasurement,omitempty"`
}

// Effective returns the collection settings for c: defaults (normally
// Config.Collection) with c's overrides applied. Overrides are kept apart,
// not resolved at Load, so that a validation error can tell a cluster's own
// setting from an inherited one. The result shares no memory with c or
// defaults.
func (c Cluster) Effective(defaults Collection) Collection {
	e := defaults
	o := c.Overrides
	if o.Interval != nil {
		e.Interval = *o.Interval
	}
	if o.Timeout != nil {
		e.Timeout = *o.Timeout
	}
	if o.Concurrency != nil {
		e.Concurrency = *o.Concurrency
	}
	if o.Jitter != nil {
		e.Jitter = *o.Jitter
	}
	if o.AppLabels != nil {
		e.AppLabels = *o.AppLabels
	}
	if o.PoolLabels != nil {
		e.PoolLabels = *o.PoolLabels
	}
	if o.PodMeasurement != nil {
		e.PodMeasurement = *o.PodMeasurement
	}
	e.AppLabels = slices.Clone(e.AppLabels)
	e.PoolLabels = slices.Clone(e.PoolLabels)
	return e
}

// Influx is the InfluxDB the points are written to (1.8, 2.x or 3.x).
type Influx struct {
	// URL is the server's base URL, http or https, without credentials.
	URL string `yaml:"url"`
	// Token authenticates: "user:password" for 1.8 (empty when auth is
	// off), an API token for 2.x and 3.x. It is the one field where ${VAR}
	// is expanded. Not with TokenFile.
	Token Secret `yaml:"token"`
	// TokenFile holds the token instead (contents trimmed); see AuthToken.
	TokenFile string `yaml:"tokenFile"`
	// Org is the organization, 2.x and 3.x only.
	Org string `yaml:"org"`
	// Bucket is the bucket, or for 1.8 "database/retention-policy".
	Bucket string `yaml:"bucket"`
	// BatchPoints is the number of points per write request. Default 5000.
	BatchPoints int `yaml:"batchPoints"`
	// Timeout bounds one write request. Default 10s.
	Timeout Duration `yaml:"timeout"`
	// Gzip compresses write requests. Default true.
	Gzip bool `yaml:"gzip"`
	// MaxRetryBackoff caps the exponential backoff after 429 and 5xx
	// answers. Default 5m.
	MaxRetryBackoff Duration `yaml:"maxRetryBackoff"`
}

// maxTokenFileSize bounds what AuthToken reads, so a wrong path (a log, a
// device) fails instead of filling memory.
const maxTokenFileSize = 64 << 10

// AuthToken returns Token, or when TokenFile is set that file's contents
// with surrounding white space trimmed. It reads the file on every call, so
// a caller that calls it again picks up a rotated token. Its errors name the
// field and never hold the secret.
func (i Influx) AuthToken() (Secret, error) {
	return i.authToken(os.ReadFile)
}

func (i Influx) authToken(readFile func(string) ([]byte, error)) (Secret, error) {
	if i.TokenFile == "" {
		return i.Token, nil
	}
	b, err := readFile(i.TokenFile)
	if err != nil {
		return "", &FieldError{Field: "influx.tokenFile", Err: err}
	}
	if len(b) > maxTokenFileSize {
		return "", &FieldError{Field: "influx.tokenFile", Err: fmt.Errorf("%s is larger than %d bytes", i.TokenFile, maxTokenFileSize)}
	}
	t := strings.TrimSpace(string(b))
	if t == "" {
		return "", &FieldError{Field: "influx.tokenFile", Err: fmt.Errorf("%s is empty", i.TokenFile)}
	}
	return Secret(t), nil
}

// Spool is the local buffer of points not yet written to InfluxDB.
type Spool struct {
	// Path is the spool's file; required.
	Path string `yaml:"path"`
	// MaxBytes bounds the payload bytes held (the file can grow to about
	// twice that); the oldest points are dropped to make room. Default 1GiB.
	MaxBytes ByteSize `yaml:"maxBytes"`
}

// Server is headroomd's own HTTP server: /metrics, /livez, /readyz and the
// deploy gate's POST /api/v1/check.
type Server struct {
	// Listen is host:port. Default 127.0.0.1:9108.
	Listen string `yaml:"listen"`
	// LivenessStaleAfter: /livez fails when no cluster completed a cycle for
	// this long; 0 means three times the longest interval. See
	// Config.LivenessStaleAfter.
	LivenessStaleAfter Duration `yaml:"livenessStaleAfter"`
}

// Gate configures the deploy gate that headroomd serves (POST
// /api/v1/check).
type Gate struct {
	// Policy applies to a check whose request gives none.
	Policy GatePolicy `yaml:"policy"`
}

// GatePolicy is the headroom a deploy must leave (capacity.Policy, kept
// apart so that config imports no runtime package). The zero value asks
// for plain fit.
type GatePolicy struct {
	// NPlusOne is "" (off), "node" (everything still fits after losing the
	// largest node) or "zone" (after losing any one zone).
	NPlusOne string `yaml:"nPlusOne"`
	// MaxShare caps, per resource name, the share of the schedulable nodes'
	// allocatable requested after the deploy: above 0, at most 1.
	MaxShare map[string]float64 `yaml:"maxShare"`
}

// NPlusOne values.
var nPlusOnes = []string{"node", "zone"}

// Default returns a Config holding every default and no clusters; Load and
// Parse decode the file over it, so an omitted field keeps its default.
func Default() *Config {
	return &Config{
		Collection: Collection{
			Interval:    Duration(15 * time.Second),
			Timeout:     Duration(5 * time.Second),
			Concurrency: 20,
			Jitter:      Duration(time.Second),
			AppLabels:   []string{"app.kubernetes.io/name", "app", "k8s-app"},
			PoolLabels: []string{
				"headroom.local/pool",
				"cloud.google.com/gke-nodepool",
				"eks.amazonaws.com/nodegroup",
				"kubernetes.azure.com/agentpool",
				"karpenter.sh/nodepool",
				"node.kubernetes.io/instance-type",
			},
		},
		Influx: Influx{
			BatchPoints:     5000,
			Timeout:         Duration(10 * time.Second),
			Gzip:            true,
			MaxRetryBackoff: Duration(5 * time.Minute),
		},
		Spool:   Spool{MaxBytes: GiB},
		Server:  Server{Listen: "127.0.0.1:9108"},
		History: History{Step: Duration(time.Minute), Retention: Duration(35 * 24 * time.Hour)},
		Forecast: Forecast{Step: Duration(5 * time.Minute), MinHistory: Duration(24 * time.Hour),
			RequestedPercent: 90, UsedPercent: 90, Reselect: Duration(time.Hour)},
		Alerting: Alerting{Timeout: Duration(10 * time.Second), Warning: Duration(7 * 24 * time.Hour),
			Critical: Duration(48 * time.Hour), ExhaustionFor: Duration(15 * time.Minute),
			NPlusOneFor: Duration(15 * time.Minute), NodePressureFor: Duration(5 * time.Minute), CollectionDownAfter: 4},
		Schedules:      Schedules{Evaluation: "@every 1m", Report: "0 7 * * 1-5", TimeZone: "Local"},
		Report:         Report{TopApps: 10},
		LeaderElection: defaultLeaderElection(),
	}
}

// LivenessStaleAfter returns how long /livez tolerates no completed cycle:
// Server.LivenessStaleAfter, or when that is 0, three times the longest
// effective interval of any cluster.
func (c *Config) LivenessStaleAfter() time.Duration {
	if c.Server.LivenessStaleAfter != 0 {
		return c.Server.LivenessStaleAfter.Duration()
	}
	return 3 * c.longestInterval()
}

func (c *Config) longestInterval() time.Duration {
	longest := c.Collection.Interval.Duration()
	if len(c.Clusters) > 0 {
		longest = 0
	}
	for _, cl := range c.Clusters {
		longest = max(longest, cl.Effective(c.Collection).Interval.Duration())
	}
	return longest
}

// Load reads the file at path and parses it as Parse does, naming path in
// its errors. It reads the token file too (see Parse) and opens nothing else.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(b, path)
}

// Parse decodes b strictly (an unknown field is an error), applies the
// defaults, expands ${VAR} in influx.token from the environment, checks that
// influx.tokenFile, when set, can be read, and validates the result.
//
// Every error is a *FileError naming source. It holds either the YAML
// problems, each starting "line N:", or every other problem joined, each a
// *FieldError or an *UnsetVariableError wrapped in one.
func Parse(b []byte, source string) (*Config, error) {
	return parse(b, source, environ{lookupEnv: os.LookupEnv, readFile: os.ReadFile})
}

// environ is what parsing reads from outside the file; tests replace it.
type environ struct {
	lookupEnv func(string) (string, bool)
	readFile  func(string) ([]byte, error)
}

func parse(b []byte, source string, env environ) (*Config, error) {
	c := Default()
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &FileError{Source: source, Err: errors.New("no YAML document")}
		}
		return nil, &FileError{Source: source, Err: yamlError(err)}
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, &FileError{Source: source, Err: yamlError(err)}
	default:
		return nil, &FileError{Source: source, Err: fmt.Errorf("line %d: a second YAML document; the file must hold one", extra.Line)}
	}
	c.applyDefaults()

	var errs []error
	if t, err := expand(string(c.Influx.Token), env.lookupEnv); err != nil {
		errs = append(errs, &FieldError{Field: "influx.token", Err: err})
	} else {
		c.Influx.Token = Secret(t)
	}
	if err := c.Validate(); err != nil {
		errs = append(errs, err)
	} else if _, err := c.Influx.authToken(env.readFile); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, &FileError{Source: source, Err: errors.Join(errs...)}
	}
	return c, nil
}

// applyDefaults fills the cluster fields whose zero value means the default;
// the rest of the defaults come from decoding over Default.
func (c *Config) applyDefaults() {
	for i := range c.Clusters {
		cl := &c.Clusters[i]
		if cl.Source == "" {
			cl.Source = SourceKubelet
		}
		if cl.Endpoint == "" {
			cl.Endpoint = EndpointResource
		}
	}
}

// yamlError turns a yaml error into one error per problem, each starting
// "line N:" where yaml gives the line, without yaml's "yaml:" prefix.
func yamlError(err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		errs := make([]error, len(te.Errors))
		for i, m := range te.Errors {
			errs[i] = errors.New(m)
		}
		return errors.Join(errs...)
	}
	return errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
}

// FileError is what Load and Parse return: every problem found in one
// configuration, and its source.
type FileError struct {
	// Source is the file's path, or the name given to Parse.
	Source string
	// Err holds the problems, joined with errors.Join when several.
	Err error
}

// Error prints one line per problem, each starting with the source, like
// "headroom.yaml: line 7: field foo not found in type config.Collection" or
// "headroom.yaml: clusters[1].timeout: 20s must be less than interval 15s".
func (e *FileError) Error() string {
	lines := strings.Split(e.Err.Error(), "\n")
	for i, l := range lines {
		lines[i] = e.Source + ": " + l
	}
	return strings.Join(lines, "\n")
}

func (e *FileError) Unwrap() error { return e.Err }

// FieldError is one invalid setting.
type FieldError struct {
	// Field is the setting's path in the file, like "clusters[1].timeout".
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }

func (e *FieldError) Unwrap() error { return e.Err }
