package config

import (
	"log/slog"

	"go.yaml.in/yaml/v3"
)

const redacted = "REDACTED"

// Secret is a credential read from the configuration. Every way of printing
// or encoding it — fmt's verbs, YAML, JSON or text encoding, slog — gives
// "REDACTED" (or "" when it is empty, so an unset secret stays visible);
// only Reveal returns the value. A configuration marshalled to YAML therefore
// holds the literal REDACTED and is not meant to be read back as a working
// file.
type Secret string

// Reveal returns the secret's value. Call it only where the value is handed to
// the client that needs it.
func (s Secret) Reveal() string { return string(s) }

// String returns "REDACTED", or "" for an empty secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString is String, so that %#v redacts too.
func (s Secret) GoString() string { return `"` + s.String() + `"` }

// MarshalYAML writes the redacted form.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// MarshalText writes the redacted form; encoding/json and others use it.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// LogValue logs the redacted form.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// UnmarshalYAML takes the scalar's text as it stands; ${VAR} expansion happens
// after decoding. Its errors never quote the value.
func (s *Secret) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return nodeError(n, "a secret must be a string")
	}
	*s = Secret(n.Value)
	return nil
}
