// Package policy holds the built-in compliance pack (Rego, evaluated on the plan JSON) and
// the two ends of running it: the `opa eval` command line and the reading of its result.
// The pipeline runs the opa CLI in OPA's own container rather than linking OPA's Go
// packages: they add about 19 s to every cold build of the Dagger module.
package policy

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/findings"
)

// pack is the built-in rule set, readable Rego a user can copy, extend or replace.
//
//go:embed pack/*.rego
var pack embed.FS

// Query collects every deny rule of every package directly under data.infrapipe, the
// built-in ones and the user's alike, and names the packages that were loaded, so an
// empty pack cannot pass for a clean plan.
const Query = `{"packages": object.keys(data.infrapipe), ` +
	`"rules": [p | some p, pkg in data.infrapipe; pkg.deny], ` +
	`"deny": [{"package": p, "deny": d} | some p, pkg in data.infrapipe; some d in pkg.deny]}`

// PackFiles is the built-in pack's .rego files (not its tests) by file name: the module
// hands them to the opa container as they are, with no temporary directory.
func PackFiles() (map[string][]byte, error) {
	entries, err := fs.ReadDir(pack, "pack")
	if err != nil {
		return nil, fmt.Errorf("read embedded policy pack: %w", err)
	}
	files := map[string][]byte{}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".rego") || strings.HasSuffix(name, "_test.rego") {
			continue
		}
		if files[name], err = pack.ReadFile("pack/" + name); err != nil {
			return nil, fmt.Errorf("read embedded policy pack: %w", err)
		}
	}
	return files, nil
}

// Config is data.infrapipe_config, the settings the pack's rules read. Empty fields keep
// the pack's defaults.
type Config struct {
	Environment           string   `json:"environment,omitempty"`
	RequiredTags          []string `json:"required_tags,omitempty"`
	AdminPorts            []int    `json:"admin_ports,omitempty"`
	ProtectedEnvironments []string `json:"protected_environments,omitempty"`
	StateBuckets          []string `json:"state_buckets,omitempty"`
}

// ConfigFor derives the settings from an environment's profile: its name, its tag keys
// (the ones discovery filters on must be present) plus Owner, and its state bucket.
func ConfigFor(p environment.Profile) Config {
	c := Config{Environment: string(p.Name)}
	if p.ProjectTagKey != "" && p.EnvironmentTagKey != "" {
		c.RequiredTags = []string{p.ProjectTagKey, p.EnvironmentTagKey, "Owner"}
	}
	if p.Backend.Bucket != "" {
		c.StateBuckets = []string{p.Backend.Bucket}
	}
	return c
}

// ConfigJSON is the settings as the JSON data document `opa eval --data` loads.
func ConfigJSON(c Config) ([]byte, error) {
	data, err := json.MarshalIndent(map[string]Config{"infrapipe_config": c}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("write policy config: %w", err)
	}
	return append(data, '\n'), nil
}

// Eval says what `opa eval` loads. Paths are as the opa process sees them (inside its
// container in the pipeline).
type Eval struct {
	Pack   string   // a directory holding PackFiles; empty leaves the built-in pack out (replace it)
	User   []string // the user's Rego directories or files, loaded beside the pack
	Config string   // a file holding ConfigJSON; optional
	Input  string   // plan JSON from terraform show -json
	// Shown names paths of User as the repository does (/policy/user → terraform/policies),
	// for the errors Read reports in them.
	Shown map[string]string
}

// Args is the opa command line, starting with "opa". Its stdout is the result to Parse;
// exit status 0 even when rules deny, non-zero when OPA itself fails.
func (e Eval) Args() ([]string, error) {
	if e.Input == "" {
		return nil, fmt.Errorf("policy eval: no input plan JSON")
	}
	if e.Pack == "" && len(e.User) == 0 {
		return nil, fmt.Errorf("policy eval: neither the built-in pack nor a user policy directory is loaded")
	}
	args := []string{"opa", "eval", "--format", "json"}
	for _, d := range append([]string{e.Pack, e.Config}, e.User...) {
		if d != "" {
			args = append(args, "--data", d)
		}
	}
	return append(args, "--input", e.Input, Query), nil
}

// Result is one evaluation: which rule packages ran and what they denied.
type Result struct {
	Rules    []string           // packages under data.infrapipe that define deny
	Ignored  []string           // packages under data.infrapipe without deny (helpers, or a mistake)
	Findings []findings.Finding // tool "opa", rule ID from each deny object
}

type evalOutput struct {
	Errors json.RawMessage `json:"errors"`
	Result []struct {
		Expressions []struct {
			Value json.RawMessage `json:"value"`
		} `json:"expressions"`
	} `json:"result"`
}

type queryValue struct {
	Packages []string `json:"packages"`
	Rules    []string `json:"rules"`
	Deny     []struct {
		Package string          `json:"package"`
		Deny    json.RawMessage `json:"deny"`
	} `json:"deny"`
}

// denial is the object every deny rule returns; link is optional.
type denial struct {
	Rule     string `json:"rule"`
	Severity string `json:"severity"`
	Resource string `json:"resource"`
	Message  string `json:"message"`
	Link     string `json:"link"`
}

// Read reads what the command from Args did: its exit code and output. Errors in the
// Rego it loaded come back as Errors, their files named as Shown names them; an exit
// without a result gives OPA's own output.
func (e Eval) Read(code int, stdout, stderr string) (Result, error) {
	res, err := Parse("eval", []byte(stdout))
	var errs Errors
	if errors.As(err, &errs) {
		for i := range errs {
			for dir, shown := range e.Shown {
				if rest, ok := strings.CutPrefix(errs[i].File, dir+"/"); ok {
					errs[i].File = path.Join(shown, rest)
				}
			}
		}
		return Result{}, fmt.Errorf("opa eval: %w", errs)
	}
	if err != nil && code != 0 {
		return Result{}, fmt.Errorf("opa eval failed (exit code %d): %s", code, strings.TrimSpace(stderr+"\n"+stdout))
	}
	return res, err
}

// Errors are what opa eval reports of the Rego it loaded: a file that does not parse,
// a rule that does not compile. They are the repository's to fix, not a tool that could
// not run: InputError tells the pipeline so, and it blocks on them in every environment.
type Errors []Error

// Error is one of them, at its file and row.
type Error struct {
	Code    string
	Message string
	File    string
	Row     int
}

func (errs Errors) Error() string {
	parts := make([]string, len(errs))
	for i, e := range errs {
		parts[i] = fmt.Sprintf("%s:%d: %s (%s)", e.File, e.Row, e.Message, e.Code)
	}
	return "the policies do not compile: " + strings.Join(parts, "; ")
}

// InputError marks the errors as the repository's (ci/pipeline).
func (Errors) InputError() bool { return true }

// regoErrors reads opa's "errors" as Errors when they are errors in Rego files (codes
// rego_parse_error, rego_compile_error, rego_type_error, ...), nil otherwise.
func regoErrors(raw json.RawMessage) Errors {
	var list []struct {
		Code     string `json:"code"`
		Message  string `json:"message"`
		Location *struct {
			File string `json:"file"`
			Row  int    `json:"row"`
		} `json:"location"`
	}
	if json.Unmarshal(raw, &list) != nil || len(list) == 0 {
		return nil
	}
	errs := make(Errors, 0, len(list))
	for _, e := range list {
		if !strings.HasPrefix(e.Code, "rego_") || e.Location == nil || e.Location.File == "" {
			return nil
		}
		errs = append(errs, Error{Code: e.Code, Message: e.Message, File: e.Location.File, Row: e.Location.Row})
	}
	return errs
}

// Parse reads the stdout of the command from Args. name (usually the file) labels errors.
// OPA errors, an undefined result (no package under data.infrapipe) and deny objects
// without the rule/severity/resource/message shape are errors, never an empty result.
func Parse(name string, data []byte) (Result, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return Result{}, fmt.Errorf("opa %s: empty output: opa eval wrote nothing, so it probably failed", name)
	}
	var out evalOutput
	if err := json.Unmarshal(data, &out); err != nil {
		return Result{}, fmt.Errorf("opa %s: not opa eval --format json output: %w", name, err)
	}
	if len(out.Errors) > 0 && string(out.Errors) != "null" {
		if errs := regoErrors(out.Errors); errs != nil {
			return Result{}, fmt.Errorf("opa %s: %w", name, errs)
		}
		return Result{}, fmt.Errorf("opa %s: opa eval failed: %s", name, compact(out.Errors))
	}
	if len(out.Result) == 0 || len(out.Result[0].Expressions) == 0 {
		return Result{}, fmt.Errorf("opa %s: the query is undefined: no policy package under data.infrapipe was loaded", name)
	}
	var v queryValue
	if err := json.Unmarshal(out.Result[0].Expressions[0].Value, &v); err != nil {
		return Result{}, fmt.Errorf("opa %s: unexpected query value: %w", name, err)
	}
	if len(v.Rules) == 0 {
		return Result{}, fmt.Errorf("opa %s: no package under data.infrapipe defines deny (loaded: %s)", name, strings.Join(v.Packages, ", "))
	}
	r := Result{Rules: v.Rules}
	for _, p := range v.Packages {
		if !slices.Contains(v.Rules, p) {
			r.Ignored = append(r.Ignored, p)
		}
	}
	for i, d := range v.Deny {
		where := fmt.Sprintf("opa %s: deny %d of package infrapipe.%s", name, i, d.Package)
		var dn denial
		if err := json.Unmarshal(d.Deny, &dn); err != nil || dn.Rule == "" || dn.Message == "" {
			return Result{}, fmt.Errorf("%s is %s: want an object with rule, severity, resource and message", where, compact(d.Deny))
		}
		sev, err := findings.ParseSeverity(dn.Severity)
		if err != nil {
			return Result{}, fmt.Errorf("%s (%s): %w", where, dn.Rule, err)
		}
		if sev == findings.Unknown {
			// UNKNOWN is below every threshold: the denial would never block anything.
			return Result{}, fmt.Errorf("%s (%s): severity %q: a deny rule must say INFO, LOW, MEDIUM, HIGH or CRITICAL", where, dn.Rule, dn.Severity)
		}
		r.Findings = append(r.Findings, findings.Finding{
			Tool:     "opa",
			RuleID:   dn.Rule,
			Severity: sev,
			Resource: dn.Resource,
			Message:  dn.Message,
			Link:     dn.Link,
		})
	}
	findings.Sort(r.Findings)
	sort.Strings(r.Ignored)
	return r, nil
}

func compact(raw json.RawMessage) string {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return string(raw)
	}
	return buf.String()
}
