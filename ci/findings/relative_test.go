package findings

import "testing"

func TestRelativeTo(t *testing.T) {
	for _, tt := range []struct{ file, want string }{
		{"main.tf", "main.tf"},                                 // tflint, trivy: relative to the scanned directory
		{"/main.tf", "main.tf"},                                // checkov: scan-relative with a leading slash
		{"/modules/db/main.tf", "modules/db/main.tf"},          // checkov, deeper
		{"/src/infra/live/network.tf", "network.tf"},           // an absolute container path
		{"/src/modules/db/main.tf", "/src/modules/db/main.tf"}, // outside the Terraform directory
		{"", ""}, // policy findings on the plan
		{"modules/app/variables.tf", "modules/app/variables.tf"},
	} {
		got := RelativeTo([]Finding{{File: tt.file}}, "/src/infra/live", "/src")
		if got[0].File != tt.want {
			t.Errorf("RelativeTo(%q) = %q, want %q", tt.file, got[0].File, tt.want)
		}
	}
}
