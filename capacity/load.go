package capacity

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	jsonserializer "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"sigs.k8s.io/yaml"

	"github.com/headroomhq/headroom/internal/yamlpath"
)

// The files the gate reads hold core/v1 and apps/v1 objects only; a scheme
// of those two groups is all the decoders need. Kinds of other groups (a
// ServiceMonitor beside a Deployment) are recognised by their apiVersion and
// kind alone and skipped.
var (
	manifestScheme = func() *runtime.Scheme {
		s := runtime.NewScheme()
		if err := corev1.AddToScheme(s); err != nil {
			panic(err)
		}
		if err := appsv1.AddToScheme(s); err != nil {
			panic(err)
		}
		return s
	}()
	// strictDecoder rejects unknown and duplicate fields; on such an error it
	// still returns the decoded object, which ReadSnapshot relies on.
	strictDecoder = jsonserializer.NewSerializerWithOptions(jsonserializer.DefaultMetaFactory,
		manifestScheme, manifestScheme, jsonserializer.SerializerOptions{Strict: true})
)

// SnapshotFile is what a saved snapshot holds: the output of
// `kubectl get nodes,pods -A -o yaml` (or -o json).
type SnapshotFile struct {
	Nodes []*corev1.Node
	Pods  []*corev1.Pod
	// Skipped counts the items of other kinds, by kind; they are not an
	// error.
	Skipped map[string]int
	// Warnings name items with fields this build does not know (the cluster
	// is newer than headroom's client libraries); those fields were
	// ignored. At most maxSnapshotWarnings, then one line counting the rest.
	Warnings []string
}

const maxSnapshotWarnings = 10

// LoadSnapshot reads the nodes and pods of a saved snapshot from path ("-"
// for standard input), as ReadSnapshot does, dropping what ReadSnapshot
// reports beside them.
func LoadSnapshot(path string) (nodes []*corev1.Node, pods []*corev1.Pod, err error) {
	f, name, err := openInput(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	s, err := ReadSnapshot(f, name)
	if err != nil {
		return nil, nil, err
	}
	return s.Nodes, s.Pods, nil
}

// ReadSnapshot decodes nodes and pods from r, which holds YAML or JSON: a v1
// List whose items are Nodes and Pods (what `kubectl get nodes,pods -A -o
// yaml` prints), a NodeList or PodList, or several such documents separated
// by "---". Items of other kinds are counted in Skipped. name is r's name
// for errors, which say where the bad item is: "snapshot.yaml: items[3] (Pod
// default/web-1): ...".
//
// Unknown fields are not an error here but a warning: a snapshot is what a
// cluster printed, and a cluster newer than this build prints fields it
// does not know. Every other problem (a malformed document, a field of the
// wrong type, an item without a kind) is.
func ReadSnapshot(r io.Reader, name string) (*SnapshotFile, error) {
	docs, err := splitDocuments(r, name, false)
	if err != nil {
		return nil, err
	}
	s := &SnapshotFile{Skipped: map[string]int{}}
	warned := 0
	add := func(at string, obj runtime.Object, err error) error {
		if err != nil {
			if !runtime.IsStrictDecodingError(err) || obj == nil {
				return fmt.Errorf("%s: %s: %w", name, at, err)
			}
			if warned < maxSnapshotWarnings {
				s.Warnings = append(s.Warnings, fmt.Sprintf("%s: %s: ignored %s", name, at, strictDetail(err)))
			}
			warned++
		}
		switch o := obj.(type) {
		case *corev1.Node:
			s.Nodes = append(s.Nodes, o)
		case *corev1.Pod:
			s.Pods = append(s.Pods, o)
		}
		return nil
	}
	for _, d := range docs {
		where := d.where(len(docs))
		tm, err := d.typeMeta()
		if err != nil {
			return nil, fmt.Errorf("%s: %s%w", name, prefix(where), err)
		}
		switch {
		case tm.APIVersion == "v1" && (tm.Kind == "List" || tm.Kind == "NodeList" || tm.Kind == "PodList"):
			items, err := listItems(d.json)
			if err != nil {
				return nil, fmt.Errorf("%s: %s%s: %w", name, prefix(where), tm.Kind, err)
			}
			// A NodeList's items carry no kind of their own.
			var def *schema.GroupVersionKind
			switch tm.Kind {
			case "NodeList":
				def = &schema.GroupVersionKind{Version: "v1", Kind: "Node"}
			case "PodList":
				def = &schema.GroupVersionKind{Version: "v1", Kind: "Pod"}
			}
			for i, raw := range items {
				at := prefix(where) + fmt.Sprintf("items[%d]", i)
				item := document{json: raw}
				itm, err := item.typeMeta()
				if err != nil {
					return nil, fmt.Errorf("%s: %s: %w", name, at, err)
				}
				if def == nil && !isNodeOrPod(itm) {
					if itm.Kind == "" {
						return nil, fmt.Errorf("%s: %s: no kind: every item of a List names its apiVersion and kind", name, at)
					}
					s.Skipped[itm.Kind]++
					continue
				}
				obj, _, err := strictDecoder.Decode(raw, def, nil)
				if err := add(locate(at, raw, def), obj, err); err != nil {
					return nil, err
				}
			}
		case isNodeOrPod(tm):
			obj, _, err := strictDecoder.Decode(d.json, nil, nil)
			if err := add(locate(where, d.json, nil), obj, err); err != nil {
				return nil, err
			}
		case tm.Kind == "":
			return nil, fmt.Errorf("%s: %sno kind: not a Kubernetes object or list", name, prefix(where))
		default:
			s.Skipped[tm.Kind]++
		}
	}
	if warned > maxSnapshotWarnings {
		s.Warnings = append(s.Warnings, fmt.Sprintf("%s: %d more items with unknown fields", name, warned-maxSnapshotWarnings))
	}
	return s, nil
}

func isNodeOrPod(tm typeMeta) bool {
	return tm.APIVersion == "v1" && (tm.Kind == "Node" || tm.Kind == "Pod")
}

// LoadWorkload reads the one Deployment or StatefulSet of a manifest file
// ("-" for standard input), as ReadWorkload does.
func LoadWorkload(path string) (runtime.Object, error) {
	f, name, err := openInput(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadWorkload(f, name)
}

// ReadWorkload decodes the manifest in r, one or several YAML or JSON
// documents (a Service and a Deployment, a v1 List of them), and returns its
// one apps/v1 *appsv1.Deployment or *appsv1.StatefulSet. Other objects are
// passed over. It is an error when there is no workload or more than one,
// and for a workload the gate cannot take as it is: a ReplicationController
// or a Deployment of a retired apiVersion (the error says how to convert
// it). The workload is decoded strictly: an unknown or repeated field is an
// error naming it, since a misspelt field (resource: for resources:) would
// silently change the answer. Errors start with name and, when there are
// several documents, the document's number from 1.
func ReadWorkload(r io.Reader, name string) (runtime.Object, error) {
	docs, err := splitDocuments(r, name, true)
	if err != nil {
		return nil, err
	}
	type found struct {
		where string
		obj   runtime.Object
	}
	var workloads []found
	var others []string
	// doc is the YAML document raw is, for the line of a field; nil for an
	// item of a List.
	consider := func(where string, raw []byte, tm typeMeta, doc *document) error {
		switch gk := (schema.GroupKind{Group: tm.group(), Kind: tm.Kind}); {
		case tm.Kind == "":
			return fmt.Errorf("%s: %sno kind: not a Kubernetes object", name, prefix(where))
		case tm.Kind == "ReplicationController" && tm.APIVersion == "v1":
			return fmt.Errorf("%s: %s: a ReplicationController is not supported; convert it to a Deployment: "+
				"set apiVersion: apps/v1 and kind: Deployment, and move its spec.selector labels under spec.selector.matchLabels",
				name, locate(where, raw, nil))
		case (gk.Kind == "Deployment" || gk.Kind == "StatefulSet") && tm.APIVersion != "apps/v1" &&
			(gk.Group == "apps" || gk.Group == "extensions"):
			return fmt.Errorf("%s: %s: apiVersion %s is no longer served; use apiVersion: apps/v1 (which requires spec.selector.matchLabels)",
				name, locate(where, raw, nil), tm.APIVersion)
		case tm.APIVersion == "apps/v1" && (gk.Kind == "Deployment" || gk.Kind == "StatefulSet"):
			obj, _, err := strictDecoder.Decode(raw, nil, nil)
			if err != nil {
				at := name
				if l := doc.fieldLine(err); l > 0 {
					at = fmt.Sprintf("%s:%d", name, l)
				}
				return fmt.Errorf("%s: %s: %w", at, locate(where, raw, nil), err)
			}
			workloads = append(workloads, found{where: where, obj: obj})
		default:
			others = append(others, tm.Kind)
		}
		return nil
	}
	for _, d := range docs {
		where := d.where(len(docs))
		tm, err := d.typeMeta()
		if err != nil {
			return nil, fmt.Errorf("%s: %s%w", name, prefix(where), err)
		}
		if tm.APIVersion == "v1" && tm.Kind == "List" {
			items, err := listItems(d.json)
			if err != nil {
				return nil, fmt.Errorf("%s: %sList: %w", name, prefix(where), err)
			}
			for i, raw := range items {
				at := prefix(where) + fmt.Sprintf("items[%d]", i)
				itm, err := (&document{json: raw}).typeMeta()
				if err != nil {
					return nil, fmt.Errorf("%s: %s: %w", name, at, err)
				}
				if err := consider(at, raw, itm, nil); err != nil {
					return nil, err
				}
			}
			continue
		}
		if err := consider(where, d.json, tm, &d); err != nil {
			return nil, err
		}
	}
	switch len(workloads) {
	case 0:
		msg := "no Deployment or StatefulSet (apiVersion apps/v1)"
		if len(others) > 0 {
			msg += " among its objects (" + strings.Join(others, ", ") + ")"
		}
		return nil, fmt.Errorf("%s: %s", name, msg)
	case 1:
		return workloads[0].obj, nil
	}
	var list []string
	for _, w := range workloads {
		where := w.where
		if where == "" {
			where = "document 1"
		}
		list = append(list, where+" ("+describeObject(w.obj)+")")
	}
	return nil, fmt.Errorf("%s: %d workloads, in %s; the gate checks one at a time", name, len(workloads), strings.Join(list, ", "))
}

// InNamespace puts a workload read from a manifest in namespace ns when it
// names none, ns "" meaning "default", as `kubectl apply -n` does; a
// workload naming a namespace other than a non-empty ns is an error, as it
// is for kubectl.
func InNamespace(obj runtime.Object, ns string) error {
	m, err := meta.Accessor(obj)
	if err != nil {
		return err
	}
	switch {
	case m.GetNamespace() == "" && ns == "":
		m.SetNamespace(metav1.NamespaceDefault)
	case m.GetNamespace() == "":
		m.SetNamespace(ns)
	case ns != "" && m.GetNamespace() != ns:
		return fmt.Errorf("the workload's namespace %q does not match the namespace asked for, %q", m.GetNamespace(), ns)
	}
	return nil
}

// openInput opens path, or standard input for "-", and the name to give it
// in errors.
func openInput(path string) (io.ReadCloser, string, error) {
	if path == "-" {
		return io.NopCloser(os.Stdin), "<stdin>", nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, "", err // *PathError names the file
	}
	return f, path, nil
}

// document is one YAML or JSON document of a file, converted to JSON.
type document struct {
	index int // from 1
	json  []byte
	// yaml is the document as written and line the file's line it starts
	// on; nil for JSON.
	yaml []byte
	line int
}

// strictFields finds the fields a strict decoding error names.
var strictFields = regexp.MustCompile(`(?:unknown|duplicate) field "([^"]+)"`)

// fieldLine is the file's line of the first field a strict decoding error
// names, or 0.
func (d *document) fieldLine(err error) int {
	if d == nil || d.yaml == nil {
		return 0
	}
	m := strictFields.FindStringSubmatch(err.Error())
	if m == nil {
		return 0
	}
	l, _ := yamlpath.Line(d.yaml, m[1])
	if l == 0 {
		return 0
	}
	return d.line + l - 1
}

// where names the document for errors when the file has several.
func (d *document) where(of int) string {
	if of <= 1 {
		return ""
	}
	return fmt.Sprintf("document %d", d.index)
}

func prefix(where string) string {
	if where == "" {
		return ""
	}
	return where + ": "
}

type typeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
}

func (t typeMeta) group() string {
	if g, _, ok := strings.Cut(t.APIVersion, "/"); ok {
		return g
	}
	return ""
}

func (d *document) typeMeta() (typeMeta, error) {
	var tm typeMeta
	if err := json.Unmarshal(d.json, &tm); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) && ute.Field != "" {
			return tm, fmt.Errorf("%s is not a string", ute.Field)
		}
		return tm, fmt.Errorf("not an object: %w", err)
	}
	return tm, nil
}

// splitDocuments reads r whole and splits it into documents at "---" lines,
// converting each to JSON. Documents are numbered from 1 as splitYAML finds
// them; one holding only comments is dropped but keeps its number. strict
// rejects duplicate keys in YAML.
func splitDocuments(r io.Reader, name string, strict bool) ([]document, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	// A JSON file is one document; this spares a large `kubectl -o json`
	// the line-by-line pass.
	if trimmed := bytes.TrimSpace(b); len(trimmed) > 0 && trimmed[0] == '{' {
		return []document{{index: 1, json: trimmed}}, nil
	}
	chunks, lines := splitYAML(b)
	var docs []document
	for i, raw := range chunks {
		j, err := toJSON(raw, strict)
		if err != nil {
			if len(chunks) > 1 {
				return nil, fmt.Errorf("%s: document %d (from line %d): %w", name, i+1, lines[i], err)
			}
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if bytes.Equal(j, []byte("null")) {
			continue
		}
		docs = append(docs, document{index: i + 1, json: j, yaml: raw, line: lines[i]})
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("%s: empty: no YAML or JSON document", name)
	}
	return docs, nil
}

// splitYAML splits b at document separators ("---" alone on a line, or
// followed by a comment), returning each document and the line it starts
// on, from 1. A separator at the very start opens no empty document.
func splitYAML(b []byte) (docs [][]byte, lines []int) {
	start, startLine := 0, 1
	for pos, line := 0, 1; pos < len(b); line++ {
		end := bytes.IndexByte(b[pos:], '\n')
		if end < 0 {
			end = len(b)
		} else {
			end += pos + 1
		}
		if isSeparator(b[pos:end]) {
			if pos > start {
				docs, lines = append(docs, b[start:pos]), append(lines, startLine)
			}
			start, startLine = end, line+1
		}
		pos = end
	}
	if start < len(b) {
		docs, lines = append(docs, b[start:]), append(lines, startLine)
	}
	return docs, lines
}

func isSeparator(line []byte) bool {
	rest, ok := bytes.CutPrefix(line, []byte("---"))
	if !ok {
		return false
	}
	rest = bytes.TrimSpace(rest)
	return len(rest) == 0 || rest[0] == '#'
}

func toJSON(raw []byte, strict bool) ([]byte, error) {
	if t := bytes.TrimSpace(raw); len(t) > 0 && t[0] == '{' {
		return t, nil
	}
	if strict {
		return yaml.YAMLToJSONStrict(raw)
	}
	return yaml.YAMLToJSON(raw)
}

func listItems(b []byte) ([]json.RawMessage, error) {
	var l struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("items: %w", err)
	}
	return l.Items, nil
}

// locate names an object for errors from where it is and its raw JSON:
// "items[3] (Pod default/web-1)", or "Pod default/web-1" when where is "".
// It reads only what it can and never fails.
func locate(where string, raw []byte, def *schema.GroupVersionKind) string {
	var m struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Namespace string `json:"namespace"`
			Name      string `json:"name"`
		} `json:"metadata"`
	}
	_ = json.Unmarshal(raw, &m)
	if m.Kind == "" && def != nil {
		m.Kind = def.Kind
	}
	obj := objectName(m.Kind, m.Metadata.Namespace, m.Metadata.Name)
	switch {
	case where == "":
		return obj
	case obj == "":
		return where
	}
	return where + " (" + obj + ")"
}

func describeObject(obj runtime.Object) string {
	kind := obj.GetObjectKind().GroupVersionKind().Kind
	if a, ok := obj.(interface {
		GetNamespace() string
		GetName() string
	}); ok {
		return objectName(kind, a.GetNamespace(), a.GetName())
	}
	return kind
}

func objectName(kind, ns, name string) string {
	switch {
	case name == "":
		return kind
	case ns == "":
		return kind + " " + name
	}
	return kind + " " + ns + "/" + name
}

// strictDetail is a strict decoding error's list of fields, without the
// "strict decoding error: " the caller's wording replaces.
func strictDetail(err error) string {
	return strings.TrimPrefix(err.Error(), "strict decoding error: ")
}
