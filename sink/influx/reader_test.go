package influx

import "testing"

func TestFluxStringEscapes(t *testing.T) {
	for in, want := range map[string]string{
		"osl2":           `"osl2"`,
		`a"b`:            `"a\"b"`,
		`back\slash`:     `"back\\slash"`,
		"${injected}":    `"\${injected}"`,
		"line\nbreak\t.": `"line\nbreak\t."`,
	} {
		if got := fluxString(in); got != want {
			t.Errorf("fluxString(%q) = %s, want %s", in, got, want)
		}
	}
}
