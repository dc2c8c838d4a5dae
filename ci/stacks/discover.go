package stacks

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/infrapipe/infrapipe/ci/changes"
	"github.com/infrapipe/infrapipe/ci/internal/untrusted"
	"github.com/infrapipe/infrapipe/ci/state"
)

// Tree is read access to a repository: ci/changes' view, and a search by file name.
type Tree interface {
	changes.Tree
	// Find lists the files anywhere in the tree whose base name matches the path.Match
	// pattern name, as paths from the root.
	Find(name string) ([]string, error)
	// Exists reports whether a file exists.
	Exists(file string) (bool, error)
}

// DirTree is a Tree over a directory on disk. It never looks into .git or .terraform.
type DirTree struct{ changes.DirTree }

// NewDirTree is the Tree of the directory root.
func NewDirTree(root string) DirTree { return DirTree{changes.DirTree(root)} }

// Find walks the directory for files whose base name matches name.
func (d DirTree) Find(name string) ([]string, error) {
	root := string(d.DirTree)
	var out []string
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() {
			if p != root && (e.Name() == ".git" || e.Name() == ".terraform") {
				return filepath.SkipDir
			}
			return nil
		}
		if ok, _ := path.Match(name, e.Name()); ok {
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	return out, err
}

// Exists reports whether file exists in the directory.
func (d DirTree) Exists(file string) (bool, error) {
	_, err := os.Stat(filepath.Join(string(d.DirTree), filepath.FromSlash(file)))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// Stack is one Terraform root module of the repository.
type Stack struct {
	// Dir is the stack's directory from the repository's root ("." for the root); it names
	// the stack everywhere (--stacks, --terraform-dir, depends_on, reports).
	Dir string `json:"stack"`
	// DependsOn are the stacks it depends on, as the repository's pipeline.yaml declares.
	DependsOn []string `json:"depends_on,omitempty"`
	// Level is the stack's place in the dependency order: 0 depends on nothing, n on
	// stacks of levels below n. Stacks of one level may run at the same time.
	Level int `json:"level"`
	// Found says what makes the directory a stack (a backend block, the marker file).
	Found string `json:"-"`
}

// Repo is a repository's stacks in dependency order, and its configuration.
type Repo struct {
	Config Config
	// ConfigData is the repository's pipeline.yaml (nil when there is none): every stack
	// inherits it (environment.ParseInherited).
	ConfigData []byte
	Stacks     []Stack
	// Warnings are what the configuration says that finds nothing: an include pattern
	// that matches no directory with Terraform files (a typo, or a stack just deleted).
	Warnings []string
}

// Discover finds the stacks of the repository: each directory (within stacks.include,
// outside stacks.exclude) whose Terraform files (.tf and .tf.json, as Terraform reads both)
// declare a backend (or a cloud block), or that holds Terraform files and the marker file
// (pipeline.yaml unless stacks.marker says otherwise). They come back in dependency order;
// a dependency on an unknown stack, or a cycle, is an error naming it. A Terraform file
// that does not parse is an error naming the file.
func Discover(t Tree) (Repo, error) {
	r, err := find(t, func(string) bool { return true })
	if err != nil {
		return Repo{}, err
	}
	for _, dir := range sortedKeys(r.Config.DependsOn) {
		if !slices.ContainsFunc(r.Stacks, func(s Stack) bool { return s.Dir == dir }) {
			return Repo{}, fmt.Errorf("%s: stacks.depends_on names %s, which is not a stack: valid stacks are %s", RepoFile, dir, names(r.Stacks))
		}
	}
	if r.Stacks, err = Order(r.Stacks); err != nil {
		return Repo{}, fmt.Errorf("%s: stacks.depends_on: %w", RepoFile, err)
	}
	return r, nil
}

// Nested lists the stacks strictly below dir (a path from the repository's root, "." for
// the root), by Discover's rules, sorted. fmt -recursive, tflint --recursive and the
// scanners walk every directory below a stack's, but a stack nested in it is linted and
// scanned by its own run, so its files are not the outer stack's. Only the Terraform files
// (.tf, .tf.json) below dir are read, and the stacks are not ordered: a mistake in stacks.depends_on, which only
// ordering needs, does not stop one stack's run.
func Nested(t Tree, dir string) ([]string, error) {
	dir, err := CleanDir(dir)
	if err != nil {
		return nil, err
	}
	r, err := find(t, func(d string) bool { return d != dir && changes.Within(d, dir) })
	if err != nil {
		return nil, fmt.Errorf("find the stacks below %s: %w", dir, err)
	}
	out := make([]string, len(r.Stacks))
	for i, s := range r.Stacks {
		out[i] = s.Dir
	}
	return out, nil
}

// find reads the repository's pipeline.yaml and finds the stacks among the directories
// with Terraform files (.tf, .tf.json: changes.ConfigPatterns) that keep accepts, in the
// order of their directories, without levels. Only those directories' files are read.
func find(t Tree, keep func(dir string) bool) (Repo, error) {
	var r Repo
	ok, err := t.Exists(RepoFile)
	if err != nil {
		return Repo{}, fmt.Errorf("look for %s: %w", RepoFile, err)
	}
	r.Config = Config{Marker: DefaultMarker}
	if ok {
		if r.ConfigData, err = t.Read(RepoFile); err != nil {
			return Repo{}, fmt.Errorf("read %s: %w", RepoFile, err)
		}
		if r.Config, err = ParseConfig(RepoFile, r.ConfigData); err != nil {
			return Repo{}, err
		}
	}
	var tfFiles []string
	for _, pattern := range changes.ConfigPatterns {
		found, err := t.Find(pattern)
		if err != nil {
			return Repo{}, fmt.Errorf("list the %s files: %w", pattern, err)
		}
		tfFiles = append(tfFiles, found...)
	}
	markers, err := t.Find(r.Config.Marker)
	if err != nil {
		return Repo{}, fmt.Errorf("list the %s files: %w", r.Config.Marker, err)
	}
	byDir := map[string][]string{}
	for _, f := range tfFiles {
		if changes.IsConfigFile(f) && !slices.Contains(byDir[path.Dir(f)], f) {
			byDir[path.Dir(f)] = append(byDir[path.Dir(f)], f)
		}
	}
	marked := map[string]bool{}
	for _, f := range markers {
		marked[path.Dir(f)] = true
	}
	dirs := make([]string, 0, len(byDir))
	for d := range byDir {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	r.Warnings = r.Config.unmatchedIncludes(dirs)
	for _, dir := range dirs {
		if !keep(dir) || !r.Config.covers(dir) {
			continue
		}
		files := byDir[dir]
		sort.Strings(files)
		why := ""
		if marked[dir] {
			why = "holds " + path.Join(dir, r.Config.Marker)
		} else {
			for _, f := range files {
				b, err := backend(t, f)
				if err != nil {
					return Repo{}, err
				}
				if b != "" {
					why = b + " in " + f
					break
				}
			}
		}
		if why != "" {
			r.Stacks = append(r.Stacks, Stack{Dir: dir, Found: why, DependsOn: r.Config.DependsOn[dir]})
		}
	}
	return r, nil
}

// unmatchedIncludes warns of each include pattern that matches none of dirs, the
// directories with Terraform files: a typo (stack/* for stacks/*) would drop its stacks from
// every run without a word. Only a warning: a change that deletes a stack may leave its
// pattern behind, and that change still runs. Exclude patterns may name directories that
// do not exist yet.
func (c Config) unmatchedIncludes(dirs []string) []string {
	var out []string
	for i, p := range c.Include {
		if !slices.ContainsFunc(dirs, func(d string) bool { return Match(p, d) }) {
			out = append(out, fmt.Sprintf("%s: stacks.include[%d]: %s matches no directory with .tf files, so it adds no stack", RepoFile, i, untrusted.Quote(p)))
		}
	}
	return out
}

// covers reports whether dir may be a stack: included and not excluded.
func (c Config) covers(dir string) bool {
	if len(c.Include) > 0 && !slices.ContainsFunc(c.Include, func(p string) bool { return Match(p, dir) }) {
		return false
	}
	return !slices.ContainsFunc(c.Exclude, func(p string) bool { return Match(p, dir) })
}

// backend is `backend "<type>"` or `a cloud block` when file's terraform block declares one
// (state.BackendBlocks), else "".
func backend(t Tree, file string) (string, error) {
	src, err := t.Read(file)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", file, err)
	}
	blocks, err := state.BackendBlocks(file, src)
	if err != nil || len(blocks) == 0 {
		return "", err
	}
	return state.BackendKind(blocks[0]), nil
}

// Order sorts stacks so that every stack comes after the stacks it depends on, and sets
// their levels; stacks of one level keep the order of their directories. A dependency on
// a stack that is not in the list is an error naming the valid stacks; a cycle is an error
// naming it (a → b → a).
func Order(stacks []Stack) ([]Stack, error) {
	index := make(map[string]int, len(stacks))
	for i, s := range stacks {
		index[s.Dir] = i
	}
	for _, s := range stacks {
		for _, d := range s.DependsOn {
			if _, ok := index[d]; !ok {
				return nil, fmt.Errorf("%s depends on %s, which is not a stack: valid stacks are %s", s.Dir, d, names(stacks))
			}
		}
	}
	// Depth-first, so a cycle is found with its path; levels follow from the depths.
	const (
		unvisited = iota
		visiting
		done
	)
	state := make([]int, len(stacks))
	level := make([]int, len(stacks))
	var trail []string
	var visit func(i int) error
	visit = func(i int) error {
		switch state[i] {
		case done:
			return nil
		case visiting:
			start := slices.Index(trail, stacks[i].Dir)
			return fmt.Errorf("the stacks depend on each other in a cycle: %s; remove one of these dependencies", strings.Join(append(slices.Clone(trail[start:]), stacks[i].Dir), " → "))
		}
		state[i] = visiting
		trail = append(trail, stacks[i].Dir)
		deps := slices.Clone(stacks[i].DependsOn)
		sort.Strings(deps)
		for _, d := range deps {
			j := index[d]
			if err := visit(j); err != nil {
				return err
			}
			level[i] = max(level[i], level[j]+1)
		}
		trail = trail[:len(trail)-1]
		state[i] = done
		return nil
	}
	out := slices.Clone(stacks)
	for i := range out {
		if err := visit(i); err != nil {
			return nil, err
		}
	}
	for i := range out {
		out[i].Level = level[i]
	}
	slices.SortStableFunc(out, func(a, b Stack) int {
		if a.Level != b.Level {
			return a.Level - b.Level
		}
		return strings.Compare(a.Dir, b.Dir)
	})
	return out, nil
}

// names lists the stacks' directories for an error message.
func names(stacks []Stack) string {
	if len(stacks) == 0 {
		return "none (no directory holds a backend block or the marker file)"
	}
	out := Repo{Stacks: stacks}.Dirs()
	if len(out) > 20 {
		return strings.Join(out[:20], ", ") + fmt.Sprintf(" and %d more", len(out)-20)
	}
	return strings.Join(out, ", ")
}

// Dirs are the stacks' directories, sorted.
func (r Repo) Dirs() []string {
	out := make([]string, len(r.Stacks))
	for i, s := range r.Stacks {
		out[i] = s.Dir
	}
	slices.Sort(out)
	return out
}

// Stack is the stack in dir.
func (r Repo) Stack(dir string) (Stack, bool) {
	i := slices.IndexFunc(r.Stacks, func(s Stack) bool { return s.Dir == dir })
	if i < 0 {
		return Stack{}, false
	}
	return r.Stacks[i], true
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
