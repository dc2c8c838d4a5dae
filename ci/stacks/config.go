// Package stacks finds the Terraform root modules (stacks) of a repository, orders them by
// the dependencies the repository declares, and selects those a change touches: a stack's
// own files, the local modules it uses (followed by ci/changes), the repository's
// pipeline.yaml and the pipeline itself, and then every stack that depends on one selected.
// Many CI jobs, or one call in parallel, then run the same pipeline per stack.
package stacks

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
	"gopkg.in/yaml.v3"

	"github.com/infrapipe/infrapipe/ci/changes"
	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/internal/untrusted"
	"github.com/infrapipe/infrapipe/ci/internal/yamlschema"
)

// RepoFile is the repository's pipeline.yaml, at its root: where its stacks are, how they
// depend on each other (its stacks section) and the defaults every stack inherits.
const RepoFile = changes.RepoConfig

// DefaultMarker is the file that makes a directory of .tf files a stack without a backend
// block: the stack's own pipeline.yaml.
const DefaultMarker = environment.ConfigFile

// Config is the stacks section of the repository's pipeline.yaml.
type Config struct {
	// Include are the directories that may be stacks, as patterns ("stacks/*", "live/**");
	// empty means every directory.
	Include []string `yaml:"include"`
	// Exclude are directories that are never stacks (examples, test data), as patterns.
	Exclude []string `yaml:"exclude"`
	// Marker is the file name that makes a directory of .tf files a stack.
	Marker string `yaml:"marker"`
	// DependsOn maps a stack to the stacks it reads from (remote state, outputs): they are
	// planned and applied first, and a change to one selects it too.
	DependsOn map[string][]string `yaml:"depends_on"`
}

// repoFile is the part of the repository's pipeline.yaml this package reads.
type repoFile struct {
	Stacks yaml.Node `yaml:"stacks"`
}

// ParseConfig reads the stacks section of the repository's pipeline.yaml (name names it
// in errors). The rest of the file is the defaults each stack inherits, checked by
// ci/environment: an error there is an error here, before any stack runs. A file without
// a stacks section finds stacks everywhere.
func ParseConfig(name string, data []byte) (Config, error) {
	var f repoFile
	if err := yaml.Unmarshal(data, &f); err != nil {
		return Config{}, fmt.Errorf("%s: not valid YAML: %w", name, err)
	}
	// The inherited part is checked as a stack with no file of its own would see it.
	if _, err := environment.ParseInherited(name, data, "stack/"+environment.ConfigFile, nil); err != nil {
		return Config{}, err
	}
	c := Config{Marker: DefaultMarker}
	if f.Stacks.Kind == 0 || f.Stacks.Tag == "!!null" {
		return c, nil
	}
	if err := yamlschema.Decode(&f.Stacks, "stacks", &c); err != nil {
		return Config{}, fmt.Errorf("%s: %w", name, err)
	}
	if c.Marker == "" || strings.ContainsAny(c.Marker, "/*?[\\") || c.Marker == "." || c.Marker == ".." {
		return Config{}, fmt.Errorf("%s: stacks.marker: %s is not a file name: give one such as %s", name, untrusted.Quote(c.Marker), DefaultMarker)
	}
	for _, list := range []struct {
		key      string
		patterns []string
	}{{"include", c.Include}, {"exclude", c.Exclude}} {
		for i, p := range list.patterns {
			if err := checkPattern(p); err != nil {
				return Config{}, fmt.Errorf("%s: stacks.%s[%d]: %w", name, list.key, i, err)
			}
		}
	}
	deps := map[string][]string{}
	for stack, on := range c.DependsOn {
		clean, err := CleanDir(stack)
		if err != nil {
			return Config{}, fmt.Errorf("%s: stacks.depends_on: %w", name, err)
		}
		for _, d := range on {
			cd, err := CleanDir(d)
			if err != nil {
				return Config{}, fmt.Errorf("%s: stacks.depends_on.%s: %w", name, stack, err)
			}
			if !slices.Contains(deps[clean], cd) {
				deps[clean] = append(deps[clean], cd)
			}
		}
	}
	c.DependsOn = deps
	return c, nil
}

// CleanDir is a stack's directory as the repository's file, --stacks or --plans writes
// it, cleaned: a path from the root that stays inside the repository.
func CleanDir(s string) (string, error) {
	c := path.Clean(strings.TrimSuffix(s, "/"))
	if s == "" || path.IsAbs(s) || c == ".." || strings.HasPrefix(c, "../") || strings.ContainsRune(s, 0) {
		return "", fmt.Errorf("%s is not a stack directory: give a path from the repository's root such as stacks/network", untrusted.Quote(s))
	}
	return c, nil
}

// checkPattern accepts a directory pattern (Match): doublestar's, ** for any depth.
func checkPattern(p string) error {
	if p == "" || path.IsAbs(p) || strings.HasPrefix(path.Clean(p), "..") {
		return fmt.Errorf("%s is not a directory pattern: use a path from the repository's root such as stacks/* or live/**", untrusted.Quote(p))
	}
	if !doublestar.ValidatePattern(path.Clean(p)) {
		return fmt.Errorf("%s is not a directory pattern (an unclosed [ or {, or a trailing \\): use a path from the repository's root such as stacks/*, live/** or stacks/{network,data}", untrusted.Quote(p))
	}
	return nil
}

// Match reports whether the directory dir (a path from the repository's root, "." for
// the root) matches pattern: doublestar's, "*", "?", [...] and {a,b} within a segment and
// "**" for any number of segments, none included (so "**" and "live/**" take the directory
// they start from too).
func Match(pattern, dir string) bool {
	pattern, dir = path.Clean(pattern), path.Clean(dir)
	if dir == "." {
		return pattern == "." || strings.Trim(strings.ReplaceAll(pattern, "**", ""), "/") == ""
	}
	ok, _ := doublestar.Match(pattern, dir)
	return ok
}
