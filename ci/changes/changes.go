// Package changes decides whether a change touches what a stack's pipeline deploys: the
// stack's own files (its configuration, pipeline.yaml, policies and suppressions live in its
// directory), the local modules it uses, followed through nested modules, and the pipeline
// itself (the Dagger module, ci/, the workflows). The workflow hands the module the list of
// changed paths and the module decides, instead of path filters copied around YAML.
package changes

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/zclconf/go-cty/cty"

	"github.com/infrapipe/infrapipe/ci/internal/markdown"
	"github.com/infrapipe/infrapipe/ci/internal/untrusted"
)

// Everything is the line of a changed-files list that means "the change is not known": a
// workflow writes it when git cannot diff (a force push, a first push), and the pipeline
// then runs as if everything changed.
const Everything = "*"

// Pipeline are the paths of the pipeline itself: a change to them runs every stack.
var Pipeline = []string{".dagger/", "dagger.json", "ci/", "go.mod", "go.sum", ".github/workflows/"}

// RepoConfig is the repository's pipeline.yaml, at its root: every stack inherits its
// defaults (ci/stacks, environment.ParseInherited).
const RepoConfig = "pipeline.yaml"

// RepoTflint is the repository's tflint configuration, at its root: it lints every stack
// without one of its own (ci/commands.Tflint).
const RepoTflint = ".tflint.hcl"

// ConfigPatterns match the names of the files Terraform reads as a module's configuration:
// native syntax (.tf) and JSON syntax (.tf.json). IsConfigFile tells them apart from the
// files among them Terraform ignores.
var ConfigPatterns = []string{"*.tf", "*.tf.json"}

// IsConfigFile reports whether Terraform reads the file named (a path) as configuration: its
// name ends in .tf or .tf.json and, as Terraform's loader wants, does not start with a dot
// (editor lock files such as .#main.tf).
func IsConfigFile(name string) bool {
	base := path.Base(name)
	return !strings.HasPrefix(base, ".") && (strings.HasSuffix(base, ".tf") || strings.HasSuffix(base, ".tf.json"))
}

// IsOverrideFile reports whether a configuration file is an override file, as Terraform
// tells them: override.tf, *_override.tf and their .tf.json forms, merged into the blocks
// the other files declare.
func IsOverrideFile(name string) bool {
	base := strings.TrimSuffix(strings.TrimSuffix(path.Base(name), ".json"), ".tf")
	return base == "override" || strings.HasSuffix(base, "_override")
}

// Tree is read access to the repository.
type Tree interface {
	// TFFiles lists the Terraform configuration files directly in dir (a path from the
	// repository root): those matching any of ConfigPatterns, .tf and .tf.json. Callers
	// keep only those IsConfigFile accepts.
	TFFiles(dir string) ([]string, error)
	// Read returns a file's contents.
	Read(file string) ([]byte, error)
}

// DirTree is a Tree over a directory on disk.
type DirTree string

// TFFiles lists dir's .tf and .tf.json files, as paths from the tree's root, sorted.
func (d DirTree) TFFiles(dir string) ([]string, error) {
	var out []string
	for _, pattern := range ConfigPatterns {
		matches, err := filepath.Glob(filepath.Join(string(d), filepath.FromSlash(dir), pattern))
		if err != nil {
			return nil, err
		}
		for _, m := range matches {
			rel, err := filepath.Rel(string(d), m)
			if err != nil {
				return nil, err
			}
			out = append(out, filepath.ToSlash(rel))
		}
	}
	sort.Strings(out)
	return out, nil
}

// ConfigFiles are the files of dir that Terraform reads as configuration (TFFiles, kept
// by IsConfigFile), sorted and without duplicates, whatever t's TFFiles returns.
func ConfigFiles(t Tree, dir string) ([]string, error) {
	files, err := t.TFFiles(dir)
	if err != nil {
		return nil, fmt.Errorf("list the Terraform files (.tf, .tf.json) of %s: %w", dir, err)
	}
	out := slices.DeleteFunc(slices.Clone(files), func(f string) bool { return !IsConfigFile(f) })
	sort.Strings(out)
	return slices.Compact(out), nil
}

// Module is the root module in dir as Terraform loads it: its configuration files
// (ConfigFiles), contents by file name, the form ci/ reads a configuration in before any
// tool runs.
func Module(t Tree, dir string) (map[string][]byte, error) {
	names, err := ConfigFiles(t, dir)
	if err != nil {
		return nil, err
	}
	files := make(map[string][]byte, len(names))
	for _, name := range names {
		data, err := t.Read(name)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		files[path.Base(name)] = data
	}
	return files, nil
}

// ParseFile parses a Terraform configuration file as Terraform's loader does: JSON syntax
// when its name ends in .json (main.tf.json), native syntax otherwise. The error names the
// file.
func ParseFile(file string, src []byte) (*hcl.File, error) {
	p := hclparse.NewParser()
	var (
		f     *hcl.File
		diags hcl.Diagnostics
	)
	if strings.HasSuffix(file, ".json") {
		f, diags = p.ParseJSON(src, file)
	} else {
		f, diags = p.ParseHCL(src, file)
	}
	if diags.HasErrors() {
		return nil, fmt.Errorf("%s does not parse as Terraform configuration: %s", file, diags.Error())
	}
	return f, nil
}

// Block is a top-level block of a configuration file of the root module.
type Block struct {
	File string // its name
	*hcl.Block
}

// TopBlocks are the top-level blocks of type typ (with labels named by labels) in a root
// module's configuration files (name → contents), in file name order. A file that does not
// parse is passed over: Terraform names its error better.
func TopBlocks(files map[string][]byte, typ string, labels ...string) []Block {
	names := make([]string, 0, len(files))
	for name := range files {
		if IsConfigFile(name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	schema := &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: typ, LabelNames: labels}}}
	var out []Block
	for _, name := range names {
		f, err := ParseFile(name, files[name])
		if err != nil {
			continue
		}
		content, _, _ := f.Body.PartialContent(schema)
		for _, blk := range content.Blocks {
			out = append(out, Block{File: name, Block: blk})
		}
	}
	return out
}

// StringAttr is a block's argument name when it is a string written out (no reference to
// evaluate); ok is false otherwise.
func StringAttr(body hcl.Body, name string) (string, bool) {
	content, _, _ := body.PartialContent(&hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: name}}})
	attr, found := content.Attributes[name]
	if !found {
		return "", false
	}
	v, diags := attr.Expr.Value(nil)
	if diags.HasErrors() || !v.Type().Equals(cty.String) || v.IsNull() {
		return "", false
	}
	return v.AsString(), true
}

// Read reads a file of the tree.
func (d DirTree) Read(file string) ([]byte, error) {
	return os.ReadFile(filepath.Join(string(d), filepath.FromSlash(file)))
}

// Decision says whether a change touches a stack, and which changed paths do.
type Decision struct {
	Affected bool
	// Why lists the changed paths that touch the stack, each with what it is to the stack.
	Why []string
}

// ReadList reads a changed-files list, as `git diff --name-only` writes it: one path from
// the repository root a line. git quotes a path that holds a quote, a backslash, a control
// character or (unless core.quotePath is false) a character outside ASCII, in C style
// ("terraform/caf\303\251.tf"); such a line is read back to the path. Paths that leave
// the repository are refused. An empty list is nothing changed: an empty slice, never nil,
// which callers keep for "no list given".
func ReadList(data string) ([]string, error) {
	out := []string{}
	for n, line := range strings.Split(strings.ReplaceAll(data, "\r\n", "\n"), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "":
			continue
		case line == Everything:
			return []string{Everything}, nil
		case strings.HasPrefix(line, `"`):
			unquoted, err := strconv.Unquote(line)
			if err != nil {
				return nil, fmt.Errorf("--changed-files line %d: %s starts with a quote but is not a path quoted as git quotes one (\"dir/caf\\303\\251.tf\"): %w",
					n+1, untrusted.Quote(line), err)
			}
			line = unquoted
		}
		p, err := inside(line)
		if err != nil {
			return nil, fmt.Errorf("--changed-files line %d: %w", n+1, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// Paths checks and cleans a list of changed paths that needs no reading (git diff -z's),
// as ReadList does its lines.
func Paths(names []string) ([]string, error) {
	out := make([]string, 0, len(names))
	for i, name := range names {
		p, err := inside(name)
		if err != nil {
			return nil, fmt.Errorf("changed path %d: %w", i+1, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// inside is a changed path, cleaned, or an error when it is not a path inside the
// repository.
func inside(name string) (string, error) {
	if name == "" || strings.ContainsRune(name, 0) || path.IsAbs(name) || strings.HasPrefix(path.Clean(name), "../") || path.Clean(name) == ".." {
		return "", fmt.Errorf("%s is not a path inside the repository (git diff --name-only writes those)", untrusted.Quote(name))
	}
	return path.Clean(name), nil
}

// Decide says whether the changed paths touch the stack in stackDir (a path from the
// repository root; "" or "." for the root).
func Decide(t Tree, stackDir string, changed []string) (Decision, error) {
	if slices.Contains(changed, Everything) {
		return Decision{Affected: true, Why: []string{"the change is not known (" + Everything + "): everything runs"}}, nil
	}
	stackDir = path.Clean(stackDir)
	modules, err := LocalModules(t, stackDir)
	if err != nil {
		return Decision{}, err
	}
	var d Decision
	for _, p := range changed {
		why := ""
		switch {
		case Within(p, stackDir):
			why = "in the stack"
		case p == RepoConfig:
			why = "the repository's pipeline.yaml, which the stack inherits"
		case p == RepoTflint:
			why = "the repository's .tflint.hcl, which lints a stack without its own"
		case PinFor(p, stackDir):
			why = "a " + VersionFile + " the stack's Terraform version comes from"
		case InPipeline(p):
			why = "part of the pipeline"
		default:
			if m, ok := ModuleHolding(modules, p); ok {
				why = "in module " + m + ", which the stack uses"
			}
		}
		if why != "" {
			d.Affected = true
			d.Why = append(d.Why, p+": "+why)
		}
	}
	return d, nil
}

// VersionFile is where a repository pins its Terraform version, as tfenv and tfswitch read
// it (ci/tfversion.Find).
const VersionFile = ".terraform-version"

// PinFor reports whether p is a .terraform-version the Terraform version of the stack in
// stackDir may come from (ci/tfversion.Find): one in the stack's directory or above it. A
// nearer one may shadow it; the stack runs all the same, which is never wrong.
func PinFor(p, stackDir string) bool {
	return path.Base(p) == VersionFile && Within(stackDir, path.Dir(p))
}

// Within reports whether p is dir or below it; "." holds everything.
func Within(p, dir string) bool {
	return dir == "." || p == dir || strings.HasPrefix(p, dir+"/")
}

// InPipeline reports whether p is part of the pipeline itself (Pipeline).
func InPipeline(p string) bool {
	return slices.ContainsFunc(Pipeline, func(prefix string) bool { return p == strings.TrimSuffix(prefix, "/") || strings.HasPrefix(p, prefix) })
}

// ModuleHolding is the module of modules (LocalModules') that holds p, the deepest when
// modules nest: that one names it.
func ModuleHolding(modules []string, p string) (string, bool) {
	best := ""
	for _, m := range modules {
		if Within(p, m) && len(m) > len(best) {
			best = m
		}
	}
	return best, best != ""
}

// LocalModules are the directories of the local modules ("./x", "../x") the configuration
// in dir uses, and those they use in turn, as paths from the repository root. Module blocks
// are read from the .tf and the .tf.json files (ConfigFiles), as Terraform reads both. A
// source that is not local (a registry or a git address) is not followed. A file that does
// not parse is an error naming it.
func LocalModules(t Tree, dir string) ([]string, error) {
	seen := map[string]bool{}
	var walk func(dir string) error
	walk = func(dir string) error {
		files, err := ConfigFiles(t, dir)
		if err != nil {
			return err
		}
		for _, f := range files {
			sources, err := moduleSources(t, f)
			if err != nil {
				return err
			}
			for _, src := range sources {
				if !strings.HasPrefix(src, "./") && !strings.HasPrefix(src, "../") {
					continue
				}
				m := path.Clean(path.Join(dir, src))
				if m == ".." || strings.HasPrefix(m, "../") {
					return fmt.Errorf("%s: module source %s leaves the repository", f, untrusted.Quote(src))
				}
				if !seen[m] {
					seen[m] = true
					if err := walk(m); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
	if err := walk(dir); err != nil {
		return nil, err
	}
	out := make([]string, 0, len(seen))
	for m := range seen {
		out = append(out, m)
	}
	sort.Strings(out)
	return out, nil
}

var moduleSchema = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "module", LabelNames: []string{"name"}}}}
var sourceSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "source"}}}

// moduleSources are the literal sources of a file's module blocks, in either syntax.
func moduleSources(t Tree, file string) ([]string, error) {
	src, err := t.Read(file)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	f, err := ParseFile(file, src)
	if err != nil {
		return nil, err
	}
	content, _, diags := f.Body.PartialContent(moduleSchema)
	if diags.HasErrors() {
		return nil, fmt.Errorf("%s: %s", file, diags.Error())
	}
	var out []string
	for _, b := range content.Blocks {
		attrs, _, diags := b.Body.PartialContent(sourceSchema)
		if diags.HasErrors() {
			return nil, fmt.Errorf("%s: module %q: %s", file, b.Labels[0], diags.Error())
		}
		a, ok := attrs.Attributes["source"]
		if !ok {
			continue
		}
		v, diags := a.Expr.Value(nil)
		if diags.HasErrors() || !v.Type().Equals(cty.String) || v.IsNull() {
			return nil, fmt.Errorf("%s: module %q: source must be a literal string (Terraform requires it)", file, b.Labels[0])
		}
		out = append(out, v.AsString())
	}
	return out, nil
}

// Unaffected is the summary of a run that had nothing to do: the change touches neither the
// stack in dir nor the pipeline. It names the other stacks the change touches (others),
// which a one-stack run leaves alone, says when dir depends on one of them (dependent), and
// lists (some of) what did change.
func Unaffected(env, dir string, changed, others []string, dependent bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s pipeline: pass\n\nNo change touches the stack %s, the local modules it uses or the pipeline: nothing was planned, applied or tested.\n\n",
		env, markdown.CodeSpan(dir))
	if len(others) > 0 {
		names := make([]string, len(others))
		for i, o := range others {
			names[i] = markdown.CodeSpan(o)
		}
		fmt.Fprintf(&b, "The change touches other stacks, which this run does not run: %s. `pipeline --stacks=changed --changed-files=<file>` runs every stack a change touches.\n\n",
			strings.Join(names, ", "))
	}
	if dependent {
		fmt.Fprintf(&b, "%s depends on one of them: `--stacks=changed` plans it again after that one is applied.\n\n", markdown.CodeSpan(dir))
	}
	if len(changed) == 0 {
		b.WriteString("The change holds no files.\n")
		return b.String()
	}
	b.WriteString("Changed:\n\n")
	for i, p := range changed {
		if i == 20 {
			fmt.Fprintf(&b, "- … and %d more\n", len(changed)-20)
			break
		}
		fmt.Fprintf(&b, "- %s\n", markdown.CodeSpan(p))
	}
	return b.String()
}
