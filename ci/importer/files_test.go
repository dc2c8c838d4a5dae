package importer_test

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/infrapipe/infrapipe/ci/discovery"
	"github.com/infrapipe/infrapipe/ci/importer"
)

// resolved is the three pending imports of testdata resolved against Terraform's real
// output: the saved plan that imports them (plan-import.json), or the plain output of the
// plan that failed (plan-import-failed.txt).
func resolved(t *testing.T, file string) *importer.Plan {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var outcome *importer.Outcome
	if strings.HasSuffix(file, ".json") {
		tfplan, err := importer.ReadPlan(data)
		if err != nil {
			t.Fatal(err)
		}
		outcome, err = importer.ReadOutcome(tfplan, nil)
	} else {
		outcome, err = importer.ReadOutcome(nil, data)
	}
	if err != nil {
		t.Fatal(err)
	}
	p := &importer.Plan{Entries: []importer.Entry{pending("aws_s3_bucket.assets", "shop-prod-assets"),
		pending("aws_dynamodb_table.orders", "shop-prod-orders"),
		pending("aws_sns_topic.events", "arn:aws:sns:us-east-1:123456789012:shop-prod-events"),
		{ARN: "arn:aws:sns:us-east-1:123456789012:shop-prod-other", Type: "aws_sns_topic", Status: importer.Unmapped, Reason: "no configuration"}}}
	return p.Resolve(outcome)
}

func TestReportFiles(t *testing.T) {
	const backup = "- State backed up: `s3://b/backups/prod/x.tfstate`.\n"
	const reproduce = "\n**Reproduce with:**\n\n```shell\ndagger call import --env=prod --project=shop\n```\n"
	cases := []struct {
		name     string
		report   importer.Report
		planText string
		notes    []string
		files    []string // the files, in order
		md       []string // import-report.md holds these, in order
		blocks   int      // import blocks in imports.tf
	}{
		{
			name:     "a dry run: would import three, one unmapped",
			report:   importer.NewReport("prod", true, resolved(t, "testdata/plan-import.json"), discovery.Stats{Calls: 2}),
			planText: "Plan: 3 to import, 0 to add, 0 to change, 0 to destroy.",
			notes:    []string{reproduce},
			files:    []string{"import-report.md", "import-report.json", importer.FileName, "plan.txt"},
			md:       []string{"## Import (dry run: nothing written): prod", "3 would import, 1 unmapped", "| would import | `aws_s3_bucket.assets`", "Reproduce with"},
			blocks:   3,
		},
		{
			name:     "applied: imported, after the backup line",
			report:   importer.NewReport("prod", false, resolved(t, "testdata/plan-import.json").Applied(), discovery.Stats{Calls: 2}),
			planText: "Plan: 3 to import, 0 to add, 0 to change, 0 to destroy.",
			notes:    []string{backup, reproduce},
			files:    []string{"import-report.md", "import-report.json", importer.FileName, "plan.txt"},
			md:       []string{"## Import: prod", "3 imported, 1 unmapped", "| imported | `aws_dynamodb_table.orders`", backup, "Reproduce with"},
			blocks:   3,
		},
		{
			name:   "nothing tagged: no imports.tf and no plan",
			report: importer.NewReport("test", false, &importer.Plan{}, discovery.Stats{Calls: 1}),
			files:  []string{"import-report.md", "import-report.json"},
			md:     []string{"## Import: test", "no tagged resources found"},
		},
		{
			name:   "the plan failed: every row failed, no imports.tf",
			report: importer.NewReport("prod", false, resolved(t, "testdata/plan-import-failed.txt"), discovery.Stats{}),
			files:  []string{"import-report.md", "import-report.json"},
			md:     []string{"3 failed, 1 unmapped", "| failed | `aws_s3_bucket.assets`", "Cannot import non-existent remote object"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			list, err := tc.report.Files(tc.planText, tc.notes...)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			var names []string
			for i := 0; i+1 < len(list); i += 2 {
				names, got[list[i]] = append(names, list[i]), list[i+1]
			}
			if len(list)%2 != 0 || strings.Join(names, ",") != strings.Join(tc.files, ",") {
				t.Fatalf("files %v, want %v", names, tc.files)
			}
			md, at := got["import-report.md"], 0
			if !strings.HasPrefix(md, tc.report.Markdown()) || !strings.HasSuffix(md, strings.Join(tc.notes, "")) {
				t.Errorf("import-report.md is not the report, then the notes:\n%s", md)
			}
			for _, w := range tc.md {
				i := strings.Index(md[at:], w)
				if i < 0 {
					t.Fatalf("import-report.md lacks %q after byte %d:\n%s", w, at, md)
				}
				at += i + len(w)
			}
			var back importer.Report
			if err := json.Unmarshal([]byte(got["import-report.json"]), &back); err != nil || len(back.Entries) != len(tc.report.Entries) {
				t.Errorf("import-report.json (%v):\n%s", err, got["import-report.json"])
			}
			if n := strings.Count(got[importer.FileName], "import {"); n != tc.blocks {
				t.Errorf("imports.tf has %d blocks, want %d:\n%s", n, tc.blocks, got[importer.FileName])
			}
			if got["plan.txt"] != tc.planText {
				t.Errorf("plan.txt %q, want %q", got["plan.txt"], tc.planText)
			}
		})
	}
}

// A failed import's error carries its report, and still wraps the failure.
func TestReportError(t *testing.T) {
	p := resolved(t, "testdata/plan-import-failed.txt")
	cause := p.Err()
	if cause == nil {
		t.Fatal("the failed plan resolves without a failure")
	}
	err := importer.NewReport("prod", false, p, discovery.Stats{}).Error(cause)
	if !errors.Is(err, cause) {
		t.Errorf("the error does not wrap the failure: %v", err)
	}
	for _, w := range []string{"import into prod: 3 of the required imports failed: aws_s3_bucket.assets (shop-prod-assets)", "## Import: prod", "| failed | `aws_sns_topic.events`", "Cannot import non-existent remote object"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q:\n%s", w, err)
		}
	}
}
