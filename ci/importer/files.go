package importer

import (
	"fmt"
	"strings"
)

// Files is the import's report, name then contents, for import and for the pipeline's import
// step alike: import-report.md (the report, then notes such as the state backup line, the
// run record's note and the reproduce line), import-report.json, imports.tf when anything is
// (or was) to be imported, and plan.txt when planText (the plan made with the import
// blocks) is given.
func (r Report) Files(planText string, notes ...string) ([]string, error) {
	js, err := r.JSON()
	if err != nil {
		return nil, fmt.Errorf("write import-report.json: %w", err)
	}
	files := []string{"import-report.md", r.Markdown() + strings.Join(notes, ""), "import-report.json", string(js)}
	if r.importing() {
		files = append(files, FileName, string((&Plan{Entries: r.Entries}).ImportBlocks()))
	}
	if planText != "" {
		files = append(files, "plan.txt", planText)
	}
	return files, nil
}

// importing is whether any resource is or was planned to be imported: imports.tf holds
// their blocks.
func (r Report) importing() bool {
	for _, e := range r.Entries {
		if e.Status == Import || e.Status == Imported {
			return true
		}
	}
	return false
}

// Error is a failed import with its report: a Dagger function cannot return the report's
// directory and an error at once, so the error carries import-report.md.
func (r Report) Error(err error) error {
	return fmt.Errorf("import into %s: %w\n\n%s", r.Environment, err, r.Markdown())
}
