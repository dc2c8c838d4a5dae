// Package tfversion picks the Terraform a stack runs with (Pick): --terraform-version when given,
// else the version the repository pins in .terraform-version (the file tfenv and tfswitch
// read, so a laptop and the pipeline run the same Terraform), else the one version the
// stack's required_version allows, if it allows one, else the module's default.
package tfversion

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/infrapipe/infrapipe/ci/changes"
	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/internal/untrusted"
)

// exact is a version the image hashicorp/terraform has a tag for: 1.11.4, 1.12.0-beta2.
var exact = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?$`)

// Parse checks an exact Terraform version, as --terraform-version or a version file gives
// it; a leading v is dropped (v1.11.4).
func Parse(s string) (string, error) {
	v := strings.TrimPrefix(strings.TrimSpace(s), "v")
	if !exact.MatchString(v) {
		return "", fmt.Errorf("%s is not an exact Terraform version: give one such as 1.11.4", untrusted.Quote(s))
	}
	return v, nil
}

// Pin is a version the repository pins for a stack.
type Pin struct {
	Version string
	// Source says where: a .terraform-version's slash path in the repository, or
	// "required_version in <file>".
	Source string
}

// Find reads the .terraform-version nearest the Terraform directory dir (a clean slash path
// inside the repository, as pipeline.Configure leaves --terraform-dir): in dir, then in each
// directory above it up to the repository's root, as tfenv looks from where it runs. ok is
// false when there is none. The file holds the version on its first line that is neither
// empty nor a comment; tfenv's forms that need a lookup (latest, latest:<regex>,
// min-required) are refused, with what to write instead.
func Find(read environment.ReadFile, dir string) (pin Pin, ok bool, err error) {
	for d := path.Clean(dir); ; d = path.Dir(d) {
		name := path.Join(d, changes.VersionFile)
		data, found, err := read(name)
		if err != nil {
			return Pin{}, false, fmt.Errorf("read %s: %w", name, err)
		}
		if found {
			line := firstLine(string(data))
			v, err := Parse(line)
			if err != nil {
				why := ""
				if strings.HasPrefix(line, "latest") || strings.HasPrefix(line, "min-required") {
					why = " (tfenv's latest and min-required forms need a lookup the pipeline does not make)"
				}
				return Pin{}, false, fmt.Errorf("%s: %w, or pass --terraform-version%s", name, err, why)
			}
			return Pin{Version: v, Source: name}, true, nil
		}
		if d == "." || d == "/" {
			return Pin{}, false, nil
		}
	}
}

// exactly matches a version constraint that allows one version: "1.9.8", "= 1.9.8", "=v1.9.8".
var exactly = regexp.MustCompile(`^=?\s*(v?[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?)$`)

// Required is the version the stack's own required_version pins when it allows exactly one
// (required_version = "1.9.8" or "= 1.9.8"), as Atlantis reads it; ok is false for a range,
// or none. files are the root module's configuration files by name, and dir the stack's
// directory, which Source names. A file that does not parse is passed over: Terraform names
// its error better.
func Required(files map[string][]byte, dir string) (pin Pin, ok bool) {
	for _, blk := range changes.TopBlocks(files, "terraform") {
		constraint, ok := changes.StringAttr(blk.Body, "required_version")
		if !ok {
			continue
		}
		if m := exactly.FindStringSubmatch(strings.TrimSpace(constraint)); m != nil {
			return Pin{Version: strings.TrimPrefix(m[1], "v"), Source: "required_version in " + path.Join(dir, blk.File)}, true
		}
	}
	return Pin{}, false
}

// firstLine is the first line of a version file that is neither empty nor a comment.
func firstLine(s string) string {
	for _, line := range strings.Split(s, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			return line
		}
	}
	return ""
}

// Image is the image of Terraform version v.
func Image(v string) string { return "hashicorp/terraform:" + v }

// Choice is the Terraform image a stack runs with, and the pin it follows, if any.
type Choice struct {
	Image string
	Pin   *Pin // nil when the image was given or is the default's
}

// Pick is the package's precedence: image, the image the constructor's options name, when
// not ""; else .terraform-version (Find); else the stack's exact required_version
// (Required; code reads the root module's files, and only then); else fallback, a version.
func Pick(image string, read environment.ReadFile, dir string, code func() (map[string][]byte, error), fallback string) (Choice, error) {
	if image != "" {
		return Choice{Image: image}, nil
	}
	pin, ok, err := Find(read, dir)
	if err != nil {
		return Choice{}, err
	}
	if !ok {
		files, err := code()
		if err != nil {
			return Choice{}, err
		}
		if pin, ok = Required(files, dir); !ok {
			return Choice{Image: Image(fallback)}, nil
		}
	}
	return Choice{Image: Image(pin.Version), Pin: &pin}, nil
}
