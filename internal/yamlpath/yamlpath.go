// Package yamlpath finds where a field of a YAML document is written, so
// that an error about a field (an unknown field from a strict decode, an
// invalid value from the API server) can name its line.
package yamlpath

import (
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Line returns the line, from 1, of the field at path in the YAML document
// text, a path as Kubernetes writes them: "spec.template.spec.containers[0].image".
// A key holding dots (a label) is matched whole. When only part of the
// path is found, the line of its deepest part is returned with found false;
// nothing found at all is line 0.
func Line(text []byte, path string) (line int, found bool) {
	var doc yaml.Node
	if err := yaml.Unmarshal(text, &doc); err != nil || len(doc.Content) == 0 {
		return 0, false
	}
	n := doc.Content[0]
	rest := path
	for rest != "" {
		switch {
		case strings.HasPrefix(rest, "["):
			end := strings.IndexByte(rest, ']')
			i, err := strconv.Atoi(rest[1:max(end, 1)])
			if end < 0 || err != nil || n.Kind != yaml.SequenceNode || i < 0 || i >= len(n.Content) {
				return line, false
			}
			n = n.Content[i]
			line = n.Line
			rest = strings.TrimPrefix(rest[end+1:], ".")
		case n.Kind == yaml.MappingNode:
			key, value := longestKey(n, rest)
			if value == nil {
				return line, false
			}
			line = key.Line
			n = value
			rest = strings.TrimPrefix(rest[len(key.Value):], ".")
		default:
			return line, false
		}
	}
	return line, true
}

// longestKey finds the key of mapping n that is the longest prefix of path
// ending at a "." or "[" or at its end.
func longestKey(n *yaml.Node, path string) (key, value *yaml.Node) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i].Value
		if !strings.HasPrefix(path, k) {
			continue
		}
		if r := path[len(k):]; r != "" && r[0] != '.' && r[0] != '[' {
			continue
		}
		if key == nil || len(k) > len(key.Value) {
			key, value = n.Content[i], n.Content[i+1]
		}
	}
	return key, value
}
