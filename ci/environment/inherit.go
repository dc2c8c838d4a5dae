package environment

import (
	"fmt"
	"path"
)

// StacksKey is the top-level key of the repository's pipeline.yaml that says where its
// stacks are (read by ci/stacks); the rest of that file is the defaults every stack inherits.
const StacksKey = "stacks"

// Stacks is the shape of the repository's stacks section; ci/stacks gives it its meaning
// (patterns, the marker file, the order of dependencies). It lives here so that a run of
// one stack, which reads the same file, refuses a misspelt key there as ci/stacks does,
// with the same message: ci/stacks can convert it to its Config, whose fields it must match.
type Stacks struct {
	Include   []string            `yaml:"include"`
	Exclude   []string            `yaml:"exclude"`
	Marker    string              `yaml:"marker"`
	DependsOn map[string][]string `yaml:"depends_on"`
}

// ParseInherited is a stack's configuration in a repository of several stacks: the
// built-in profiles, then the repository's pipeline.yaml (repoData; its stacks section is
// checked against Stacks and otherwise left to ci/stacks), then the stack's own (stackData;
// nil when the stack has none), so the stack's file wins over the repository's, which wins
// over the built-in defaults. A list replaces a list (add_protected_types and extra_checks
// add). The repository's file may not name a stack, a state key or a backup prefix: every
// stack would then share one state.
func ParseInherited(repoPath string, repoData []byte, stackPath string, stackData []byte) (Config, error) {
	repo, err := decode(repoPath, repoData, true)
	if err != nil {
		return Config{}, err
	}
	if err := repo.inheritable(); err != nil {
		return Config{}, fmt.Errorf("%s: %w", repoPath, err)
	}
	dirStack := DirStack(path.Dir(stackPath))
	if _, err := repo.stack(dirStack); err != nil {
		return Config{}, fmt.Errorf("%s: %w", repoPath, err)
	}
	stack, own := dirStack, file{}
	if stackData != nil {
		if own, err = decode(stackPath, stackData, false); err != nil {
			return Config{}, err
		}
		if stack, err = own.stack(dirStack); err != nil {
			return Config{}, fmt.Errorf("%s: %w", stackPath, err)
		}
	}
	c := StackConfig(stack)
	if err := repo.applyOver(&c); err != nil {
		return Config{}, fmt.Errorf("%s: %w", repoPath, err)
	}
	if err := own.applyOver(&c); err != nil {
		return Config{}, fmt.Errorf("%s: %w", stackPath, err)
	}
	c.Path = stackPath
	if stackData == nil {
		c.Path = repoPath
	}
	return c, nil
}

// inheritable refuses what would make every stack of a repository share one state.
func (f file) inheritable() error {
	if f.Stack != nil {
		return fmt.Errorf("stack: the repository's pipeline.yaml is inherited by every stack and cannot name one; set stack in the stack's own pipeline.yaml")
	}
	at := []string{"defaults"}
	overrides := []*override{f.Defaults}
	for _, n := range Names {
		if o := f.Environments[string(n)]; o != nil {
			at, overrides = append(at, "environments."+string(n)), append(overrides, o)
		}
	}
	for i, o := range overrides {
		if o == nil || o.Backend == nil {
			continue
		}
		for _, k := range []struct {
			key string
			set bool
		}{{"key", o.Backend.Key != nil}, {"backup_prefix", o.Backend.BackupPrefix != nil}} {
			if k.set {
				return fmt.Errorf("%s.backend.%s: every stack inherits the repository's pipeline.yaml, so they would share one state; set it in a stack's own pipeline.yaml, or leave it out (each stack's default is <stack>/<env>/terraform.tfstate)", at[i], k.key)
			}
		}
	}
	return nil
}

// ReadFile reads a file by its slash path (in the repository, or in a report directory); ok
// is false when the file does not exist, which is not an error. Callers name the file in
// their errors.
type ReadFile func(path string) (data []byte, ok bool, err error)

// LoadStack is the configuration of the stack in dir (a slash path inside the repository,
// "." for the root): its pipeline.yaml over the repository's root pipeline.yaml
// (ParseInherited) when the stack is not the root and the root has one; else its own; else
// the built-in profiles. The module reads the repository it was given through read.
func LoadStack(read ReadFile, dir string) (Config, error) {
	own := path.Join(dir, ConfigFile)
	data, ok, err := read(own)
	if err != nil {
		return Config{}, fmt.Errorf("read %s: %w", own, err)
	}
	if dir != "." {
		repo, inherit, err := read(ConfigFile)
		if err != nil {
			return Config{}, fmt.Errorf("read %s: %w", ConfigFile, err)
		}
		if inherit {
			if !ok {
				data = nil
			}
			return ParseInherited(ConfigFile, repo, own, data)
		}
	}
	if !ok {
		return StackConfig(DirStack(dir)), nil
	}
	return Parse(own, data)
}
