package report

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/infrapipe/infrapipe/ci/cost"
	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/findings"
	"github.com/infrapipe/infrapipe/ci/gate"
	"github.com/infrapipe/infrapipe/ci/internal/tftest"
	"github.com/infrapipe/infrapipe/ci/plan"
)

// TestSummaryRealSections builds the pipeline summary the way a prod run does: a header, the
// findings section of a real Checkov report, the summary of a real Terraform plan too long
// for a comment on its own, the cost section of a real Infracost diff and the reproduce
// footer. Joined as they are they exceed GitHub's limit; Summary keeps them under it,
// keeping the short sections whole and cutting the plan's lists.
func TestSummaryRealSections(t *testing.T) {
	p := mustProfile(t, environment.Prod)

	w := tftest.New(t, map[string]string{"main.tf": `
resource "terraform_data" "tenant" {
  count = 1500
  input = "tenant-${count.index}"
}
`})
	w.Init()
	a, err := plan.Analyze(bytes.NewReader(w.PlanJSON()))
	if err != nil {
		t.Fatal(err)
	}
	planMD := PlanSection(NewResult(a, p, gate.Decide(a, p, gate.Options{})))

	fs, err := findings.ReadFile(findings.FormatCheckovJSON, "testdata/checkov-multi-framework-terraform-report.json")
	if err != nil {
		t.Fatal(err)
	}
	findingsMD := "## Security scan\n\n" + findings.Markdown(fs, findings.Evaluate(fs, p.SeverityThreshold), nil, 30)

	estimate, err := cost.ReadFile("testdata/infracost-diff-aws-cost-increase.json")
	if err != nil {
		t.Fatal(err)
	}
	costMD := cost.Evaluate(estimate, p.Budget, 10).Markdown()

	header := "# prod pipeline: block\n\n| step | verdict |\n|---|---|\n| Security scan | block |\n| Plan | pass |\n| Cost | pass |\n"
	footer := Footer("./scripts/pipeline.sh --env prod --dry-run")

	naive := header + findingsMD + planMD(MaxMarkdown) + costMD + footer
	if len(naive) <= MaxMarkdown {
		t.Fatalf("test is broken: the sections fit together (%d bytes), so the limit is not exercised", len(naive))
	}

	md := Summary(MaxMarkdown, Text(header), Text(findingsMD), planMD, Text(costMD), Text(footer))
	if len(md) > MaxMarkdown {
		t.Fatalf("summary is %d bytes, over GitHub's %d", len(md), MaxMarkdown)
	}
	// The short sections are whole and in order; the plan gave way.
	last := -1
	for _, part := range []string{header, findingsMD, costMD} {
		i := strings.Index(md, part)
		if i < 0 {
			t.Fatalf("summary lacks a whole section starting %q", part[:40])
		}
		if i < last {
			t.Errorf("section starting %q is out of order", part[:40])
		}
		last = i
	}
	if !strings.HasSuffix(md, footer) {
		t.Errorf("summary does not end with the reproduce command")
	}
	for _, want := range []string{
		"**Failed**: 26 findings at or above MEDIUM (33 in total)",
		"## ✅ Terraform plan for `prod`: PASS",
		"**Plan:** 1500 to add",
		"more changes not shown (see result.json)",
		"**Within budget**",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("summary lacks %q", want)
		}
	}
	if strings.Count(md, "<details>") != strings.Count(md, "</details>") {
		t.Errorf("unbalanced <details> in the summary")
	}
}

func TestSummaryFits(t *testing.T) {
	big := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "| row %05d | some text to make it longer |\n", i)
		}
		return b.String()
	}
	tests := []struct {
		name     string
		limit    int
		sections []string
		whole    []int    // sections that must appear unchanged
		want     []string // substrings of the result
	}{
		{"all fit", 1000, []string{"# a\n", "b\n", "c\n"}, []int{0, 1, 2}, []string{"# a\n\nb\n\nc\n"}},
		{"one large", 4000, []string{"# header\n", big(500), "footer\n"}, []int{0, 2},
			[]string{"| row 00000 |", "more lines of this section not shown"}},
		{"two large share", 6000, []string{big(500), "middle\n", big(500)}, []int{1},
			[]string{"| row 00000 |", "middle\n"}},
		{"open fence is closed", 2000, []string{"```text\n" + big(200) + "```\n", "after\n"}, []int{1},
			[]string{"```text\n| row 00000", "\n```\n\n… "}},
		{"longer fence is closed with its own", 2000, []string{"````shell\n" + big(200) + "````\n", "after\n"}, []int{1},
			[]string{"\n````\n\n… "}},
		{"open details are closed", 2000, []string{"<details><summary>x</summary>\n\n" + big(200) + "</details>\n", "after\n"}, []int{1},
			[]string{"\n</details>\n\n… "}},
		// A reason quoting a for_each key holds an escaped tag, which opens nothing: the
		// cut adds no stray </details> (the balance check below).
		{"escaped details open nothing", 2000, []string{strings.Repeat("- deletes a[\"\\<details\\>\"]\n", 200), "after\n"}, []int{1},
			[]string{"more lines of this section not shown"}},
		{"nothing fits", 10, []string{big(10), big(10)}, nil, nil},
		{"zero limit", 0, []string{"a"}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sections := make([]Section, len(tt.sections))
			for i, s := range tt.sections {
				sections[i] = Text(s)
			}
			md := Summary(tt.limit, sections...)
			if len(md) > tt.limit {
				t.Fatalf("summary is %d bytes, limit %d", len(md), tt.limit)
			}
			for _, i := range tt.whole {
				if !strings.Contains(md, tt.sections[i]) {
					t.Errorf("section %d is not whole:\n%s", i, md)
				}
			}
			for _, w := range tt.want {
				if !strings.Contains(md, w) {
					t.Errorf("summary lacks %q:\n%s", w, md)
				}
			}
			if strings.Count(md, "<details>") != strings.Count(md, "</details>") {
				t.Errorf("unbalanced <details>:\n%s", md)
			}
		})
	}
}

// FuzzSummary: whatever the sections and the limit, the summary stays within the limit,
// and a section that fits its share is never altered.
func FuzzSummary(f *testing.F) {
	f.Add("# head\n", "```\nx\n", "<details>\n| a |\n", 100)
	f.Add(strings.Repeat("line\n", 1000), "", "footer", 500)
	f.Fuzz(func(t *testing.T, a, b, c string, limit int) {
		limit = max(0, min(limit, 1<<16))
		md := Summary(limit, Text(a), Text(b), Text(c))
		if len(md) > limit {
			t.Fatalf("summary is %d bytes, limit %d", len(md), limit)
		}
		if len(a)+len(b)+len(c)+2 <= limit && md != a+"\n"+b+"\n"+c {
			t.Fatalf("sections that fit were changed")
		}
	})
}

// A comment starts with its environment's marker and, whatever the sections hold, fits the
// comment limit with the marker included; small sections pass through unchanged.
func TestComment(t *testing.T) {
	huge := strings.Repeat("| a row of a very long plan |\n", 10000)
	for _, tt := range []struct {
		name     string
		sections []string
	}{
		{"small", []string{"# test pipeline: pass\n", "footer\n"}},
		{"over the limit", []string{"# prod pipeline: block\n", huge, "footer\n"}},
		{"exactly the limit", []string{strings.Repeat("x", MaxMarkdown-1) + "\n"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sections := make([]Section, len(tt.sections))
			for i, s := range tt.sections {
				sections[i] = Text(s)
			}
			c := Comment("prod", sections...)
			first, rest, _ := strings.Cut(c, "\n")
			if first != CommentMarker("prod") || first != "<!-- infrapipe:summary:prod -->" {
				t.Errorf("first line %q, want the prod marker", first)
			}
			if len(c) > MaxMarkdown {
				t.Errorf("comment is %d bytes, over GitHub's %d", len(c), MaxMarkdown)
			}
			if whole := Summary(MaxMarkdown, sections...); len(whole)+len(first)+1 <= MaxMarkdown && rest != whole {
				t.Errorf("a summary that fits was changed:\n%q\nwant\n%q", rest, whole)
			}
			if !strings.HasSuffix(c, "footer\n") && tt.name != "exactly the limit" {
				t.Errorf("the footer was lost:\n%s", c[len(c)-200:])
			}
		})
	}
}
