package pipeline

import (
	"fmt"
	"path"

	"github.com/infrapipe/infrapipe/ci/environment"
)

// VarFiles are the variables files a plan reads: the environment's own when the stack has
// one, then --tf-var-file, last so that its secrets win.
type VarFiles struct {
	// Dir is the Terraform directory, in which Env is.
	Dir string
	// Env is the environment's file (a path in Dir), "" when the stack has none.
	Env string
	// Secret is where --tf-var-file is mounted in Terraform's containers, "" when it was
	// not given.
	Secret         string
	env, secretSrc []byte
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
func FindVarFiles(read environment.ReadFile, dir string, p environment.Profile, secretPath string, secret []byte) (VarFiles, error) {
	v := VarFiles{Dir: dir, Secret: secretPath, secretSrc: secret}
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
	return v, nil
}

// Check refuses a file that sets a variable the root module (module: its .tf and .tf.json
// files, name → contents) does not declare: CheckVarFile, and CheckSecretVarFile, whose
// errors hold no value. Force-unlock reads the files unchecked, so that a misspelt
// variable never stands between a user and a held lock.
func (v VarFiles) Check(module map[string][]byte) error {
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

// Names are the files as a summary names them: the environment's by its path in the
// repository, and --tf-var-file by its flag.
func (v VarFiles) Names() []string {
	var names []string
	if v.Env != "" {
		names = append(names, path.Join(v.Dir, v.Env))
	}
	if v.Secret != "" {
		names = append(names, SecretVarFile)
	}
	return names
}
