package state

import (
	"fmt"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/infrapipe/infrapipe/ci/changes"
	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/internal/untrusted"
)

var (
	terraformBlock = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "terraform"}}}
	backendBlock   = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "backend", LabelNames: []string{"type"}}, {Type: "cloud"}}}
	// placedAttrs are the backend settings init's -backend-config sets for every
	// environment (BackendSettings), over whatever the block says; localAttrs name AWS
	// config files, which the pipeline's containers do not have.
	placedAttrs = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "bucket"}, {Name: "key"}, {Name: "region"}, {Name: "dynamodb_table"},
		{Name: "profile"}, {Name: "shared_config_files"}, {Name: "shared_credentials_files"}}}
	localAttrs = []string{"profile", "shared_config_files", "shared_credentials_files"}
)

// CheckDeclaredBackend reads the backend the configuration declares, from the root
// module's .tf files (name → contents), before init. It refuses what init would get wrong
// without a word: no backend (the state would stay in a container that is thrown away), a
// backend other than S3 (init fails on settings the user never wrote), and an S3 block
// whose bucket, key or region differ from the environment's: -backend-config replaces
// them, so a repository whose state is at the block's key would be planned from an empty
// state and every resource created again; and a profile or AWS config file, which the
// containers do not have (init failed on Terraform's bare "failed to get shared config
// profile"). Every .tf file is read, whatever its name's order; a file that does not parse
// is left to Terraform, and "no backend" is only said when no .tf.json (which may declare
// one: init, then CheckInitializedBackend, will tell) or unparsed file could hold one.
func CheckDeclaredBackend(env environment.Name, b environment.Backend, files map[string][]byte) error {
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	fix := fmt.Sprintf("declare `terraform { backend \"s3\" {} }` in the configuration; the pipeline fills in %s's bucket, key and region from pipeline.yaml", env)
	found, unread := false, false
	for _, name := range names {
		if !strings.HasSuffix(name, ".tf") {
			unread = unread || strings.HasSuffix(name, ".tf.json")
			continue
		}
		blocks, err := BackendBlocks(name, files[name])
		if err != nil {
			unread = true // Terraform names the error better
			continue
		}
		for _, blk := range blocks {
			found = true
			at := fmt.Sprintf("%s:%d", name, blk.DefRange.Start.Line)
			if kind := BackendKind(blk); kind != `backend "s3"` {
				return fmt.Errorf("%s declares %s, but the pipeline keeps %s's state in S3, described by pipeline.yaml: %s. "+
					"To bring the state it holds along, pull it once (terraform state pull > %s.tfstate, with the old backend) and, after the first init with the new one, push it (terraform state push %s.tfstate), or copy the object to the pipeline's key",
					at, kind, env, fix, env, env)
			}
			if err := checkPlaced(env, b, at, blk.Body); err != nil {
				return err
			}
		}
	}
	if !found && !unread {
		return fmt.Errorf("the configuration declares no backend, so %s's state would be lost after the run: %s", env, fix)
	}
	return nil
}

// BackendFiles are where a repository keeps an environment's backend settings for running
// `terraform init -backend-config=FILE` by hand, relative to the Terraform directory, as
// this repository's example stack does.
func BackendFiles(env environment.Name) []string {
	return []string{"environments/" + string(env) + ".s3.tfbackend", "environments/" + string(env) + ".tfbackend"}
}

// CheckBackendFiles refuses an environment's backend file (BackendFiles, in the Terraform
// directory dir of the repository read reads) whose bucket, key, region or dynamodb_table
// differ from the pipeline's: a repository adopting the pipeline keeps its state where the
// file says, and a run from pipeline.yaml's settings would plan it from an empty state,
// every resource created again. The error gives the pipeline.yaml lines that point the
// pipeline at the file's state.
func CheckBackendFiles(env environment.Name, b environment.Backend, read environment.ReadFile, dir string) error {
	for _, name := range BackendFiles(env) {
		p := path.Join(dir, name)
		src, ok, err := read(p)
		if err != nil {
			return fmt.Errorf("read %s: %w", p, err)
		}
		if ok {
			if err := checkBackendFile(env, b, p, src); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkBackendFile(env environment.Name, b environment.Backend, name string, src []byte) error {
	f, diags := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
	if diags.HasErrors() {
		return fmt.Errorf("%s does not parse (%s): it names %s's backend for terraform init by hand, and the pipeline checks it names the same state as pipeline.yaml; fix it, or remove it", shown(name), diags.Error(), env)
	}
	attrs, _ := f.Body.JustAttributes()
	differ, yaml, _ := compareSettings(b, attrs, nil)
	if len(differ) == 0 {
		return nil
	}
	// A key of another environment's state is a mistake in the file, which pipeline.yaml
	// must not copy: ValidateBackend would refuse it there.
	if a, ok := attrs["key"]; ok {
		if v, diags := a.Expr.Value(nil); !diags.HasErrors() && v.IsKnown() && !v.IsNull() && v.Type() == cty.String {
			if other, _ := keyEnvironments(env, v.AsString()); other != "" {
				return fmt.Errorf("%s sets key %s, which names environment %s: terraform init with this file would run %s against that environment's state. Fix the file's key (the pipeline's: %s), or remove the file",
					shown(name), untrusted.Quote(v.AsString()), other, env, untrusted.Quote(b.Key))
			}
		}
	}
	return fmt.Errorf("%s sets %s: the pipeline would keep %s's state elsewhere than terraform init by hand does, and plan it from another state (every resource created again). "+
		"To keep the state the file names, give pipeline.yaml %s, or change the file to the pipeline's settings",
		shown(name), strings.Join(differ, ", "), env, yamlFor(env, yaml))
}

// BackendBlocks are the backend and cloud blocks in the terraform blocks of one .tf or
// .tf.json file (name, src); an error names a file that does not parse.
func BackendBlocks(name string, src []byte) ([]*hcl.Block, error) {
	f, err := changes.ParseFile(name, src)
	if err != nil {
		return nil, err
	}
	content, _, diags := f.Body.PartialContent(terraformBlock)
	if diags.HasErrors() {
		return nil, fmt.Errorf("%s: %s", name, diags.Error())
	}
	var out []*hcl.Block
	for _, tb := range content.Blocks {
		inner, _, diags := tb.Body.PartialContent(backendBlock)
		if diags.HasErrors() {
			return nil, fmt.Errorf("%s: terraform block: %s", name, diags.Error())
		}
		out = append(out, inner.Blocks...)
	}
	return out, nil
}

// BackendKind names a block of BackendBlocks in messages: `backend "s3"`, or "a cloud block".
func BackendKind(b *hcl.Block) string {
	if b.Type == "cloud" {
		return "a cloud block"
	}
	return "backend " + untrusted.Quote(b.Labels[0])
}

// checkPlaced refuses an S3 block's bucket, key or region that differs from the
// environment's, which init would use instead.
func checkPlaced(env environment.Name, b environment.Backend, at string, body hcl.Body) error {
	attrs, _, _ := body.PartialContent(placedAttrs)
	for _, name := range localAttrs {
		if _, ok := attrs.Attributes[name]; ok {
			return fmt.Errorf("%s: backend \"s3\" sets %s, but the pipeline's containers have no AWS config files: init would fail to find it. Leave it out; the pipeline gives the backend the caller's credentials (--aws-access-key-id, --aws-secret-access-key, --aws-session-token), or the emulator's", at, name)
		}
	}
	differ, yaml, err := compareSettings(b, attrs.Attributes, func(name string) error {
		return fmt.Errorf("%s: backend \"s3\" sets %s to something other than a plain string: leave it out, the pipeline sets it for %s from pipeline.yaml", at, name, env)
	})
	if err != nil || len(differ) == 0 {
		return err
	}
	return fmt.Errorf("%s: backend \"s3\" sets %s; the pipeline's init takes %s's backend from pipeline.yaml (a lock table it does not name stays the block's), so this run would not read the state, or lock with the table, the block names. "+
		"Leave them out of the block, and to keep the state it names give pipeline.yaml %s",
		at, strings.Join(differ, ", "), env, yamlFor(env, yaml))
}

// compareSettings are the backend settings among attrs (bucket, key, region, dynamodb_table)
// that differ from b's, worded, and the pipeline.yaml lines of all of them; bad is the error
// for a setting that is not a plain string, nil to pass over it.
func compareSettings(b environment.Backend, attrs hcl.Attributes, bad func(name string) error) (differ, yaml []string, err error) {
	pipeline := map[string]string{"bucket": b.Bucket, "key": b.Key, "region": b.Region, "dynamodb_table": b.DynamoDBTable}
	for _, setting := range []string{"bucket", "key", "region", "dynamodb_table"} {
		a, ok := attrs[setting]
		if !ok {
			continue
		}
		v, diags := a.Expr.Value(nil)
		if diags.HasErrors() || !v.IsKnown() || v.IsNull() || v.Type() != cty.String {
			if bad != nil {
				return nil, nil, bad(setting)
			}
			continue
		}
		yaml = append(yaml, fmt.Sprintf("%s: %s", setting, strconv.Quote(v.AsString())))
		if got := v.AsString(); got != pipeline[setting] {
			was := "none yet"
			if pipeline[setting] != "" {
				was = untrusted.Quote(pipeline[setting])
			}
			differ = append(differ, fmt.Sprintf("%s %s (the pipeline's: %s)", setting, untrusted.Quote(got), was))
		}
	}
	return differ, yaml, nil
}

// yamlFor is pipeline.yaml's backend settings for env, in YAML's flow style: one line, as
// an error's every line is (a value cannot start a line of its own in a CI log).
func yamlFor(env environment.Name, settings []string) string {
	return fmt.Sprintf("environments: {%s: {backend: {%s}}}", env, strings.Join(settings, ", "))
}

// CheckNoWorkspace refuses a configuration that reads terraform.workspace: the root
// module in dir and the local modules it uses (changes.LocalModules), read through t. The
// pipeline keeps each environment's state at its own key in the default workspace, so the
// expression is "default" in preview, test, staging and prod alike, and names built from it
// are the same in every environment. The error names each place (file:line, paths from the
// repository root). Files that do not parse, and .tf.json files, are left to Terraform.
func CheckNoWorkspace(env environment.Name, t changes.Tree, dir string) error {
	dirs := []string{dir}
	if modules, err := changes.LocalModules(t, dir); err == nil { // else Terraform will say
		dirs = append(dirs, modules...)
	}
	var at []string
	for _, d := range dirs {
		files, err := t.TFFiles(d)
		if err != nil {
			return fmt.Errorf("list the .tf files of %s: %w", d, err)
		}
		sort.Strings(files)
		for _, name := range files {
			src, err := t.Read(name)
			if err != nil {
				return fmt.Errorf("read %s: %w", name, err)
			}
			at = append(at, workspaceReads(name, src)...)
		}
	}
	if len(at) == 0 {
		return nil
	}
	return fmt.Errorf("%s reads terraform.workspace, which is \"default\" in every environment here: the pipeline keeps %s's state at its own key (pipeline.yaml's backend.key), not in a workspace, so names built from it would be the same in test and prod. "+
		"Use a variable set per environment instead (e.g. var.environment, given in environments/%s.tfvars, and passed on to the modules that need it)", strings.Join(at, ", "), env, env)
}

// workspaceReads are the places (name:line) where one .tf file reads terraform.workspace;
// none when it does not parse.
func workspaceReads(name string, src []byte) []string {
	f, diags := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
	if diags.HasErrors() {
		return nil
	}
	var at []string
	hclsyntax.VisitAll(f.Body.(*hclsyntax.Body), func(n hclsyntax.Node) hcl.Diagnostics {
		if e, ok := n.(*hclsyntax.ScopeTraversalExpr); ok && readsWorkspace(e.Traversal) {
			if place := fmt.Sprintf("%s:%d", shown(name), e.SrcRange.Start.Line); !slices.Contains(at, place) {
				at = append(at, place) // once a line, however many reads it holds
			}
		}
		return nil
	})
	return at
}

// shown is a repository path for a message: as it is, or quoted when it holds a control
// character that could start a line of its own.
func shown(name string) string {
	if strings.ContainsFunc(name, unicode.IsControl) {
		return untrusted.Quote(name)
	}
	return name
}

// readsWorkspace reports whether t is terraform.workspace.
func readsWorkspace(t hcl.Traversal) bool {
	if len(t) < 2 || t.RootName() != "terraform" {
		return false
	}
	a, ok := t[1].(hcl.TraverseAttr)
	return ok && a.Name == "workspace"
}
