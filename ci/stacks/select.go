package stacks

import (
	"cmp"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/infrapipe/infrapipe/ci/changes"
	"github.com/infrapipe/infrapipe/ci/internal/untrusted"
)

// Selected is a stack a run takes, and why.
type Selected struct {
	Stack
	// Why lists what selects it: a changed path and what it is to the stack, a stack it
	// depends on, or --stacks=all (AllReason); empty when it was named (--stacks=a,b).
	Why []string `json:"why,omitempty"`
}

// Selection is what a run takes, in dependency order.
type Selection struct {
	Stacks []Selected `json:"stacks"`
	// Removed are directories whose Terraform files (.tf, .tf.json) the change touches but
	// that hold none any more: a module or a stack deleted or moved. A stack's state and resources stay behind;
	// the report says so, since no pipeline runs for a stack that is gone.
	Removed []string `json:"removed,omitempty"`
	// Warnings are the repository's (Repo.Warnings), for the caller to show.
	Warnings []string `json:"warnings,omitempty"`
}

// Changed selects the stacks the changed paths touch (ci/changes.ReadList's list): a
// stack's files (a path in a stack nested in another belongs to the inner one), the local
// modules it uses, followed through nested modules, the repository's pipeline.yaml (every
// stack inherits it) and the pipeline itself; then every stack that depends on a selected
// one. A list holding changes.Everything selects every stack.
func (r Repo) Changed(t changes.Tree, changed []string) (Selection, error) {
	why := make(map[string][]string, len(r.Stacks))
	all := func(reason string) {
		for _, s := range r.Stacks {
			why[s.Dir] = append(why[s.Dir], reason)
		}
	}
	modules := make(map[string][]string, len(r.Stacks)) // stack → its local modules
	for _, s := range r.Stacks {
		m, err := changes.LocalModules(t, s.Dir)
		if err != nil {
			return Selection{}, fmt.Errorf("stack %s: %w", s.Dir, err)
		}
		modules[s.Dir] = m
	}
	var sel Selection
	for _, p := range changed {
		switch {
		case p == changes.Everything:
			all("the change is not known (" + changes.Everything + "): every stack runs")
			continue
		case p == RepoFile:
			all(p + ": the repository's pipeline.yaml, which every stack inherits")
			continue
		case p == changes.RepoTflint:
			all(p + ": the repository's .tflint.hcl, which lints a stack without its own")
			continue
		case path.Base(p) == changes.VersionFile:
			for _, s := range r.Stacks {
				if changes.PinFor(p, s.Dir) {
					why[s.Dir] = append(why[s.Dir], p+": a "+changes.VersionFile+" the stack's Terraform version comes from")
				}
			}
			continue
		case changes.InPipeline(p):
			all(p + ": part of the pipeline")
			continue
		}
		owner := r.owner(p)
		if owner != "" {
			why[owner] = append(why[owner], p+": in the stack")
		}
		used := false
		for _, s := range r.Stacks {
			if m, ok := changes.ModuleHolding(modules[s.Dir], p); ok && s.Dir != owner {
				why[s.Dir] = append(why[s.Dir], p+": in module "+m+", which the stack uses")
				used = true
			}
		}
		if owner == "" && !used && changes.IsConfigFile(p) {
			dir := path.Dir(p)
			files, err := changes.ConfigFiles(t, dir)
			if err != nil {
				return Selection{}, err
			}
			if len(files) == 0 && !slices.Contains(sel.Removed, dir) {
				sel.Removed = append(sel.Removed, dir)
			}
		}
	}
	// Dependents, in dependency order: a stack's dependencies come before it.
	for _, s := range r.Stacks {
		for _, d := range s.DependsOn {
			if len(why[d]) > 0 {
				why[s.Dir] = append(why[s.Dir], "depends on "+d+", which the change touches")
			}
		}
	}
	for _, s := range r.Stacks {
		if len(why[s.Dir]) > 0 {
			sel.Stacks = append(sel.Stacks, Selected{Stack: s, Why: dedupe(why[s.Dir])})
		}
	}
	slices.Sort(sel.Removed)
	return sel, nil
}

// owner is the stack whose directory holds p, the deepest when stacks nest; "" for none.
func (r Repo) owner(p string) string {
	best := ""
	for _, s := range r.Stacks {
		if changes.Within(p, s.Dir) && (best == "" || len(s.Dir) > len(best) || best == ".") {
			best = s.Dir
		}
	}
	return best
}

func dedupe(s []string) []string {
	var out []string
	for _, v := range s {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// Special values of --stacks.
const (
	// ChangedStacks selects the stacks a change touches (with --changed-files).
	ChangedStacks = "changed"
	// AllStacks selects every stack.
	AllStacks = "all"
)

// AllReason is why --stacks=all takes each stack, for the summary's "why it ran".
const AllReason = "--stacks=" + AllStacks + ": every stack runs"

// Spec is the --stacks a call means: spec as given (blanks too, which Select refuses),
// else changed when the change's file list was given, all when not.
func Spec(spec string, changedGiven bool) string {
	switch {
	case spec != "":
		return spec
	case changedGiven:
		return ChangedStacks
	}
	return AllStacks
}

// Select is what --stacks asks for: "changed" (the stacks changed selects; changed nil is
// an error, there being no list), "all", or stack directories separated by commas, taken
// as named (their dependencies are not added) and run in dependency order.
func (r Repo) Select(t changes.Tree, spec string, changed []string) (Selection, error) {
	sel, err := r.selectSpec(t, spec, changed)
	sel.Warnings = r.Warnings
	return sel, err
}

func (r Repo) selectSpec(t changes.Tree, spec string, changed []string) (Selection, error) {
	switch strings.TrimSpace(spec) {
	case ChangedStacks:
		if changed == nil {
			return Selection{}, fmt.Errorf("--stacks=changed needs --changed-files (git diff --name-only --no-renames <base> <head>); or name the stacks, or pass --stacks=all")
		}
		return r.Changed(t, changed)
	case AllStacks:
		sel := Selection{Stacks: make([]Selected, len(r.Stacks))}
		for i, s := range r.Stacks {
			sel.Stacks[i] = Selected{Stack: s, Why: []string{AllReason}}
		}
		return sel, nil
	case "":
		return Selection{}, fmt.Errorf("--stacks is empty: give changed, all or stack directories separated by commas (%s)", names(r.Stacks))
	}
	want := map[string]bool{}
	for _, name := range strings.Split(spec, ",") {
		dir, err := CleanDir(strings.TrimSpace(name))
		if err != nil {
			return Selection{}, fmt.Errorf("--stacks: %w", err)
		}
		if _, ok := r.Stack(dir); !ok {
			if n := strings.TrimSpace(name); n == AllStacks || n == ChangedStacks {
				return Selection{}, fmt.Errorf("--stacks: %s stands alone: give --stacks=%s, or a list of stacks (%s)", n, n, names(r.Stacks))
			}
			return Selection{}, fmt.Errorf("--stacks: %s is not a stack: valid values are changed, all, or some of %s", untrusted.Quote(name), names(r.Stacks))
		}
		want[dir] = true
	}
	var sel Selection
	for _, s := range r.Stacks {
		if want[s.Dir] {
			sel.Stacks = append(sel.Stacks, Selected{Stack: s})
		}
	}
	return sel, nil
}

// Dirs are the selected stacks' directories, in dependency order.
func (s Selection) Dirs() []string {
	out := make([]string, len(s.Stacks))
	for i, st := range s.Stacks {
		out[i] = st.Dir
	}
	return out
}

// Others splits the selection for a run of the stack in dir alone: the other stacks it
// takes, and whether it takes dir itself (as a dependent of one the change touches).
func (s Selection) Others(dir string) (others []string, dependent bool) {
	for _, d := range s.Dirs() {
		if d == dir {
			dependent = true
			continue
		}
		others = append(others, d)
	}
	return others, dependent
}

// Rerun is the --stacks value that reruns this selection without the change's file list:
// the stacks taken, in order, or spec when it took none.
func (s Selection) Rerun(spec string) string {
	if len(s.Stacks) == 0 {
		return spec
	}
	return strings.Join(s.Dirs(), ",")
}

// ChangedFilesFile is where the shipped workflow writes the change's list (git diff
// --name-only), which a rerun line of --stacks=changed names.
const ChangedFilesFile = "./changed.txt"

// RerunChangedFiles is the --changed-files the rerun line needs: none when it names the
// stacks taken (Rerun), the list's file (ChangedFilesFile when "") when --stacks=changed took
// none, for the line to decide again from the same list rather than fail for want of one.
func (s Selection) RerunChangedFiles(spec, file string) string {
	if len(s.Stacks) == 0 && strings.TrimSpace(spec) == ChangedStacks {
		return cmp.Or(file, ChangedFilesFile)
	}
	return ""
}

// Named is spec when it names stacks, "" when it is changed or all.
func Named(spec string) string {
	switch strings.TrimSpace(spec) {
	case ChangedStacks, AllStacks:
		return ""
	}
	return spec
}

// MatrixEntry is one job of a GitHub Actions matrix: the stack it runs, and the level it
// may run at (a job of level n after the jobs of the levels below).
type MatrixEntry struct {
	Stack     string   `json:"stack"`
	Level     int      `json:"level"`
	DependsOn []string `json:"depends_on"`
}

// Matrix is the selection as a GitHub Actions matrix, one job per stack:
// {"include":[{"stack":"stacks/network","level":0,"depends_on":[]},...]}, for
// strategy.matrix: ${{ fromJSON(...) }}. The JSON is one line, for $GITHUB_OUTPUT.
func (s Selection) Matrix() string {
	m := struct {
		Include []MatrixEntry `json:"include"`
	}{Include: []MatrixEntry{}}
	// Levels count within the selection: a stack whose dependencies were not taken waits
	// for nothing, so it is level 0, not the level it has in the whole repository.
	level := map[string]int{}
	for _, st := range s.Stacks { // in dependency order: a stack's dependencies come first
		deps := []string{}
		for _, d := range st.DependsOn {
			if l, ok := level[d]; ok {
				deps = append(deps, d)
				level[st.Dir] = max(level[st.Dir], l+1)
			}
		}
		if _, ok := level[st.Dir]; !ok {
			level[st.Dir] = 0
		}
		m.Include = append(m.Include, MatrixEntry{Stack: st.Dir, Level: level[st.Dir], DependsOn: deps})
	}
	data, _ := json.Marshal(m) // strings and ints only: never fails
	return string(data)
}
