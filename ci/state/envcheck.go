package state

import (
	"fmt"
	"strings"

	"github.com/infrapipe/infrapipe/ci/environment"
)

// maxForeign bounds the resources a refusal names; one is enough to see the mistake.
const maxForeign = 3

// checkEnvironment refuses a backup whose resources are tagged for another environment
// (tagKey, the profile's environment tag, in tags_all or tags; "" checks nothing):
// restore-state --from-file takes any file, and a prod backup pushed into staging's empty
// backend hands staging prod's tables and buckets, which its next apply changes. A
// resource without the tag says nothing either way.
func (s Snapshot) checkEnvironment(env environment.Name, tagKey string) error {
	if tagKey == "" {
		return nil
	}
	var foreign []string
	total := 0
	for _, a := range s.Addresses {
		value, ok := s.tags[a][tagKey]
		if !ok || value == string(env) {
			continue
		}
		if total++; len(foreign) < maxForeign {
			foreign = append(foreign, fmt.Sprintf("%s has %s = %q", a, tagKey, value))
		}
	}
	if total == 0 {
		return nil
	}
	more := ""
	if total > len(foreign) {
		more = fmt.Sprintf(" (and %d more)", total-len(foreign))
	}
	return fmt.Errorf("restore refused: the backup holds resources of another environment, not %s: %s%s. Restored into %s, they would be %s's to change. Restore a backup of %s (backups --env=%s lists them)",
		env, strings.Join(foreign, "; "), more, env, env, env, env)
}
