package config

import (
	"errors"
	"fmt"
	"strings"
)

// expand replaces each ${NAME} in s with the value lookup returns for NAME and
// each $$ with a single $. Any other $ is an error, so that a dollar meant
// literally is never silently taken for a variable (write it $$). A variable
// that is set but empty expands to "". Errors name the variable but never
// quote s, which may be a secret.
func expand(s string, lookup func(string) (string, bool)) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		if c != '$' {
			b.WriteByte(c)
			i++
			continue
		}
		switch {
		case strings.HasPrefix(s[i:], "$$"):
			b.WriteByte('$')
			i += 2
		case strings.HasPrefix(s[i:], "${"):
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return "", fmt.Errorf("unterminated ${ at byte %d", i)
			}
			name := s[i+2 : i+2+end]
			if !isEnvName(name) {
				return "", fmt.Errorf("invalid variable name in ${...} at byte %d: want letters, digits and _, not starting with a digit", i)
			}
			v, ok := lookup(name)
			if !ok {
				return "", &UnsetVariableError{Name: name}
			}
			b.WriteString(v)
			i += 2 + end + 1
		default:
			return "", errors.New(`a "$" must start ${VAR}; write a literal dollar as $$`)
		}
	}
	return b.String(), nil
}

// UnsetVariableError reports a ${NAME} whose environment variable is not set.
type UnsetVariableError struct {
	Name string
}

func (e *UnsetVariableError) Error() string {
	return fmt.Sprintf("environment variable %s is not set", e.Name)
}

func isEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range []byte(s) {
		switch {
		case c == '_', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
