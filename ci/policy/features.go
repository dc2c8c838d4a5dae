package policy

import "strings"

// FeatureFile is the name a terraform-compliance .feature file (its path under the
// policies directory) takes in the one flat directory terraform-compliance reads: the
// path's slashes become "__", so files of the same name in different folders stay apart.
func FeatureFile(p string) string { return strings.ReplaceAll(p, "/", "__") }
