package plan

import (
	"encoding/json"
	"slices"
	"testing"

	tfjson "github.com/hashicorp/terraform-json"

	"github.com/infrapipe/infrapipe/ci/internal/tftest"
)

// ManagedResources walks a real state: the root module's resources, then each module's,
// nested ones too; nothing for an absent state.
func TestManagedResources(t *testing.T) {
	w := tftest.New(t, map[string]string{
		"main.tf": `resource "terraform_data" "root" {}
module "outer" {
  source = "./modules/outer"
}
`,
		"modules/outer/main.tf": `resource "terraform_data" "outer" {}
module "inner" {
  source = "../inner"
}
`,
		"modules/inner/main.tf": `resource "terraform_data" "inner" {}
`,
	})
	w.Init()
	if got := ManagedResources(nil); got != nil {
		t.Errorf("ManagedResources(nil) = %v", got)
	}
	w.Apply()
	var st tfjson.State
	if err := json.Unmarshal([]byte(w.Run("show", "-json")), &st); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range ManagedResources(&st) {
		got = append(got, r.Address)
	}
	want := []string{"terraform_data.root", "module.outer.terraform_data.outer", "module.outer.module.inner.terraform_data.inner"}
	if !slices.Equal(got, want) {
		t.Errorf("ManagedResources = %q, want %q", got, want)
	}
}
