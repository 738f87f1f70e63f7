package main

import (
	"encoding/json"
	"io"

	"sigs.k8s.io/yaml"
)

// writeStructured writes v as -o json or -o yaml ask (JSON indented, YAML
// from the same field names, as kubectl does), and says whether format was
// one of them; any other format is the caller's to write.
func writeStructured(w io.Writer, format string, v any) (bool, error) {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return true, enc.Encode(v)
	case "yaml":
		b, err := yaml.Marshal(v)
		if err != nil {
			return true, err
		}
		_, err = w.Write(b)
		return true, err
	}
	return false, nil
}
