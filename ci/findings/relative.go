package findings

import "strings"

// RelativeTo makes finding paths relative to the Terraform directory, as the rest of ci/
// expects (suppressions match them, SARIF and annotations prefix the directory), from what
// scanners in a container report: paths under dir (the Terraform directory inside the
// container) lose it, and Checkov's "/main.tf" (relative to the scanned directory, with a
// leading slash) loses the slash. Other absolute paths under mount (the repository inside
// the container) are left as they are.
func RelativeTo(fs []Finding, dir, mount string) []Finding {
	prefix := dir + "/"
	for i := range fs {
		f := strings.TrimPrefix(fs[i].File, prefix)
		if strings.HasPrefix(f, "/") && !strings.HasPrefix(f, mount+"/") {
			f = f[1:]
		}
		fs[i].File = f
	}
	return fs
}
