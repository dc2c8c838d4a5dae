package pipeline

import (
	"encoding/json"

	"github.com/iancoleman/strcase"
)

// ModuleName is the module's name, dagger.json's: the name `dagger toolchain install` gives
// it, and the one a repository's dagger.json names its blueprint by.
const ModuleName = "infra"

// ModuleAddress is where the module is published: a reproduce line names it when the call
// came with a --source of its own (dagger -m <address> call --source=.). It names no
// version: the line runs the newest, whatever version the call ran.
const ModuleAddress = "github.com/infrapipe/infrapipe"

// OwnSourceNote is what a call says when its source is this module's own repository: named
// with -m and no --source, the module runs on its own example stacks, not the caller's.
const OwnSourceNote = "note: --source is infrapipe's own repository, with its example stacks; for a repository of yours, run at its root with --source=. or install the module there (docs/module.md#using-it-in-your-own-repository)"

// Invocation is how a reader reaches this module's functions from the root of the source it
// was given: the words of a reproduce line between `dagger call` and the constructor's
// options. module is the name the engine gives the running module (dagger.CurrentModule:
// the consuming module's name for a blueprint, the installed name for a toolchain), config
// the source root's dagger.json (nil when it has none), and own whether the source holds
// this module's own code (this repository).
//
//   - none, in this repository, or in one whose dagger.json uses the module as its blueprint
//     (`dagger init --blueprint=...`), where the functions are the repository's own;
//   - the toolchain's name as the CLI spells it, when dagger.json installs a toolchain by the
//     running module's name (`dagger toolchain install ...`): `dagger call infra plan ...`;
//   - otherwise `-m <ModuleAddress> --source=.`: the call named the module and passed the
//     repository, which a line pasted at that repository's root does again.
//
// A dagger.json that is not one (not JSON) counts as none: the line names the module.
func Invocation(module string, config []byte, own bool) []string {
	if own {
		return nil
	}
	var cfg struct {
		Name      string `json:"name"`
		Blueprint *struct {
			Name string `json:"name"`
		} `json:"blueprint"`
		Toolchains []struct {
			Name string `json:"name"`
		} `json:"toolchains"`
	}
	if config != nil && json.Unmarshal(config, &cfg) == nil && module != "" {
		// As a blueprint, the module runs under the consuming module's name.
		if cfg.Blueprint != nil && cfg.Blueprint.Name == ModuleName && cfg.Name == module {
			return nil
		}
		for _, t := range cfg.Toolchains {
			if t.Name == module {
				// As the CLI names a toolchain's command (strcase.ToKebab, v0.3.0 like Dagger's).
				return []string{strcase.ToKebab(module)}
			}
		}
	}
	return []string{"-m", ModuleAddress, "--source=."}
}
