package tfversion

import (
	"errors"
	"strings"
	"testing"

	"github.com/infrapipe/infrapipe/ci/internal/tftest"
)

func TestFind(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string // path → contents
		dir   string
		want  Pin
		found bool
		err   string
	}{
		{"in the Terraform directory", map[string]string{"terraform/.terraform-version": "1.9.8\n"}, "terraform",
			Pin{"1.9.8", "terraform/.terraform-version"}, true, ""},
		{"at the repository's root", map[string]string{".terraform-version": "1.10.5\n"}, "stacks/network",
			Pin{"1.10.5", ".terraform-version"}, true, ""},
		{"the nearest wins", map[string]string{".terraform-version": "1.10.5\n", "stacks/network/.terraform-version": "1.9.8\n"}, "stacks/network",
			Pin{"1.9.8", "stacks/network/.terraform-version"}, true, ""},
		{"a stack at the root", map[string]string{".terraform-version": "1.10.5"}, ".", Pin{"1.10.5", ".terraform-version"}, true, ""},
		{"comments, blank lines and a v", map[string]string{"terraform/.terraform-version": "# pinned for the provider\n\n  v1.11.4  \n"}, "terraform",
			Pin{"1.11.4", "terraform/.terraform-version"}, true, ""},
		{"a pre-release", map[string]string{".terraform-version": "1.12.0-beta2\n"}, "terraform", Pin{"1.12.0-beta2", ".terraform-version"}, true, ""},
		{"none", map[string]string{"terraform/main.tf": ""}, "terraform", Pin{}, false, ""},
		{"another directory's pin is not this stack's", map[string]string{"stacks/network/.terraform-version": "1.9.8"}, "terraform", Pin{}, false, ""},
		{"tfenv's latest", map[string]string{"terraform/.terraform-version": "latest:^1.9\n"}, "terraform", Pin{}, false,
			`terraform/.terraform-version: "latest:^1.9" is not an exact Terraform version: give one such as 1.11.4, or pass --terraform-version`},
		{"min-required", map[string]string{".terraform-version": "min-required"}, "terraform", Pin{}, false,
			`.terraform-version: "min-required" is not an exact Terraform version`},
		{"empty", map[string]string{".terraform-version": "\n# nothing\n"}, "terraform", Pin{}, false,
			`.terraform-version: "" is not an exact Terraform version`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			tftest.WriteFiles(t, root, tt.files)
			pin, found, err := Find(tftest.Reader(root), tt.dir)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Find: %v, want an error containing %q", err, tt.err)
				}
				return
			}
			if err != nil || pin != tt.want || found != tt.found {
				t.Errorf("Find = %+v, %v, %v; want %+v, %v", pin, found, err, tt.want, tt.found)
			}
		})
	}
}

// A file that cannot be read is an error naming it, not a stack without a pin.
func TestFindUnreadable(t *testing.T) {
	broken := func(string) ([]byte, bool, error) { return nil, false, errors.New("engine gone") }
	if _, _, err := Find(broken, "terraform"); err == nil || !strings.Contains(err.Error(), "read terraform/.terraform-version: engine gone") {
		t.Errorf("Find with a failing reader: %v", err)
	}
}

func TestParse(t *testing.T) {
	for in, want := range map[string]string{"1.11.4": "1.11.4", "v1.9.8": "1.9.8", " 1.12.0-rc1 ": "1.12.0-rc1"} {
		if got, err := Parse(in); err != nil || got != want {
			t.Errorf("Parse(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "1.11", "latest", "~> 1.9", "1.11.4; rm -rf /", "1.11.4\n1.9.8", "hashicorp/terraform:1.11.4"} {
		if got, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) = %q, want an error", in, got)
		}
	}
}

// FuzzFind: whatever a version file holds, Find gives an exact version an image tag can
// carry, or an error; never a version with a character a tag cannot have.
func FuzzFind(f *testing.F) {
	for _, s := range []string{"1.11.4\n", "# c\nv1.9.8", "latest:^1.9", "", "1.12.0-beta2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, contents string) {
		read := func(name string) ([]byte, bool, error) { return []byte(contents), name == File, nil }
		pin, found, err := Find(read, "stacks/a")
		if err != nil {
			return
		}
		if !found || !exact.MatchString(pin.Version) || strings.ContainsAny(pin.Version, " \n/:") {
			t.Fatalf("Find of %q = %+v, %v", contents, pin, found)
		}
	})
}
