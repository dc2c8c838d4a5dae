package findings

import (
	"os"
	"path/filepath"
	"testing"
)

// The example shipped next to the Terraform code must stay loadable.
func TestExampleSuppressionsFile(t *testing.T) {
	path := filepath.Join("..", "..", "terraform", "suppressions.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParseSuppressions(path, data)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Entries) == 0 {
		t.Fatal("the example suppressions file has no entries")
	}
}
