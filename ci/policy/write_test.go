package policy

import (
	"fmt"
	"os"
	"path/filepath"
)

// The module hands PackFiles and ConfigJSON to OPA's container directly; the tests run the
// real opa on the host, which loads them from disk.

// WritePack writes PackFiles into dir, for the host opa of these tests. dir is created if needed.
func WritePack(dir string) error {
	files, err := PackFiles()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write policy pack: %w", err)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return fmt.Errorf("write policy pack: %w", err)
		}
	}
	return nil
}

// WriteConfig writes ConfigJSON to a file.
func WriteConfig(path string, c Config) error {
	data, err := ConfigJSON(c)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("write policy config: %w", err)
	}
	return nil
}
