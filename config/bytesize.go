package config

import (
	"errors"
	"fmt"
	"math/big"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ByteSize is a number of bytes, written in YAML as a plain integer or a
// number with a unit: binary Ki, Mi, Gi, Ti (powers of 1024) or decimal K (or
// k), M, G, T (powers of 1000), each optionally followed by B, as in "512MiB",
// "1Gi", "10GB". A bare B means bytes. A fraction is allowed when the result is
// a whole number of bytes ("1.5GiB"). Negative sizes, exponents and spaces are
// rejected.
type ByteSize int64

// Byte size units.
const (
	KiB ByteSize = 1 << (10 * (iota + 1))
	MiB
	GiB
	TiB
)

// maxByteSizeLen bounds the text ParseByteSize looks at: no valid int64 size
// needs more, and it keeps the big-number arithmetic small.
const maxByteSizeLen = 64

var byteUnits = map[string]int64{
	"": 1, "B": 1,
	"K": 1e3, "k": 1e3, "KB": 1e3, "kB": 1e3,
	"M": 1e6, "MB": 1e6,
	"G": 1e9, "GB": 1e9,
	"T": 1e12, "TB": 1e12,
	"Ki": 1 << 10, "KiB": 1 << 10,
	"Mi": 1 << 20, "MiB": 1 << 20,
	"Gi": 1 << 30, "GiB": 1 << 30,
	"Ti": 1 << 40, "TiB": 1 << 40,
}

// ParseByteSize parses s in the form ByteSize documents. Its errors quote s.
func ParseByteSize(s string) (ByteSize, error) {
	n, err := parseByteSize(s)
	if err != nil {
		return 0, fmt.Errorf("invalid byte size %q: %w", s, err)
	}
	return n, nil
}

func parseByteSize(s string) (ByteSize, error) {
	if s == "" {
		return 0, errors.New("empty")
	}
	if len(s) > maxByteSizeLen {
		return 0, errors.New("too long")
	}
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
		i++
	}
	num, unit := s[:i], s[i:]
	whole, frac, hasDot := strings.Cut(num, ".")
	if whole == "" || hasDot && frac == "" || strings.Contains(frac, ".") {
		return 0, errors.New(`want digits, an optional fraction and a unit, like "512MiB" or "1.5G"`)
	}
	mult, ok := byteUnits[unit]
	if !ok {
		return 0, fmt.Errorf("unknown unit %q (use Ki, Mi, Gi, Ti, K, M, G, T, optionally followed by B)", unit)
	}
	// value = whole.frac × mult, computed exactly.
	v, _ := new(big.Int).SetString(whole+frac, 10)
	v.Mul(v, big.NewInt(mult))
	scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(len(frac))), nil)
	q, r := new(big.Int).QuoRem(v, scale, new(big.Int))
	if r.Sign() != 0 {
		return 0, errors.New("not a whole number of bytes")
	}
	if !q.IsInt64() {
		return 0, errors.New("too large")
	}
	return ByteSize(q.Int64()), nil
}

// String formats b with the largest binary unit that divides it exactly
// ("1GiB", "512MiB"), else as bytes ("1500B"); ParseByteSize reads it back.
func (b ByteSize) String() string {
	for _, u := range []struct {
		size ByteSize
		name string
	}{{TiB, "TiB"}, {GiB, "GiB"}, {MiB, "MiB"}, {KiB, "KiB"}} {
		if b != 0 && b%u.size == 0 {
			return fmt.Sprintf("%d%s", b/u.size, u.name)
		}
	}
	return fmt.Sprintf("%dB", int64(b))
}

// UnmarshalYAML parses a scalar with ParseByteSize. Its errors carry the line,
// like yaml's own.
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return nodeError(n, `a byte size must be a number or a string like "1GiB"`)
	}
	v, err := ParseByteSize(n.Value)
	if err != nil {
		return nodeError(n, err.Error())
	}
	*b = v
	return nil
}

// MarshalYAML writes b in the form String gives.
func (b ByteSize) MarshalYAML() (any, error) { return b.String(), nil }
