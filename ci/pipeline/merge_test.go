package pipeline

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/infrapipe/infrapipe/ci/findings"
	"github.com/infrapipe/infrapipe/ci/internal/tftest"
)

// realFindings reads a real tool report of ci/findings' testdata.
func realFindings(t *testing.T, parse func(string, []byte) ([]findings.Finding, error), name string) []findings.Finding {
	t.Helper()
	data, err := os.ReadFile("../findings/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	fs, err := parse(name, data)
	if err != nil || len(fs) == 0 {
		t.Fatalf("%s: %d findings, %v", name, len(fs), err)
	}
	return fs
}

// nestedIn is r with stacks nested below its Terraform directory.
func nestedIn(r Repo, nested ...string) Repo {
	r.Nested = nested
	return r
}

// repoWith is a repository whose terraform/ holds the given files.
func repoWith(files map[string]string) Repo {
	return Repo{TerraformDir: "terraform", Mount: "/src", Read: func(p string) ([]byte, bool, error) {
		s, ok := files[p]
		return []byte(s), ok, nil
	}}
}

var (
	checkovTool = Tool{Name: "checkov", Image: "bridgecrew/checkov:3", Flag: "checkov-image"}
	trivyTool   = Tool{Name: "trivy", Image: "aquasec/trivy:0.74.0", Flag: "trivy-image"}
)

// TestMergeScan merges Checkov's and Trivy's real reports as security-scan does.
func TestMergeScan(t *testing.T) {
	at := time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC)
	checkov := func() []findings.Finding {
		return realFindings(t, findings.ParseSARIF, "checkov-terraform-azure-report.sarif")
	}
	trivy := func() []findings.Finding {
		return realFindings(t, findings.ParseTrivyJSON, "trivy-config-terraform-remote-module.json")
	}
	checkovJSON := func() []findings.Finding {
		return realFindings(t, findings.ParseCheckovJSON, "checkov-multi-framework-terraform-report.json")
	}
	nc, nt, ncj := len(checkov()), len(trivy()), len(checkovJSON())
	tests := []struct {
		name       string
		repo       Repo
		runs       []ToolRun
		findings   int
		suppressed []string // rule IDs
		notices    int
		broken     []string // what the tools' failures say
		tools      string   // the tools that ran; empty means "checkov,trivy"
		wantErr    string
	}{
		{
			name:     "both ran",
			repo:     repoWith(nil),
			runs:     []ToolRun{{Tool: checkovTool, Findings: checkov()}, {Tool: trivyTool, Findings: trivy()}},
			findings: nc + nt,
		},
		{
			name:     "checkov's image is missing: trivy's findings still count",
			repo:     repoWith(nil),
			runs:     []ToolRun{{Tool: checkovTool, Err: errors.New("pull access denied for bridgecrew/checkov, repository does not exist")}, {Tool: trivyTool, Findings: trivy()}},
			findings: nt,
			broken:   []string{"checkov could not run: image bridgecrew/checkov:3 is not available (use --checkov-image to pick another)"},
			tools:    "trivy",
		},
		{
			name: "suppressions, one expired",
			repo: repoWith(map[string]string{"terraform/suppressions.yaml": `suppressions:
  - rule: CKV_AZURE_178
    reason: keys are managed by the platform team
  - rule: AWS-0132
    resource: module.bucket
    reason: the module encrypts with the default key
    expires: 2027-01-31
`}),
			runs:       []ToolRun{{Tool: checkovTool, Findings: checkov()}, {Tool: trivyTool, Findings: trivy()}},
			findings:   nc + nt,
			suppressed: []string{"CKV_AZURE_178"},
			notices:    1,
		},
		{
			// Checkov's SARIF names only files of iac-azure-aks-belfius/, a stack of its
			// own here; its JSON report names files of this one. The entry matches only the
			// nested stack's findings, so it is this stack's to review.
			name: "a nested stack's findings are its own run's, and so is what suppresses them",
			repo: nestedIn(repoWith(map[string]string{"terraform/suppressions.yaml": `suppressions:
  - rule: CKV_AZURE_178
    reason: keys are managed by the platform team
`}), "terraform/iac-azure-aks-belfius"),
			runs:     []ToolRun{{Tool: checkovTool, Findings: append(checkov(), checkovJSON()...)}, {Tool: trivyTool, Findings: trivy()}},
			findings: ncj + nt,
			notices:  1,
		},
		{
			name:    "a broken suppressions file",
			repo:    repoWith(map[string]string{"terraform/suppressions.yaml": "suppressions:\n  - rule: CKV_AZURE_178\n"}),
			runs:    []ToolRun{{Tool: checkovTool, Findings: checkov()}},
			wantErr: "reason is required",
		},
		{
			name: "the repository cannot be read",
			repo: Repo{TerraformDir: "terraform", Mount: "/src", Read: func(string) ([]byte, bool, error) {
				return nil, false, fs.ErrPermission
			}},
			runs:    []ToolRun{{Tool: trivyTool, Findings: trivy()}},
			wantErr: "read terraform/suppressions.yaml: permission denied",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := MergeScan(tt.repo, at, tt.runs...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := cmp.Or(tt.tools, "checkov,trivy"); strings.Join(s.Tools, ",") != want {
				t.Errorf("tools %q, want %s", s.Tools, want)
			}
			if len(s.Findings) != tt.findings {
				t.Errorf("%d findings, want %d", len(s.Findings), tt.findings)
			}
			sorted := append([]findings.Finding(nil), s.Findings...)
			findings.Sort(sorted)
			for i := range sorted {
				if sorted[i].RuleID != s.Findings[i].RuleID || sorted[i].File != s.Findings[i].File {
					t.Fatalf("findings not sorted at %d: %+v", i, s.Findings[i])
				}
			}
			var suppressed []string
			for _, f := range s.Findings {
				if f.Suppressed != "" && !contains(suppressed, f.RuleID) {
					suppressed = append(suppressed, f.RuleID)
				}
			}
			if strings.Join(suppressed, ",") != strings.Join(tt.suppressed, ",") {
				t.Errorf("suppressed %q, want %q", suppressed, tt.suppressed)
			}
			if len(s.Notices) != tt.notices {
				t.Errorf("notices %q, want %d", s.Notices, tt.notices)
			}
			var broken []string
			for _, b := range s.Broken {
				broken = append(broken, b.Error())
			}
			if strings.Join(broken, "\n") != strings.Join(tt.broken, "\n") {
				t.Errorf("broken %q, want %q", broken, tt.broken)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}

// TestRepoRelative turns the container paths the scanners report into paths relative to the
// Terraform directory, which suppressions match.
func TestRepoRelative(t *testing.T) {
	r := repoWith(nil)
	for _, tt := range []struct{ in, want string }{
		{"/src/terraform/modules/m/main.tf", "modules/m/main.tf"},
		{"/main.tf", "main.tf"}, // Checkov's, relative to the scanned directory
		{"/src/other/main.tf", "/src/other/main.tf"},
		{"main.tf", "main.tf"},
	} {
		got := r.Relative([]findings.Finding{{File: tt.in}})
		if got[0].File != tt.want {
			t.Errorf("%s: %s, want %s", tt.in, got[0].File, tt.want)
		}
	}
}

// realTflint runs the real tflint --recursive, as commands.Tflint does, on files written
// to a temporary directory, and reads its findings.
func realTflint(t *testing.T, files map[string]string) []findings.Finding {
	t.Helper()
	bin, err := exec.LookPath("tflint")
	if err != nil {
		t.Fatalf("tflint is not on PATH: run the tests through .ci/run, or `source .ci/tools.sh && install_tools` (%v)", err)
	}
	dir, home := t.TempDir(), t.TempDir()
	tftest.WriteFiles(t, dir, files)
	cmd := exec.Command(bin, "--recursive", "--format=json", "--force")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+home, "NO_COLOR=1") // no ~/.tflint.hcl leaks in
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tflint: %v", err)
	}
	fs, err := findings.ParseTflintJSON("tflint.json", out)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

// TestRepoOwn drops the findings in stacks nested below the Terraform directory, whose own
// runs report them, from real tool output: tflint --recursive run on a stack holding a
// nested stack, Checkov's SARIF (files in a subdirectory), Checkov's JSON (paths with a
// leading slash) and Trivy's (a module's files).
func TestRepoOwn(t *testing.T) {
	unused := "variable \"unused\" {}\n"
	tflint := realTflint(t, map[string]string{
		"main.tf":                          "terraform {\n  backend \"s3\" {}\n}\n" + unused,
		"modules/m/main.tf":                unused,
		"stacks/network/main.tf":           "terraform {\n  backend \"s3\" {}\n}\n" + unused,
		"stacks/network/modules/x/main.tf": unused,
		"stacks/networking/main.tf":        unused,
	})
	checkov := realFindings(t, findings.ParseSARIF, "checkov-terraform-azure-report.sarif")
	checkovJSON := realFindings(t, findings.ParseCheckovJSON, "checkov-multi-framework-terraform-report.json")
	trivy := realFindings(t, findings.ParseTrivyJSON, "trivy-config-terraform-remote-module.json")
	const (
		outer = "main.tf,modules/m/main.tf,stacks/networking/main.tf"
		all   = "main.tf,modules/m/main.tf,stacks/network/main.tf,stacks/network/modules/x/main.tf,stacks/networking/main.tf"
	)
	tests := []struct {
		name   string
		dir    string // the Terraform directory
		nested []string
		in     []findings.Finding
		want   string // the files of the findings kept
	}{
		{"tflint, the Terraform directory at the root", ".", []string{"stacks/network"}, tflint, outer},
		{"tflint, below terraform/", "terraform", []string{"terraform/stacks/network"}, tflint, outer},
		{"tflint, no nested stack", "terraform", nil, tflint, all},
		{"tflint, a stack elsewhere in the repository", "terraform", []string{"stacks/network"}, tflint, all},
		{"tflint, two nested stacks", ".", []string{"stacks/network", "modules/m"}, tflint, "main.tf,stacks/networking/main.tf"},
		{"checkov sarif, below terraform/", "terraform", []string{"terraform/iac-azure-aks-belfius"}, checkov, ""},
		{"checkov sarif, at the root", ".", []string{"iac-azure-aks-belfius"}, checkov, ""},
		{"checkov sarif, a directory that only starts like the stack's", "terraform", []string{"terraform/iac-azure"}, checkov, "iac-azure-aks-belfius/vm.tf"},
		{"checkov json, its leading slash", ".", []string{"iac-azure-aks-belfius"}, checkovJSON, "Dockerfile,main.tf,package-lock.json"},
		{"trivy, a module's files", ".", []string{"terraform-aws-modules/s3-bucket"}, trivy, ""},
		{"trivy, a stack that holds the module's directory", "live", []string{"live/terraform-aws-modules"}, trivy, ""},
		// A path in the container's repository outside the Terraform directory is kept as
		// it is, unless a stack holds it; one outside the repository is Checkov's form.
		{"container paths", "terraform", []string{"terraform/stacks/network", "other"},
			[]findings.Finding{{File: "/src/terraform/stacks/network/main.tf"}, {File: "/src/terraform/main.tf"}, {File: "/src/other/main.tf"}, {File: "/src/docs/main.tf"}, {File: "/elsewhere/main.tf"}},
			"/src/docs/main.tf,elsewhere/main.tf,main.tf"},
		{"a finding on the plan names no file", ".", []string{"stacks/network", "."}, []findings.Finding{{Tool: "opa", RuleID: "no_gp2_volumes"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Repo{TerraformDir: tt.dir, Mount: "/src", Nested: tt.nested}
			in := slices.Clone(tt.in) // Relative rewrites the paths in place
			got := r.Own(in)
			var files []string
			for _, f := range got {
				if f.File != "" && !slices.Contains(files, f.File) {
					files = append(files, f.File)
				}
			}
			slices.Sort(files)
			if strings.Join(files, ",") != tt.want {
				t.Errorf("kept the findings of %q, want %q", files, tt.want)
			}
			if tt.name == "a finding on the plan names no file" && len(got) != 1 {
				t.Errorf("kept %d findings, want the plan's one", len(got))
			}
		})
	}
}

// TestMergeCompliance redacts a sensitive value of a real plan from what the policies
// found, with terraform-compliance's real console output beside OPA's finding.
func TestMergeCompliance(t *testing.T) {
	const secret = "s3cr3t-db-password"
	js := tftest.SensitivePlan(t, secret)
	// An OPA rule that quotes the attribute, as a careless policy may (ci/policy runs the
	// real one in TestPolicyMessagesRedacted).
	opa := []findings.Finding{{Tool: "opa", RuleID: "quotes_input", Severity: findings.High, Resource: "terraform_data.db",
		Message: "terraform_data.db has input " + secret}}
	tfc := realFindings(t, findings.ParseTerraformCompliance, "terraform-compliance-console-v0.2.0-pass-and-fail.txt")
	opaTool := Tool{Name: "opa", Image: "openpolicyagent/opa:1.15.2", Flag: "opa-image"}
	tfcTool := Tool{Name: "terraform-compliance", Image: "eerkunt/terraform-compliance", Flag: "terraform-compliance-image"}
	tests := []struct {
		name     string
		runs     []ToolRun
		tools    string
		findings int
		broken   int
	}{
		{"opa only", []ToolRun{{Tool: opaTool, Findings: opa}}, "opa", 1, 0},
		{"both", []ToolRun{{Tool: opaTool, Findings: opa}, {Tool: tfcTool, Findings: tfc}}, "opa,terraform-compliance", 1 + len(tfc), 0},
		{"terraform-compliance failed", []ToolRun{{Tool: opaTool, Findings: opa}, {Tool: tfcTool, Err: errors.New("exit code 2")}}, "opa", 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := MergeCompliance(repoWith(nil), time.Now(), js, tt.runs...)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(s.Tools, ",") != tt.tools || len(s.Findings) != tt.findings || len(s.Broken) != tt.broken {
				t.Fatalf("tools %q, %d findings, broken %v", s.Tools, len(s.Findings), s.Broken)
			}
			for _, f := range s.Findings {
				if strings.Contains(f.Message+f.Resource+f.RuleID+f.File, secret) {
					t.Errorf("secret in %+v", f)
				}
			}
			if !strings.Contains(s.Findings[0].Message+s.Findings[len(s.Findings)-1].Message, findings.Redacted) {
				t.Errorf("OPA's message is not redacted: %+v", s.Findings)
			}
		})
	}
	if _, err := MergeCompliance(repoWith(nil), time.Now(), []byte("{not json"), ToolRun{Tool: opaTool, Findings: opa}); err == nil {
		t.Error("an unreadable plan gave no error: the findings would go out unredacted")
	}
}

// TestReadTerraformCompliance applies terraform-compliance's exit codes to its real output.
func TestReadTerraformCompliance(t *testing.T) {
	out, err := os.ReadFile("../findings/testdata/terraform-compliance-console-v0.2.0-pass-and-fail.txt")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		code     int
		stdout   string
		stderr   string
		findings int
		wantErr  string
	}{
		{name: "a scenario fails", code: 1, stdout: string(out), findings: 1},
		{name: "exit 0 reads the output too", code: 0, stdout: string(out), findings: 1},
		{name: "the tool fails", code: 2, stdout: "", stderr: "ERROR: plan.json is not a valid plan", wantErr: "terraform-compliance failed (exit code 2):\nERROR: plan.json is not a valid plan"},
		{name: "cut short", code: 1, stdout: string(out[:len(out)/2]), wantErr: "terraform-compliance output"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, err := ReadTerraformCompliance(tt.code, tt.stdout, tt.stderr)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || len(fs) != tt.findings {
				t.Fatalf("%d findings, %v; want %d", len(fs), err, tt.findings)
			}
		})
	}
}

// TestMergeScanSARIFRuns follows a scan to its results.sarif. GitHub code scanning reads a
// tool's empty run as "nothing found" and closes that tool's open alerts: a tool that ran
// and found nothing keeps its empty run, one that could not run gets none, so its alerts
// stay as they were, and a scan whose findings cannot be judged gives no tool a run.
func TestMergeScanSARIFRuns(t *testing.T) {
	trivy := realFindings(t, findings.ParseTrivyJSON, "trivy-config-terraform-remote-module.json")
	imageMissing := errors.New("pull access denied for bridgecrew/checkov, repository does not exist")
	tests := []struct {
		name    string
		repo    Repo
		runs    []ToolRun
		runsOf  []string // tool: number of results
		wantErr string
	}{
		{"both ran, checkov found nothing", repoWith(nil),
			[]ToolRun{{Tool: checkovTool}, {Tool: trivyTool, Findings: trivy}},
			[]string{"trivy: 3", "checkov: 0"}, ""},
		{"checkov's image is missing", repoWith(nil),
			[]ToolRun{{Tool: checkovTool, Err: imageMissing}, {Tool: trivyTool, Findings: trivy}},
			[]string{"trivy: 3"}, ""},
		{"checkov's image is missing, trivy found nothing", repoWith(nil),
			[]ToolRun{{Tool: checkovTool, Err: imageMissing}, {Tool: trivyTool}},
			[]string{"trivy: 0"}, ""},
		{"neither could run", repoWith(nil),
			[]ToolRun{{Tool: checkovTool, Err: imageMissing}, {Tool: trivyTool, Err: errors.New("exit code 2")}},
			[]string{findings.EmptyRunTool + ": 0"}, ""},
		{"suppressions.yaml does not parse", repoWith(map[string]string{"terraform/suppressions.yaml": "suppressions:\n  - rule: AWS-0132\n"}),
			[]ToolRun{{Tool: checkovTool}, {Tool: trivyTool, Findings: trivy}},
			[]string{findings.EmptyRunTool + ": 0"}, "reason is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := MergeScan(tt.repo, time.Now(), tt.runs...)
			var log findings.SARIFLog
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				// The step is recorded as broken with what the scan returned alongside.
				log = findings.MergeSARIF(s.Findings, findings.SARIFOptions{Tools: s.Step(StepSecurityScan, profile(t, "test"), findings.Critical).Tools})
			} else {
				if err != nil {
					t.Fatal(err)
				}
				files, err := ScanFiles(StepSecurityScan, profile(t, "test"), s, findings.Critical, findings.SARIFOptions{Root: "terraform"}, Call(nil, "security-scan"))
				if err != nil {
					t.Fatal(err)
				}
				if err := json.Unmarshal([]byte(files[1]), &log); files[0] != "results.sarif" || err != nil {
					t.Fatalf("%s: %v", files[0], err)
				}
			}
			var got []string
			for _, run := range log.Runs {
				got = append(got, fmt.Sprintf("%s: %d", run.Tool.Driver.Name, len(run.Results)))
			}
			if !slices.Equal(got, tt.runsOf) {
				t.Errorf("results.sarif runs %q, want %q", got, tt.runsOf)
			}
		})
	}
}
