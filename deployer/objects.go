package deployer

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/headroomhq/headroom/capacity"
	"github.com/headroomhq/headroom/deployer/files"
	"github.com/headroomhq/headroom/internal/yamlpath"
)

// Names headroom gives and reads.
const (
	// FieldManager owns the fields headroom applies (server-side apply).
	FieldManager = "headroom"
	// ConfigMapName is the ConfigMap ENV.properties becomes, as the old
	// scripts named it.
	ConfigMapName = "config"
	// AnnotationConfigHash, on the pod template, is the hash of the
	// ConfigMap's content: a change of configuration changes the template
	// and so rolls the pods, as `kubectl rollout restart` does.
	AnnotationConfigHash = "headroom.io/config-hash"
	// AnnotationLastDeploy, on the workload, records the last deploy.
	AnnotationLastDeploy = "headroom.io/last-deploy"
	labelManagedBy       = "app.kubernetes.io/managed-by"
)

// Objects are what a deploy applies to one cluster, in this order:
// namespace, ConfigMap, the other objects (APP-svc.yaml), the workload.
type Objects struct {
	Namespace *unstructured.Unstructured
	ConfigMap *unstructured.Unstructured
	Others    []*unstructured.Unstructured
	Workload  *unstructured.Unstructured
	// ConfigHash is the ConfigMap's content hash, also on the pod template.
	ConfigHash string
	// sources are where each object was written, by describe(object).
	sources map[string]source
}

// source is where an object was written: its YAML document and the line
// of the file it starts on.
type source struct {
	file string
	doc  []byte
	line int
}

// notDeclared finds the field server-side apply names for an unknown field.
var notDeclared = regexp.MustCompile(`\.([^\s:]+): field not declared in schema`)

// explain names where in the deploy files the field an API server error
// is about was written: file:line, or the file.
func (o *Objects) explain(u *unstructured.Unstructured, err error) error {
	var fields []string
	var st apierrors.APIStatus
	if errors.As(err, &st) {
		if d := st.Status().Details; d != nil {
			for _, c := range d.Causes {
				if c.Field != "" {
					fields = append(fields, c.Field)
				}
			}
		}
	}
	for _, m := range notDeclared.FindAllStringSubmatch(err.Error(), -1) {
		fields = append(fields, m[1])
	}
	at := ""
	if len(fields) > 0 {
		at = o.locate(u, fields[0])
	} else if src, ok := o.sources[describe(u)]; ok {
		at = fmt.Sprintf("%s:%d", src.file, src.line)
	}
	if at == "" {
		return err
	}
	return fmt.Errorf("%s: %w", at, err)
}

// locate is file:line of field of object u, or the file, or "". of field of object u, when known.
func (o *Objects) locate(u *unstructured.Unstructured, field string) string {
	src, ok := o.sources[describe(u)]
	if !ok {
		return ""
	}
	if l, _ := yamlpath.Line(src.doc, field); l > 0 {
		return fmt.Sprintf("%s:%d", src.file, src.line+l-1)
	}
	return src.file
}

// All returns the objects in the order they are applied.
func (o *Objects) All() []*unstructured.Unstructured {
	all := []*unstructured.Unstructured{o.Namespace, o.ConfigMap}
	all = append(all, o.Others...)
	return append(all, o.Workload)
}

// Typed returns the workload as an *appsv1.Deployment or
// *appsv1.StatefulSet.
func (o *Objects) Typed() (runtime.Object, error) {
	var obj runtime.Object = &appsv1.Deployment{}
	if o.Workload.GetKind() == "StatefulSet" {
		obj = &appsv1.StatefulSet{}
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Workload.Object, obj); err != nil {
		return nil, fmt.Errorf("%s: %w", describe(o.Workload), err)
	}
	return obj, nil
}

// Build turns an app's expanded manifests and configuration into the
// objects to apply in namespace ns. replicas, when not nil, replaces the
// workload's. The workload is read strictly (capacity.ReadWorkload): an
// unknown field, a ReplicationController or an old apiVersion is an error
// naming the file and line.
func Build(app *files.App, manifests []files.Manifest, ns string, replicas *int32) (*Objects, error) {
	o := &Objects{sources: map[string]source{}}
	var errs []error
	for _, m := range manifests {
		if m.Workload {
			if _, err := capacity.ReadWorkload(bytes.NewReader(m.Text), m.File); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		objs, srcs, err := decode(m.Text, m.File)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for i, u := range objs {
			o.sources[describe(u)] = srcs[i]
			if n := u.GetNamespace(); n != "" && n != ns {
				errs = append(errs, fmt.Errorf("%s: %s names namespace %q; leave it out, the environment chooses (%s)",
					m.File, describe(u), n, ns))
				continue
			}
			u.SetNamespace(ns)
			if m.Workload && isWorkload(u) {
				o.Workload = u
				continue
			}
			o.Others = append(o.Others, u)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if o.Workload == nil {
		return nil, fmt.Errorf("%s: no workload", app.Dir) // ReadWorkload said so already; kept for safety
	}
	cm, hash, err := configMap(app.Config, ns)
	if err != nil {
		return nil, err
	}
	o.ConfigMap, o.ConfigHash = cm, hash
	o.Namespace = &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Namespace",
		"metadata": map[string]any{"name": ns, "labels": map[string]any{labelManagedBy: FieldManager}},
	}}
	if replicas != nil {
		if err := unstructured.SetNestedField(o.Workload.Object, int64(*replicas), "spec", "replicas"); err != nil {
			return nil, err
		}
	}
	if err := unstructured.SetNestedField(o.Workload.Object, hash, "spec", "template", "metadata", "annotations", AnnotationConfigHash); err != nil {
		return nil, fmt.Errorf("%s: %w", describe(o.Workload), err)
	}
	return o, nil
}

// SetImages sets the image of each named container of the workload (and
// of its init containers), as `headroom reconfigure` keeps what runs.
func (o *Objects) SetImages(images map[string]string) error {
	for _, field := range []string{"containers", "initContainers"} {
		list, found, err := unstructured.NestedSlice(o.Workload.Object, "spec", "template", "spec", field)
		if err != nil || !found {
			continue
		}
		for i, c := range list {
			m, ok := c.(map[string]any)
			if !ok {
				continue
			}
			name, _ := m["name"].(string)
			if img, ok := images[name]; ok {
				m["image"] = img
				list[i] = m
			}
		}
		if err := unstructured.SetNestedSlice(o.Workload.Object, list, "spec", "template", "spec", field); err != nil {
			return err
		}
	}
	return nil
}

// Images returns the workload's container images by container name.
func (o *Objects) Images() map[string]string {
	out := map[string]string{}
	list, _, _ := unstructured.NestedSlice(o.Workload.Object, "spec", "template", "spec", "containers")
	for _, c := range list {
		if m, ok := c.(map[string]any); ok {
			name, _ := m["name"].(string)
			img, _ := m["image"].(string)
			out[name] = img
		}
	}
	return out
}

// configMap builds the ConfigMap named config from ENV.properties: one
// data key per property, as `kubectl create configmap --from-env-file`
// does, and the hash of its content.
func configMap(p *files.Properties, ns string) (*unstructured.Unstructured, string, error) {
	data := map[string]any{}
	var errs []error
	h := sha256.New()
	entries := slices.Clone(p.Entries)
	slices.SortFunc(entries, func(a, b files.Entry) int { return strings.Compare(a.Key, b.Key) })
	for _, e := range entries {
		if msgs := validation.IsConfigMapKey(e.Key); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("%s:%d: %q cannot be a ConfigMap key: %s", p.File, e.Line, e.Key, strings.Join(msgs, "; ")))
			continue
		}
		data[e.Key] = e.Value
		fmt.Fprintf(h, "%d:%s=%d:%s\n", len(e.Key), e.Key, len(e.Value), e.Value)
	}
	if len(errs) > 0 {
		return nil, "", errors.Join(errs...)
	}
	hash := hex.EncodeToString(h.Sum(nil))[:16]
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": ConfigMapName, "namespace": ns,
			"labels": map[string]any{labelManagedBy: FieldManager}},
		"data": data,
	}}, hash, nil
}

// decode reads every YAML document of a manifest as an object, with where
// each was written.
func decode(text []byte, file string) ([]*unstructured.Unstructured, []source, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(text)))
	var out []*unstructured.Unstructured
	var srcs []source
	offset := 0
	for doc := 1; ; doc++ {
		raw, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, srcs, nil
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: document %d: %w", file, doc, err)
		}
		// The reader hands documents out as written, in order.
		at := offset
		if i := bytes.Index(text[offset:], raw); i >= 0 {
			at = offset + i
			offset = at + len(raw)
		}
		src := source{file: file, doc: raw, line: 1 + bytes.Count(text[:at], []byte("\n"))}
		j, err := yaml.YAMLToJSON(raw)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: document %d: %w", file, doc, err)
		}
		if bytes.Equal(bytes.TrimSpace(j), []byte("null")) {
			continue
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(j); err != nil {
			return nil, nil, fmt.Errorf("%s:%d: document %d: %w", file, src.line, doc, err)
		}
		if u.GetName() == "" {
			return nil, nil, fmt.Errorf("%s:%d: document %d: %s has no metadata.name", file, src.line, doc, u.GetKind())
		}
		if u.IsList() {
			return nil, nil, fmt.Errorf("%s:%d: document %d: a %s; write each object as its own document", file, src.line, doc, u.GetKind())
		}
		out = append(out, u)
		srcs = append(srcs, src)
	}
}

func isWorkload(u *unstructured.Unstructured) bool {
	return u.GetAPIVersion() == "apps/v1" && (u.GetKind() == "Deployment" || u.GetKind() == "StatefulSet")
}

// describe names an object as kubectl does: deployment/shop.
func describe(u *unstructured.Unstructured) string {
	return strings.ToLower(u.GetKind()) + "/" + u.GetName()
}
