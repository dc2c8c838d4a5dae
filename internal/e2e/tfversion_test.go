package e2e

import (
	"strings"
	"testing"
)

// TestTerraformVersionPin: the version a repository pins in .terraform-version picks the
// Terraform image, --terraform-version wins over it, and a pin the pipeline cannot resolve is
// refused before any tool runs. Only the default version's image can be had here, so a pin
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
	for _, want := range []string{"Terraform 1.9.8, as .terraform-version pins it", "hashicorp/terraform:1.9.8"} {
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

	s.Write(t, ".terraform-version", "latest:^1.9\n")
	res = mustFail(t, nil, append(s.Ctor(), "lint")...)
	if want := `.terraform-version: "latest:^1.9" is not an exact Terraform version: give one such as 1.11.4, or pass --terraform-version`; !strings.Contains(res.Stderr, want) {
		t.Errorf("lint with a pin of tfenv's latest form does not say %q:\n%s", want, lastLines(res.Stderr, 20))
	}
}
