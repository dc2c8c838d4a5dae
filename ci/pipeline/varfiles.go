package pipeline

import (
	"cmp"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/infrapipe/infrapipe/ci/environment"
)

// VarFiles are the variables files a plan reads: those Terraform loads by itself in every
// environment (Auto), the environment's own when the stack has one, then --tf-var-file,
// last so that its secrets win.
type VarFiles struct {
	// Dir is the Terraform directory, in which Env and Auto are.
	Dir string
	// Auto are terraform.tfvars and *.auto.tfvars (and their JSON forms) in Dir, in the
	// order Terraform loads them, by name.
	Auto []string
	// Env is the environment's file (a path in Dir), "" when the stack has none.
	Env string
	// Missing are the files looked for as the environment's when the stack has none.
	Missing []string
	// Secret is where --tf-var-file is mounted in Terraform's containers, "" when it was
	// not given.
	Secret         string
	env, secretSrc []byte
	auto           [][]byte
}

// IsAutoLoaded reports whether Terraform loads the file named by itself, in every
// environment: terraform.tfvars, *.auto.tfvars and their JSON forms.
func IsAutoLoaded(name string) bool {
	for _, suffix := range []string{".auto.tfvars", ".auto.tfvars.json"} {
		if strings.HasSuffix(name, suffix) && len(name) > len(suffix) {
			return true
		}
	}
	return name == "terraform.tfvars" || name == "terraform.tfvars.json"
}

// autoOrder sorts auto-loaded files as Terraform loads them: terraform.tfvars, then its
// JSON form, then the *.auto.tfvars files in name order.
func autoOrder(a, b string) int {
	rank := func(n string) int {
		switch n {
		case "terraform.tfvars":
			return 0
		case "terraform.tfvars.json":
			return 1
		}
		return 2
	}
	return cmp.Or(cmp.Compare(rank(a), rank(b)), strings.Compare(a, b))
}

// VarFileCandidates are the files that may be the environment's var file, in the order the
// module looks for them (relative to the Terraform directory): pipeline.yaml's var_file, or
// the built-in environments/<env>.tfvars and then its JSON form, which Terraform reads as
// well (a stack written in JSON had its values ignored without a word).
func VarFileCandidates(p environment.Profile) []string {
	switch {
	case p.VarFile == "":
		return nil
	case p.VarFileSet:
		return []string{p.VarFile}
	}
	return []string{p.VarFile, p.VarFile + ".json"}
}

// FindVarFiles finds the environment's file in the Terraform directory dir of the
// repository read reads (the first of VarFileCandidates it has), beside --tf-var-file
// (secret, mounted at secretPath; both "" when not given). A var_file that pipeline.yaml
// names and the stack lacks is an error: planning without it would deploy the variables'
// defaults, where the built-in one may be missing from a stack that needs no variables.
//
// auto are the names of the files directly in dir (any: those Terraform loads by itself
// are kept, IsAutoLoaded), which are read and checked as well.
func FindVarFiles(read environment.ReadFile, dir string, p environment.Profile, auto []string, secretPath string, secret []byte) (VarFiles, error) {
	v := VarFiles{Dir: dir, Secret: secretPath, secretSrc: secret}
	var names []string // in the order Terraform loads them
	for _, name := range auto {
		if name = path.Base(name); IsAutoLoaded(name) && !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	slices.SortFunc(names, autoOrder)
	for _, name := range names {
		data, ok, err := read(path.Join(dir, name))
		if err != nil {
			return VarFiles{}, fmt.Errorf("read %s: %w", path.Join(dir, name), err)
		}
		if ok {
			v.Auto, v.auto = append(v.Auto, name), append(v.auto, data)
		}
	}
	for _, name := range VarFileCandidates(p) {
		data, ok, err := read(path.Join(dir, name))
		if err != nil {
			return VarFiles{}, fmt.Errorf("read %s: %w", path.Join(dir, name), err)
		}
		if ok {
			v.Env, v.env = name, data
			return v, nil
		}
	}
	if p.VarFile != "" && p.VarFileSet {
		return VarFiles{}, fmt.Errorf("pipeline.yaml's var_file for %s is %s, which is not in the Terraform directory: add the file, or correct var_file (a path relative to the Terraform directory)", p.Name, p.VarFile)
	}
	for _, name := range VarFileCandidates(p) {
		v.Missing = append(v.Missing, path.Join(dir, name))
	}
	return v, nil
}

// Warnings are what the plan's summary should say of the files: an environment without
// its own file or --tf-var-file (which a workflow may give per environment), in a stack
// that declares variables, plans with their defaults (in prod, a default meant for test).
func (v VarFiles) Warnings(env environment.Name, module map[string][]byte) []string {
	if v.Env != "" || v.Secret != "" || len(v.Missing) == 0 {
		return nil
	}
	declared, err := declaredVariables(module)
	if err != nil || len(declared) == 0 {
		return nil
	}
	return []string{fmt.Sprintf("%s has no variables file (looked for %s): the plan uses the variables' defaults and any auto-loaded file; "+
		"add the file, or name yours with var_file for %s in pipeline.yaml", env, strings.Join(v.Missing, " and "), env)}
}

// Check refuses a file that sets a variable the root module (module: its .tf and .tf.json
// files, name → contents) does not declare: CheckVarFile, and CheckSecretVarFile, whose
// errors hold no value. Force-unlock reads the files unchecked, so that a misspelt
// variable never stands between a user and a held lock.
func (v VarFiles) Check(module map[string][]byte) error {
	for i, name := range v.Auto {
		if err := CheckVarFile(path.Join(v.Dir, name), v.auto[i], module); err != nil {
			return err
		}
	}
	if v.Secret != "" {
		if err := CheckSecretVarFile(v.secretSrc, module); err != nil {
			return err
		}
	}
	if v.Env == "" {
		return nil
	}
	return CheckVarFile(path.Join(v.Dir, v.Env), v.env, module)
}

// Args are terraform's variable file flags.
func (v VarFiles) Args() []string {
	var args []string
	if v.Env != "" {
		args = append(args, "-var-file="+v.Env)
	}
	if v.Secret != "" {
		args = append(args, "-var-file="+v.Secret)
	}
	return args
}

// Names are the files as a summary names them, in the order Terraform reads them: the
// auto-loaded and the environment's by their paths in the repository, and --tf-var-file by
// its flag.
func (v VarFiles) Names() []string {
	var names []string
	for _, name := range v.Auto {
		names = append(names, path.Join(v.Dir, name))
	}
	if v.Env != "" {
		names = append(names, path.Join(v.Dir, v.Env))
	}
	if v.Secret != "" {
		names = append(names, SecretVarFile)
	}
	return names
}
