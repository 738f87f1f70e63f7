package files

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/magiconair/properties"
)

// Entry is one key of a .properties file.
type Entry struct {
	Key, Value string
	// Line and EndLine are where the entry's logical line starts and ends
	// (a value continued with a trailing backslash spans several).
	Line, EndLine int
}

// Properties is a .properties file read strictly: keys in file order.
type Properties struct {
	File    string
	Entries []Entry
}

// Get returns key's entry.
func (p *Properties) Get(key string) (Entry, bool) {
	for _, e := range p.Entries {
		if e.Key == key {
			return e, true
		}
	}
	return Entry{}, false
}

// Map returns the keys and values.
func (p *Properties) Map() map[string]string {
	m := make(map[string]string, len(p.Entries))
	for _, e := range p.Entries {
		m[e.Key] = e.Value
	}
	return m
}

// logicalLine is one entry's text, its continuation lines joined, and the
// lines it spans.
type logicalLine struct {
	text          string
	first, last   int // 1-based, inclusive
	startOffset   int // byte offsets of the span in the file
	endOffset     int // after the last line's terminator
	hasTerminator bool
}

// ParseProperties reads a .properties file (UTF-8) as Java does, with
// github.com/magiconair/properties, and more strictly than Java: a key
// given twice, an escape Java would silently drop the backslash of (\d,
// \q: usually a lost backslash), and a malformed \u escape are errors, each
// naming file and line. Every problem is reported, joined. ${…} in values
// is kept as written.
func ParseProperties(b []byte, file string) (*Properties, error) {
	p := &Properties{File: file}
	var errs []error
	firstLine := map[string]int{}
	for _, l := range logicalLines(b) {
		if bad := badEscape(l.text); bad != "" {
			errs = append(errs, fmt.Errorf("%s:%d: unknown escape %s; write \\\\ for a backslash", file, l.first, bad))
			continue
		}
		parsed, err := (&properties.Loader{Encoding: properties.UTF8, DisableExpansion: true}).LoadBytes([]byte(l.text))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: %s", file, l.first, libraryMessage(err)))
			continue
		}
		for _, key := range parsed.Keys() { // one, as l is one logical line
			if at, dup := firstLine[key]; dup {
				errs = append(errs, fmt.Errorf("%s:%d: key %q is also set on line %d; give each key once", file, l.first, key, at))
				continue
			}
			firstLine[key] = l.first
			v, _ := parsed.Get(key)
			p.Entries = append(p.Entries, Entry{Key: key, Value: v, Line: l.first, EndLine: l.last})
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return p, nil
}

// libraryMessage is the parser's message without its "properties: Line 1:"
// prefix (the line is of the logical line alone; ours names the file's).
var libraryPrefix = regexp.MustCompile(`^properties: (Line \d+: )?`)

func libraryMessage(err error) string { return libraryPrefix.ReplaceAllString(err.Error(), "") }

// logicalLines splits b into the logical lines of the .properties format:
// blank and comment lines (# or ! first) are skipped; a line ending in an
// odd number of backslashes continues on the next.
func logicalLines(b []byte) []logicalLine {
	var out []logicalLine
	var cur *logicalLine
	var text strings.Builder
	offset, lineNo := 0, 0
	for offset < len(b) {
		lineNo++
		end := bytes.IndexAny(b[offset:], "\r\n")
		next, terminated := len(b), false
		var line []byte
		if end < 0 {
			line = b[offset:]
		} else {
			line = b[offset : offset+end]
			next, terminated = offset+end+1, true
			if b[offset+end] == '\r' && next < len(b) && b[next] == '\n' {
				next++
			}
		}
		trimmed := bytes.TrimLeft(line, " \t\f")
		switch {
		case cur == nil && (len(trimmed) == 0 || trimmed[0] == '#' || trimmed[0] == '!'):
			// blank or comment
		case cur == nil:
			cur = &logicalLine{first: lineNo, startOffset: offset}
			text.Reset()
			text.Write(trimmed)
		default:
			text.WriteString("\n")
			text.Write(line) // the parser skips a continuation's leading blanks
		}
		if cur != nil {
			if continues(line) {
				cur.last = lineNo
			} else {
				cur.last, cur.endOffset, cur.hasTerminator = lineNo, next, terminated
				cur.text = text.String()
				out = append(out, *cur)
				cur = nil
			}
		}
		offset = next
	}
	if cur != nil { // a continuation at the end of the file
		cur.endOffset = len(b)
		cur.text = text.String()
		out = append(out, *cur)
	}
	return out
}

// continues says whether a line ends in an odd number of backslashes.
func continues(line []byte) bool {
	n := 0
	for i := len(line) - 1; i >= 0 && line[i] == '\\'; i-- {
		n++
	}
	return n%2 == 1
}

// badEscape returns the first escape in a logical line that Java would
// read as the bare character ("\d" as "d"), or "".
func badEscape(text string) string {
	for i := 0; i < len(text)-1; i++ {
		if text[i] != '\\' {
			continue
		}
		switch c := text[i+1]; c {
		case '\\', 't', 'n', 'r', 'f', 'u', ':', '=', '#', '!', ' ', '\n', '"', '\'':
		default:
			return text[i : i+2]
		}
		i++
	}
	return ""
}

// SetProperty returns b with key's value replaced by value, every other
// byte (comments, order, the other keys, the separator) kept. key must be
// present once; b must parse.
func SetProperty(b []byte, file, key, value string) ([]byte, error) {
	p, err := ParseProperties(b, file)
	if err != nil {
		return nil, err
	}
	e, ok := p.Get(key)
	if !ok {
		return nil, fmt.Errorf("%s: no key %s to write the value to", file, key)
	}
	for _, l := range logicalLines(b) {
		if l.first != e.Line {
			continue
		}
		sep := keyAndSeparator(l.text)
		var out bytes.Buffer
		out.Write(b[:l.startOffset])
		rest := b[l.startOffset:]
		indent := len(rest) - len(bytes.TrimLeft(rest, " \t\f")) // kept as written
		out.Write(rest[:indent])
		out.WriteString(sep)
		out.WriteString(escapeValue(value))
		if l.hasTerminator {
			out.WriteString(lineEnding(b, l))
		}
		out.Write(b[l.endOffset:])
		return out.Bytes(), nil
	}
	return nil, fmt.Errorf("%s:%d: key %s not found again", file, e.Line, key)
}

// keyAndSeparator is a logical line's key with the separator after it, as
// written ("IMAGE = ", "IMAGE:", "IMAGE ").
func keyAndSeparator(text string) string {
	i := 0
	for i < len(text) {
		c := text[i]
		if c == '\\' {
			i += 2
			continue
		}
		if c == '=' || c == ':' || c == ' ' || c == '\t' || c == '\f' {
			break
		}
		i++
	}
	j := i
	for j < len(text) && (text[j] == ' ' || text[j] == '\t' || text[j] == '\f') {
		j++
	}
	if j < len(text) && (text[j] == '=' || text[j] == ':') {
		j++
		for j < len(text) && (text[j] == ' ' || text[j] == '\t' || text[j] == '\f') {
			j++
		}
	}
	return text[:min(j, len(text))]
}

// escapeValue writes a value so that ParseProperties reads it back.
func escapeValue(v string) string {
	var b strings.Builder
	for i, r := range v {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case i == 0 && (r == ' ' || r == '\f'):
			b.WriteString(`\ `)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// lineEnding is the terminator of l's last line: \n, \r\n or \r.
func lineEnding(b []byte, l logicalLine) string {
	switch {
	case l.endOffset >= 2 && b[l.endOffset-2] == '\r' && b[l.endOffset-1] == '\n':
		return "\r\n"
	case b[l.endOffset-1] == '\r':
		return "\r"
	}
	return "\n"
}
