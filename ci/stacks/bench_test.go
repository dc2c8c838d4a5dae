package stacks

import (
	"fmt"
	"strings"
	"testing"

	"github.com/infrapipe/infrapipe/ci/internal/tftest"
)

// manyStacks writes a repository of n stacks under live/, each using one of ten shared
// modules (which use a common one), every tenth (s004, s014, ...) depending on the one before it: what a
// large infrastructure repository looks like.
func manyStacks(b *testing.B, n int) string {
	root := b.TempDir()
	files := map[string]string{"modules/common/main.tf": "resource \"terraform_data\" \"c\" {}\n"}
	var deps strings.Builder
	for m := range 10 {
		files[fmt.Sprintf("modules/m%d/main.tf", m)] = "module \"common\" {\n  source = \"../common\"\n}\n"
	}
	for i := range n {
		dir := fmt.Sprintf("live/s%03d", i)
		files[dir+"/versions.tf"] = backendS3
		files[dir+"/main.tf"] = fmt.Sprintf("module \"m\" {\n  source = \"../../modules/m%d\"\n}\nresource \"terraform_data\" \"x\" {}\n", i%10)
		files[dir+"/environments/test.tfvars"] = "environment = \"test\"\n"
		if i%10 == 4 {
			fmt.Fprintf(&deps, "    %s: [live/s%03d]\n", dir, i-1)
		}
	}
	files["pipeline.yaml"] = "version: 1\nstacks:\n  include: [\"live/*\"]\n  depends_on:\n" + deps.String()
	tftest.WriteFiles(b, root, files)
	return root
}

// BenchmarkSelect200 discovers, orders and selects the stacks of a 200-stack repository
// for a change to one shared module, from files on disk, as pipeline --stacks=changed does.
func BenchmarkSelect200(b *testing.B) {
	tree := NewDirTree(manyStacks(b, 200))
	changed := []string{"modules/m3/main.tf", "docs/x.md"}
	for b.Loop() {
		r, err := Discover(tree)
		if err != nil {
			b.Fatal(err)
		}
		sel, err := r.Select(tree, ChangedStacks, changed)
		if err != nil {
			b.Fatal(err)
		}
		if len(r.Stacks) != 200 || len(sel.Stacks) != 40 { // 20 users of m3, and their 20 dependents
			b.Fatalf("%d stacks, %d selected", len(r.Stacks), len(sel.Stacks))
		}
	}
}
