package pipeline

import (
	"errors"
	"io/fs"
	"os"
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
	nc, nt := len(checkov()), len(trivy())
	tests := []struct {
		name       string
		repo       Repo
		runs       []ToolRun
		findings   int
		suppressed []string // rule IDs
		notices    int
		broken     []string // what the tools' failures say
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
			if strings.Join(s.Tools, ",") != "checkov,trivy" {
				t.Errorf("tools %q", s.Tools)
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
		{"terraform-compliance failed", []ToolRun{{Tool: opaTool, Findings: opa}, {Tool: tfcTool, Err: errors.New("exit code 2")}}, "opa,terraform-compliance", 1, 1},
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
