package pipeline

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/infrapipe/infrapipe/ci/findings"
	"github.com/infrapipe/infrapipe/ci/gate"
)

// trivyFindings are what Trivy reported on a real configuration: one HIGH, one MEDIUM and
// one LOW misconfiguration.
func trivyFindings(t *testing.T) []findings.Finding {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "findings", "testdata", "trivy-config-terraform-remote-module.json"))
	if err != nil {
		t.Fatal(err)
	}
	fs, err := findings.ParseTrivyJSON("trivy.json", data)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

func TestScanFiles(t *testing.T) {
	found := trivyFindings(t)
	checkovDown := ToolFailure{Tool: Tool{Name: "checkov", Image: "bridgecrew/checkov:3.2.524", Flag: "checkov-image"}, Err: errors.New("pull access denied")}
	reproduce := Call(nil, "security-scan").Flag("env", "test")
	tests := []struct {
		name      string
		env       string
		scan      Scan
		threshold findings.Severity
		wantErr   string   // empty: the scan passes and returns files
		want      []string // in summary.md, or in the error
	}{
		{"below the threshold passes", "test", Scan{Tools: []string{"checkov", "trivy"}, Findings: found}, findings.Critical, "",
			[]string{"## Security scan (checkov, trivy)\n\n", "dagger call security-scan --env=test"}},
		{"at the threshold blocks", "prod", Scan{Tools: []string{"trivy"}, Findings: found}, findings.Medium,
			"security scan failed in prod: security scan: 2 finding(s) at or above MEDIUM", []string{"## Security scan (trivy)"}},
		{"a tool down warns in test", "test", Scan{Tools: []string{"checkov", "trivy"}, Broken: []ToolFailure{checkovDown}}, findings.Critical, "",
			[]string{"- **warn** checkov could not run: image bridgecrew/checkov:3.2.524 is not available"}},
		{"a tool down blocks in prod", "prod", Scan{Tools: []string{"checkov", "trivy"}, Broken: []ToolFailure{checkovDown}}, findings.Critical,
			"security scan failed in prod: checkov", []string{"- **block** checkov"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := tt.scan.Step(StepSecurityScan, profile(t, tt.env), tt.threshold)
			if (st.Verdict == gate.Block) != (tt.wantErr != "") || st.Step != StepSecurityScan || len(st.Findings) != len(tt.scan.Findings) ||
				!slices.Equal(st.Tools, tt.scan.Tools) || !strings.HasPrefix(st.Markdown, "## Security scan\n\n") {
				t.Errorf("pipeline step %+v: want block %v, the scan's tools and findings under the step's heading", st, tt.wantErr != "")
			}
			files, err := ScanFiles(StepSecurityScan, profile(t, tt.env), tt.scan, tt.threshold, findings.SARIFOptions{Root: "terraform"}, reproduce)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				for _, w := range tt.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error lacks %q:\n%s", w, err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for i := 0; i < len(files); i += 2 {
				got[files[i]] = files[i+1]
			}
			for _, w := range tt.want {
				if !strings.Contains(got["summary.md"], w) {
					t.Errorf("summary.md lacks %q:\n%s", w, got["summary.md"])
				}
			}
			var log findings.SARIFLog
			if err := json.Unmarshal([]byte(got["results.sarif"]), &log); err != nil {
				t.Fatalf("results.sarif: %v", err)
			}
			if len(log.Runs) != len(tt.scan.Tools) {
				t.Errorf("results.sarif has %d runs, want one per tool that ran (%v), findings or not", len(log.Runs), tt.scan.Tools)
			}
			var back []findings.Finding
			if err := json.Unmarshal([]byte(got["findings.json"]), &back); err != nil || len(back) != len(tt.scan.Findings) {
				t.Errorf("findings.json holds %d findings (%v), want %d", len(back), err, len(tt.scan.Findings))
			}
		})
	}
}

func TestThreshold(t *testing.T) {
	prod := profile(t, "prod")
	for _, tt := range []struct {
		flag    string
		want    findings.Severity
		wantErr string
	}{
		{"", prod.SeverityThreshold, ""},
		{"LOW", findings.Low, ""},
		{"critical", findings.Critical, ""},
		{"SEVERE", 0, "--threshold: "},
		{"unknown", 0, "--threshold: "},
	} {
		got, err := Threshold(prod, tt.flag)
		if tt.wantErr != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), tt.flag) {
				t.Errorf("Threshold(%q) error %v, want one starting %q naming the value", tt.flag, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Threshold(%q) = %v, %v; want %v", tt.flag, got, err, tt.want)
		}
	}
}
