package files

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/headroomhq/headroom/config"
)

// App is one app's deploy files for one environment, read and checked.
type App struct {
	Name, Env string
	// Dir is the app's folder in the deploy-files repository.
	Dir string
	// Config is ENV.properties: the ConfigMap named config.
	Config *Properties
	// Resources is ENV.resources: the placeholders' values.
	Resources *Properties
	// Templates are APP-svc.yaml (when present) and APP-rc.yaml, as read.
	Templates []Template
}

// Template is a manifest with ${NAME} placeholders.
type Template struct {
	File string
	Text []byte
	// Workload marks APP-rc.yaml, the Deployment or StatefulSet.
	Workload bool
}

// File names within an app's folder.
func workloadFile(app string) string  { return app + "-rc.yaml" }
func serviceFile(app string) string   { return app + "-svc.yaml" }
func configFile(env string) string    { return env + ".properties" }
func resourcesFile(env string) string { return env + ".resources" }

// ResourcesPath is the ENV.resources file of app in repo, where the
// deployed image is written back.
func ResourcesPath(repo, app, env string) string {
	return filepath.Join(repo, app, resourcesFile(env))
}

// Load reads app's files for env from the repository at repo. Every file
// that is missing or does not parse is reported, joined.
func Load(repo, app, env string) (*App, error) {
	if app == "" || strings.ContainsAny(app, `/\`) || app == "." || app == ".." {
		return nil, fmt.Errorf("app %q: want the name of a folder of %s", app, repo)
	}
	dir := filepath.Join(repo, app)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("app %s: no folder %s in the deploy files%s", app, dir, suggestApps(repo))
	}
	a := &App{Name: app, Env: env, Dir: dir}
	var errs []error
	read := func(name string, required bool) []byte {
		p := filepath.Join(dir, name)
		b, err := os.ReadFile(p)
		switch {
		case err == nil:
			return b
		case errors.Is(err, fs.ErrNotExist) && !required:
			return nil
		case errors.Is(err, fs.ErrNotExist):
			errs = append(errs, fmt.Errorf("%s: missing%s", p, suggestEnvs(dir, name, env)))
		default:
			errs = append(errs, err)
		}
		return nil
	}
	if b := read(configFile(env), true); b != nil {
		p, err := ParseProperties(b, filepath.Join(dir, configFile(env)))
		if err != nil {
			errs = append(errs, err)
		}
		a.Config = p
	}
	if b := read(resourcesFile(env), true); b != nil {
		p, err := ParseProperties(b, filepath.Join(dir, resourcesFile(env)))
		if err != nil {
			errs = append(errs, err)
		}
		a.Resources = p
	}
	if b := read(serviceFile(app), false); b != nil {
		a.Templates = append(a.Templates, Template{File: filepath.Join(dir, serviceFile(app)), Text: b})
	}
	if b := read(workloadFile(app), true); b != nil {
		a.Templates = append(a.Templates, Template{File: filepath.Join(dir, workloadFile(app)), Text: b, Workload: true})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return a, nil
}

// suggestEnvs names the environments that have the file kind missing.
func suggestEnvs(dir, missing, env string) string {
	ext := filepath.Ext(missing)
	if ext != ".properties" && ext != ".resources" {
		return ""
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "*"+ext))
	var envs []string
	for _, m := range matches {
		envs = append(envs, strings.TrimSuffix(filepath.Base(m), ext))
	}
	if len(envs) == 0 {
		return ""
	}
	sort.Strings(envs)
	return fmt.Sprintf(" (environment %s; %s files exist for %s)", env, ext, strings.Join(envs, ", "))
}

// suggestApps lists the repository's app folders when there are few.
func suggestApps(repo string) string {
	entries, err := os.ReadDir(repo)
	if err != nil {
		return fmt.Sprintf(" (%v)", err)
	}
	var apps []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			apps = append(apps, e.Name())
		}
	}
	if len(apps) == 0 || len(apps) > 20 {
		return ""
	}
	return "; it has " + strings.Join(apps, ", ")
}

// Manifest is an expanded template.
type Manifest struct {
	File     string
	Text     []byte
	Workload bool
}

// Expand replaces every ${NAME} of the templates with the value of NAME in
// ENV.resources, or in override when there (the image of a new version).
// It is strict: a placeholder without a value, a value that is empty, a
// value not used by any template, a value holding a line break (it would
// shift the manifest's lines) and a malformed ${ are errors naming file
// and line. $${ writes a literal ${.
func (a *App) Expand(override map[string]string) ([]Manifest, error) {
	values := a.Resources.Map()
	for k, v := range override {
		values[k] = v
	}
	var errs []error
	used := map[string]bool{}
	var out []Manifest
	for _, t := range a.Templates {
		text, err := expand(t.Text, t.File, values, used)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, Manifest{File: t.File, Text: text, Workload: t.Workload})
	}
	for _, e := range a.Resources.Entries {
		v := values[e.Key]
		switch {
		case !used[e.Key]:
			errs = append(errs, fmt.Errorf("%s:%d: %s is used by no template (%s); remove it or use ${%s}",
				a.Resources.File, e.Line, e.Key, templateNames(a.Templates), e.Key))
		case v == "":
			errs = append(errs, fmt.Errorf("%s:%d: %s has no value", a.Resources.File, e.Line, e.Key))
		case strings.ContainsAny(v, "\r\n"):
			errs = append(errs, fmt.Errorf("%s:%d: the value of %s holds a line break; placeholders take one-line values",
				a.Resources.File, e.Line, e.Key))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

func templateNames(ts []Template) string {
	var names []string
	for _, t := range ts {
		names = append(names, filepath.Base(t.File))
	}
	return strings.Join(names, ", ")
}

// expand replaces the placeholders of one template.
func expand(text []byte, file string, values map[string]string, used map[string]bool) ([]byte, error) {
	var out []byte
	var errs []error
	line := 1
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c == '\n' {
			line++
		}
		if c != '$' || i+1 >= len(text) {
			out = append(out, c)
			continue
		}
		switch {
		case text[i+1] == '$' && i+2 < len(text) && text[i+2] == '{': // $${ is a literal ${
			out = append(out, '$', '{')
			i += 2
			continue
		case text[i+1] != '{':
			out = append(out, c)
			continue
		}
		end := -1
		for j := i + 2; j < len(text) && text[j] != '\n'; j++ {
			if text[j] == '}' {
				end = j
				break
			}
		}
		if end < 0 {
			errs = append(errs, fmt.Errorf("%s:%d: ${ without a closing } on the same line; write $${ for a literal ${", file, line))
			out = append(out, c)
			continue
		}
		name := string(text[i+2 : end])
		v, ok := values[name]
		switch {
		case !config.IsPlaceholderName(name):
			errs = append(errs, fmt.Errorf("%s:%d: ${%s}: not a placeholder name (letters, digits, _ . -)", file, line, name))
		case !ok:
			errs = append(errs, fmt.Errorf("%s:%d: ${%s} has no value in the resources file%s", file, line, name, similar(name, values)))
		default:
			used[name] = true
			out = append(out, v...)
		}
		i = end
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// similar suggests a defined name that differs from name only in case.
func similar(name string, values map[string]string) string {
	var keys []string
	for k := range values {
		if strings.EqualFold(k, name) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return ""
	}
	slices.Sort(keys)
	return " (it has " + strings.Join(keys, ", ") + ")"
}
