package files

import (
	"strings"
	"testing"
)

func TestParsePropertiesAsJavaDoes(t *testing.T) {
	src := "# database\n" +
		"db.url = jdbc:postgresql://db:5432/shop\n" +
		"! another comment\n" +
		"\n" +
		"   greeting:Hello, \\\n" +
		"       world\n" +
		"path=C:\\\\temp\n" +
		"tab\\ key\tvalue with spaces  \n" +
		"empty=\n" +
		"unicode=caf\\u00e9\n" +
		"template=${not.expanded}\n" +
		"windows=line\r\n" +
		"last=no newline"
	p, err := ParseProperties([]byte(src), "production.properties")
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{
		{"db.url", "jdbc:postgresql://db:5432/shop", 2, 2},
		{"greeting", "Hello, world", 5, 6},
		{"path", `C:\temp`, 7, 7},
		{"tab key", "value with spaces  ", 8, 8},
		{"empty", "", 9, 9},
		{"unicode", "café", 10, 10},
		{"template", "${not.expanded}", 11, 11},
		{"windows", "line", 12, 12},
		{"last", "no newline", 13, 13},
	}
	if len(p.Entries) != len(want) {
		t.Fatalf("entries %+v, want %+v", p.Entries, want)
	}
	for i, w := range want {
		if p.Entries[i] != w {
			t.Errorf("entry %d: %+v, want %+v", i, p.Entries[i], w)
		}
	}
}

func TestParsePropertiesErrorsNameFileAndLine(t *testing.T) {
	src := "a=1\n" +
		"b=\\u12g4\n" +
		"regex=\\d+\n" +
		"# a=3 in a comment is no duplicate\n" +
		"a=2\n" +
		"c=\\\n" +
		"  continued\n" +
		"c=again\n"
	_, err := ParseProperties([]byte(src), "test.properties")
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"test.properties:2: invalid unicode literal",
		`test.properties:3: unknown escape \d; write \\ for a backslash`,
		`test.properties:5: key "a" is also set on line 1; give each key once`,
		`test.properties:8: key "c" is also set on line 6`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestSetPropertyKeepsEverythingElse(t *testing.T) {
	src := "# image deployed last\n" +
		"IMAGE = registry.example.com/apps/shop:1.4.2   \n" +
		"# replicas in production\n" +
		"REPLICAS: 6\n" +
		"  MEMORY=2Gi\r\n" +
		"LONG=a\\\n" +
		"   b\n" +
		"LAST=x"
	for _, tt := range []struct{ key, value, want string }{
		{"IMAGE", "registry.example.com/apps/shop:1.5.0", strings.Replace(src, "shop:1.4.2   \n", "shop:1.5.0\n", 1)},
		{"REPLICAS", "3", strings.Replace(src, "REPLICAS: 6", "REPLICAS: 3", 1)},
		{"MEMORY", "4Gi", strings.Replace(src, "  MEMORY=2Gi\r\n", "  MEMORY=4Gi\r\n", 1)},
		{"LONG", "c", strings.Replace(src, "LONG=a\\\n   b\n", "LONG=c\n", 1)},
		{"LAST", `back\slash`, strings.Replace(src, "LAST=x", `LAST=back\\slash`, 1)},
	} {
		got, err := SetProperty([]byte(src), "production.resources", tt.key, tt.value)
		if err != nil {
			t.Errorf("%s: %v", tt.key, err)
			continue
		}
		if string(got) != tt.want {
			t.Errorf("%s:\n got %q\nwant %q", tt.key, got, tt.want)
		}
		p, err := ParseProperties(got, "x")
		if err != nil {
			t.Fatal(err)
		}
		if e, _ := p.Get(tt.key); e.Value != tt.value {
			t.Errorf("%s reads back as %q", tt.key, e.Value)
		}
	}
	if _, err := SetProperty([]byte(src), "production.resources", "NOPE", "x"); err == nil ||
		!strings.Contains(err.Error(), "production.resources: no key NOPE") {
		t.Errorf("missing key: %v", err)
	}
}
