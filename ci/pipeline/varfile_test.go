package pipeline

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/infrapipe/infrapipe/ci/internal/tftest"
)

// What real Terraform (1.11.4) does with each stack of testdata/varfile and its var file:
// plan without a word, plan with a "Value for undeclared variable" warning, or fail.
const (
	tfAccepts  = "accepts"
	tfWarns    = "warns"
	tfRefuses  = "refuses"
	varFileDir = "testdata/varfile"
)

var varFileCases = []struct {
	stack     string // under testdata/varfile
	varFile   string
	want      string   // the whole error, "" when accepted
	wantIn    []string // parts of the error, when it quotes a parser
	terraform string
}{
	{stack: "declared", varFile: "environments/test.tfvars", terraform: tfAccepts},
	{stack: "tf-json", varFile: "environments/test.tfvars.json", terraform: tfAccepts},
	{
		stack: "undeclared", varFile: "environments/test.tfvars", terraform: tfWarns,
		want: `environments/test.tfvars: replica_count is not a variable of the stack (line 1): Terraform would ignore it and plan with the variables' defaults; declared variables are region, replicas. Correct the name, or add a variable "replica_count" block`,
	},
	{
		stack: "undeclared-json", varFile: "environments/test.tfvars.json", terraform: tfWarns,
		want: `environments/test.tfvars.json: replica_count is not a variable of the stack (line 3): Terraform would ignore it and plan with the variables' defaults; declared variables are region, replicas. Correct the name, or add a variable "replica_count" block`,
	},
	{
		stack: "several-undeclared", varFile: "environments/test.tfvars", terraform: tfWarns,
		want: `environments/test.tfvars: replica_count (line 1), zone (line 3) are not variables of the stack: Terraform would ignore them and plan with the variables' defaults; declared variables are region, replicas. Correct the names, or add a variable block for each`,
	},
	{
		stack: "no-variables", varFile: "environments/test.tfvars", terraform: tfWarns,
		want: `environments/test.tfvars: replicas is not a variable of the stack (line 1): Terraform would ignore it and plan with the variables' defaults; the stack declares no variables. Correct the name, or add a variable "replicas" block`,
	},
	{
		stack: "hostile-name", varFile: "environments/test.tfvars.json", terraform: tfWarns,
		want: `environments/test.tfvars.json: "replica_count\n::error::forged" is not a variable of the stack (line 3): Terraform would ignore it and plan with the variables' defaults; declared variables are replicas. Correct the name, or add a variable "replica_count\n::error::forged" block`,
	},
	{
		stack: "unparsable", varFile: "environments/test.tfvars", terraform: tfRefuses,
		wantIn: []string{"environments/test.tfvars does not parse as a Terraform variables file (line 1: Invalid expression: ", "Terraform would refuse it too"},
	},
	{
		stack: "unparsable-json", varFile: "environments/test.tfvars.json", terraform: tfRefuses,
		wantIn: []string{"environments/test.tfvars.json does not parse as a Terraform variables file (line ", "Terraform would refuse it too"},
	},
	{
		stack: "block", varFile: "environments/test.tfvars", terraform: tfRefuses,
		wantIn: []string{"environments/test.tfvars is not a Terraform variables file (line 3: Unexpected \"variable\" block", "it may only set variables"},
	},
	{
		stack: "json-array", varFile: "environments/test.tfvars.json", terraform: tfRefuses,
		wantIn: []string{"environments/test.tfvars.json is not a Terraform variables file (line 1: Incorrect JSON value type"},
	},
}

// readStack reads a Terraform directory as the module does: the var file, and the root
// module's .tf and .tf.json files by name.
func readStack(t testing.TB, dir, varFile string) ([]byte, map[string][]byte) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(dir, varFile))
	if err != nil {
		t.Fatal(err)
	}
	module := map[string][]byte{}
	for _, pattern := range []string{"*.tf", "*.tf.json"} {
		names, err := filepath.Glob(filepath.Join(dir, pattern))
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			if module[filepath.Base(n)], err = os.ReadFile(n); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(module) == 0 {
		t.Fatalf("%s has no Terraform files", dir)
	}
	return src, module
}

func TestCheckVarFile(t *testing.T) {
	for _, tt := range varFileCases {
		t.Run(tt.stack, func(t *testing.T) {
			src, module := readStack(t, filepath.Join(varFileDir, tt.stack), tt.varFile)
			err := CheckVarFile(tt.varFile, src, module)
			switch {
			case tt.want == "" && len(tt.wantIn) == 0:
				if err != nil {
					t.Fatalf("CheckVarFile: %v", err)
				}
			case err == nil:
				t.Fatal("CheckVarFile accepted it")
			case tt.want != "" && err.Error() != tt.want:
				t.Errorf("error\n%s\nwant\n%s", err, tt.want)
			}
			for _, part := range tt.wantIn {
				if err != nil && !strings.Contains(err.Error(), part) {
					t.Errorf("error %q lacks %q", err, part)
				}
			}
			if err != nil && strings.ContainsAny(err.Error(), "\r\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
}

// TestCheckVarFileAgreesWithTerraform plans every stack of the table with the real
// terraform and its var file: what CheckVarFile accepts, Terraform plans without a word
// about variables; what it refuses as undeclared, Terraform only warns about, and plans
// with the defaults; what it finds unparsable, Terraform refuses too.
func TestCheckVarFileAgreesWithTerraform(t *testing.T) {
	if testing.Short() {
		t.Skip("runs terraform")
	}
	for _, tt := range varFileCases {
		t.Run(tt.stack, func(t *testing.T) {
			t.Parallel()
			files := map[string]string{}
			dir := filepath.Join(varFileDir, tt.stack)
			err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				b, err := os.ReadFile(p)
				rel, _ := filepath.Rel(dir, p)
				files[filepath.ToSlash(rel)] = string(b)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			w := tftest.New(t, files)
			w.Init()
			out, errOut, err := w.Exec("plan", "-input=false", "-no-color", "-var-file="+tt.varFile)
			warned := strings.Contains(out+errOut, "undeclared variable")
			got := tfAccepts
			switch {
			case err != nil:
				got = tfRefuses
			case warned:
				got = tfWarns
			}
			if got != tt.terraform {
				t.Fatalf("terraform %s, want %s (err %v)\n%s%s", got, tt.terraform, err, out, errOut)
			}
		})
	}
}

// TestCheckVarFileRepositoryStacks: the repository's stacks (the example, the e2e and
// benchmark ones) set only variables they declare, in every environment.
func TestCheckVarFileRepositoryStacks(t *testing.T) {
	var dirs []string
	for _, pattern := range []string{"../../terraform", "../../stacks/*", "../../internal/e2e/testdata/stacks/*", "../../.ci/bench/stack"} {
		found, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, found...)
	}
	checked := 0
	for _, dir := range dirs {
		varFiles, err := filepath.Glob(filepath.Join(dir, "environments", "*.tfvars*"))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range varFiles {
			name, _ := filepath.Rel(dir, p)
			src, module := readStack(t, dir, name)
			if err := CheckVarFile(filepath.ToSlash(name), src, module); err != nil {
				t.Errorf("%s: %v", dir, err)
			}
			checked++
		}
	}
	if checked < 12 {
		t.Fatalf("checked %d var files in %v; the stacks moved?", checked, dirs)
	}
}

// FuzzCheckVarFile: whatever the var file and the module hold, CheckVarFile does not
// panic, and its error is one line of printable text, bounded, that names the file.
func FuzzCheckVarFile(f *testing.F) {
	for _, tt := range varFileCases {
		src, module := readStack(f, filepath.Join(varFileDir, tt.stack), tt.varFile)
		f.Add(src, module["main.tf"], strings.HasSuffix(tt.varFile, ".json"), false)
	}
	_, module := readStack(f, filepath.Join(varFileDir, "tf-json"), "environments/test.tfvars.json")
	f.Add([]byte(`{"replicas": 3}`), module["variables.tf.json"], true, true)
	f.Add([]byte(`{"a\u202e\u2028b": 1}`), []byte(`{"variable": {"x\ny": {}}}`), true, true)
	f.Fuzz(func(t *testing.T, src, tf []byte, jsonVars, jsonTF bool) {
		name, tfName := "environments/test.tfvars", "main.tf"
		if jsonVars {
			name += ".json"
		}
		if jsonTF {
			tfName += ".json"
		}
		err := CheckVarFile(name, src, map[string][]byte{tfName: tf})
		if err == nil {
			return
		}
		msg := err.Error()
		if strings.ContainsFunc(msg, func(r rune) bool { return !unicode.IsPrint(r) }) {
			t.Fatalf("error holds an unprintable character: %q", msg)
		}
		if len(msg) > 8192 {
			t.Fatalf("error is %d bytes long", len(msg))
		}
		if !strings.HasPrefix(msg, name) && !strings.HasPrefix(msg, tfName) {
			t.Fatalf("error names neither file: %q", msg)
		}
	})
}

// --tf-var-file is checked like the environment's file, and its errors never repeat a value.
func TestCheckSecretVarFile(t *testing.T) {
	module := map[string][]byte{"variables.tf": []byte("variable \"db_password\" {\n  type      = string\n  sensitive = true\n  default   = \"changeme\"\n}\n")}
	const secret = "CANARY-9f3k2"
	tests := []struct {
		name, src, want string // want "" for no error
	}{
		{"declared", `db_password = "` + secret + `"`, ""},
		{"misspelt", "\n" + `db_pasword = "` + secret + `"`, "--tf-var-file: db_pasword is not a variable of the stack (line 2)"},
		{"unterminated", `db_password = "` + secret, "--tf-var-file does not parse as a Terraform variables file (line 1)"},
		{"a bare value", secret + "\n", "--tf-var-file "},
		{"a block", "db {\n  password = \"" + secret + "\"\n}\n", "--tf-var-file is not a Terraform variables file (line 1)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckSecretVarFile([]byte(tt.src), module)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("err = %v, want none", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("err = %v, want %q", err, tt.want)
			case err != nil && strings.Contains(err.Error(), "CANARY"):
				t.Errorf("the error repeats the file's value: %v", err)
			}
		})
	}
}

// FuzzCheckSecretVarFile: whatever the file holds around a quoted value, an error never
// repeats it. (A variable's name is named: it is not a value.)
func FuzzCheckSecretVarFile(f *testing.F) {
	module := map[string][]byte{"variables.tf": []byte("variable \"db_password\" {}\n")}
	f.Add("db_pasword = ", "\n")
	f.Add("", "\n")
	f.Add("x = [", "")
	f.Add("db {\n a = ", "\n}")
	f.Fuzz(func(t *testing.T, before, after string) {
		const canary = "CANARYzq7"
		err := CheckSecretVarFile([]byte(before+`"`+canary+`"`+after), module)
		if err != nil && strings.Contains(err.Error(), canary) && !strings.Contains(before+after, canary) {
			t.Errorf("the error repeats a value: %v", err)
		}
	})
}

func TestSecretValues(t *testing.T) {
	src := `
db_password = "CANARY-pw-9f3k2"
api_token   = "CANARY-tok-77ab1"
settings    = { tier = "gold", dsn = "postgres://u:CANARY-pw-9f3k2@db/app" }
hosts       = ["10.0.0.1", "short"]
replicas    = 3
`
	got := SecretValues([]byte(src))
	for _, want := range []string{"postgres://u:CANARY-pw-9f3k2@db/app", "CANARY-tok-77ab1", "CANARY-pw-9f3k2", "10.0.0.1",
		"postgres%3A%2F%2Fu%3ACANARY-pw-9f3k2%40db%2Fapp"} { // and as a URL's query holds it
		if !slices.Contains(got, want) {
			t.Errorf("SecretValues = %q, want it to hold %q", got, want)
		}
	}
	for _, short := range []string{"gold", "short"} {
		if slices.Contains(got, short) {
			t.Errorf("SecretValues = %q holds the short %q", got, short)
		}
	}
	if !slices.IsSortedFunc(got, func(a, b string) int { return len(b) - len(a) }) {
		t.Errorf("SecretValues = %q, not longest first", got)
	}
	// A real plan destroying a terraform_data whose input held the password: Terraform shows
	// the output, which lost the sensitive mark, in clear.
	w := tftest.New(t, map[string]string{"main.tf": `
variable "db_password" {
  type      = string
  sensitive = true
}
resource "terraform_data" "db" {
  input = { password = var.db_password, tier = "gold" }
}
`})
	w.Init()
	w.Apply("-var=db_password=CANARY-pw-9f3k2")
	w.Write("main.tf", "variable \"db_password\" {\n  type      = string\n  sensitive = true\n}\n")
	plan := w.Run("plan", "-no-color", "-input=false", "-var=db_password=CANARY-pw-9f3k2")
	if !strings.Contains(plan, "CANARY-pw-9f3k2") {
		t.Fatalf("Terraform no longer shows the value on destroy; the case is moot:\n%s", plan)
	}
	red := Redact(plan, got)
	if strings.Contains(red, "CANARY") || !strings.Contains(red, `"(sensitive value)"`) || !strings.Contains(red, `"gold"`) {
		t.Errorf("Redact left a value, or masked a short one:\n%s", red)
	}
}

// A value whose variable is not declared sensitive is shown by Terraform as it renders a
// string: a quote or a backslash escaped, a multi-line value as a heredoc. Every form is
// masked (real Terraform).
func TestRedactEscapedForms(t *testing.T) {
	src := "quoted = \"Alias\\\"Quote-Sec-246\"\nslashed = \"C:\\\\Secret-Path-8812\"\nmulti = <<EOT\nfirst-line-Secret-771\nsecond-line-Secret-772\nEOT\n"
	w := tftest.New(t, map[string]string{"main.tf": `
variable "quoted" { type = string }
variable "slashed" { type = string }
variable "multi" { type = string }
resource "terraform_data" "app" { input = [var.quoted, var.slashed, var.multi] }
output "quoted" { value = var.quoted }
`, "secret.tfvars": src})
	w.Init()
	text := w.Run("plan", "-no-color", "-input=false", "-var-file=secret.tfvars")
	for _, shown := range []string{`Alias\"Quote-Sec-246`, `C:\\Secret-Path-8812`, "first-line-Secret-771"} {
		if !strings.Contains(text, shown) {
			t.Fatalf("Terraform no longer shows %s so; the case needs another form:\n%s", shown, text)
		}
	}
	red := Redact(text, SecretValues([]byte(src)))
	if strings.Contains(red, "Secret") || strings.Contains(red, "Quote-Sec") {
		t.Errorf("a value is left in the plan:\n%s", red)
	}
}

// FuzzRedact: whatever the var file, every value SecretValues gives is gone from any text
// holding it after Redact.
func FuzzRedact(f *testing.F) {
	f.Add(`a = "CANARY-pw-9f3k2"`, "x CANARY-pw-9f3k2 y")
	f.Add(`a = { b = ["CANARY-aaaaaaaa", "CANARY-aaaa"] }`, "CANARY-aaaaaaaaCANARY-aaaa")
	f.Fuzz(func(t *testing.T, src, text string) {
		values := SecretValues([]byte(src))
		red := Redact(text+strings.Join(values, " "), values)
		for _, v := range values {
			if strings.Contains(red, v) && !strings.Contains(Masked, v) {
				t.Errorf("value %q left in %q", v, red)
			}
		}
	})
}
