package config

import (
	"fmt"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Duration is a time.Duration written in YAML as a Go duration string
// ("15s", "5m", "1h30m"). A bare 0 is accepted; any other number needs a unit,
// so that "15" is an error rather than 15 nanoseconds.
type Duration time.Duration

// Duration returns d as a time.Duration.
func (d Duration) Duration() time.Duration { return time.Duration(d) }

// String formats d like time.Duration.
func (d Duration) String() string { return time.Duration(d).String() }

// UnmarshalYAML parses a scalar with time.ParseDuration. Its errors carry the
// line, like yaml's own.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return nodeError(n, `a duration must be a string like "15s"`)
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return nodeError(n, strings.TrimPrefix(err.Error(), "time: ")+` (write a number with a unit, like "15s" or "5m")`)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes d as a duration string, the form UnmarshalYAML reads.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// nodeError reports a problem with one YAML node as a *yaml.TypeError, so that
// the decoder collects it with its own errors (instead of stopping) and the
// message starts with the line like yaml's own.
func nodeError(n *yaml.Node, msg string) error {
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %s", n.Line, msg)}}
}
