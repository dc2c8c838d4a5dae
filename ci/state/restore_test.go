package state

import (
	"strings"
	"testing"
)

func TestShownOnly(t *testing.T) {
	got := ShownOnly("dagger call restore-state --env=prod --from=latest --confirm")
	if !strings.Contains(got, "Nothing changed. To push this backup, run:") || !strings.Contains(got, "```sh\ndagger call restore-state --env=prod --from=latest --confirm\n```") {
		t.Errorf("ShownOnly = %q", got)
	}
}
