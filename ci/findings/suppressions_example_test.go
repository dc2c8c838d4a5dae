package findings

import (
	"path/filepath"
	"testing"
)

// The example shipped next to the Terraform code must stay loadable.
func TestExampleSuppressionsFile(t *testing.T) {
	s, err := LoadSuppressions(filepath.Join("..", "..", "terraform", "suppressions.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Entries) == 0 {
		t.Fatal("the example suppressions file has no entries")
	}
}
