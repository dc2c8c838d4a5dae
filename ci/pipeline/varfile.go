package pipeline

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"

	"github.com/infrapipe/infrapipe/ci/internal/untrusted"
)

// variableBlocks finds the variable declarations of a Terraform file, .tf or .tf.json.
var variableBlocks = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "variable", LabelNames: []string{"name"}}}}

// Most names an error lists, so that a file of thousands cannot flood the log.
const (
	maxUndeclared = 10
	maxDeclared   = 30
)

// CheckVarFile refuses an environment's variable file (its name, e.g.
// environments/test.tfvars, and contents) that sets a variable the root module does not
// declare. module is the root module's .tf and .tf.json files, name → contents. Terraform
// only warns about such a value ("Value for undeclared variable"), among the plan's output,
// and plans with the variable's default: a misspelt replica_count deploys one instance
// where the file asked for three. As Terraform does, a name ending in .json is read as
// JSON and a "//" key is a comment. A file that does not parse is an error: Terraform
// refuses it too.
func CheckVarFile(name string, src []byte, module map[string][]byte) error {
	set, err := assignments(name, src, firstError)
	if err != nil {
		return err
	}
	return checkSet(name, set, module)
}

// checkSet refuses the variables a file (name) sets that module does not declare.
func checkSet(name string, set []*hcl.Attribute, module map[string][]byte) error {
	declared, err := declaredVariables(module)
	if err != nil {
		return err
	}
	var undeclared []*hcl.Attribute
	for _, a := range set {
		if !declared[a.Name] {
			undeclared = append(undeclared, a)
		}
	}
	if len(undeclared) == 0 {
		return nil
	}
	return undeclaredError(name, undeclared, slices.Sorted(maps.Keys(declared)))
}

// SecretVarFile names --tf-var-file in CheckSecretVarFile's errors.
const SecretVarFile = "--tf-var-file"

// CheckSecretVarFile is CheckVarFile for --tf-var-file, which Terraform reads as HCL (the
// module mounts it as a .tfvars file): a misspelt name there deployed the variable's
// default, a password "changeme" say, as quietly as in the environment's file. Its errors
// name lines and variable names, never a value: a parse error gives only its line, where
// CheckVarFile quotes the parser, whose detail may repeat what it read.
func CheckSecretVarFile(src []byte, module map[string][]byte) error {
	set, err := assignments(SecretVarFile, src, errorLine)
	if err != nil {
		return err
	}
	return checkSet(SecretVarFile, set, module)
}

// errorLine is where the first error of diags is, and nothing of what it says.
func errorLine(diags hcl.Diagnostics) string {
	for _, d := range diags {
		if d.Severity == hcl.DiagError && d.Subject != nil {
			return fmt.Sprintf("line %d", d.Subject.Start.Line)
		}
	}
	return "no line given"
}

// assignments are the variables a var file sets, in the file's order; where words the
// parser's error for the message (firstError, or errorLine for a secret file).
func assignments(name string, src []byte, where func(hcl.Diagnostics) string) ([]*hcl.Attribute, error) {
	f, diags := parse(name, src)
	if diags.HasErrors() {
		return nil, fmt.Errorf("%s does not parse as a Terraform variables file (%s): correct it; Terraform would refuse it too", shown(name), where(diags))
	}
	attrs, diags := f.Body.JustAttributes()
	if diags.HasErrors() {
		return nil, fmt.Errorf("%s is not a Terraform variables file (%s): it may only set variables, name = value; Terraform would refuse it too", shown(name), where(diags))
	}
	set := slices.Collect(maps.Values(attrs))
	slices.SortFunc(set, func(a, b *hcl.Attribute) int { return a.NameRange.Start.Byte - b.NameRange.Start.Byte })
	return set, nil
}

// declaredVariables are the names of the module's variable blocks.
func declaredVariables(module map[string][]byte) (map[string]bool, error) {
	declared := map[string]bool{}
	for _, name := range slices.Sorted(maps.Keys(module)) {
		f, diags := parse(name, module[name])
		if diags.HasErrors() {
			return nil, fmt.Errorf("%s does not parse as Terraform configuration (%s): correct it; Terraform would refuse it too", shown(name), firstError(diags))
		}
		content, _, diags := f.Body.PartialContent(variableBlocks)
		if diags.HasErrors() {
			return nil, fmt.Errorf("%s: variable blocks (%s): correct them; Terraform would refuse them too", shown(name), firstError(diags))
		}
		for _, b := range content.Blocks {
			declared[b.Labels[0]] = true
		}
	}
	return declared, nil
}

// parse reads a file the way Terraform's loader does: JSON when the name ends in .json.
func parse(name string, src []byte) (*hcl.File, hcl.Diagnostics) {
	p := hclparse.NewParser()
	if strings.HasSuffix(name, ".json") {
		return p.ParseJSON(src, name)
	}
	return p.ParseHCL(src, name)
}

func undeclaredError(name string, undeclared []*hcl.Attribute, declared []string) error {
	var listed []string
	for _, a := range undeclared[:min(len(undeclared), maxUndeclared)] {
		listed = append(listed, fmt.Sprintf("%s (line %d)", shown(a.Name), a.NameRange.Start.Line))
	}
	if more := len(undeclared) - len(listed); more > 0 {
		listed = append(listed, fmt.Sprintf("%d more", more))
	}
	stack := "the stack declares no variables"
	if len(declared) > 0 {
		var names []string
		for _, d := range declared[:min(len(declared), maxDeclared)] {
			names = append(names, shown(d))
		}
		if more := len(declared) - len(names); more > 0 {
			names = append(names, fmt.Sprintf("%d more", more))
		}
		stack = "declared variables are " + strings.Join(names, ", ")
	}
	if len(undeclared) == 1 {
		a := undeclared[0]
		return fmt.Errorf("%s: %s is not a variable of the stack (line %d): Terraform would ignore it and plan with the variables' defaults; %s. Correct the name, or add a variable %s block",
			shown(name), shown(a.Name), a.NameRange.Start.Line, stack, untrusted.Quote(a.Name))
	}
	return fmt.Errorf("%s: %s are not variables of the stack: Terraform would ignore them and plan with the variables' defaults; %s. Correct the names, or add a variable block for each",
		shown(name), strings.Join(listed, ", "), stack)
}

// firstError is the first error of diags on one line: where it is, and what.
func firstError(diags hcl.Diagnostics) string {
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		what := d.Summary
		if d.Detail != "" {
			what += ": " + d.Detail
		}
		what = strings.Join(strings.FieldsFunc(what, func(r rune) bool { return !unicode.IsPrint(r) }), " ")
		if len(what) > 200 {
			what = strings.ToValidUTF8(what[:200], "") + "…"
		}
		if d.Subject != nil {
			return fmt.Sprintf("line %d: %s", d.Subject.Start.Line, what)
		}
		return what
	}
	return "unknown error"
}

// shown is a file or variable name for an error message: as it is when it is made of
// letters, digits and _ - . /, as every name Terraform accepts is, else quoted
// (untrusted.Quote), so a hostile name cannot forge a line of the log.
func shown(s string) string {
	plain := s != "" && len(s) <= 64 && !strings.ContainsFunc(s, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("_-./", r)
	})
	if plain {
		return s
	}
	return untrusted.Quote(s)
}
