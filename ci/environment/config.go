package environment

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/bmatcuk/doublestar/v4"
	"gopkg.in/yaml.v3"

	"github.com/infrapipe/infrapipe/ci/findings"
	"github.com/infrapipe/infrapipe/ci/internal/untrusted"
	"github.com/infrapipe/infrapipe/ci/internal/yamlschema"
)

// ConfigFile is the name of the pipeline configuration that lives next to the Terraform code.
const ConfigFile = "pipeline.yaml"

// ConfigVersion is the only format version this code reads; a later format gets a new number
// so that an old pipeline refuses it instead of silently ignoring what it does not know.
const ConfigVersion = 1

// Config is the built-in profiles with a repository's pipeline.yaml applied.
type Config struct {
	// Path is the file the overrides came from; empty for the built-in defaults.
	Path string
	// Stack names the Terraform root module in state keys and backup prefixes, so stacks
	// that share a bucket never share a state: pipeline.yaml's stack, else the directory
	// the configuration lives in; empty for a configuration at the repository's root.
	Stack    string
	profiles map[Name]Profile
	// Rules map a GitHub event (and ref) to an environment, first match wins.
	Rules []Rule
	// DispatchInput is the workflow_dispatch input that names the environment.
	DispatchInput string
}

// Rule maps a GitHub event, optionally limited to refs, to an environment.
type Rule struct {
	Event string `yaml:"event"`
	// Ref is a full ref ("refs/heads/main") or a pattern as GitHub Actions' branch filters
	// write it: "*" matches within one segment ("refs/heads/release/*"), "**" across "/"
	// ("refs/heads/**"), "?" one character but "/", plus [...] classes, {a,b} and \ escapes
	// (doublestar's syntax). Empty matches every ref.
	Ref         string `yaml:"ref,omitempty"`
	Environment Name   `yaml:"environment"`
}

// DefaultRules send pull requests to preview and pushes to main to test; staging and prod
// are reached through workflow_dispatch (or rules a repository adds).
var DefaultRules = []Rule{
	{Event: "pull_request", Environment: Preview},
	{Event: "push", Ref: "refs/heads/main", Environment: Test},
}

// DefaultDispatchInput is the workflow_dispatch input read when pipeline.yaml names none.
const DefaultDispatchInput = "environment"

// DefaultConfig is the configuration of a stack at the repository's root without a
// pipeline.yaml.
func DefaultConfig() Config { return StackConfig("") }

// StackConfig is the configuration of a stack without a pipeline.yaml: the built-in
// profiles, with state keys and backup prefixes under the stack's name.
func StackConfig(stack string) Config {
	c := Config{Stack: stack, profiles: map[Name]Profile{}, Rules: slices.Clone(DefaultRules), DispatchInput: DefaultDispatchInput}
	for _, n := range Names {
		p, _ := Default(n)
		if stack != "" {
			p.Backend.Key = StackKey(stack, n)
			p.Backend.BackupPrefix = "backups/" + stack + "/" + string(n) + "/"
		}
		c.profiles[n] = p
	}
	return c
}

// StackKey is the default state key of a stack's environment: <stack>/<env>/terraform.tfstate.
func StackKey(stack string, env Name) string {
	return path.Join(stack, string(env), "terraform.tfstate")
}

// DirStack is the default stack name of a configuration in dir, a path inside the
// repository: the directory itself, "" at the root. Leading "../" (a test's view of the
// repository from its package) and "/" are dropped.
func DirStack(dir string) string {
	dir = strings.TrimLeft(path.Clean(filepath.ToSlash(dir)), "/")
	for strings.HasPrefix(dir, "../") {
		dir = dir[len("../"):]
	}
	if dir == "." || dir == ".." {
		return ""
	}
	return dir
}

// Profile returns the profile of a named environment; the name is validated, so it may come
// straight from untrusted input.
func (c Config) Profile(name string) (Profile, error) {
	n, err := ParseName(name)
	if err != nil {
		return Profile{}, err
	}
	if c.profiles == nil {
		return Default(n)
	}
	p := c.profiles[n]
	p.Checks = slices.Clone(p.Checks)
	p.ProtectedTypes = slices.Clone(p.ProtectedTypes)
	p.PostDeploy = slices.Clone(p.PostDeploy)
	p.Notify.Channels = slices.Clone(p.Notify.Channels)
	return p, nil
}

// file is the on-disk shape of pipeline.yaml. Every field is a pointer or a slice so that
// "absent" (keep the default) differs from "set to zero".
type file struct {
	Version      *int                 `yaml:"version"`
	Stack        *string              `yaml:"stack"`
	Defaults     *override            `yaml:"defaults"`
	Environments map[string]*override `yaml:"environments"`
	Resolve      *resolveFile         `yaml:"resolve"`
}

type resolveFile struct {
	DispatchInput *string    `yaml:"dispatch_input"`
	Rules         []ruleFile `yaml:"rules"`
}

type ruleFile struct {
	Event       string `yaml:"event"`
	Ref         string `yaml:"ref"`
	Environment string `yaml:"environment"`
}

// override is what a repository may change in a profile. Validation level, approval and
// import strategy are not here: they define what an environment is.
type override struct {
	SeverityThreshold *string      `yaml:"severity_threshold"`
	Budget            *budgetFile  `yaml:"budget"`
	ProtectedTypes    *[]string    `yaml:"protected_types"`     // replaces the list
	AddProtectedTypes []string     `yaml:"add_protected_types"` // adds to it
	ExtraChecks       []string     `yaml:"extra_checks"`
	PostDeploy        *[]string    `yaml:"post_deploy"` // replaces the list
	LockTimeout       *string      `yaml:"lock_timeout"`
	PlanMaxAge        *string      `yaml:"plan_max_age"`
	Notify            *notifyFile  `yaml:"notify"`
	VarFile           *string      `yaml:"var_file"`
	Region            *string      `yaml:"region"`
	Destroy           *string      `yaml:"destroy"`
	Backend           *backendFile `yaml:"backend"`
	Tags              *tagsFile    `yaml:"tags"`
	KPIs              *targetsFile `yaml:"kpis"`
}

type notifyFile struct {
	Channels *[]string `yaml:"channels"` // replaces the list
	Pipeline *string   `yaml:"pipeline"`
	Drift    *string   `yaml:"drift"`
}

type budgetFile struct {
	MonthlyTotal    *float64 `yaml:"monthly_total"`
	MonthlyDelta    *float64 `yaml:"monthly_delta"`
	RequireEstimate *bool    `yaml:"require_estimate"`
}

type backendFile struct {
	Bucket        *string `yaml:"bucket"`
	Key           *string `yaml:"key"`
	Region        *string `yaml:"region"`
	UseLockfile   *bool   `yaml:"use_lockfile"`
	DynamoDBTable *string `yaml:"dynamodb_table"`
	BackupPrefix  *string `yaml:"backup_prefix"`
}

type tagsFile struct {
	Project     *string `yaml:"project"`
	Environment *string `yaml:"environment"`
}

// maxConfigSize bounds what Load reads and Parse accepts: a pipeline.yaml is a page, not a
// data set.
const maxConfigSize = 1 << 20

// LoadDir loads dir/pipeline.yaml, or returns the defaults when the file does not exist.
func LoadDir(dir string) (Config, error) {
	c, err := Load(filepath.Join(dir, ConfigFile))
	if errors.Is(err, fs.ErrNotExist) {
		return StackConfig(DirStack(dir)), nil
	}
	return c, err
}

// Load reads a pipeline.yaml and applies it to the built-in profiles.
func Load(path string) (Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return Config{}, fmt.Errorf("read pipeline config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConfigSize+1))
	if err != nil {
		return Config{}, fmt.Errorf("read pipeline config %s: %w", path, err)
	}
	return Parse(path, data)
}

// Parse applies pipeline.yaml content to the built-in profiles; path names the file in errors.
func Parse(path string, data []byte) (Config, error) {
	f, err := decode(path, data, false)
	if err != nil {
		return Config{}, err
	}
	c, err := f.apply(DirStack(filepath.Dir(path)))
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	c.Path = path
	return c, nil
}

// decode checks a pipeline.yaml against the schema and decodes it. The repository's
// pipeline.yaml (repo) may have a stacks section, which ci/stacks reads: only its shape is
// checked here, against Stacks; in any other file it is an unknown key.
func decode(path string, data []byte, repo bool) (file, error) {
	if len(data) > maxConfigSize {
		return file{}, fmt.Errorf("%s: larger than %d bytes; a pipeline config is a short file", path, maxConfigSize)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return file{}, fmt.Errorf("%s: not valid YAML: %w", path, err)
	}
	if len(root.Content) == 0 {
		return file{}, fmt.Errorf("%s: empty; it needs at least \"version: %d\"", path, ConfigVersion)
	}
	doc := root.Content[0]
	if repo && doc.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(doc.Content); i += 2 {
			if doc.Content[i].Value != StacksKey {
				continue
			}
			// "stacks:" with nothing after it is no section, as ci/stacks reads it.
			if v := doc.Content[i+1]; v.Kind != yaml.ScalarNode || v.Tag != "!!null" {
				if err := yamlschema.Decode(v, StacksKey, &Stacks{}); err != nil {
					return file{}, fmt.Errorf("%s: %w", path, err)
				}
			}
			doc.Content = slices.Delete(slices.Clone(doc.Content), i, i+2)
			break
		}
	}
	// Every key and scalar is checked against the schema first, so that an error names the
	// key's full path and the valid keys rather than a Go type.
	var f file
	if err := yamlschema.Decode(doc, "", &f); err != nil {
		return file{}, fmt.Errorf("%s: %w", path, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var first, next yaml.Node
	if err := dec.Decode(&first); err != nil {
		return file{}, fmt.Errorf("%s: %w", path, err)
	}
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		return file{}, fmt.Errorf("%s: holds more than one YAML document (a \"---\" line); the pipeline reads one: merge them into a single document", path)
	}
	return f, nil
}

// apply applies the file to the built-in profiles of a stack whose default name is dirStack.
func (f file) apply(dirStack string) (Config, error) {
	stack, err := f.stack(dirStack)
	if err != nil {
		return Config{}, err
	}
	c := StackConfig(stack)
	return c, f.applyOver(&c)
}

// stack checks the file's version and names its stack: its stack key, else dirStack.
func (f file) stack(dirStack string) (string, error) {
	if f.Version == nil {
		return "", fmt.Errorf("version: missing; add \"version: %d\" at the top", ConfigVersion)
	}
	if *f.Version != ConfigVersion {
		return "", fmt.Errorf("version: %d is not supported: valid values are %d", *f.Version, ConfigVersion)
	}
	if f.Stack == nil {
		return dirStack, nil
	}
	if err := checkPath(*f.Stack, "stack", false); err != nil {
		return "", err
	}
	return strings.Trim(*f.Stack, "/"), nil
}

// applyOver applies the file's defaults, environments and resolve rules to c.
func (f file) applyOver(c *Config) error {
	for name := range f.Environments {
		if _, err := ParseName(name); err != nil {
			return fmt.Errorf("environments.%s: %w", name, err)
		}
	}
	for _, n := range Names {
		p := c.profiles[n]
		if f.Defaults != nil {
			if err := f.Defaults.applyTo(&p, "defaults"); err != nil {
				return err
			}
		}
		if o := f.Environments[string(n)]; o != nil {
			if err := o.applyTo(&p, "environments."+string(n)); err != nil {
				return err
			}
		}
		c.profiles[n] = p
	}
	if f.Resolve != nil {
		return f.Resolve.applyTo(c)
	}
	return nil
}

var (
	resourceTypeRE = regexp.MustCompile(`^[a-z][a-z0-9_]*\*?$`)
	bucketRE       = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	regionRE       = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]$`)
	tableRE        = regexp.MustCompile(`^[A-Za-z0-9_.-]{3,255}$`)
	// Paths and keys end up in terraform arguments and S3 keys: plain characters only.
	pathRE   = regexp.MustCompile(`^[A-Za-z0-9_.][A-Za-z0-9_./-]*$`)
	tagKeyRE = regexp.MustCompile(`^[A-Za-z0-9_.:/=+@ -]{1,128}$`)
	eventRE  = regexp.MustCompile(`^[a-z_]{1,64}$`)
	inputRE  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]{0,99}$`)
)

// gitHubEvents are the events that trigger GitHub Actions workflows: a rule for any other
// name (a typo such as "pushh") would never match.
var gitHubEvents = []string{
	"branch_protection_rule", "check_run", "check_suite", "create", "delete", "deployment",
	"deployment_status", "discussion", "discussion_comment", "fork", "gollum", "issue_comment",
	"issues", "label", "merge_group", "milestone", "page_build", "public", "pull_request",
	"pull_request_review", "pull_request_review_comment", "pull_request_target", "push",
	"registry_package", "release", "repository_dispatch", "schedule", "status", "watch",
	"workflow_call", "workflow_dispatch", "workflow_run",
}

// ValidRegion reports whether s is an AWS region name such as eu-west-1.
func ValidRegion(s string) bool { return regionRE.MatchString(s) }

func (o *override) applyTo(p *Profile, at string) error {
	if o.SeverityThreshold != nil {
		s, err := findings.ParseSeverity(*o.SeverityThreshold)
		if err != nil || s == findings.Unknown {
			return fmt.Errorf("%s.severity_threshold: unknown severity %q: valid values are INFO, LOW, MEDIUM, HIGH, CRITICAL", at, *o.SeverityThreshold)
		}
		p.SeverityThreshold = s
	}
	if b := o.Budget; b != nil {
		// A slice, not a map: with both amounts wrong, the error names the same one each run.
		for _, f := range []struct {
			key string
			v   *float64
		}{{"monthly_total", b.MonthlyTotal}, {"monthly_delta", b.MonthlyDelta}} {
			if f.v != nil && (*f.v < 0 || *f.v != *f.v || *f.v > 1e12) {
				return fmt.Errorf("%s.budget.%s: %v is not a valid amount: use a number of USD per month from 0 (no bound) up", at, f.key, *f.v)
			}
		}
		if b.MonthlyTotal != nil {
			p.Budget.MonthlyTotal = *b.MonthlyTotal
		}
		if b.MonthlyDelta != nil {
			p.Budget.MonthlyDelta = *b.MonthlyDelta
		}
		if b.RequireEstimate != nil {
			p.Budget.RequireEstimate = *b.RequireEstimate
		}
	}
	if o.ProtectedTypes != nil {
		if err := checkTypes(*o.ProtectedTypes, at+".protected_types"); err != nil {
			return err
		}
		p.ProtectedTypes = slices.Clone(*o.ProtectedTypes)
	}
	if err := checkTypes(o.AddProtectedTypes, at+".add_protected_types"); err != nil {
		return err
	}
	for _, t := range o.AddProtectedTypes {
		if !slices.Contains(p.ProtectedTypes, t) {
			p.ProtectedTypes = append(p.ProtectedTypes, t)
		}
	}
	for i, s := range o.ExtraChecks {
		c := Check(s)
		if !slices.Contains(AllChecks, c) {
			return fmt.Errorf("%s.extra_checks[%d]: unknown check %q: valid values are %s", at, i, s, joinChecks(AllChecks))
		}
		if !slices.Contains(p.Checks, c) {
			p.Checks = append(p.Checks, c)
		}
	}
	if o.PostDeploy != nil {
		p.PostDeploy = []PostDeployCheck{}
		for i, s := range *o.PostDeploy {
			c := PostDeployCheck(s)
			if !slices.Contains(AllPostDeployChecks, c) {
				names := make([]string, len(AllPostDeployChecks))
				for j, a := range AllPostDeployChecks {
					names[j] = string(a)
				}
				return fmt.Errorf("%s.post_deploy[%d]: unknown check %q: valid values are %s", at, i, s, strings.Join(names, ", "))
			}
			if !slices.Contains(p.PostDeploy, c) {
				p.PostDeploy = append(p.PostDeploy, c)
			}
		}
	}
	if o.LockTimeout != nil {
		d, err := time.ParseDuration(*o.LockTimeout)
		if err != nil || d < time.Second || d > 2*time.Hour {
			return fmt.Errorf("%s.lock_timeout: %q is not valid: use a duration from 1s to 2h, e.g. \"5m\"", at, *o.LockTimeout)
		}
		p.LockTimeout = d
	}
	if o.Notify != nil {
		if err := o.Notify.applyTo(&p.Notify, at+".notify"); err != nil {
			return err
		}
	}
	if o.PlanMaxAge != nil {
		d, err := time.ParseDuration(*o.PlanMaxAge)
		if err != nil || d < time.Minute || d > 7*24*time.Hour {
			return fmt.Errorf("%s.plan_max_age: %q is not valid: use a duration from 1m to 168h, e.g. \"24h\"", at, *o.PlanMaxAge)
		}
		p.PlanMaxAge = d
	}
	if o.VarFile != nil {
		if err := checkPath(*o.VarFile, at+".var_file", true); err != nil {
			return err
		}
		p.VarFile, p.VarFileSet = *o.VarFile, true
	}
	if o.Region != nil {
		if !regionRE.MatchString(*o.Region) {
			return fmt.Errorf("%s.region: %q is not valid: use an AWS region such as eu-west-1", at, *o.Region)
		}
		p.Region = *o.Region
	}
	if o.Destroy != nil {
		d := DestroyPolicy(*o.Destroy)
		valid := []DestroyPolicy{DestroyAllow, DestroyWarn, DestroyBlock}
		if !slices.Contains(valid, d) {
			return fmt.Errorf("%s.destroy: unknown policy %q: valid values are allow, warn, block", at, *o.Destroy)
		}
		// Production's protection is the reason this pipeline exists; a config file in the
		// same pull request must not be able to switch it off. --force-recreate is the
		// escape hatch, and it is visible in the run.
		if p.Name == Prod && d != DestroyBlock {
			return fmt.Errorf("%s.destroy: prod must stay \"block\" (got %q): use --force-recreate on a run to allow a replacement", at, *o.Destroy)
		}
		p.Destroy = d
	}
	if b := o.Backend; b != nil {
		if err := b.applyTo(&p.Backend, at+".backend"); err != nil {
			return err
		}
	}
	if o.KPIs != nil {
		if err := o.KPIs.applyTo(&p.KPIs, at+".kpis"); err != nil {
			return err
		}
	}
	if t := o.Tags; t != nil {
		for _, f := range []struct {
			key string
			v   *string
		}{{"project", t.Project}, {"environment", t.Environment}} {
			if f.v != nil && !tagKeyRE.MatchString(*f.v) {
				return fmt.Errorf("%s.tags.%s: %q is not a valid AWS tag key: use 1 to 128 letters, digits, spaces or _.:/=+-@", at, f.key, *f.v)
			}
		}
		if t.Project != nil {
			p.ProjectTagKey = *t.Project
		}
		if t.Environment != nil {
			p.EnvironmentTagKey = *t.Environment
		}
	}
	return nil
}

func (b *backendFile) applyTo(be *Backend, at string) error {
	type field struct {
		key   string
		value *string
		re    *regexp.Regexp
		want  string
		dst   *string
	}
	for _, f := range []field{
		{"bucket", b.Bucket, bucketRE, "an S3 bucket name: 3 to 63 lowercase letters, digits, dots or hyphens", &be.Bucket},
		{"region", b.Region, regionRE, "an AWS region such as eu-west-1", &be.Region},
		{"dynamodb_table", b.DynamoDBTable, tableRE, "a DynamoDB table name: 3 to 255 letters, digits, _ . or -", &be.DynamoDBTable},
	} {
		if f.value == nil {
			continue
		}
		if !f.re.MatchString(*f.value) {
			return fmt.Errorf("%s.%s: %q is not valid: use %s", at, f.key, *f.value, f.want)
		}
		*f.dst = *f.value
	}
	if b.Key != nil {
		if err := checkPath(*b.Key, at+".key", false); err != nil {
			return err
		}
		be.Key = *b.Key
	}
	if b.BackupPrefix != nil {
		if err := checkPath(*b.BackupPrefix, at+".backup_prefix", false); err != nil {
			return err
		}
		be.BackupPrefix = *b.BackupPrefix
	}
	if b.UseLockfile != nil {
		be.UseLockfile = *b.UseLockfile
	}
	return nil
}

func (r *resolveFile) applyTo(c *Config) error {
	if r.DispatchInput != nil {
		if !inputRE.MatchString(*r.DispatchInput) {
			return fmt.Errorf("resolve.dispatch_input: %q is not a valid workflow input name: use letters, digits, _ or -", *r.DispatchInput)
		}
		c.DispatchInput = *r.DispatchInput
	}
	if r.Rules == nil {
		return nil
	}
	c.Rules = nil
	for i, rf := range r.Rules {
		at := fmt.Sprintf("resolve.rules[%d]", i)
		if !eventRE.MatchString(rf.Event) || !slices.Contains(gitHubEvents, rf.Event) {
			return fmt.Errorf("%s.event: %q is not a GitHub Actions event such as push, pull_request, workflow_dispatch or schedule", at, rf.Event)
		}
		if rf.Ref != "" {
			if !doublestar.ValidatePattern(rf.Ref) || !strings.HasPrefix(rf.Ref, "refs/") {
				return fmt.Errorf("%s.ref: %q is not valid: use a full ref such as refs/heads/main, or a pattern with * (within one segment, as in refs/tags/v*), ** (across /, as in refs/heads/**), ?, [...] or {a,b}", at, rf.Ref)
			}
		}
		n, err := ParseName(rf.Environment)
		if err != nil {
			return fmt.Errorf("%s.environment: %w", at, err)
		}
		rule := Rule{Event: rf.Event, Ref: rf.Ref, Environment: n}
		for j, earlier := range c.Rules {
			if earlier.covers(rule) {
				return fmt.Errorf("%s: never used: resolve.rules[%d] (%s) matches every run it would, and the first match wins: put the narrower rule first, or remove it", at, j, earlier.describe())
			}
		}
		c.Rules = append(c.Rules, rule)
	}
	return nil
}

// covers reports whether r matches every run that later would: the same event, and any
// ref, the same ref, or a pattern matching later's literal ref.
func (r Rule) covers(later Rule) bool {
	if r.Event != later.Event {
		return false
	}
	if r.Ref == "" || r.Ref == later.Ref {
		return true
	}
	if later.Ref == "" || strings.ContainsAny(later.Ref, `*?[\`) {
		return false
	}
	ok, _ := matchRef(r.Ref, later.Ref)
	return ok
}

// describe names a rule in errors: "event push on refs/heads/*".
func (r Rule) describe() string {
	if r.Ref == "" {
		return "event " + r.Event + ", any ref"
	}
	return "event " + r.Event + " on " + r.Ref
}

func checkTypes(types []string, at string) error {
	for i, t := range types {
		if !resourceTypeRE.MatchString(t) {
			return fmt.Errorf("%s[%d]: %q is not a Terraform resource type: use a name such as aws_db_instance, or a prefix ending in * such as aws_elasticache_*", at, i, t)
		}
	}
	return nil
}

// checkPath accepts a relative path without "..", so a config cannot point Terraform or
// the backup at files outside the repository or the environment's prefix.
func checkPath(p, at string, isFile bool) error {
	bad := !pathRE.MatchString(p) || slices.Contains(strings.Split(p, "/"), "..") || strings.Contains(p, "//")
	if isFile && strings.HasSuffix(p, "/") {
		bad = true
	}
	if bad {
		return fmt.Errorf("%s: %q is not valid: use a relative path of letters, digits, _ . - and /, without ..", at, p)
	}
	return nil
}

func joinChecks(cs []Check) string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = string(c)
	}
	return strings.Join(s, ", ")
}

func (n *notifyFile) applyTo(p *Notify, at string) error {
	if n.Channels != nil {
		p.Channels = []Channel{}
		for i, s := range *n.Channels {
			c := Channel(s)
			if !slices.Contains(Channels, c) {
				return fmt.Errorf("%s.channels[%d]: unknown channel %s: valid channels are %s", at, i, untrusted.Quote(s), joinChannels())
			}
			if !slices.Contains(p.Channels, c) {
				p.Channels = append(p.Channels, c)
			}
		}
	}
	for _, w := range []struct {
		field string
		value *string
		dst   *When
		valid []When
	}{
		{"pipeline", n.Pipeline, &p.Pipeline, []When{NotifyAlways, NotifyFailure, NotifyNever}},
		{"drift", n.Drift, &p.Drift, []When{NotifyAlways, NotifyDrifted, NotifyNever}},
	} {
		if w.value == nil {
			continue
		}
		if !slices.Contains(w.valid, When(*w.value)) {
			valid := make([]string, len(w.valid))
			for i, v := range w.valid {
				valid[i] = string(v)
			}
			return fmt.Errorf("%s.%s: %s is not valid: use %s", at, w.field, untrusted.Quote(*w.value), strings.Join(valid, ", "))
		}
		*w.dst = When(*w.value)
	}
	return nil
}

func joinChannels() string {
	s := make([]string, len(Channels))
	for i, c := range Channels {
		s[i] = string(c)
	}
	return strings.Join(s, ", ")
}
