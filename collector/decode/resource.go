package decode

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"
)

// The /metrics/resource families this package reads; all others are skipped.
const (
	nodeCPUName        = "node_cpu_usage_seconds_total"
	nodeMemoryName     = "node_memory_working_set_bytes"
	podCPUName         = "pod_cpu_usage_seconds_total"
	podMemoryName      = "pod_memory_working_set_bytes"
	containerCPUName   = "container_cpu_usage_seconds_total"
	containerMemName   = "container_memory_working_set_bytes"
	containerStartName = "container_start_time_seconds"
)

// ResourceMetrics decodes the kubelet's /metrics/resource response (Prometheus
// text format 0.0.4) read from r to EOF. The node is reported under nodeName,
// since the text does not name it; samples without a timestamp are taken at
// defaultTime, which should be the time of the scrape.
//
// It follows metrics-server's decoder: a container, pod or node is reported
// only when it has both a CPU counter and a working set, neither zero (a CPU
// counter under one nanosecond counts as zero), and a non-zero time; the
// pod_* lines are optional; families it does not read are skipped, as are
// container series without namespace, pod and container labels (cAdvisor's
// pod-level series). Where a series repeats, the last line wins. Unlike
// current metrics-server, which drops a whole pod when one of its containers
// is incomplete, only the incomplete container is dropped. CPU.Time is the
// CPU sample's timestamp, the one a rate needs.
//
// It returns an error wrapping ErrMalformed, naming the line, for a syntax
// error in a line of a series it reads (lines of other series are skipped
// unparsed), a negative or non-integer timestamp, or a CPU counter, working set
// or start time that is negative, not finite or out of range.
func ResourceMetrics(r io.Reader, nodeName string, defaultTime time.Time) (*Result, error) {
	b, err := readAll(r)
	if err != nil {
		return nil, fmt.Errorf("read metrics-resource: %w", err)
	}
	return decodeResource(b, nodeName, defaultTime)
}

// ResourceMetricsBytes is ResourceMetrics over a response already in
// memory, without the pod_* series (Result.Pods stays empty): the collector
// sums containers itself, and skipping the pod table spares a map per
// node and cycle. The result does not refer to b, which the caller may
// reuse.
func ResourceMetricsBytes(b []byte, nodeName string, defaultTime time.Time) (*Result, error) {
	return decodeResourceAs(b, nodeName, defaultTime, false)
}

func decodeResource(b []byte, nodeName string, defaultTime time.Time) (*Result, error) {
	return decodeResourceAs(b, nodeName, defaultTime, true)
}

func decodeResourceAs(b []byte, nodeName string, defaultTime time.Time, withPods bool) (*Result, error) {
	// One container_cpu line per container: size the tables once.
	n := bytes.Count(b, []byte(containerCPUName+"{"))
	d := resourceDecoder{
		defaultTime: defaultTime,
		withPods:    withPods,
		node:        Node{Name: nodeName},
		containers:  make([]Container, 0, n),
		byContainer: make(map[string]int, n),
	}
	var s sample
	for line := 1; len(b) > 0; line++ {
		var l []byte
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			l, b = b[:i], b[i+1:]
		} else {
			l, b = b, nil
		}
		l = trimBlank(l)
		if len(l) == 0 || l[0] == '#' {
			continue
		}
		// A line of a series not read is skipped before its labels and
		// value are parsed: they are most of the work, and the pod_*
		// series the collector does not read are two lines in five of a
		// kubelet's page. Such a line is not checked either: a kubelet's
		// new series, well formed or not, never fails a node.
		if i := scanName(l, 0); i > 0 && (i == len(l) || isBlank(l[i]) || l[i] == '{') && !d.reads(l[:i]) {
			continue
		}
		err := parseSample(l, &s, &d.scratch)
		if err == nil {
			err = d.add(&s)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: metrics-resource line %d: %w: %q", ErrMalformed, line, err, clip(l))
		}
	}
	return d.result(), nil
}

// resourceDecoder gathers the samples of one response. Names in Container and
// Pod are substrings of the map keys, one allocation per container or pod,
// so a result never pins the whole response in memory.
type resourceDecoder struct {
	defaultTime time.Time
	withPods    bool // keep the pod_* series
	node        Node
	containers  []Container
	byContainer map[string]int
	pods        []Pod
	byPod       map[string]int
	key         []byte // reused to look up byContainer and byPod
	scratch     []byte // reused for unescaped label values
}

// reads reports whether the decoder keeps samples of the series name.
func (d *resourceDecoder) reads(name []byte) bool {
	switch string(name) {
	case nodeCPUName, nodeMemoryName, containerCPUName, containerMemName, containerStartName:
		return true
	case podCPUName, podMemoryName:
		return d.withPods
	}
	return false
}

func (d *resourceDecoder) add(s *sample) error {
	if !d.reads(s.name) {
		return nil
	}
	t := d.defaultTime
	if s.hasTimestamp {
		t = time.UnixMilli(s.timestamp).UTC()
	}
	switch string(s.name) {
	case nodeCPUName:
		return setCPU(&d.node.CPU, s.value, t)
	case nodeMemoryName:
		return setMemory(&d.node.MemoryWorkingSetBytes, &d.node.HasMemory, s.value)
	case podCPUName, podMemoryName:
		if len(s.namespace) == 0 || len(s.pod) == 0 {
			return nil
		}
		p := &d.pods[d.podIndex(s.namespace, s.pod)]
		if string(s.name) == podCPUName {
			return setCPU(&p.CPU, s.value, t)
		}
		return setMemory(&p.MemoryWorkingSetBytes, &p.HasMemory, s.value)
	}
	if len(s.namespace) == 0 || len(s.pod) == 0 || len(s.container) == 0 {
		return nil
	}
	c := &d.containers[d.containerIndex(s.namespace, s.pod, s.container)]
	switch string(s.name) {
	case containerCPUName:
		return setCPU(&c.CPU, s.value, t)
	case containerMemName:
		return setMemory(&c.MemoryWorkingSetBytes, &c.HasMemory, s.value)
	default: // containerStartName
		st, err := unixSeconds(s.value)
		if err != nil {
			return err
		}
		c.StartTime = st
		return nil
	}
}

func setCPU(c *CPU, v float64, t time.Time) error {
	if !(v >= 0) || math.IsInf(v, 1) {
		return fmt.Errorf("CPU counter %v is negative or not finite", v)
	}
	*c = CPU{CumulativeSeconds: v, HasCumulative: true, Time: t}
	return nil
}

func setMemory(dst *uint64, has *bool, v float64) error {
	// 1<<64 as a float: anything at or above it does not fit a uint64.
	if !(v >= 0) || v >= 1<<64 {
		return fmt.Errorf("working set %v is negative, not finite or too large", v)
	}
	*dst, *has = uint64(v), true
	return nil
}

// unixSeconds turns a start time in seconds into a time, requiring it to fit
// int64 nanoseconds (years 1677 to 2262) as metrics-server does.
func unixSeconds(v float64) (time.Time, error) {
	if !(math.Abs(v) < math.MaxInt64/1e9) {
		return time.Time{}, fmt.Errorf("start time %v s is not finite or out of range", v)
	}
	sec, frac := math.Modf(v)
	return time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC(), nil
}

// complete is metrics-server's rule for keeping a point: a CPU counter of at
// least one nanosecond, a non-zero working set and a time.
func complete(c *CPU, mem uint64, hasMem bool) bool {
	return c.HasCumulative && c.CumulativeSeconds*1e9 >= 1 && hasMem && mem != 0 && !c.Time.IsZero()
}

func (d *resourceDecoder) result() *Result {
	res := &Result{Format: FormatResourceMetrics}
	if complete(&d.node.CPU, d.node.MemoryWorkingSetBytes, d.node.HasMemory) {
		res.Nodes = []Node{d.node}
	}
	kept := d.containers[:0]
	for _, c := range d.containers {
		if complete(&c.CPU, c.MemoryWorkingSetBytes, c.HasMemory) {
			kept = append(kept, c)
		}
	}
	res.Containers = kept
	if len(d.pods) > 0 {
		pods := d.pods[:0]
		for _, p := range d.pods {
			if complete(&p.CPU, p.MemoryWorkingSetBytes, p.HasMemory) {
				pods = append(pods, p)
			}
		}
		res.Pods = pods
	}
	return res
}

// containerIndex returns the index in d.containers of the container named by
// the labels, adding it on first sight; it is keyed by the container's ID.
func (d *resourceDecoder) containerIndex(ns, pod, ctr []byte) int {
	k := appendContainerID(d.key[:0], ns, pod, ctr)
	d.key = k
	if i, ok := d.byContainer[string(k)]; ok {
		return i
	}
	// The names are sliced out of the ID: one allocation per container.
	id := string(k)
	nsName, podName, ctrName, _ := SplitContainerID(id)
	d.containers = append(d.containers, Container{Namespace: nsName, Pod: podName, Container: ctrName, ID: id})
	i := len(d.containers) - 1
	d.byContainer[id] = i
	return i
}

func (d *resourceDecoder) podIndex(ns, pod []byte) int {
	k := binary.AppendUvarint(d.key[:0], uint64(len(ns)))
	nsAt := len(k)
	k = append(k, ns...)
	podAt := len(k)
	k = append(k, pod...)
	d.key = k
	if i, ok := d.byPod[string(k)]; ok {
		return i
	}
	if d.byPod == nil {
		d.byPod = make(map[string]int, cap(d.containers))
		d.pods = make([]Pod, 0, cap(d.containers))
	}
	key := string(k)
	d.pods = append(d.pods, Pod{Namespace: key[nsAt:podAt], Name: key[podAt:]})
	i := len(d.pods) - 1
	d.byPod[key] = i
	return i
}

// The Prometheus text format, as far as /metrics/resource needs it. Lines are
// already split and trimmed; comments (HELP, TYPE) carry nothing we use and
// are skipped by the caller.

// Labels this package reads.
const (
	labelNamespace = 1 << iota
	labelPod
	labelContainer
)

// sample is one parsed sample line. Its byte slices point into the line or
// into the decoder's scratch buffer and are valid until the next line.
type sample struct {
	name                      []byte
	namespace, pod, container []byte
	labels                    int // which of the label* bits were present
	value                     float64
	timestamp                 int64 // milliseconds since the epoch
	hasTimestamp              bool
}

var (
	errName        = errors.New("expected a metric name")
	errAfterName   = errors.New("expected a blank or '{' after the metric name")
	errLabelName   = errors.New("expected a label name")
	errLabelEquals = errors.New("expected '=' after the label name")
	errLabelQuote  = errors.New("expected '\"' to open the label value")
	errLabelEnd    = errors.New("unterminated label value")
	errLabelSep    = errors.New("expected ',' or '}' after a label")
	errLabelDup    = errors.New("duplicate label")
	errLabelsOpen  = errors.New("unterminated label set")
	errEscape      = errors.New("invalid escape sequence in label value")
	errValue       = errors.New("expected a value")
	errBadValue    = errors.New("value is not a number")
	errTimestamp   = errors.New("timestamp is not a non-negative integer of milliseconds")
	errTrailing    = errors.New("unexpected text after the timestamp")
)

// parseSample parses `name{labels} value [timestamp]`. scratch is reused for
// label values that need unescaping.
func parseSample(l []byte, s *sample, scratch *[]byte) error {
	*s = sample{}
	*scratch = (*scratch)[:0]
	i := scanName(l, 0)
	if i == 0 {
		return errName
	}
	s.name = l[:i]
	if i < len(l) && !isBlank(l[i]) && l[i] != '{' {
		return errAfterName
	}
	if i = skipBlank(l, i); i < len(l) && l[i] == '{' {
		var err error
		if i, err = parseLabels(l, i+1, s, scratch); err != nil {
			return err
		}
		i = skipBlank(l, i)
	}
	j := i
	for j < len(l) && !isBlank(l[j]) {
		j++
	}
	if j == i {
		return errValue
	}
	v, err := parseFloat(l[i:j])
	if err != nil {
		return err
	}
	s.value = v
	if i = skipBlank(l, j); i == len(l) {
		return nil
	}
	var ts int64
	for j = i; j < len(l) && '0' <= l[j] && l[j] <= '9'; j++ {
		d := int64(l[j] - '0')
		if ts > (math.MaxInt64-d)/10 {
			return errTimestamp
		}
		ts = ts*10 + d
	}
	if j == i || (j < len(l) && !isBlank(l[j])) {
		return errTimestamp
	}
	if skipBlank(l, j) != len(l) {
		return errTrailing
	}
	s.timestamp, s.hasTimestamp = ts, true
	return nil
}

// parseLabels parses from just after '{' to just after '}' and returns the
// index after '}'.
func parseLabels(l []byte, i int, s *sample, scratch *[]byte) (int, error) {
	for {
		i = skipBlank(l, i)
		if i == len(l) {
			return i, errLabelsOpen
		}
		if l[i] == '}' {
			return i + 1, nil
		}
		if !isLabelStart(l[i]) {
			return i, errLabelName
		}
		j := i + 1
		for j < len(l) && isLabelChar(l[j]) {
			j++
		}
		name := l[i:j]
		if i = skipBlank(l, j); i == len(l) || l[i] != '=' {
			return i, errLabelEquals
		}
		if i = skipBlank(l, i+1); i == len(l) || l[i] != '"' {
			return i, errLabelQuote
		}
		i++
		start, escaped := i, false
		for ; i < len(l) && l[i] != '"'; i++ {
			if l[i] == '\\' {
				escaped = true
				i++
			}
		}
		if i >= len(l) {
			return i, errLabelEnd
		}
		value := l[start:i]
		i++
		if escaped {
			var err error
			if value, err = unescape(value, scratch); err != nil {
				return i, err
			}
		}
		var bit int
		switch string(name) {
		case "namespace":
			bit, s.namespace = labelNamespace, value
		case "pod":
			bit, s.pod = labelPod, value
		case "container":
			bit, s.container = labelContainer, value
		}
		if s.labels&bit != 0 {
			return i, errLabelDup
		}
		s.labels |= bit
		i = skipBlank(l, i)
		switch {
		case i < len(l) && l[i] == ',':
			i++
		case i < len(l) && l[i] == '}':
			return i + 1, nil
		case i == len(l):
			return i, errLabelsOpen
		default:
			return i, errLabelSep
		}
	}
}

// unescape appends v with \\, \" and \n resolved to scratch and returns the
// appended part. Earlier values of the same line stay valid: appending never
// overwrites them, and a grown buffer leaves the old one intact.
func unescape(v []byte, scratch *[]byte) ([]byte, error) {
	buf := *scratch
	start := len(buf)
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\\' {
			if i++; i == len(v) {
				return nil, errEscape
			}
			switch v[i] {
			case '\\', '"':
				c = v[i]
			case 'n':
				c = '\n'
			default:
				return nil, errEscape
			}
		}
		buf = append(buf, c)
	}
	*scratch = buf
	return buf[start:], nil
}

// parseFloat accepts what Prometheus's text parsers accept: Go's decimal
// floats and NaN/Inf spellings, not hex floats or digit separators.
func parseFloat(b []byte) (float64, error) {
	if bytes.ContainsAny(b, "pP_") {
		return 0, errBadValue
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return 0, errBadValue
	}
	return v, nil
}

// scanName returns the end of the metric name starting at l[i], or i when
// there is none.
func scanName(l []byte, i int) int {
	if i >= len(l) || !isLabelStart(l[i]) && l[i] != ':' {
		return i
	}
	for i++; i < len(l) && (isLabelChar(l[i]) || l[i] == ':'); i++ {
	}
	return i
}

func isLabelStart(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_'
}

func isLabelChar(c byte) bool { return isLabelStart(c) || '0' <= c && c <= '9' }

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

func skipBlank(l []byte, i int) int {
	for i < len(l) && isBlank(l[i]) {
		i++
	}
	return i
}

// trimBlank trims blanks, and a carriage return, from both ends.
func trimBlank(l []byte) []byte {
	for len(l) > 0 && (isBlank(l[len(l)-1]) || l[len(l)-1] == '\r') {
		l = l[:len(l)-1]
	}
	for len(l) > 0 && isBlank(l[0]) {
		l = l[1:]
	}
	return l
}

// clip shortens a line for an error message.
func clip(l []byte) []byte {
	const max = 120
	if len(l) > max {
		return l[:max]
	}
	return l
}
