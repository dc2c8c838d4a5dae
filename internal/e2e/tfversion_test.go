package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTerraformVersionPin: the version a repository pins in .terraform-version, or else in a
// required_version that allows one version, picks the Terraform image, --terraform-version
// wins over it, and a pin the pipeline cannot resolve is refused before any tool runs. Only the default version's image can be had here, so a pin
// of another shows as the pull of its image.
func TestTerraformVersionPin(t *testing.T) {
	requireEngine(t)
	t.Parallel()
	s := newStack(t, "app")

	s.Write(t, ".terraform-version", "# as tfenv reads it\n1.11.4\n")
	res := mustCall(t, nil, append(s.Ctor(), "lint")...)
	if want := "Terraform 1.11.4, as .terraform-version pins it"; !strings.Contains(res.Stderr, want) {
		t.Errorf("lint with a pin of the default version does not say %q:\n%s", want, lastLines(res.Stderr, 20))
	}

	s.Write(t, ".terraform-version", "1.9.8\n")
	res = mustFail(t, nil, append(s.Ctor(), "lint")...)
	for _, want := range []string{"Terraform 1.9.8, as .terraform-version pins it", "hashicorp/terraform:1.9.8", "pass --terraform-image=<an image you can pull"} {
		if !strings.Contains(res.Stderr, want) {
			t.Errorf("lint with a pin of 1.9.8 does not say %q:\n%s", want, lastLines(res.Stderr, 30))
		}
	}
	if strings.Contains(res.Stderr, "hashicorp/terraform:1.11.4") {
		t.Errorf("lint with a pin of 1.9.8 ran the default's image:\n%s", lastLines(res.Stderr, 30))
	}

	res = mustCall(t, nil, append(s.Ctor("--terraform-version=1.11.4"), "lint")...)
	if strings.Contains(res.Stderr, "as .terraform-version pins it") {
		t.Errorf("--terraform-version did not win over the pin:\n%s", lastLines(res.Stderr, 20))
	}

	// Without the file, a required_version that allows one version pins it; the stack's own
	// (">= 1.10.0") allows many, and the default ran above.
	versions, err := os.ReadFile(filepath.Join(s.Dir, "versions.tf"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(s.Dir, ".terraform-version")); err != nil {
		t.Fatal(err)
	}
	s.Write(t, "versions.tf", strings.Replace(string(versions), `required_version = ">= 1.10.0"`, `required_version = "1.9.8"`, 1))
	res = mustFail(t, nil, append(s.Ctor(), "lint")...)
	for _, want := range []string{"Terraform 1.9.8, as required_version in versions.tf pins it", "hashicorp/terraform:1.9.8"} {
		if !strings.Contains(res.Stderr, want) {
			t.Errorf("lint with required_version 1.9.8 does not say %q:\n%s", want, lastLines(res.Stderr, 30))
		}
	}
	s.Write(t, "versions.tf", string(versions))

	s.Write(t, ".terraform-version", "latest:^1.9\n")
	res = mustFail(t, nil, append(s.Ctor(), "lint")...)
	if want := `.terraform-version: "latest:^1.9" is not an exact Terraform version: give one such as 1.11.4, or pass --terraform-version`; !strings.Contains(res.Stderr, want) {
		t.Errorf("lint with a pin of tfenv's latest form does not say %q:\n%s", want, lastLines(res.Stderr, 20))
	}
}
