package main

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"io/fs"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"dagger/infra/internal/dagger"

	"github.com/infrapipe/infrapipe/ci/pipeline"
)

// newInfra calls the constructor with its defaults (as `dagger call` fills them in), changed
// by set.
func newInfra(t *testing.T, set func(*constructorArgs)) *Infra {
	t.Helper()
	d := pipeline.Defaults
	a := constructorArgs{
		tflintImage:  d.TflintImage, // no --terraform-dir nor --terraform-version: picked from the source
		checkovImage: d.CheckovImage, trivyImage: d.TrivyImage, opaImage: d.OpaImage,
		infracostImage: d.InfracostImage, complianceImage: d.ComplianceImage, motoImage: d.MotoImage,
		region: d.Region, emulatorPort: d.AWSEmulatorPort,
	}
	if set != nil {
		set(&a)
	}
	m, err := New(t.Context(), nil, a.terraformDir, a.terraformVersion, a.terraformImage, a.tflintImage, a.checkovImage, a.trivyImage,
		a.opaImage, a.infracostImage, a.complianceImage, a.motoImage, a.region, false, a.emulator, a.emulatorPort, nil, nil, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// The constructor's +default pragmas, which `dagger call` fills in, are ci/pipeline's
// Defaults, which reproduce lines leave out: a pragma changed alone would put the default
// into every line, or leave a changed option out.
func TestConstructorDefaults(t *testing.T) {
	d := pipeline.Defaults
	want := map[string]string{
		"tflintImage":  d.TflintImage,
		"checkovImage": d.CheckovImage, "trivyImage": d.TrivyImage, "opaImage": d.OpaImage,
		"infracostImage": d.InfracostImage, "terraformComplianceImage": d.ComplianceImage, "motoImage": d.MotoImage,
		"region": d.Region, "awsEmulatorPort": strconv.Itoa(d.AWSEmulatorPort),
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "main.go", nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	pragma := regexp.MustCompile(`\+default=(.*)`)
	got, doc := map[string]string{}, map[string]string{}
	for _, decl := range f.Decls {
		if fn, ok := decl.(*ast.FuncDecl); ok && fn.Name.Name == "New" {
			cmap := ast.NewCommentMap(fset, f, f.Comments)
			for _, p := range fn.Type.Params.List {
				for _, c := range cmap[p] {
					doc[p.Names[0].Name] += c.Text()
					if m := pragma.FindStringSubmatch(c.Text()); m != nil {
						got[p.Names[0].Name] = strings.Trim(strings.TrimSpace(m[1]), `"`)
					}
				}
			}
		}
	}
	// The defaults no pragma states, which `dagger call --help` shows in the doc.
	for name, v := range map[string]string{"terraformDir": d.TerraformDir, "terraformVersion": d.TerraformVersion} {
		if !strings.Contains(doc[name], v) {
			t.Errorf("New's %s doc does not name its default %s:\n%s", name, v, doc[name])
		}
	}
	for name, v := range want {
		if got[name] != v {
			t.Errorf("New's %s: +default=%q, pipeline.Defaults has %q", name, got[name], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("New has +default pragmas on %d parameters, pipeline.Defaults covers %d: %v", len(got), len(want), got)
	}
}

type constructorArgs struct {
	terraformDir, terraformVersion, terraformImage, tflintImage, checkovImage, trivyImage string
	opaImage, infracostImage, complianceImage, motoImage, region                          string
	emulator                                                                              *dagger.Service
	emulatorPort                                                                          int
}

// The reproduce line carries exactly the constructor options that differ from the defaults,
// so pasting it reruns with the same settings.
func TestReproduceLineHasTheConstructorOptions(t *testing.T) {
	tests := []struct {
		name string
		set  func(*constructorArgs)
		want string
	}{
		{"defaults", nil, "dagger call plan --env=test export --path=./plan"},
		{"region and image", func(a *constructorArgs) {
			a.region, a.trivyImage = "eu-west-1", "mirror.example.com/trivy:0.74.0"
		}, "dagger call --trivy-image=mirror.example.com/trivy:0.74.0 --region=eu-west-1 plan --env=test export --path=./plan"},
		{"terraform version picks the image", func(a *constructorArgs) { a.terraformVersion = "1.10.5" },
			"dagger call --terraform-version=1.10.5 plan --env=test export --path=./plan"},
		{"emulator on the default port", func(a *constructorArgs) { a.emulator = &dagger.Service{} },
			"dagger call --aws-emulator=tcp://localhost:5000 plan --env=test export --path=./plan"},
		{"emulator on another port", func(a *constructorArgs) { a.emulator, a.emulatorPort = &dagger.Service{}, 4566 },
			"dagger call --aws-emulator=tcp://localhost:4566 --aws-emulator-port=4566 plan --env=test export --path=./plan"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newInfra(t, tt.set)
			if got := m.envCall("plan", "test").String(); got != tt.want {
				t.Errorf("reproduce line\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// A failed --force import after its state rm gives the exact restore-state line for the
// backup taken first (ci/importer.StateChangedError words the rest).
func TestRestoreLine(t *testing.T) {
	r := &run{m: newInfra(t, nil), env: "prod"}
	got := r.restoreLine("backups/prod/20261127T013000Z-serial-7-1a2b3c4d.tfstate")
	if want := "dagger call restore-state --env=prod --from=backups/prod/20261127T013000Z-serial-7-1a2b3c4d.tfstate --confirm"; got != want {
		t.Errorf("restore line\n%s\nwant\n%s", got, want)
	}
}

// moduleFunction is an exported method of Infra as the engine reads it: its pragmas and,
// per parameter after ctx, its type and the comment above it.
type moduleFunction struct {
	name   string
	doc    string
	params []moduleParam
	pos    string
}

type moduleParam struct{ name, typ, doc string }

// moduleFunctions parses the module's own source (not its tests), as the engine does.
func moduleFunctions(t *testing.T) []moduleFunction {
	t.Helper()
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, ".", func(fi fs.FileInfo) bool {
		return !strings.HasSuffix(fi.Name(), "_test.go") && fi.Name() != "dagger.gen.go" // the engine writes that one
	}, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	var out []moduleFunction
	for _, pkg := range pkgs {
		for _, f := range pkg.Files {
			cmap := ast.NewCommentMap(fset, f, f.Comments)
			for _, d := range f.Decls {
				fn, ok := d.(*ast.FuncDecl)
				if !ok || fn.Recv == nil || !fn.Name.IsExported() || types.ExprString(fn.Recv.List[0].Type) != "*Infra" {
					continue
				}
				mf := moduleFunction{name: fn.Name.Name, doc: fn.Doc.Text(), pos: fset.Position(fn.Pos()).String()}
				for _, p := range fn.Type.Params.List {
					var doc strings.Builder
					for _, c := range cmap[p] {
						doc.WriteString(c.Text())
					}
					for _, n := range p.Names {
						mf.params = append(mf.params, moduleParam{name: n.Name, typ: types.ExprString(p.Type), doc: doc.String()})
					}
				}
				out = append(out, mf)
			}
		}
	}
	if len(out) < 10 {
		t.Fatalf("found only %d module functions: is the test running in .dagger?", len(out))
	}
	return out
}

// The engine's rules that Go does not check, read from the source: a function that can reach
// AWS is never cached (a plan or apply served from an old run is wrong), secrets are
// *dagger.Secret (never a string that lands in logs and cache keys), and a check takes no
// required argument (`dagger check` passes none).
func TestFunctionPragmas(t *testing.T) {
	secretWord := regexp.MustCompile(`(?i)(key|token|secret|password)`)
	for _, fn := range moduleFunctions(t) {
		neverCached := strings.Contains(fn.doc, `+cache="never"`)
		check := strings.Contains(fn.doc, "+check")
		for _, p := range fn.params {
			if p.typ == "context.Context" {
				continue
			}
			if secretWord.MatchString(p.name) && p.typ != "*dagger.Secret" {
				t.Errorf("%s: %s(%s %s) takes a credential as %s; use *dagger.Secret", fn.pos, fn.name, p.name, p.typ, p.typ)
			}
			if strings.HasPrefix(p.name, "aws") && p.typ == "*dagger.Secret" && !neverCached {
				t.Errorf("%s: %s takes AWS credentials, so it reaches AWS, but is not +cache=\"never\"", fn.pos, fn.name)
				neverCached = true // said once
			}
			if check && !strings.Contains(p.doc, "+optional") && !strings.Contains(p.doc, "+default=") {
				t.Errorf("%s: %s is a +check but its argument %s is required; dagger check passes none", fn.pos, fn.name, p.name)
			}
		}
		if neverCached && check {
			t.Errorf("%s: %s is a +check that touches state; checks must be reproducible from the source alone", fn.pos, fn.name)
		}
	}
}

// The functions that touch state or infrastructure, and the checks, are the ones the
// module reference (docs/module.md) promises; a new function is added here on purpose.
func TestFunctionsThatTouchStateAreNeverCached(t *testing.T) {
	want := map[string]string{
		"Plan": "never", "Apply": "never", "Import": "never", "Compliance": "never", "Cost": "never",
		"Test": "never", "Drift": "never", "BackupState": "never", "Backups": "never", "RestoreState": "never",
		"Pipeline": "never", "ForceUnlock": "never", "Kpis": "never", "Lint": "check", "SecurityScan": "check", "Verdict": "", "ResolveEnv": "", "Stacks": "",
	}
	seen := map[string]bool{}
	for _, fn := range moduleFunctions(t) {
		seen[fn.name] = true
		kind, ok := want[fn.name]
		if !ok {
			t.Errorf("%s: new function %s: say here whether it touches state (+cache=\"never\") or is a check", fn.pos, fn.name)
			continue
		}
		if got := strings.Contains(fn.doc, `+cache="never"`); got != (kind == "never") {
			t.Errorf("%s: %s +cache=\"never\" is %v, want %v", fn.pos, fn.name, got, kind == "never")
		}
		if got := strings.Contains(fn.doc, "+check"); got != (kind == "check") {
			t.Errorf("%s: %s +check is %v, want %v", fn.pos, fn.name, got, kind == "check")
		}
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("function %s is gone; update this list and docs/module.md", name)
		}
	}
}

// A container whose set-up exec failed (terraform init of the provider install) reaches a
// step as the engine's ExecError; the step's error carries what that exec printed, not
// only "exit code: 1" and a trace ID.
func TestExecFailureCarriesTheOutput(t *testing.T) {
	engine := &dagger.ExecError{Cmd: []string{"sh", "-c", "terraform init -backend=false", "providers"}, ExitCode: 1,
		Stderr: "Error: Unsupported Terraform Core version\n\nThis configuration does not support Terraform version 1.11.4."}
	err := execFailure(fmt.Errorf("select: %w", engine))
	if want := "the providers' install (terraform init -backend=false) exited with code 1:\nError: Unsupported Terraform Core version"; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("execFailure = %v, want it to start %q", err, want)
	}
	var ee *dagger.ExecError
	if errors.As(err, &ee) {
		t.Error("execFailure wraps the engine's error, which the engine would print instead")
	}
	if other := errors.New("connection refused"); execFailure(other) != other {
		t.Error("execFailure changed an error that is no exec's")
	}
}

// plan and apply refuse a short --commit before anything reaches the engine (pipeline's is
// Flags.Settle's, tested in ci/pipeline): there is no engine here, and none is needed.
func TestPlanAndApplyRefuseAShortCommit(t *testing.T) {
	m := newInfra(t, nil)
	const want = `--commit "0123abc" is not a full commit ID`
	if _, err := m.Plan(t.Context(), "test", false, false, false, false, "0123abc"); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("plan --commit=0123abc: %v, want %q", err, want)
	}
	if _, err := m.Apply(t.Context(), "test", false, nil, "", "", "0123abc"); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("apply --commit=0123abc: %v, want %q", err, want)
	}
}
